//! `fully_connected` and `matmul`, and the int8 parameters every weighted
//! layer shares (conv2d too): constant weights, bias, per-channel
//! multipliers and the requantisation arrays.

use super::{macs, CType, ConstData, Cx, Layer, Node, R};
use crate::kernels::dense::{FcF32, FcF32Dyn, FcF32W8, MatMulF32, MatMulS8, MmS4, MmS8, SpmmS8};
use crate::kernels::{Arg, Kernel, Requant, SparseWeights};
use crate::pack::{choose_sparse, fast_requant_params, fold_input_offset, pack_mm, pack_s4};
use tmlc_ir::arith::activation_range_i8;
use tmlc_ir::prepare::{self, Multiplier, PrepareError};
use tmlc_ir::{
    broadcast_strides, numel, strides, Activation, DynamicQuant, FullyConnectedAttrs, Quant,
    TensorData, ValueId,
};

/// The weights of an int8 matrix product, as [`Cx::mm_weights`] stores
/// them.
pub(super) enum MmWeights {
    /// Packed by 4 columns, for `tmlc_mm_s8`.
    Dense(Arg),
    /// 4-bit, two per byte, for `tmlc_mm_s4`.
    S4(Arg),
    /// Sparse, for `tmlc_spmm_s8`.
    Sparse(SparseWeights),
}

/// A matrix product `out[r][c] = requant(bias[c] + lhs[r] . w[c])`: every
/// argument of `tmlc_mm_s8`, `tmlc_spmm_s8` and `tmlc_mm_s4` but the
/// weights.
pub(super) struct Product {
    pub(super) lhs: Arg,
    pub(super) rows: usize,
    pub(super) lhs_stride: usize,
    pub(super) n: usize,
    pub(super) k: usize,
    pub(super) bias: Arg,
    pub(super) requant: Requant,
    pub(super) out: Arg,
    pub(super) out_stride: usize,
    pub(super) zp_out: i32,
    pub(super) lo: i32,
    pub(super) hi: i32,
}

impl Product {
    /// Calls the product kernel of weights stored as `wts`; returns its
    /// name for the report.
    pub(super) fn call(self, l: &mut Layer, wts: MmWeights) -> String {
        let Product {
            lhs,
            rows,
            lhs_stride,
            n,
            k,
            bias,
            requant,
            out,
            out_stride,
            zp_out,
            lo,
            hi,
        } = self;
        macro_rules! args {
            ($s:ident, $rhs:expr) => {
                $s {
                    lhs,
                    rows,
                    lhs_stride,
                    rhs: $rhs,
                    n,
                    k,
                    bias,
                    requant,
                    out,
                    out_stride,
                    zp_out,
                    lo,
                    hi,
                }
            };
        }
        match wts {
            MmWeights::Dense(rhs) => {
                l.call(Kernel::MmS8, args!(MmS8, rhs));
                "mm_s8".into()
            }
            MmWeights::Sparse(rhs) => {
                let desc = format!("spmm_s8 1x{}", rhs.blk);
                l.call(Kernel::SpmmS8, args!(SpmmS8, rhs));
                desc
            }
            MmWeights::S4(rhs) => {
                l.call(Kernel::MmS4, args!(MmS4, rhs));
                "mm_s4".into()
            }
        }
    }
}

/// `tmlc_ir::prepare::conv_multipliers` or `fully_connected_multipliers`.
pub(super) type MultipliersFn =
    fn(f32, &Quant, f32, usize) -> Result<Vec<Multiplier>, PrepareError>;

/// The int8 parameters of a layer with constant weights
/// ([`Cx::weighted_s8`]).
pub(super) struct WeightedS8<'g> {
    pub(super) zp_in: i32,
    pub(super) zp_out: i32,
    /// The weights, one row per output channel.
    pub(super) w: &'g [i8],
    /// The weights are 4-bit (`i4`).
    pub(super) int4: bool,
    /// One entry per output channel (zeros without a bias operand).
    pub(super) bias: Vec<i32>,
    pub(super) mults: Vec<Multiplier>,
    /// The fused activation's clamp range.
    pub(super) lo: i32,
    pub(super) hi: i32,
}

impl<'g> Cx<'g> {
    /// The int8 parameters of `conv2d` / `fully_connected` (operands:
    /// input, constant weights, optional constant bias) with `channels`
    /// output channels; `multipliers` derives the per-channel multipliers
    /// ([`tmlc_ir::prepare`]).
    pub(super) fn weighted_s8(
        &mut self,
        nd: &Node<'g>,
        channels: usize,
        act: Activation,
        multipliers: MultipliersFn,
    ) -> R<WeightedS8<'g>> {
        let (s_in, zp_in) = nd.qparams(nd.xt, "input")?;
        let (s_out, zp_out) = nd.qparams(nd.yt, "result")?;
        let wq = self
            .ty(nd.ops[1])
            .quant
            .as_ref()
            .ok_or_else(|| nd.unsupported("unquantized weights"))?;
        let (w, int4) = match self.const_of(nd.ops[1]) {
            Some(TensorData::I8(w)) => (w, false),
            Some(TensorData::I4(w)) => (w, true),
            _ => return Err(nd.unsupported("the weights must be a constant")),
        };
        let bias = match nd.ops.get(2) {
            None => vec![0; channels],
            Some(&b) => match self.const_of(b) {
                Some(TensorData::I32(v)) if v.len() == channels => v.clone(),
                _ => return Err(nd.unsupported("the bias must be a constant i32")),
            },
        };
        let mults = multipliers(s_in, wq, s_out, channels)
            .map_err(|_| nd.unsupported("missing weight scales"))?;
        let (lo, hi) = activation_range_i8(act, s_out, zp_out);
        Ok(WeightedS8 {
            zp_in,
            zp_out,
            w,
            int4,
            bias,
            mults,
            lo,
            hi,
        })
    }

    /// The requantisation of an int8 layer with `per` weights per output
    /// channel: the short form's `(m, rz, n)` array when it is exact
    /// ([`fast_requant_params`]), else the multiplier and shift arrays.
    pub(super) fn requant(&mut self, nd: &Node<'_>, wp: &WeightedS8<'_>, per: usize) -> Requant {
        if let Some(rq) = fast_requant_params(wp.w, per, &wp.bias, &wp.mults, wp.zp_out) {
            let what = "(multiplier, 2^(-shift-1) + zp_out << -shift, -shift) per channel";
            return Requant::Fast(self.i32_const(nd, "rq", rq, what));
        }
        let m = wp.mults.iter().map(|&(m, _)| m).collect();
        let s = wp.mults.iter().map(|&(_, e)| e).collect();
        let pfx = &nd.pfx;
        let mult = self.add_const(
            format!("{pfx}_mult"),
            ConstData::I32(m),
            format!("layer {}: per-channel multipliers", &pfx[1..]),
        );
        let shift = self.add_const(
            format!("{pfx}_shift"),
            ConstData::I32(s),
            format!("layer {}: per-channel shifts", &pfx[1..]),
        );
        Requant::Full { mult, shift }
    }

    /// The `[n][k]` weights `w` of a matrix product as constants: 4-bit
    /// ones two per byte ([`pack_s4`]); others sparse when that saves flash
    /// ([`choose_sparse`]; recorded in the layer's report row), else packed
    /// by 4 columns ([`pack_mm`]) and described by `desc`.
    pub(super) fn mm_weights(
        &mut self,
        nd: &Node<'_>,
        l: &mut Layer,
        (w, int4): (&[i8], bool),
        (n, k): (usize, usize),
        desc: String,
    ) -> MmWeights {
        let pfx = &nd.pfx;
        if int4 {
            let packed = pack_s4(w, n, k);
            l.packed = Some(("int4".into(), n * k, packed.len()));
            let wc = self.add_const(
                format!("{pfx}_w"),
                ConstData::U8(packed),
                format!("{}: 4-bit weights [{n}][{k}], 8 per 4 bytes", nd.name),
            );
            return MmWeights::S4(Arg::Const(wc, CType::U8));
        }
        let Some(sp) = choose_sparse(w, n, k, n * k) else {
            let wc = self.add_const(format!("{pfx}_w"), ConstData::I8(pack_mm(w, n, k)), desc);
            return MmWeights::Dense(Arg::Const(wc, CType::I8));
        };
        l.packed = Some((format!("sparse 1x{}", sp.blk), n * k, sp.bytes()));
        let name = nd.name;
        let nz = self.add_const(
            format!("{pfx}_wnz"),
            ConstData::I8(sp.nz),
            format!(
                "{name}: non-zero blocks of {} weights, row after row",
                sp.blk
            ),
        );
        let map = self.add_const(
            format!("{pfx}_wmap"),
            ConstData::U32(sp.map),
            format!("{name}: bitmap of each row's non-zero blocks"),
        );
        MmWeights::Sparse(SparseWeights {
            map: Arg::Const(map, CType::U32),
            nz: Arg::Const(nz, CType::I8),
            blk: sp.blk,
        })
    }

    /// An f32 bias operand, or a zero array.
    pub(super) fn f32_bias(&mut self, nd: &Node<'_>, b: Option<ValueId>, n: usize) -> Arg {
        match b {
            Some(b) => self.input(b, CType::F32),
            None => {
                let i = self.add_const(
                    format!("{}_bias", nd.pfx),
                    ConstData::F32(vec![0.0; n]),
                    "zero bias".into(),
                );
                Arg::Const(i, CType::F32)
            }
        }
    }

    /// The int8 weights and per-output-channel f32 scales of a
    /// weight-only quantized layer (`n` output channels), as constants.
    pub(super) fn w8_weights(&mut self, nd: &Node<'_>, n: usize) -> R<(Arg, Arg)> {
        let w = nd.ops[1];
        let t = self.ty(w).clone();
        let q = t
            .quant
            .as_ref()
            .ok_or_else(|| nd.unsupported("unquantized weights"))?;
        let data = match self.const_of(w) {
            Some(tmlc_ir::TensorData::I8(d)) => d.clone(),
            _ => return Err(nd.unsupported("weights that are not an int8 constant")),
        };
        let scales: Vec<f32> = (0..n).map(|c| q.scale_at(c)).collect();
        let wc = self.add_const(
            format!("{}_w", nd.pfx),
            ConstData::I8(data),
            format!("{}: int8 weights {:?}", nd.name, t.shape),
        );
        let sc = self.add_const(
            format!("{}_wscale", nd.pfx),
            ConstData::F32(scales),
            format!("{}: weight scale per output channel", nd.name),
        );
        Ok((Arg::Const(wc, CType::I8), Arg::Const(sc, CType::F32)))
    }

    pub(super) fn fully_connected(
        &mut self,
        nd: &Node<'g>,
        l: &mut Layer,
        a: &FullyConnectedAttrs,
    ) -> R<()> {
        let ws = &self.ty(nd.ops[1]).shape;
        let (nout, k) = (ws[0], ws[1]);
        let rows = nd.xt.numel().checked_div(k).unwrap_or(0);
        l.macs = macs(&[rows, nout, k]);
        if nd.all_f32 {
            l.kernel_desc = "fc_f32".into();
            let wts = self.input(nd.ops[1], CType::F32);
            let bias = self.f32_bias(nd, nd.ops.get(2).copied(), nout);
            let (lo, hi) = a.act.range();
            let x = self.input(nd.ops[0], CType::F32);
            let y = Arg::Out(CType::F32);
            l.call(
                Kernel::FcF32,
                FcF32 {
                    x,
                    rows,
                    k,
                    wts,
                    bias,
                    n: nout,
                    y,
                    lo,
                    hi,
                },
            );
        } else if nd.w8 && a.dynamic != DynamicQuant::None {
            l.kernel_desc = format!("fc_f32_dyn {}", a.dynamic.name());
            let (wts, wscale) = self.w8_weights(nd, nout)?;
            let bias = self.f32_bias(nd, nd.ops.get(2).copied(), nout);
            let (lo, hi) = a.act.range();
            let x = self.input(nd.ops[0], CType::F32);
            l.scratch = 2 * k;
            l.call(
                Kernel::FcF32Dyn,
                FcF32Dyn {
                    x,
                    rows,
                    k,
                    wts,
                    wscale,
                    bias,
                    n: nout,
                    y: Arg::Out(CType::F32),
                    lo,
                    hi,
                    mode: super::dynamic_mode(a.dynamic),
                    d: Arg::Scratch(CType::I16),
                },
            );
        } else if nd.w8 {
            l.kernel_desc = "fc_f32_w8".into();
            let (wts, wscale) = self.w8_weights(nd, nout)?;
            let bias = self.f32_bias(nd, nd.ops.get(2).copied(), nout);
            let (lo, hi) = a.act.range();
            let x = self.input(nd.ops[0], CType::F32);
            l.call(
                Kernel::FcF32W8,
                FcF32W8 {
                    x,
                    rows,
                    k,
                    wts,
                    wscale,
                    bias,
                    n: nout,
                    y: Arg::Out(CType::F32),
                    lo,
                    hi,
                },
            );
        } else if nd.q8 {
            let wp = self.weighted_s8(nd, nout, a.act, prepare::fully_connected_multipliers)?;
            let be = fold_input_offset(wp.w, k, &wp.bias, wp.zp_in.wrapping_neg());
            let requant = self.requant(nd, &wp, k);
            let desc = format!("{}: weights [{nout}][{k}], packed by 4 columns", nd.name);
            let wts = self.mm_weights(nd, l, (wp.w, wp.int4), (nout, k), desc);
            let bias = self.i32_array(nd, "bias", be, "bias - zp_in * sum(w)");
            let product = Product {
                lhs: self.input(nd.ops[0], CType::I8),
                rows,
                lhs_stride: k,
                n: nout,
                k,
                bias,
                requant,
                out: Arg::Out(CType::I8),
                out_stride: nout,
                zp_out: wp.zp_out,
                lo: wp.lo,
                hi: wp.hi,
            };
            l.kernel_desc = product.call(l, wts);
        } else {
            return Err(nd.unsupported(""));
        }
        Ok(())
    }

    pub(super) fn matmul(&mut self, nd: &Node<'_>, l: &mut Layer) -> R<()> {
        let (at, bt, yt) = (nd.xt, self.ty(nd.ops[1]), nd.yt);
        let (ra, rb, ro) = (at.rank(), bt.rank(), yt.rank());
        let (m, k, n) = (at.shape[ra - 2], at.shape[ra - 1], bt.shape[rb - 1]);
        let batch = &yt.shape[..ro - 2];
        let sa = broadcast_strides(batch, &at.shape[..ra - 2]);
        let sb = broadcast_strides(batch, &bt.shape[..rb - 2]);
        let batches = numel(batch);
        let bst = strides(batch);
        let mut aoff = Vec::with_capacity(batches);
        let mut boff = Vec::with_capacity(batches);
        for bi in 0..batches {
            let (mut oa, mut ob) = (0usize, 0usize);
            for d in 0..batch.len() {
                let i = (bi / bst[d]) % batch[d].max(1);
                oa += i * sa[d];
                ob += i * sb[d];
            }
            aoff.push((oa * m * k) as i32);
            boff.push((ob * k * n) as i32);
        }
        l.macs = macs(&[batches, m, k, n]);
        let aoff = self.i32_array(nd, "aoff", aoff, "batch offsets of a");
        let boff = self.i32_array(nd, "boff", boff, "batch offsets of b");
        if nd.all_f32 {
            l.kernel_desc = "matmul_f32".into();
            let a = self.input(nd.ops[0], CType::F32);
            let b = self.input(nd.ops[1], CType::F32);
            let y = Arg::Out(CType::F32);
            l.call(
                Kernel::MatMulF32,
                MatMulF32 {
                    a,
                    b,
                    y,
                    batches,
                    aoff,
                    boff,
                    m,
                    k,
                    n,
                },
            );
        } else if nd.q8 {
            let (s_a, zp_a) = nd.qparams(at, "operand")?;
            let (s_b, zp_b) = nd.qparams(bt, "operand")?;
            let (s_out, zp_out) = nd.qparams(yt, "result")?;
            let (mult, shift) = prepare::matmul_multiplier(s_a, s_b, s_out);
            l.kernel_desc = "matmul_s8".into();
            let a = self.input(nd.ops[0], CType::I8);
            let b = self.input(nd.ops[1], CType::I8);
            let y = Arg::Out(CType::I8);
            l.call(
                Kernel::MatMulS8,
                MatMulS8 {
                    a,
                    b,
                    y,
                    batches,
                    aoff,
                    boff,
                    m,
                    k,
                    n,
                    zp_a,
                    zp_b,
                    mult,
                    shift,
                    zp_out,
                },
            );
        } else {
            return Err(nd.unsupported(""));
        }
        Ok(())
    }
}

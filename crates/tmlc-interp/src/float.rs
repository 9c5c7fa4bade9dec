//! f32 kernels (`spec/ir.md` §5, "Float"): the real-valued formulas
//! evaluated in f32, accumulating in f32 in the natural loop order of
//! TFLite's reference kernels (conv: `ky, kx, ic`, then `+ bias`; pools:
//! `ky, kx`; mean: input row-major order). Fused activations clamp last as
//! `min(max(y, lo), hi)`, so NaN propagates.

use crate::util::{
    bias_view, broadcast_map, clamp_f32, dim, operand, reduction, view, StridedWalk,
};
use crate::window::{ConvGeom, PoolGeom};
use crate::InterpError;
use tmlc_ir::{
    broadcast_strides, Activation, Conv2dAttrs, MeanAttrs, Pool2dAttrs, Tensor, TensorData,
    TensorType,
};

/// The clamp of activation `act` on f32 values.
pub(crate) fn act_clamp(act: Activation) -> impl Fn(f32) -> f32 {
    let (lo, hi) = act.range();
    move |v| clamp_f32(v, lo, hi)
}

/// `conv2d` in f32 (grouped and depthwise included).
pub(crate) fn conv2d(
    a: &Conv2dAttrs,
    operands: &[&Tensor],
    out: &TensorType,
) -> Result<TensorData, InterpError> {
    const OP: &str = "conv2d";
    let x = operand(operands, 0, OP)?;
    let w = operand(operands, 1, OP)?;
    let xs = view::<f32>(x, OP, "input")?;
    let ws = view::<f32>(w, OP, "filter")?;
    let bias = bias_view::<f32>(operands, OP)?;
    let geo = ConvGeom::new(a, &x.ty.shape, &w.ty.shape, &out.shape)?;
    let act = act_clamp(a.act);
    let v = geo.run(
        xs,
        ws,
        |_| 0.0f32,
        |acc, xv, wv| *acc += xv * wv,
        |acc, oc| act(acc + bias.and_then(|b| b.get(oc).copied()).unwrap_or(0.0)),
    );
    Ok(TensorData::F32(v))
}

/// `fully_connected` in f32: `x` flattened to `[B, K]`.
pub(crate) fn fully_connected(
    act: Activation,
    operands: &[&Tensor],
) -> Result<TensorData, InterpError> {
    const OP: &str = "fully_connected";
    let x = operand(operands, 0, OP)?;
    let w = operand(operands, 1, OP)?;
    let xs = view::<f32>(x, OP, "input")?;
    let ws = view::<f32>(w, OP, "weights")?;
    let bias = bias_view::<f32>(operands, OP)?;
    let n = dim(&w.ty.shape, 0, OP)?;
    let k = dim(&w.ty.shape, 1, OP)?.max(1);
    let act = act_clamp(act);
    let mut out = Vec::with_capacity(xs.len() / k * n);
    for row in xs.chunks_exact(k) {
        for (c, wrow) in ws.chunks_exact(k).enumerate().take(n) {
            let mut acc = 0.0f32;
            for (&xv, &wv) in row.iter().zip(wrow) {
                acc += xv * wv;
            }
            out.push(act(
                acc + bias.and_then(|b| b.get(c).copied()).unwrap_or(0.0)
            ));
        }
    }
    Ok(TensorData::F32(out))
}

/// Shapes of a batched matmul: batch walkers for both operands (offsets in
/// matrices) and `(m, k, n)`.
pub(crate) struct MatMulShape {
    pub(crate) a_batches: Vec<usize>,
    pub(crate) b_batches: Vec<usize>,
    pub(crate) m: usize,
    pub(crate) k: usize,
    pub(crate) n: usize,
}

impl MatMulShape {
    pub(crate) fn new(a: &[usize], b: &[usize], out: &[usize]) -> Result<MatMulShape, InterpError> {
        const OP: &str = "matmul";
        let (ra, rb, ro) = (a.len(), b.len(), out.len());
        if ra < 2 || rb < 2 || ro < 2 {
            return Err(InterpError::InvalidOp {
                op: OP,
                reason: "operands must have rank >= 2".into(),
            });
        }
        let m = dim(a, ra - 2, OP)?;
        let k = dim(a, ra - 1, OP)?;
        let n = dim(b, rb - 1, OP)?;
        let batch = &out[..ro - 2];
        let a_batches = StridedWalk::new(batch, broadcast_strides(batch, &a[..ra - 2])).collect();
        let b_batches = StridedWalk::new(batch, broadcast_strides(batch, &b[..rb - 2])).collect();
        Ok(MatMulShape {
            a_batches,
            b_batches,
            m,
            k,
            n,
        })
    }

    /// For every output element in row-major order, `init`, then
    /// `mac(acc, a[i,kk], b[kk,j])` for `kk` in order, then `finish`.
    pub(crate) fn run<T: Copy, A, R>(
        &self,
        a: &[T],
        b: &[T],
        init: impl Fn() -> A,
        mut mac: impl FnMut(&mut A, T, T),
        mut finish: impl FnMut(A) -> R,
    ) -> Vec<R> {
        let (m, k, n) = (self.m, self.k, self.n);
        let mut out = Vec::with_capacity(self.a_batches.len() * m * n);
        for (&ba, &bb) in self.a_batches.iter().zip(&self.b_batches) {
            let a0 = ba * m * k;
            let b0 = bb * k * n;
            for i in 0..m {
                for j in 0..n {
                    let mut acc = init();
                    for kk in 0..k {
                        if let (Some(&x), Some(&y)) =
                            (a.get(a0 + i * k + kk), b.get(b0 + kk * n + j))
                        {
                            mac(&mut acc, x, y);
                        }
                    }
                    out.push(finish(acc));
                }
            }
        }
        out
    }
}

/// `matmul` in f32.
pub(crate) fn matmul(operands: &[&Tensor], out: &TensorType) -> Result<TensorData, InterpError> {
    const OP: &str = "matmul";
    let a = operand(operands, 0, OP)?;
    let b = operand(operands, 1, OP)?;
    let shape = MatMulShape::new(&a.ty.shape, &b.ty.shape, &out.shape)?;
    let v = shape.run(
        view::<f32>(a, OP, "lhs")?,
        view::<f32>(b, OP, "rhs")?,
        || 0.0f32,
        |acc, x, y| *acc += x * y,
        |acc| acc,
    );
    Ok(TensorData::F32(v))
}

/// The element-wise binary ops.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Binary {
    Add,
    Sub,
    Mul,
    Div,
}

impl Binary {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Binary::Add => "add",
            Binary::Sub => "sub",
            Binary::Mul => "mul",
            Binary::Div => "div",
        }
    }
}

/// `add` / `sub` / `mul` / `div` in f32, broadcasting.
pub(crate) fn binary(
    kind: Binary,
    act: Activation,
    operands: &[&Tensor],
    out: &TensorType,
) -> Result<TensorData, InterpError> {
    let op = kind.name();
    let a = operand(operands, 0, op)?;
    let b = operand(operands, 1, op)?;
    let act = act_clamp(act);
    let f = move |x: f32, y: f32| {
        act(match kind {
            Binary::Add => x + y,
            Binary::Sub => x - y,
            Binary::Mul => x * y,
            Binary::Div => x / y,
        })
    };
    let v = broadcast_map(
        view::<f32>(a, op, "lhs")?,
        &a.ty.shape,
        view::<f32>(b, op, "rhs")?,
        &b.ty.shape,
        &out.shape,
        f,
    )?;
    Ok(TensorData::F32(v))
}

/// A unary element-wise op in f32.
pub(crate) fn unary(
    op: &'static str,
    x: &Tensor,
    f: impl Fn(f32) -> f32,
) -> Result<TensorData, InterpError> {
    Ok(TensorData::F32(
        view::<f32>(x, op, "input")?.iter().map(|&v| f(v)).collect(),
    ))
}

/// `sigmoid`: `1 / (1 + exp(-x))`.
pub(crate) fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + (-x).exp())
}

/// `hard_swish`: `f32(f32(x * min(6, max(0, x + 3))) / 6)`.
pub(crate) fn hard_swish(x: f32) -> f32 {
    x * clamp_f32(x + 3.0, 0.0, 6.0) / 6.0
}

/// `leaky_relu`: `x >= 0 ? x : alpha * x`.
pub(crate) fn leaky_relu(x: f32, alpha: f32) -> f32 {
    if x >= 0.0 {
        x
    } else {
        alpha * x
    }
}

/// `elu`: `x >= 0 ? x : alpha * expm1(x)` (f32).
pub(crate) fn elu(x: f32, alpha: f32) -> f32 {
    if x >= 0.0 {
        x
    } else {
        alpha * x.exp_m1()
    }
}

/// `max_pool2d` / `avg_pool2d` in f32.
pub(crate) fn pool2d(
    a: &Pool2dAttrs,
    is_max: bool,
    x: &Tensor,
    out: &TensorType,
) -> Result<TensorData, InterpError> {
    let op = if is_max { "max_pool2d" } else { "avg_pool2d" };
    let geo = PoolGeom::new(a, &x.ty.shape, &out.shape, op)?;
    let xs = view::<f32>(x, op, "input")?;
    let act = act_clamp(a.act);
    let full = geo.window_size();
    let v = geo.run(xs, |taps| {
        if is_max {
            let mut m = f32::MIN;
            for &t in taps {
                if m < t {
                    m = t;
                }
            }
            return Ok(act(m));
        }
        let mut sum = 0.0f32;
        for &t in taps {
            sum += t;
        }
        let n = if a.count_include_pad {
            full
        } else {
            taps.len()
        };
        Ok(act(sum / n as f32))
    })?;
    Ok(TensorData::F32(v))
}

/// `mean` in f32: per output element, the sum in input row-major order
/// divided by the number of reduced elements.
pub(crate) fn mean(a: &MeanAttrs, x: &Tensor) -> Result<TensorData, InterpError> {
    const OP: &str = "mean";
    let xs = view::<f32>(x, OP, "input")?;
    let (slots, n, walk) = reduction(&x.ty.shape, &a.axes);
    let mut sums = vec![0.0f32; slots];
    for (&v, o) in xs.iter().zip(walk) {
        if let Some(s) = sums.get_mut(o) {
            *s += v;
        }
    }
    let n = n as f32;
    Ok(TensorData::F32(sums.into_iter().map(|s| s / n).collect()))
}

/// `softmax` in f32 over the last axis:
/// `exp(beta * (x - max)) / sum`.
pub(crate) fn softmax(beta: f32, x: &Tensor) -> Result<TensorData, InterpError> {
    const OP: &str = "softmax";
    let xs = view::<f32>(x, OP, "input")?;
    let depth = x.ty.shape.last().copied().unwrap_or(1);
    if depth == 0 {
        return Ok(TensorData::F32(Vec::new()));
    }
    let mut out = Vec::with_capacity(xs.len());
    for row in xs.chunks_exact(depth) {
        let mut max = f32::MIN;
        for &v in row {
            if max < v {
                max = v;
            }
        }
        let start = out.len();
        let mut sum = 0.0f32;
        for &v in row {
            let e = ((v - max) * beta).exp();
            out.push(e);
            sum += e;
        }
        for e in out.iter_mut().skip(start) {
            *e /= sum;
        }
    }
    Ok(TensorData::F32(out))
}

/// `batch_norm` over the last axis: `f32(f32(x - mean) / f32(sqrt(f32(var
/// + epsilon)))) * scale + bias`, each step in f32.
pub(crate) fn batch_norm(epsilon: f32, operands: &[&Tensor]) -> Result<TensorData, InterpError> {
    const OP: &str = "batch_norm";
    let x = view::<f32>(operand(operands, 0, OP)?, OP, "input")?;
    let param = |i: usize, what: &str| view::<f32>(operand(operands, i, OP)?, OP, what);
    let (scale, bias, mean, var) = (
        param(1, "scale")?,
        param(2, "bias")?,
        param(3, "mean")?,
        param(4, "variance")?,
    );
    let c = scale.len();
    if c == 0 {
        return Ok(TensorData::F32(Vec::new()));
    }
    Ok(TensorData::F32(
        x.iter()
            .enumerate()
            .map(|(i, &v)| {
                let k = i % c;
                (v - mean[k]) / (var[k] + epsilon).sqrt() * scale[k] + bias[k]
            })
            .collect(),
    ))
}

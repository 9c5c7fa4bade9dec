//! Random valid graphs over every op, float and int8.

use proptest::prelude::*;
use tmlc_ir::*;

/// A stream of decisions. Past the end of the vector every decision is 0,
/// which always selects a valid, small option.
pub struct Choices<'a> {
    data: &'a [u32],
    pos: usize,
}

impl<'a> Choices<'a> {
    /// Reads decisions from `data`.
    pub fn new(data: &'a [u32]) -> Self {
        Choices { data, pos: 0 }
    }
    /// A value in `0..n` (`n > 0`).
    pub fn below(&mut self, n: usize) -> usize {
        let v = self.data.get(self.pos).copied().unwrap_or(0);
        self.pos += 1;
        (v as usize) % n.max(1)
    }
    /// A value in `lo..=hi`.
    pub fn range(&mut self, lo: usize, hi: usize) -> usize {
        lo + self.below(hi - lo + 1)
    }
    /// One element of `items`.
    pub fn pick<T: Clone>(&mut self, items: &[T]) -> T {
        items[self.below(items.len())].clone()
    }
    /// A small float in `[-2, 2]`, on a 1/64 grid.
    pub fn float(&mut self) -> f32 {
        (self.below(257) as f32 - 128.0) / 64.0
    }
    /// A boolean.
    pub fn flag(&mut self) -> bool {
        self.below(2) == 1
    }
}

/// A proptest strategy of random valid graphs (float or int8).
pub fn arb_graph() -> impl Strategy<Value = Graph> {
    proptest::collection::vec(any::<u32>(), 0..160).prop_map(|v| build_graph(&v))
}

struct Gen<'a, 'c> {
    c: &'c mut Choices<'a>,
    g: Graph,
    quant: bool,
    /// Live values that later ops may consume.
    pool: Vec<ValueId>,
    counter: usize,
}

fn qscale(c: &mut Choices<'_>) -> f32 {
    c.pick(&[0.5f32, 0.25, 0.1, 0.05, 0.02, 0.0625, 0.037])
}

impl Gen<'_, '_> {
    fn ty(&self, v: ValueId) -> TensorType {
        self.g.value(v).ty.clone()
    }

    fn act(&mut self) -> Activation {
        self.c.pick(&[
            Activation::None,
            Activation::Relu,
            Activation::Relu6,
            Activation::ReluN1To1,
        ])
    }

    /// A result type with `shape`, quantized in int8 mode.
    fn out_ty(&mut self, shape: Vec<usize>) -> TensorType {
        if self.quant {
            let s = qscale(self.c);
            let zp = self.c.range(0, 40) as i32 - 20;
            TensorType::quantized(DType::I8, shape, Quant::per_tensor(s, zp))
        } else {
            TensorType::new(DType::F32, shape)
        }
    }

    fn konst(&mut self, shape: Vec<usize>, q: Option<Quant>) -> ValueId {
        let n = numel(&shape);
        let data = if self.quant {
            TensorData::I8((0..n).map(|_| self.c.below(256) as i32 as i8).collect())
        } else {
            TensorData::F32((0..n).map(|_| self.c.float()).collect())
        };
        let dtype = data.dtype();
        self.counter += 1;
        let name = format!("k{}", self.counter);
        self.g.add_const(
            &name,
            TensorType {
                dtype,
                shape,
                quant: q,
            },
            data,
        )
    }

    fn activation_const(&mut self, shape: Vec<usize>) -> ValueId {
        let q = if self.quant {
            let s = qscale(self.c);
            let zp = self.c.range(0, 20) as i32 - 10;
            Some(Quant::per_tensor(s, zp))
        } else {
            None
        };
        self.konst(shape, q)
    }

    fn bias(&mut self, n: usize) -> ValueId {
        self.counter += 1;
        let name = format!("b{}", self.counter);
        if self.quant {
            let d = TensorData::I32((0..n).map(|_| self.c.below(2001) as i32 - 1000).collect());
            self.g
                .add_const(&name, TensorType::new(DType::I32, vec![n]), d)
        } else {
            let d = TensorData::F32((0..n).map(|_| self.c.float()).collect());
            self.g
                .add_const(&name, TensorType::new(DType::F32, vec![n]), d)
        }
    }

    fn weights(&mut self, shape: Vec<usize>) -> ValueId {
        let q = if self.quant {
            let o = shape[0];
            if self.c.flag() {
                let s = (0..o).map(|_| qscale(self.c) / 4.0).collect();
                Some(Quant::per_axis(0, s, vec![0; o]))
            } else {
                Some(Quant::per_tensor(qscale(self.c) / 4.0, 0))
            }
        } else {
            None
        };
        self.konst(shape, q)
    }

    /// Adds `op` with a result of the inferred shape; `None` if the op does
    /// not verify (the caller just tries something else).
    fn add(&mut self, op: Op, operands: Vec<ValueId>, out: TensorType) -> Option<ValueId> {
        let tys: Vec<TensorType> = operands.iter().map(|&v| self.ty(v)).collect();
        let refs: Vec<&TensorType> = tys.iter().collect();
        let shape = infer_type(&op, &refs).ok()?.shape;
        let out = TensorType { shape, ..out };
        check_op(&op, &refs, &out).ok()?;
        self.counter += 1;
        let name = format!("v{}", self.counter);
        let v = self.g.add_node(op, operands, &name, out);
        self.pool.push(v);
        Some(v)
    }

    fn step(&mut self) {
        let x = self.c.pick(&self.pool);
        let xt = self.ty(x);
        let rank4 = xt.rank() == 4;
        let kind = self.c.below(26);
        let _ = match kind {
            0 | 1 if rank4 => {
                let cin = xt.shape[3];
                let depthwise = self.c.flag();
                let (groups, o) = if depthwise {
                    (cin, cin * self.c.range(1, 2))
                } else {
                    (1, self.c.range(1, 4))
                };
                let kh = self.c.range(1, 3);
                let kw = self.c.range(1, 3);
                let w = self.weights(vec![o, kh, kw, cin / groups]);
                let mut ops = vec![x, w];
                if self.c.flag() {
                    ops.push(self.bias(o));
                }
                let a = Conv2dAttrs {
                    stride: [self.c.range(1, 2), self.c.range(1, 2)],
                    dilation: [self.c.range(1, 2), 1],
                    pad: [
                        self.c.below(2),
                        self.c.below(2),
                        self.c.below(2),
                        self.c.below(2),
                    ],
                    groups,
                    act: self.act(),
                    ..Default::default()
                };
                let out = self.out_ty(vec![]);
                self.add(Op::Conv2d(a), ops, out)
            }
            2 => {
                let k = *xt.shape.last().unwrap_or(&1);
                if xt.shape.is_empty() {
                    return;
                }
                let n = self.c.range(1, 4);
                let w = self.weights(vec![n, k]);
                let mut ops = vec![x, w];
                if self.c.flag() {
                    ops.push(self.bias(n));
                }
                let out = self.out_ty(vec![]);
                let act = self.act();
                self.add(
                    Op::FullyConnected(FullyConnectedAttrs {
                        keep_dims: false,
                        act,
                        ..Default::default()
                    }),
                    ops,
                    out,
                )
            }
            3..=5 => {
                let other = if self.c.flag() {
                    self.c.pick(&self.pool)
                } else {
                    let s = if self.c.flag() || xt.shape.is_empty() {
                        xt.shape.clone()
                    } else {
                        vec![*xt.shape.last().unwrap_or(&1)]
                    };
                    self.activation_const(s)
                };
                let a = BinaryAttrs { act: self.act() };
                let op = match kind {
                    3 => Op::Add(a),
                    4 => Op::Sub(a),
                    // div is f32 only.
                    _ if !self.quant && self.c.flag() => Op::Div(a),
                    _ => Op::Mul(a),
                };
                let out = self.out_ty(vec![]);
                self.add(op, vec![x, other], out)
            }
            6..=12 => {
                let op = match kind {
                    6 => Op::Relu,
                    7 => Op::Relu6,
                    8 => {
                        let lo = self.c.float();
                        Op::Clip(ClipAttrs {
                            min: lo,
                            max: lo + self.c.float().abs(),
                        })
                    }
                    9 => Op::LeakyRelu(LeakyReluAttrs {
                        alpha: self.c.pick(&[0.1f32, 0.2, 0.01]),
                    }),
                    10 => Op::Sigmoid,
                    11 if self.c.flag() => Op::Elu(EluAttrs {
                        alpha: self.c.pick(&[1.0f32, 0.5]),
                    }),
                    11 => Op::Tanh,
                    _ => Op::HardSwish,
                };
                let mut out = self.out_ty(vec![]);
                if self.quant {
                    match op {
                        Op::Sigmoid => out.quant = Some(Quant::per_tensor(1.0 / 256.0, -128)),
                        Op::Tanh => out.quant = Some(Quant::per_tensor(1.0 / 128.0, 0)),
                        _ => {}
                    }
                }
                self.add(op, vec![x], out)
            }
            13 | 14 if rank4 => {
                let mut a = Pool2dAttrs::new([self.c.range(1, 3), self.c.range(1, 3)]);
                a.stride = [self.c.range(1, 2), self.c.range(1, 2)];
                if a.kernel[0] > 1 && self.c.flag() {
                    a.pad = [
                        1,
                        a.kernel[1] / 2,
                        a.kernel[0] - 1 - (a.kernel[0] > 2) as usize,
                        0,
                    ];
                }
                a.act = self.act();
                let op = if kind == 13 {
                    Op::MaxPool2d(a)
                } else {
                    a.count_include_pad = !self.quant && self.c.flag();
                    Op::AvgPool2d(a)
                };
                self.add(op, vec![x], xt.clone())
            }
            15 if !xt.shape.is_empty() => {
                let r = xt.rank();
                let first = self.c.below(r);
                let mut axes = vec![first];
                if first + 1 < r && self.c.flag() {
                    axes.push(first + 1);
                }
                let out = self.out_ty(vec![]);
                let keep_dims = self.c.flag();
                self.add(Op::Mean(MeanAttrs { axes, keep_dims }), vec![x], out)
            }
            16 => {
                let n = xt.numel();
                let shape = match self.c.below(3) {
                    0 => vec![n],
                    1 => vec![1, n],
                    _ => xt.shape.clone(),
                };
                let out = TensorType {
                    shape: shape.clone(),
                    ..xt.clone()
                };
                self.add(Op::Reshape(ReshapeAttrs { shape }), vec![x], out)
            }
            17 => {
                let mut perm: Vec<usize> = (0..xt.rank()).collect();
                for i in (1..perm.len()).rev() {
                    let j = self.c.below(i + 1);
                    perm.swap(i, j);
                }
                self.add(Op::Transpose(TransposeAttrs { perm }), vec![x], xt.clone())
            }
            18 if !xt.shape.is_empty() => {
                let same: Vec<ValueId> = self
                    .pool
                    .iter()
                    .copied()
                    .filter(|&v| self.ty(v) == xt)
                    .collect();
                let y = self.c.pick(&same);
                let axis = self.c.below(xt.rank());
                self.add(Op::Concat(ConcatAttrs { axis }), vec![x, y], xt.clone())
            }
            19 => {
                let r = xt.rank();
                let before = (0..r).map(|_| self.c.below(2)).collect();
                let after = (0..r).map(|_| self.c.below(2)).collect();
                let value = if self.c.flag() { 0.0 } else { self.c.float() };
                self.add(
                    Op::Pad(PadAttrs {
                        before,
                        after,
                        value,
                    }),
                    vec![x],
                    xt.clone(),
                )
            }
            20 if !xt.shape.is_empty() => {
                let mut out = xt.clone();
                if self.quant {
                    out.quant = Some(Quant::per_tensor(1.0 / 256.0, -128));
                }
                let beta = self.c.pick(&[1.0f32, 0.5, 2.0]);
                let axis = self.c.pick(&[-1i64, 0, 1]);
                self.add(Op::Softmax(SoftmaxAttrs { beta, axis }), vec![x], out)
            }
            21 if xt.rank() >= 2 => {
                let k = xt.shape[xt.rank() - 1];
                let n = self.c.range(1, 3);
                let b = self.activation_const(vec![k, n]);
                let out = self.out_ty(vec![]);
                self.add(Op::MatMul, vec![x, b], out)
            }
            22 => {
                // A round trip through the other numeric domain.
                if self.quant {
                    let f = self.add(Op::Dequantize, vec![x], TensorType::new(DType::F32, vec![]));
                    match f {
                        Some(f) => {
                            let out = self.out_ty(vec![]);
                            let q = self.add(Op::Quantize(Default::default()), vec![f], out);
                            self.pool.retain(|&v| v != f);
                            q
                        }
                        None => None,
                    }
                } else {
                    let s = qscale(self.c);
                    let zp = self.c.range(0, 20) as i32 - 10;
                    let out = TensorType::quantized(DType::I8, vec![], Quant::per_tensor(s, zp));
                    match self.add(Op::Quantize(Default::default()), vec![x], out) {
                        Some(q) => {
                            self.pool.retain(|&v| v != q);
                            self.add(Op::Dequantize, vec![q], TensorType::new(DType::F32, vec![]))
                        }
                        None => None,
                    }
                }
            }
            23 => {
                let (mut begin, mut end, mut step) = (Vec::new(), Vec::new(), Vec::new());
                for &d in &xt.shape {
                    // Never empty, so that later ops keep non-zero dims.
                    let b = self.c.below(d.max(1)).min(d);
                    begin.push(b);
                    end.push(self.c.range((b + 1).min(d), d));
                    step.push(self.c.range(1, 2));
                }
                let a = SliceAttrs { begin, end, step };
                self.add(Op::Slice(a), vec![x], xt.clone())
            }
            24 if self.quant => {
                let table = (0..256).map(|_| self.c.below(256) as u8 as i8).collect();
                let t = self.g.add_const(
                    "table",
                    TensorType::new(DType::I8, vec![256]),
                    TensorData::I8(table),
                );
                let out = self.out_ty(vec![]);
                self.add(Op::Lookup, vec![x, t], out)
            }
            24 if !xt.shape.is_empty() => {
                let c = xt.shape[xt.rank() - 1];
                let mut ops = vec![x];
                for k in 0..4 {
                    let v: Vec<f32> = (0..c)
                        .map(|_| match k {
                            3 => self.c.float().abs() + 0.25,
                            _ => self.c.float(),
                        })
                        .collect();
                    self.counter += 1;
                    let name = format!("bn{}", self.counter);
                    ops.push(self.g.add_const(
                        &name,
                        TensorType::new(DType::F32, vec![c]),
                        TensorData::F32(v),
                    ));
                }
                let epsilon = self.c.pick(&[1e-5f32, 1e-3]);
                self.add(Op::BatchNorm(BatchNormAttrs { epsilon }), ops, xt.clone())
            }
            _ => {
                // Identity-shaped ops for remove-identity, or a requantize.
                if self.quant && self.c.flag() {
                    let out = self.out_ty(vec![]);
                    self.add(Op::Quantize(Default::default()), vec![x], out)
                } else {
                    let shape = xt.shape.clone();
                    self.add(Op::Reshape(ReshapeAttrs { shape }), vec![x], xt.clone())
                }
            }
        };
    }
}

/// Builds a random valid graph from a choice vector.
pub fn build_graph(choices: &[u32]) -> Graph {
    let mut c = Choices::new(choices);
    let quant = c.flag();
    let shape = vec![1, c.range(1, 5), c.range(1, 5), c.range(1, 3)];
    let mut g = Graph::new("g");
    let ty = if quant {
        let s = qscale(&mut c);
        let zp = c.range(0, 60) as i32 - 30;
        TensorType::quantized(DType::I8, shape.clone(), Quant::per_tensor(s, zp))
    } else {
        TensorType::new(DType::F32, shape.clone())
    };
    let x = g.add_input("x", ty);
    let mut gen = Gen {
        c: &mut c,
        g,
        quant,
        pool: vec![x],
        counter: 0,
    };
    // Sometimes a constant-only chain, which fold-constants must fold.
    if gen.c.flag() {
        let k = gen.activation_const(vec![shape[3]]);
        gen.pool.push(k);
    }
    let steps = gen.c.range(1, 8);
    for _ in 0..steps {
        gen.step();
    }
    let Gen { mut g, pool, c, .. } = gen;
    // Outputs: the last value plus maybe another one; the rest is dead code
    // for dce, unless consumed.
    let last = *pool.last().unwrap_or(&x);
    let mut outs = vec![last];
    let other = c.pick(&pool);
    if other != last && c.flag() {
        outs.push(other);
    }
    g.set_outputs(outs);
    g
}

/// Deterministic inputs for `g`: f32 in `[-3, 3]`, integers over their
/// whole range (a simple LCG seeded with `seed`).
pub fn sample_inputs(g: &Graph, seed: u64) -> Vec<Tensor> {
    let mut s = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    let mut next = move || {
        s = s
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (s >> 33) as u32
    };
    g.inputs()
        .iter()
        .map(|&v| {
            let ty = g.value(v).ty.clone();
            let n = ty.numel();
            let data = match ty.dtype {
                DType::F32 => TensorData::F32(
                    (0..n)
                        .map(|_| (next() % 6001) as f32 / 1000.0 - 3.0)
                        .collect(),
                ),
                DType::Bool => TensorData::Bool((0..n).map(|_| next() % 2 == 1).collect()),
                d => {
                    let (lo, hi) = d.int_range().unwrap_or((-1000, 1000));
                    let span = (hi - lo + 1) as u64;
                    TensorData::from_i64(d, (0..n).map(|_| lo + (next() as u64 % span) as i64))
                }
            };
            Tensor { ty, data }
        })
        .collect()
}

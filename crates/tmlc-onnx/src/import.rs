//! The importer: the model's opsets, initializers, inputs and outputs, the
//! table of ONNX values and their layouts, and the node loop (each node
//! converted by [`crate::ops`]).
//!
//! Layout: ONNX tensors are NCHW, the IR's activations NHWC. Every ONNX
//! value is kept in one or both of two forms: `plain` (the ONNX shape) and,
//! for rank-4 tensors, `nhwc` (the same tensor transposed to NHWC). Ops that
//! need NHWC (convolutions, pooling) ask for that form, element-wise ops use
//! whatever form their operands already have, and shape ops ask for the
//! plain form; a missing form is made once with a transpose (of a constant,
//! folded by `fold-constants`). Graph inputs and outputs keep ONNX's shapes.

use crate::proto::{GraphProto, ModelProto, NodeProto};
use crate::tensor;
use crate::{ExternalData, ImportOptions, OnnxError};
use std::collections::HashMap;
use tmlc_ir::{
    DType, Graph, Op, ReshapeAttrs, ResultType, TensorData, TensorType, TransposeAttrs, ValueId,
};

/// NCHW -> NHWC.
pub(crate) const TO_NHWC: [usize; 4] = [0, 2, 3, 1];
/// NHWC -> NCHW.
pub(crate) const TO_NCHW: [usize; 4] = [0, 3, 1, 2];

/// The IR forms of one ONNX value.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Val {
    /// The tensor with ONNX's shape.
    pub(crate) plain: Option<ValueId>,
    /// A rank-4 tensor transposed to NHWC.
    pub(crate) nhwc: Option<ValueId>,
    /// An image `[N, C, H, W]` flattened to `[N, C*H*W]` from its NHWC
    /// form: the columns are in `(h, w, c)` order, not `(c, h, w)`; the
    /// `[C, H, W]` it came from. A dense layer reading it permutes its
    /// weights instead of the activations.
    pub(crate) flat: Option<(ValueId, [usize; 3])>,
}

pub(crate) struct Importer<'a> {
    pub(crate) g: Graph,
    values: HashMap<String, Val>,
    /// The default domain's opset.
    pub(crate) opset: i64,
    external: Option<&'a ExternalData<'a>>,
    /// Rank-4 graph inputs and outputs are NHWC.
    io_nhwc: bool,
}

/// One node being converted, with typed access to its attributes.
pub(crate) struct Node<'n> {
    pub(crate) p: &'n NodeProto,
    /// Node name, or its first output when unnamed (errors, value names).
    pub(crate) name: String,
}

impl<'n> Node<'n> {
    pub(crate) fn op(&self) -> &str {
        &self.p.op_type
    }

    /// An error about this node.
    pub(crate) fn err(&self, message: impl Into<String>) -> OnnxError {
        OnnxError::Node {
            node: self.name.clone(),
            op: self.p.op_type.clone(),
            message: message.into(),
        }
    }

    fn attr(&self, key: &str) -> Option<&'n crate::proto::AttributeProto> {
        self.p.attribute.iter().find(|a| a.name == key)
    }

    pub(crate) fn has_attr(&self, key: &str) -> bool {
        self.attr(key).is_some()
    }

    pub(crate) fn int(&self, key: &str, default: i64) -> i64 {
        self.attr(key).map_or(default, |a| a.i)
    }

    pub(crate) fn float(&self, key: &str, default: f32) -> f32 {
        self.attr(key).map_or(default, |a| a.f)
    }

    pub(crate) fn ints(&self, key: &str) -> Option<&'n [i64]> {
        self.attr(key).map(|a| a.ints.as_slice())
    }

    pub(crate) fn string(&self, key: &str) -> Option<String> {
        self.attr(key)
            .map(|a| String::from_utf8_lossy(&a.s).into_owned())
    }

    pub(crate) fn tensor(&self, key: &str) -> Option<&'n crate::proto::TensorProto> {
        self.attr(key).and_then(|a| a.t.as_ref())
    }

    pub(crate) fn floats(&self, key: &str) -> Option<&'n [f32]> {
        self.attr(key).map(|a| a.floats.as_slice())
    }

    /// `ints` as non-negative sizes.
    pub(crate) fn sizes(&self, key: &str) -> Result<Option<Vec<usize>>, OnnxError> {
        self.ints(key)
            .map(|v| {
                v.iter()
                    .map(|&x| {
                        usize::try_from(x)
                            .map_err(|_| self.err(format!("{key} has a negative value {x}")))
                    })
                    .collect()
            })
            .transpose()
    }

    /// Input `i`, if given (an empty name is an omitted optional input).
    pub(crate) fn input(&self, i: usize) -> Option<&'n str> {
        self.p
            .input
            .get(i)
            .map(String::as_str)
            .filter(|s| !s.is_empty())
    }

    /// Input `i`, required.
    pub(crate) fn req(&self, i: usize) -> Result<&'n str, OnnxError> {
        self.input(i)
            .ok_or_else(|| self.err(format!("input #{i} is missing")))
    }

    /// Output `i`'s name.
    pub(crate) fn output(&self, i: usize) -> Result<&'n str, OnnxError> {
        self.p
            .output
            .get(i)
            .map(String::as_str)
            .ok_or_else(|| self.err(format!("output #{i} is missing")))
    }
}

fn graph_err(n: &Node<'_>, e: tmlc_ir::GraphError) -> OnnxError {
    n.err(e.to_string())
}

impl<'a> Importer<'a> {
    /// The value named `name`.
    pub(crate) fn val(&self, n: &Node<'_>, name: &str) -> Result<Val, OnnxError> {
        self.values
            .get(name)
            .copied()
            .ok_or_else(|| n.err(format!("reads `{name}`, which nothing defines before it")))
    }

    /// Defines ONNX value `name`.
    pub(crate) fn define(&mut self, name: &str, v: Val) {
        self.values.insert(name.to_string(), v);
    }

    /// The type of IR value `v`.
    pub(crate) fn ty(&self, v: ValueId) -> &TensorType {
        &self.g.value(v).ty
    }

    /// Adds `op(operands)` with an inferred type, named `name`.
    pub(crate) fn op(
        &mut self,
        n: &Node<'_>,
        op: Op,
        operands: Vec<ValueId>,
        name: &str,
    ) -> Result<ValueId, OnnxError> {
        self.g
            .add_op(op, operands, name, ResultType::Inferred)
            .map_err(|e| graph_err(n, e))
    }

    /// Adds a constant.
    pub(crate) fn konst(&mut self, name: &str, ty: TensorType, data: TensorData) -> ValueId {
        self.g.add_const(name, ty, data)
    }

    /// Defines ONNX value `name` as a constant.
    pub(crate) fn define_const(&mut self, name: &str, ty: TensorType, data: TensorData) {
        let id = self.konst(name, ty, data);
        self.define(
            name,
            Val {
                plain: Some(id),
                ..Val::default()
            },
        );
    }

    /// The constant data of IR value `v`.
    pub(crate) fn const_data(&self, v: ValueId) -> Option<&TensorData> {
        self.g.const_data(v)
    }

    fn transpose(
        &mut self,
        n: &Node<'_>,
        v: ValueId,
        perm: &[usize],
        suffix: &str,
    ) -> Result<ValueId, OnnxError> {
        let name = format!("{}_{suffix}", self.g.value(v).name);
        self.op(
            n,
            Op::Transpose(TransposeAttrs {
                perm: perm.to_vec(),
            }),
            vec![v],
            &name,
        )
    }

    /// The ONNX-shaped form of `name`.
    pub(crate) fn plain(&mut self, n: &Node<'_>, name: &str) -> Result<ValueId, OnnxError> {
        let mut v = self.val(n, name)?;
        if let Some(p) = v.plain {
            return Ok(p);
        }
        let p = match (v.nhwc, v.flat) {
            (Some(x), _) => self.transpose(n, x, &TO_NCHW, "nchw")?,
            (None, Some((f, [c, h, w]))) => {
                // Back to [N, H, W, C], to NCHW, flattened in ONNX's order.
                let batch = self.ty(f).shape[0];
                let name4 = format!("{}_nhwc", self.g.value(f).name);
                let shape = vec![batch, h, w, c];
                let x = self.op(n, Op::Reshape(ReshapeAttrs { shape }), vec![f], &name4)?;
                let t = self.transpose(n, x, &TO_NCHW, "nchw")?;
                let name2 = format!("{}_flat", self.g.value(t).name);
                let shape = vec![batch, c * h * w];
                self.op(n, Op::Reshape(ReshapeAttrs { shape }), vec![t], &name2)?
            }
            (None, None) => return Err(n.err(format!("`{name}` has no value"))),
        };
        v.plain = Some(p);
        self.define(name, v);
        Ok(p)
    }

    /// The NHWC form of rank-4 `name`.
    pub(crate) fn nhwc(&mut self, n: &Node<'_>, name: &str) -> Result<ValueId, OnnxError> {
        let mut v = self.val(n, name)?;
        if let Some(x) = v.nhwc {
            return Ok(x);
        }
        let p = v
            .plain
            .ok_or_else(|| n.err(format!("`{name}` has no value")))?;
        if self.ty(p).rank() != 4 {
            return Err(n.err(format!(
                "`{name}` must have rank 4, has type {}",
                self.ty(p)
            )));
        }
        let x = self.transpose(n, p, &TO_NHWC, "nhwc")?;
        v.nhwc = Some(x);
        self.define(name, v);
        Ok(x)
    }

    /// The flattened-from-NHWC form of `name`, if it has only that one.
    pub(crate) fn flat(&self, name: &str) -> Option<(ValueId, [usize; 3])> {
        self.values
            .get(name)
            .filter(|v| v.plain.is_none())
            .and_then(|v| v.flat)
    }

    /// True when `name` is a rank-4 tensor (it has an NHWC form, or a
    /// plain form of rank 4).
    fn is_rank4(&self, name: &str) -> bool {
        self.values
            .get(name)
            .is_some_and(|v| v.nhwc.is_some() || v.plain.is_some_and(|p| self.ty(p).rank() == 4))
    }

    /// True when `name` already has an NHWC form.
    pub(crate) fn is_nhwc(&self, name: &str) -> bool {
        self.values.get(name).is_some_and(|v| v.nhwc.is_some())
    }
}

/// The default domain.
fn is_default_domain(d: &str) -> bool {
    d.is_empty() || d == "ai.onnx"
}

/// Decodes and imports a model.
pub(crate) fn import(
    bytes: &[u8],
    name: &str,
    opts: &ImportOptions<'_>,
) -> Result<Graph, OnnxError> {
    use prost::Message;
    let model = ModelProto::decode(bytes).map_err(|e| OnnxError::Decode(e.to_string()))?;
    let mut opset = None;
    for o in &model.opset_import {
        if is_default_domain(&o.domain) {
            if !(7..=25).contains(&o.version) {
                return Err(OnnxError::Opset {
                    domain: "ai.onnx".into(),
                    version: o.version,
                });
            }
            opset = Some(o.version);
        }
    }
    // IR version 3 models may omit opset_import for the default domain.
    let opset = opset.unwrap_or(7);
    let graph = model.graph.as_ref().ok_or(OnnxError::NoGraph)?;
    let mut imp = Importer {
        g: Graph::new(name),
        values: HashMap::new(),
        opset,
        external: opts.external,
        io_nhwc: opts.io_layout == crate::IoLayout::Nhwc,
    };
    imp.initializers(graph)?;
    imp.inputs(graph, opts)?;
    for p in &graph.node {
        let node = Node {
            p,
            name: if p.name.is_empty() {
                p.output
                    .first()
                    .cloned()
                    .unwrap_or_else(|| p.op_type.clone())
            } else {
                p.name.clone()
            },
        };
        if !is_default_domain(&p.domain) {
            return Err(OnnxError::UnsupportedOp {
                op: format!("{}.{}", p.domain, p.op_type),
                node: node.name,
            });
        }
        crate::ops::convert(&mut imp, &node)?;
    }
    imp.outputs(graph)?;
    tmlc_ir::verify(&imp.g).map_err(OnnxError::Verify)?;
    Ok(imp.g)
}

impl Importer<'_> {
    fn initializers(&mut self, graph: &GraphProto) -> Result<(), OnnxError> {
        for t in &graph.initializer {
            let (ty, data) = tensor::read(t, self.external)?;
            self.define_const(&t.name, ty, data);
        }
        Ok(())
    }

    fn inputs(&mut self, graph: &GraphProto, opts: &ImportOptions<'_>) -> Result<(), OnnxError> {
        for vi in &graph.input {
            // Older exporters list initializers among the inputs too.
            if self.values.contains_key(&vi.name) {
                continue;
            }
            if let Some((_, ty, data)) = opts.constants.iter().find(|(n, ..)| *n == vi.name) {
                self.define_const(&vi.name, ty.clone(), data.clone());
                continue;
            }
            let bad = |message: String| OnnxError::Tensor {
                name: vi.name.clone(),
                message,
            };
            let Some(crate::proto::type_proto::Value::TensorType(tt)) =
                vi.r#type.as_ref().and_then(|t| t.value.as_ref())
            else {
                return Err(bad("graph input is not a tensor".into()));
            };
            let dtype = tensor::dtype(tt.elem_type).ok_or_else(|| {
                bad(format!(
                    "element type {} is not supported",
                    tensor::dtype_name(tt.elem_type)
                ))
            })?;
            let given = opts
                .input_shapes
                .iter()
                .find(|(n, _)| *n == vi.name)
                .map(|(_, s)| s.clone());
            let shape = match given {
                Some(s) => s,
                None => {
                    let dims = tt
                        .shape
                        .as_ref()
                        .map(|s| s.dim.as_slice())
                        .unwrap_or_default();
                    let mut shape = Vec::with_capacity(dims.len());
                    for (i, d) in dims.iter().enumerate() {
                        use crate::proto::tensor_shape_proto::dimension::Value as D;
                        shape.push(match d.value {
                            Some(D::DimValue(v)) if v > 0 => v as usize,
                            // A symbolic batch dimension defaults to 1.
                            _ if i == 0 => 1,
                            _ => {
                                return Err(bad(format!(
                                    "dimension {i} is unknown: give it with --input-shape {}=...",
                                    vi.name
                                )))
                            }
                        });
                    }
                    shape
                }
            };
            let nhwc = self.io_nhwc && shape.len() == 4;
            let shape = if nhwc {
                TO_NHWC.iter().map(|&a| shape[a]).collect()
            } else {
                shape
            };
            let ty = TensorType::new(dtype, shape);
            tmlc_ir::verify::check_type(&ty).map_err(bad)?;
            let id = self.g.add_input(&vi.name, ty);
            let val = if nhwc {
                Val {
                    nhwc: Some(id),
                    ..Val::default()
                }
            } else {
                Val {
                    plain: Some(id),
                    ..Val::default()
                }
            };
            self.define(&vi.name, val);
        }
        Ok(())
    }

    fn outputs(&mut self, graph: &GraphProto) -> Result<(), OnnxError> {
        let mut outs = Vec::new();
        for vi in &graph.output {
            let node = Node {
                p: &NodeProto::default(),
                name: vi.name.clone(),
            };
            let undefined = |_| OnnxError::Tensor {
                name: vi.name.clone(),
                message: "graph output is not defined by any node".into(),
            };
            let v = if self.io_nhwc && self.is_rank4(&vi.name) {
                self.nhwc(&node, &vi.name).map_err(undefined)?
            } else {
                self.plain(&node, &vi.name).map_err(undefined)?
            };
            outs.push(self.boundary_u8(&node, vi, v)?);
        }
        self.g.set_outputs(outs);
        Ok(())
    }
}

impl Importer<'_> {
    /// A `uint8` graph output held as i8 (zero point - 128) inside, back
    /// to uint8.
    fn boundary_u8(
        &mut self,
        n: &Node<'_>,
        vi: &crate::proto::ValueInfoProto,
        v: ValueId,
    ) -> Result<ValueId, OnnxError> {
        let declared = match vi.r#type.as_ref().and_then(|t| t.value.as_ref()) {
            Some(crate::proto::type_proto::Value::TensorType(tt)) => tensor::dtype(tt.elem_type),
            _ => None,
        };
        let t = self.ty(v).clone();
        let (Some(DType::U8), DType::I8, Some(q)) = (declared, t.dtype, t.quant.clone()) else {
            return Ok(v);
        };
        let mut q = q;
        q.zero_point.iter_mut().for_each(|z| *z += 128);
        let ty = TensorType::quantized(DType::U8, t.shape, q);
        let name = self.g.value(v).name.clone();
        self.g.rename(v, &format!("{name}_i8"));
        let u = self
            .g
            .add_op(
                Op::Quantize(tmlc_ir::QuantizeAttrs::default()),
                vec![v],
                &name,
                ResultType::Given(ty),
            )
            .map_err(|e| n.err(e.to_string()))?;
        Ok(u)
    }
}

/// Reads constant integer data (shapes, axes, pads given as inputs).
pub(crate) fn const_ints(d: &TensorData) -> Option<Vec<i64>> {
    match d {
        TensorData::I64(v) => Some(v.clone()),
        TensorData::I32(v) => Some(v.iter().map(|&x| x as i64).collect()),
        _ => None,
    }
}

/// A scalar f32 constant's value.
pub(crate) fn const_f32(d: &TensorData) -> Option<f32> {
    match d {
        TensorData::F32(v) if v.len() == 1 => Some(v[0]),
        _ => None,
    }
}

/// The f32 scalar type.
pub(crate) fn f32_ty(shape: Vec<usize>) -> TensorType {
    TensorType::new(DType::F32, shape)
}

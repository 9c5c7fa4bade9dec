//! Tensor types: dtype, static shape and optional quantization.

use crate::DType;
use std::fmt;

/// Affine quantization parameters: `real = scale * (q - zero_point)`.
///
/// Per-tensor when `axis` is `None` (then `scale` and `zero_point` have one
/// entry each); per-axis when `axis` is `Some(a)` (one entry per index of
/// dimension `a`).
#[derive(Clone, Debug, PartialEq)]
pub struct Quant {
    /// Scales, as float32 (the precision every format stores).
    pub scale: Vec<f32>,
    /// Zero points.
    pub zero_point: Vec<i32>,
    /// Quantized dimension for per-axis quantization.
    pub axis: Option<usize>,
}

impl Quant {
    /// Per-tensor parameters.
    pub fn per_tensor(scale: f32, zero_point: i32) -> Quant {
        Quant {
            scale: vec![scale],
            zero_point: vec![zero_point],
            axis: None,
        }
    }

    /// Per-axis parameters.
    pub fn per_axis(axis: usize, scale: Vec<f32>, zero_point: Vec<i32>) -> Quant {
        Quant {
            scale,
            zero_point,
            axis: Some(axis),
        }
    }

    /// True when there is a single scale/zero point for the whole tensor.
    pub fn is_per_tensor(&self) -> bool {
        self.axis.is_none()
    }

    /// Scale of channel `c` (per-tensor parameters broadcast).
    pub fn scale_at(&self, c: usize) -> f32 {
        if self.scale.len() == 1 {
            self.scale[0]
        } else {
            self.scale[c]
        }
    }

    /// Zero point of channel `c` (per-tensor parameters broadcast).
    pub fn zero_point_at(&self, c: usize) -> i32 {
        if self.zero_point.len() == 1 {
            self.zero_point[0]
        } else {
            self.zero_point[c]
        }
    }
}

/// The static type of a tensor value.
#[derive(Clone, Debug, PartialEq)]
pub struct TensorType {
    /// Element type.
    pub dtype: DType,
    /// Static shape; empty for a scalar.
    pub shape: Vec<usize>,
    /// Quantization parameters, for quantized integer tensors.
    pub quant: Option<Quant>,
}

impl TensorType {
    /// A plain (unquantized) tensor type.
    pub fn new(dtype: DType, shape: impl Into<Vec<usize>>) -> TensorType {
        TensorType {
            dtype,
            shape: shape.into(),
            quant: None,
        }
    }

    /// A quantized tensor type.
    pub fn quantized(dtype: DType, shape: impl Into<Vec<usize>>, quant: Quant) -> TensorType {
        TensorType {
            dtype,
            shape: shape.into(),
            quant: Some(quant),
        }
    }

    /// Number of elements (1 for a scalar). Saturates instead of overflowing.
    pub fn numel(&self) -> usize {
        numel(&self.shape)
    }

    /// Rank.
    pub fn rank(&self) -> usize {
        self.shape.len()
    }

    /// Size in bytes (saturating).
    pub fn byte_size(&self) -> usize {
        self.numel().saturating_mul(self.dtype.size())
    }

    /// True for an int8 tensor with quantization parameters.
    pub fn is_qi8(&self) -> bool {
        self.dtype == DType::I8 && self.quant.is_some()
    }

    /// The per-tensor (scale, zero point), if the type is per-tensor quantized.
    pub fn qparams(&self) -> Option<(f32, i32)> {
        match &self.quant {
            Some(q) if q.is_per_tensor() => Some((q.scale[0], q.zero_point[0])),
            _ => None,
        }
    }
}

/// Product of dimensions, saturating at `usize::MAX`.
pub fn numel(shape: &[usize]) -> usize {
    shape.iter().fold(1usize, |a, &d| a.saturating_mul(d))
}

/// Row-major strides (in elements) of a shape, saturating instead of
/// overflowing (a saturated stride only occurs next to a zero-sized
/// dimension, where it is never used).
pub fn strides(shape: &[usize]) -> Vec<usize> {
    let mut s = vec![1usize; shape.len()];
    let mut acc = 1usize;
    for (st, &d) in s.iter_mut().zip(shape).rev() {
        *st = acc;
        acc = acc.saturating_mul(d);
    }
    s
}

/// Element strides of a tensor of shape `inp` broadcast (numpy rules,
/// right-aligned) to `out`: its [`strides`], and 0 for broadcast and
/// missing dimensions.
pub fn broadcast_strides(out: &[usize], inp: &[usize]) -> Vec<usize> {
    let st = strides(inp);
    let lead = out.len().saturating_sub(inp.len());
    out.iter()
        .enumerate()
        .map(|(i, &od)| {
            if i < lead {
                return 0;
            }
            let j = i - lead;
            match (inp.get(j), st.get(j)) {
                (Some(&d), Some(&s)) if d == od && d != 1 => s,
                _ => 0,
            }
        })
        .collect()
}

impl fmt::Display for Quant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.axis {
            None => write!(f, "q({:?}, {})", self.scale[0], self.zero_point[0]),
            Some(a) => {
                write!(f, "q(axis={a}, [")?;
                for (i, s) in self.scale.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{s:?}")?;
                }
                f.write_str("], [")?;
                for (i, z) in self.zero_point.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{z}")?;
                }
                f.write_str("])")
            }
        }
    }
}

impl fmt::Display for TensorType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}[", self.dtype)?;
        for (i, d) in self.shape.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{d}")?;
        }
        f.write_str("]")?;
        if let Some(q) = &self.quant {
            write!(f, " {q}")?;
        }
        Ok(())
    }
}

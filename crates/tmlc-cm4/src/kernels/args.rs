//! Kernel arguments: the symbolic values a call passes (buffers are
//! placed later by the planner), and [`kernel_args!`], which turns a typed
//! argument struct into a [`Call`] with its fields in C parameter order.

use crate::lower::CType;
use tmlc_ir::ValueId;

/// One argument of a kernel call.
#[derive(Clone, Debug)]
pub(crate) enum Arg {
    /// Pointer to an operand's data (read only).
    In(ValueId, CType),
    /// Pointer to an operand's data plus a byte offset (read only).
    InAt(ValueId, CType, usize),
    /// Pointer to the layer's result.
    Out(CType),
    /// Pointer to the layer's result plus a byte offset.
    OutAt(CType, usize),
    /// Pointer to the layer's scratch buffer.
    Scratch(CType),
    /// Pointer to a constant array (cast to the given type).
    Const(usize, CType),
    /// A null pointer (an absent optional array).
    Null,
    /// An integer literal.
    Int(i64),
    /// A float literal.
    Float(f32),
}

/// One C statement: `func(args...);`.
#[derive(Clone, Debug)]
pub(crate) struct Call {
    pub(crate) func: &'static str,
    pub(crate) args: Vec<Arg>,
}

/// A value that becomes one or more C arguments.
pub(crate) trait IntoArgs {
    /// How many C arguments (checked against the C prototypes in tests).
    #[cfg_attr(not(test), allow(dead_code))]
    const COUNT: usize = 1;
    fn push_args(self, out: &mut Vec<Arg>);
}

impl IntoArgs for Arg {
    fn push_args(self, out: &mut Vec<Arg>) {
        out.push(self);
    }
}

impl IntoArgs for usize {
    /// An `int32_t` size (the lowering bounds sizes to int32 first).
    fn push_args(self, out: &mut Vec<Arg>) {
        out.push(Arg::Int(self.min(i64::MAX as usize) as i64));
    }
}

impl IntoArgs for i32 {
    fn push_args(self, out: &mut Vec<Arg>) {
        out.push(Arg::Int(self as i64));
    }
}

impl IntoArgs for i64 {
    fn push_args(self, out: &mut Vec<Arg>) {
        out.push(Arg::Int(self));
    }
}

impl IntoArgs for bool {
    fn push_args(self, out: &mut Vec<Arg>) {
        out.push(Arg::Int(self as i64));
    }
}

impl IntoArgs for f32 {
    fn push_args(self, out: &mut Vec<Arg>) {
        out.push(Arg::Float(self));
    }
}

impl<const N: usize> IntoArgs for [usize; N] {
    const COUNT: usize = N;
    fn push_args(self, out: &mut Vec<Arg>) {
        for v in self {
            v.push_args(out);
        }
    }
}

/// The requantisation of an int8 weighted layer: the C parameters
/// `const int32_t *mult, const int32_t *shift, const int32_t *rq`.
#[derive(Clone, Debug)]
pub(crate) enum Requant {
    /// The short requantisation: a `(m, rz, n)` array per channel; the
    /// multiplier and shift arrays are not needed (null).
    Fast(usize),
    /// The full requantisation: multiplier and shift arrays (`rq` null).
    Full {
        /// Per-channel multipliers.
        mult: usize,
        /// Per-channel shifts.
        shift: usize,
    },
}

impl IntoArgs for Requant {
    const COUNT: usize = 3;
    fn push_args(self, out: &mut Vec<Arg>) {
        match self {
            Requant::Fast(rq) => out.extend([Arg::Null, Arg::Null, Arg::Const(rq, CType::I32)]),
            Requant::Full { mult, shift } => out.extend([
                Arg::Const(mult, CType::I32),
                Arg::Const(shift, CType::I32),
                Arg::Null,
            ]),
        }
    }
}

/// Weights stored sparse (`tmlc_spmm_s8`): the C parameters `const
/// uint32_t *map, const int8_t *nz, int32_t blk`.
#[derive(Clone, Debug)]
pub(crate) struct SparseWeights {
    /// Per output channel, a bitmap of its non-zero blocks.
    pub(crate) map: Arg,
    /// The non-zero blocks' values, channel after channel.
    pub(crate) nz: Arg,
    /// Weights per block (1 or 4).
    pub(crate) blk: usize,
}

impl IntoArgs for SparseWeights {
    const COUNT: usize = 3;
    fn push_args(self, out: &mut Vec<Arg>) {
        out.extend([self.map, self.nz, Arg::Int(self.blk as i64)]);
    }
}

/// Declares a kernel's argument struct: its C function name and its
/// parameters in C order, each a field whose type ([`IntoArgs`]) says how
/// it is passed. Each invocation also lists `(function, C argument count)`
/// in `SIGNATURES`, which a test checks against the C prototypes.
macro_rules! kernel_args {
    ($(
        $(#[$doc:meta])*
        struct $name:ident = $func:literal {
            $( $field:ident : $ty:ty ),* $(,)?
        }
    )*) => {
        #[cfg(test)]
        pub(crate) const SIGNATURES: &[(&str, usize)] = &[$(
            ($func, 0 $(+ <$ty as $crate::kernels::args::IntoArgs>::COUNT)*),
        )*];
        $(
        $(#[$doc])*
        #[derive(Clone, Debug)]
        pub(crate) struct $name { $( pub(crate) $field: $ty, )* }

        impl From<$name> for $crate::kernels::Call {
            fn from(a: $name) -> $crate::kernels::Call {
                #[allow(unused_imports)]
                use $crate::kernels::args::IntoArgs;
                let mut args = Vec::new();
                $( a.$field.push_args(&mut args); )*
                $crate::kernels::Call { func: $func, args }
            }
        }
    )* };
}
pub(crate) use kernel_args;

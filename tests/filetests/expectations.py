#!/usr/bin/env python3
"""Independent expected results for the op filetests (tests/filetests/ops/*.tir).

Every graph output is computed from the real-valued definition of the ops
(spec/ir.md §5), in double precision, with the Python standard library only:
no code of tmlc is used.

- f32 outputs are printed as `repr(float)` of the double result.
- Quantized integer outputs are the real-valued result requantized as
  clamp(round_half_away_from_zero(real / s_out) + z_out, lo, hi), where real
  is computed from the dequantized inputs (a fused activation clamps the real
  value first). Inputs are dequantized as real = s * (q - z) (per axis where
  given); an unquantized i32 bias of an int8 conv2d / fully_connected is
  real = b * s_in * s_w[o].
- An integer output is written as `# expect:` (exact) when the result is exact
  by construction, and as `# expect~1:` otherwise (TFLite's fixed-point
  arithmetic may differ from the ideal rounding by one unit):
    * movement ops (reshape, transpose, concat, pad, slice), max_pool2d
      (a selection), quantize from f32 (Quantize is defined as this rounding of
      f32(x / s)): exact;
    * avg_pool2d with zero point 0 (the raw average rounded half away from
      zero is then the ideal rounding): exact;
    * sigmoid, tanh, softmax, hard_swish (fixed-point approximations), elu
      (through f32): ~1;
    * every other (linear) requantizing op: exact only if every element of
      real / s_out is an integer (up to 1e-4, so far from any rounding tie)
      or saturates by at least one unit beyond the integer range, ~1
      otherwise.

Usage:
    python3 tests/filetests/expectations.py            # print expectations
    python3 tests/filetests/expectations.py --write    # insert/update them
    python3 tests/filetests/expectations.py FILE...    # only these files
"""

import math
import os
import re
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
OPS_DIR = os.path.join(HERE, "ops")

INT_RANGE = {
    "i8": (-128, 127),
    "i4": (-8, 7),
    "u8": (0, 255),
    "i16": (-32768, 32767),
    "i32": (-(2**31), 2**31 - 1),
    "i64": (-(2**63), 2**63 - 1),
    "bool": (0, 1),
}
DTYPE_SIZE = {"f32": 4, "i8": 1, "i4": 1, "u8": 1, "i16": 2, "i32": 4, "i64": 8, "bool": 1}

ACT_RANGE = {
    "none": (-math.inf, math.inf),
    "relu": (0.0, math.inf),
    "relu6": (0.0, 6.0),
    "relu_n1_to_1": (-1.0, 1.0),
}


def f32(x):
    """Rounds a double to the nearest binary32 value (inf on overflow)."""
    if math.isnan(x) or math.isinf(x):
        return x
    try:
        return struct.unpack("<f", struct.pack("<f", x))[0]
    except OverflowError:
        # Beyond the f32 range: round to nearest gives +-inf past the midpoint.
        return math.copysign(math.inf, x)


def round_even(v):
    """Rounds half to even (Python's round)."""
    if math.isnan(v):
        return 0
    if math.isinf(v):
        return v
    return round(v)


def round_away(v):
    """Rounds half away from zero."""
    if math.isnan(v):
        return 0
    if math.isinf(v):
        return v
    a = abs(v)
    f = math.floor(a)
    r = f + 1 if a - f >= 0.5 else f
    return int(r) if v >= 0 else -int(r)


# ---------------------------------------------------------------- parsing

TOKEN_RE = re.compile(
    r"""
    (?P<ws>[ \t\r\n]+)
  | (?P<comment>\#[^\n]*)
  | (?P<hex>hex"[0-9A-Fa-f]*")
  | (?P<arrow>->)
  | (?P<value>%[A-Za-z0-9_.]+)
  | (?P<gname>@[A-Za-z0-9_.]+)
  | (?P<punct>[(){}\[\],:=])
  | (?P<scalar>-?[A-Za-z0-9_.+]+(?:(?<=[eE])-[A-Za-z0-9_.+]+)?)
    """,
    re.VERBOSE,
)


def tokenize(text):
    toks = []
    pos = 0
    while pos < len(text):
        m = TOKEN_RE.match(text, pos)
        if not m:
            raise SyntaxError("cannot tokenize at %r" % text[pos : pos + 20])
        pos = m.end()
        kind = m.lastgroup
        if kind in ("ws", "comment"):
            continue
        toks.append((kind, m.group()))
    return toks


class Parser:
    def __init__(self, text):
        self.toks = tokenize(text)
        self.i = 0

    def peek(self, k=0):
        j = self.i + k
        return self.toks[j][1] if j < len(self.toks) else None

    def next(self):
        t = self.toks[self.i][1]
        self.i += 1
        return t

    def expect(self, s):
        t = self.next()
        if t != s:
            raise SyntaxError("expected %r, found %r" % (s, t))
        return t

    def scalar_list(self):
        self.expect("[")
        out = []
        if self.peek() != "]":
            out.append(self.next())
            while self.peek() == ",":
                self.next()
                out.append(self.next())
        self.expect("]")
        return out

    def type_(self):
        dtype = self.next()
        shape = [int(d) for d in self.scalar_list()]
        quant = None
        if self.peek() == "q":
            self.next()
            self.expect("(")
            if self.peek() == "axis":
                self.next()
                self.expect("=")
                axis = int(self.next())
                self.expect(",")
                scales = [f32(float(s)) for s in self.scalar_list()]
                self.expect(",")
                zps = [int(z) for z in self.scalar_list()]
                quant = ("axis", axis, scales, zps)
            else:
                s = f32(float(self.next()))
                self.expect(",")
                z = int(self.next())
                quant = ("tensor", s, z)
            self.expect(")")
        return Type(dtype, shape, quant)

    def attr_value(self):
        if self.peek() == "[":
            return self.scalar_list()
        tok = self.next()
        if self.peek() == "(":  # call form: clamp(lo, hi)
            self.next()
            args = []
            if self.peek() != ")":
                args.append(self.next())
                while self.peek() == ",":
                    self.next()
                    args.append(self.next())
            self.expect(")")
            return (tok, args)
        return tok

    def graph(self):
        self.expect("graph")
        name = self.next()
        self.expect("(")
        params = []
        if self.peek() != ")":
            while True:
                v = self.next()
                self.expect(":")
                params.append((v[1:], self.type_()))
                if self.peek() != ",":
                    break
                self.next()
        self.expect(")")
        self.expect("->")
        self.expect("(")
        outputs = []
        if self.peek() != ")":
            outputs.append(self.next()[1:])
            while self.peek() == ",":
                self.next()
                outputs.append(self.next()[1:])
        self.expect(")")
        if self.peek() == "phase":
            self.next()
            self.next()
        self.expect("{")
        stmts = []
        while self.peek() != "}":
            v = self.next()[1:]
            self.expect("=")
            if self.peek() == "const":
                self.next()
                ty = self.type_()
                if self.toks[self.i][0] == "hex":
                    data = decode_hex(ty, self.next())
                else:
                    data = [parse_elem(ty.dtype, s) for s in self.scalar_list()]
                stmts.append(("const", v, ty, data))
            else:
                op = self.next()
                self.expect("(")
                args = []
                if self.peek() != ")":
                    args.append(self.next()[1:])
                    while self.peek() == ",":
                        self.next()
                        args.append(self.next()[1:])
                self.expect(")")
                attrs = {}
                if self.peek() == "{":
                    self.next()
                    while self.peek() != "}":
                        k = self.next()
                        self.expect("=")
                        attrs[k] = self.attr_value()
                        if self.peek() == ",":
                            self.next()
                    self.expect("}")
                self.expect(":")
                ty = self.type_()
                stmts.append(("op", v, op, args, attrs, ty))
        self.expect("}")
        return name[1:], params, outputs, stmts


def parse_elem(dtype, s):
    if dtype == "f32":
        return f32(float(s))
    if dtype == "bool":
        return 1 if s == "true" else 0
    return int(s)


def decode_hex(ty, tok):
    raw = bytes.fromhex(tok[4:-1])
    fmt = {"f32": "f", "i8": "b", "i4": "b", "u8": "B", "i16": "h", "i32": "i", "i64": "q",
           "bool": "B"}[ty.dtype]
    n = len(raw) // DTYPE_SIZE[ty.dtype]
    return list(struct.unpack("<%d%s" % (n, fmt), raw))


# ---------------------------------------------------------------- tensors


class Type:
    def __init__(self, dtype, shape, quant):
        self.dtype = dtype
        self.shape = list(shape)
        self.quant = quant


def numel(shape):
    n = 1
    for d in shape:
        n *= d
    return n


def strides(shape):
    st = [1] * len(shape)
    for i in range(len(shape) - 2, -1, -1):
        st[i] = st[i + 1] * shape[i + 1]
    return st


def unravel(i, shape):
    idx = []
    for d in reversed(shape):
        idx.append(i % d if d else 0)
        i = i // d if d else 0
    return idx[::-1]


def ravel(idx, shape):
    off = 0
    for i, d in zip(idx, shape):
        off = off * d + i
    return off


class Tensor:
    """dtype/shape/quant and the stored data: floats for f32, ints otherwise."""

    def __init__(self, ty, data):
        self.ty = ty
        self.data = list(data)
        # Whether the integer data is exact by construction (see the module doc).
        self.exact = True

    def scale_zp(self, i):
        q = self.ty.quant
        if q is None:
            return 1.0, 0
        if q[0] == "tensor":
            return q[1], q[2]
        axis = q[1]
        c = unravel(i, self.ty.shape)[axis]
        return q[2][c], q[3][c]

    def real(self):
        """The real values: f32 data, or s * (q - z) for quantized data."""
        if self.ty.dtype == "f32":
            return list(self.data)
        if self.ty.quant is None:
            return [float(v) for v in self.data]
        out = []
        for i, v in enumerate(self.data):
            s, z = self.scale_zp(i)
            out.append(s * (v - z))
        return out


def per_tensor(t):
    q = t.ty.quant
    assert q is not None and q[0] == "tensor", "expected a per-tensor quantized operand"
    return q[1], q[2]


def act_range(attrs):
    a = attrs.get("act", "none")
    if isinstance(a, tuple):
        name, (lo, hi) = a
        assert name == "clamp"
        return float(lo), float(hi)
    return ACT_RANGE[a]


def clamp(v, lo, hi):
    return min(max(v, lo), hi)


def finish(real, ty, act=(-math.inf, math.inf), linear=True):
    """Makes the result tensor of type `ty` from real values.

    f32: the (activation-clamped) real values. Quantized integers: the ideal
    requantization. `linear` ops are marked exact when every element is an
    integer multiple of the output scale or saturates by at least one unit.
    """
    lo_a, hi_a = act
    real = [clamp(v, lo_a, hi_a) if not math.isnan(v) else v for v in real]
    if ty.dtype == "f32":
        return Tensor(ty, real)
    assert ty.quant is not None, "integer result without quantization"
    lo, hi = INT_RANGE[ty.dtype]
    out = Tensor(ty, [0] * len(real))
    exact = linear
    for i, v in enumerate(real):
        s, z = out.scale_zp(i)
        w = v / s
        r = round_away(w)
        if isinstance(r, float):  # infinite
            q = lo if r < 0 else hi
        else:
            q = clamp(r + z, lo, hi)
        out.data[i] = q
        if not math.isinf(w):
            integral = abs(w - round(w)) <= 1e-4
            saturated = w + z <= lo - 1 or w + z >= hi + 1
            if not (integral or saturated):
                exact = False
    out.exact = exact
    return out


# ---------------------------------------------------------------- ops


def broadcast_shape(a, b):
    n = max(len(a), len(b))
    a = [1] * (n - len(a)) + list(a)
    b = [1] * (n - len(b)) + list(b)
    out = []
    for x, y in zip(a, b):
        assert x == y or x == 1 or y == 1, "shapes do not broadcast"
        out.append(y if x == 1 else x)
    return out


def broadcast_index(idx, shape):
    """Index into an operand of `shape` for result index `idx` (numpy rules)."""
    idx = idx[len(idx) - len(shape):]
    return [0 if d == 1 else i for i, d in zip(idx, shape)]


def binary(fn, ops, attrs, ty):
    a, b = ops
    ra, rb = a.real(), b.real()
    shape = broadcast_shape(a.ty.shape, b.ty.shape)
    out = []
    for i in range(numel(shape)):
        idx = unravel(i, shape)
        x = ra[ravel(broadcast_index(idx, a.ty.shape), a.ty.shape)]
        y = rb[ravel(broadcast_index(idx, b.ty.shape), b.ty.shape)]
        out.append(fn(x, y))
    return finish(out, ty, act_range(attrs))


def unary(fn, ops, ty, act=(-math.inf, math.inf), linear=True):
    return finish([fn(v) for v in ops[0].real()], ty, act, linear)


def sigmoid(x):
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


def hard_swish(x):
    return x * min(6.0, max(0.0, x + 3.0)) / 6.0


def weight_and_bias_reals(x, w, b, out_axis_len):
    """Real weights (per-axis on axis 0) and real bias values."""
    rw = w.real()
    if b is None:
        return rw, [0.0] * out_axis_len
    if b.ty.dtype == "f32":
        return rw, b.real()
    # Integer bias: added raw to the accumulator of scale s_in * s_w[o].
    s_in, _ = per_tensor(x)
    q = w.ty.quant
    rb = []
    for o in range(out_axis_len):
        s_w = q[1] if q[0] == "tensor" else q[2][o]
        rb.append(b.data[o] * s_in * s_w)
    return rw, rb


def window_out(n, k, s, d, p0, p1):
    eff = (k - 1) * d + 1
    return (n + p0 + p1 - eff) // s + 1


def conv2d(ops, attrs, ty):
    x, w = ops[0], ops[1]
    b = ops[2] if len(ops) > 2 else None
    sh, sw = [int(v) for v in attrs.get("stride", [1, 1])]
    dh, dw = [int(v) for v in attrs.get("dilation", [1, 1])]
    top, left, bottom, right = [int(v) for v in attrs.get("pad", [0, 0, 0, 0])]
    groups = int(attrs.get("groups", 1))
    N, H, W, C = x.ty.shape
    O, KH, KW, CG = w.ty.shape
    assert CG * groups == C
    rx = x.real()
    rw, rb = weight_and_bias_reals(x, w, b, O)
    Ho = window_out(H, KH, sh, dh, top, bottom)
    Wo = window_out(W, KW, sw, dw, left, right)
    opg = O // groups
    out = []
    for n in range(N):
        for oh in range(Ho):
            for ow in range(Wo):
                for o in range(O):
                    g = o // opg
                    acc = rb[o]
                    for ky in range(KH):
                        ih = oh * sh - top + ky * dh
                        if not 0 <= ih < H:
                            continue
                        for kx in range(KW):
                            iw = ow * sw - left + kx * dw
                            if not 0 <= iw < W:
                                continue
                            for ic in range(CG):
                                xv = rx[((n * H + ih) * W + iw) * C + g * CG + ic]
                                wv = rw[((o * KH + ky) * KW + kx) * CG + ic]
                                acc += xv * wv
                    out.append(acc)
    assert [N, Ho, Wo, O] == ty.shape, (N, Ho, Wo, O, ty.shape)
    return finish(out, ty, act_range(attrs))


def fully_connected(ops, attrs, ty):
    x, w = ops[0], ops[1]
    b = ops[2] if len(ops) > 2 else None
    Nout, K = w.ty.shape
    rx = x.real()
    rw, rb = weight_and_bias_reals(x, w, b, Nout)
    B = len(rx) // K
    out = []
    for bi in range(B):
        for n in range(Nout):
            acc = rb[n]
            for k in range(K):
                acc += rx[bi * K + k] * rw[n * K + k]
            out.append(acc)
    return finish(out, ty, act_range(attrs))


def matmul(ops, attrs, ty):
    a, b = ops
    ra, rb = a.real(), b.real()
    M, K = a.ty.shape[-2:]
    K2, N = b.ty.shape[-2:]
    assert K == K2
    ba, bb = a.ty.shape[:-2], b.ty.shape[:-2]
    batch = broadcast_shape(ba, bb)
    out = []
    for bi in range(numel(batch)):
        idx = unravel(bi, batch)
        oa = ravel(broadcast_index(idx, ba), ba) if ba else 0
        ob = ravel(broadcast_index(idx, bb), bb) if bb else 0
        for i in range(M):
            for j in range(N):
                acc = 0.0
                for k in range(K):
                    acc += ra[oa * M * K + i * K + k] * rb[ob * K * N + k * N + j]
                out.append(acc)
    return finish(out, ty)


def pool(ops, attrs, ty, kind):
    x = ops[0]
    kh, kw = [int(v) for v in attrs["kernel"]]
    sh, sw = [int(v) for v in attrs.get("stride", [1, 1])]
    top, left, bottom, right = [int(v) for v in attrs.get("pad", [0, 0, 0, 0])]
    include_pad = attrs.get("count_include_pad", "false") == "true"
    N, H, W, C = x.ty.shape
    rx = x.real()
    Ho = window_out(H, kh, sh, 1, top, bottom)
    Wo = window_out(W, kw, sw, 1, left, right)
    out = []
    for n in range(N):
        for oh in range(Ho):
            for ow in range(Wo):
                for c in range(C):
                    taps = []
                    for ky in range(kh):
                        ih = oh * sh - top + ky
                        for kx in range(kw):
                            iw = ow * sw - left + kx
                            if 0 <= ih < H and 0 <= iw < W:
                                taps.append(rx[((n * H + ih) * W + iw) * C + c])
                    if kind == "max":
                        out.append(max(taps))
                    else:
                        cnt = kh * kw if include_pad else len(taps)
                        out.append(sum(taps) / cnt)  # padding taps are real 0
    assert [N, Ho, Wo, C] == ty.shape
    t = finish(out, ty, act_range(attrs))
    if ty.dtype != "f32":
        if kind == "max":
            t.exact = True  # a selection in one quantization
        elif x.ty.quant[2] == 0:
            # The raw average rounded half away from zero is the ideal one.
            t.exact = True
    return t


def mean(ops, attrs, ty):
    x = ops[0]
    axes = [int(a) for a in attrs["axes"]]
    rx = x.real()
    shape = x.ty.shape
    oshape = [d for i, d in enumerate(shape) if i not in axes]
    sums = [0.0] * numel(oshape)
    n = numel([shape[a] for a in axes])
    for i, v in enumerate(rx):
        idx = unravel(i, shape)
        oidx = [j for k, j in enumerate(idx) if k not in axes]
        sums[ravel(oidx, oshape)] += v
    return finish([s / n for s in sums], ty)


def softmax(ops, attrs, ty):
    x = ops[0]
    beta = f32(float(attrs.get("beta", "1.0")))
    axis = int(attrs.get("axis", "-1"))
    shape = x.ty.shape
    if axis < 0:
        axis += len(shape)
    rx = x.real()
    st = strides(shape)
    out = [0.0] * len(rx)
    for i in range(len(rx)):
        idx = unravel(i, shape)
        if idx[axis] != 0:
            continue
        row = [i + k * st[axis] for k in range(shape[axis])]
        m = max(rx[j] for j in row)
        es = [math.exp(beta * (rx[j] - m)) for j in row]
        tot = sum(es)
        for j, e in zip(row, es):
            out[j] = e / tot
    return finish(out, ty, linear=False)


def quantize(ops, attrs, ty):
    x = ops[0]
    if x.ty.dtype == "f32":
        # Quantize(x, s, z, lo, hi): round(f32(x / s)), ties half away from
        # zero, or to even with `round = half_even`.
        lo, hi = INT_RANGE[ty.dtype]
        out = Tensor(ty, [0] * len(x.data))
        even = attrs.get("round") == "half_even"
        for i, v in enumerate(x.data):
            s, z = out.scale_zp(i)
            w = f32(v / s)
            r = round_even(w) if even else round_away(w)
            out.data[i] = (lo if r < 0 else hi) if isinstance(r, float) else clamp(z + r, lo, hi)
        out.exact = True
        return out
    return finish(x.real(), ty)  # requantize


def dequantize(ops, attrs, ty):
    return finish(ops[0].real(), ty)


# -- movement ops: stored values are moved unchanged


def reshape(ops, attrs, ty):
    t = Tensor(ty, ops[0].data)
    return t


def transpose(ops, attrs, ty):
    x = ops[0]
    perm = [int(p) for p in attrs["perm"]]
    oshape = [x.ty.shape[p] for p in perm]
    out = []
    for j in range(numel(oshape)):
        jdx = unravel(j, oshape)
        idx = [0] * len(perm)
        for k, p in enumerate(perm):
            idx[p] = jdx[k]
        out.append(x.data[ravel(idx, x.ty.shape)])
    return Tensor(ty, out)


def concat(ops, attrs, ty):
    axis = int(attrs["axis"])
    oshape = ty.shape
    out = []
    for j in range(numel(oshape)):
        idx = unravel(j, oshape)
        k = idx[axis]
        for t in ops:
            d = t.ty.shape[axis]
            if k < d:
                idx2 = list(idx)
                idx2[axis] = k
                out.append(t.data[ravel(idx2, t.ty.shape)])
                break
            k -= d
    return Tensor(ty, out)


def pad(ops, attrs, ty):
    x = ops[0]
    before = [int(v) for v in attrs["before"]]
    value = f32(float(attrs.get("value", "0.0")))
    if ty.dtype == "f32":
        fill = value
    elif ty.dtype == "bool":
        fill = 1 if value != 0 else 0
    else:
        # The pad value quantized with the output parameters (scale 1, zero
        # point 0 for unquantized integers).
        if ty.quant is not None:
            s, z = per_tensor(Tensor(ty, []))
        else:
            s, z = 1.0, 0
        lo, hi = INT_RANGE[ty.dtype]
        fill = clamp(z + round_away(f32(value / s)), lo, hi)
    out = []
    for j in range(numel(ty.shape)):
        idx = unravel(j, ty.shape)
        src = [i - b for i, b in zip(idx, before)]
        if all(0 <= s < d for s, d in zip(src, x.ty.shape)):
            out.append(x.data[ravel(src, x.ty.shape)])
        else:
            out.append(fill)
    return Tensor(ty, out)


def slice_(ops, attrs, ty):
    x = ops[0]
    begin = [int(v) for v in attrs["begin"]]
    step = [int(v) for v in attrs["step"]]
    out = []
    for j in range(numel(ty.shape)):
        idx = unravel(j, ty.shape)
        src = [b + i * s for b, i, s in zip(begin, idx, step)]
        out.append(x.data[ravel(src, x.ty.shape)])
    return Tensor(ty, out)


def batch_norm(ops, attrs, ty):
    """f32 inference batch normalisation over the last axis."""
    x, scale, bias, mean, var = ops
    eps = float(attrs.get("epsilon", "1e-5"))
    c = len(scale.data)
    out = [
        (v - mean.data[i % c]) / math.sqrt(var.data[i % c] + eps) * scale.data[i % c]
        + bias.data[i % c]
        for i, v in enumerate(x.data)
    ]
    return Tensor(ty, out)


def lookup(ops, attrs, ty):
    """table[byte(x)]: the stored values, exactly."""
    x, table = ops
    return Tensor(ty, [table.data[int(v) & 0xFF] for v in x.data])


def elu(alpha):
    return lambda x: x if x >= 0 else alpha * math.expm1(x)


def leaky(alpha):
    return lambda x: x if x >= 0 else alpha * x


def evaluate(op, ops, attrs, ty):
    if op == "add":
        return binary(lambda a, b: a + b, ops, attrs, ty)
    if op == "sub":
        return binary(lambda a, b: a - b, ops, attrs, ty)
    if op == "mul":
        return binary(lambda a, b: a * b, ops, attrs, ty)
    if op == "div":
        return binary(lambda a, b: a / b, ops, attrs, ty)
    if op == "relu":
        return unary(lambda v: v, ops, ty, (0.0, math.inf))
    if op == "relu6":
        return unary(lambda v: v, ops, ty, (0.0, 6.0))
    if op == "clip":
        lo, hi = f32(float(attrs["min"])), f32(float(attrs["max"]))
        return unary(lambda v: v, ops, ty, (lo, hi))
    if op == "leaky_relu":
        return unary(leaky(f32(float(attrs["alpha"]))), ops, ty)
    if op == "elu":
        return unary(elu(f32(float(attrs.get("alpha", "1.0")))), ops, ty, linear=False)
    if op == "sigmoid":
        return unary(sigmoid, ops, ty, linear=False)
    if op == "tanh":
        return unary(math.tanh, ops, ty, linear=False)
    if op == "hard_swish":
        return unary(hard_swish, ops, ty, linear=False)
    if op == "conv2d":
        return conv2d(ops, attrs, ty)
    if op == "fully_connected":
        return fully_connected(ops, attrs, ty)
    if op == "matmul":
        return matmul(ops, attrs, ty)
    if op == "max_pool2d":
        return pool(ops, attrs, ty, "max")
    if op == "avg_pool2d":
        return pool(ops, attrs, ty, "avg")
    if op == "mean":
        return mean(ops, attrs, ty)
    if op == "softmax":
        return softmax(ops, attrs, ty)
    if op == "quantize":
        return quantize(ops, attrs, ty)
    if op == "dequantize":
        return dequantize(ops, attrs, ty)
    if op == "reshape":
        return reshape(ops, attrs, ty)
    if op == "transpose":
        return transpose(ops, attrs, ty)
    if op == "concat":
        return concat(ops, attrs, ty)
    if op == "pad":
        return pad(ops, attrs, ty)
    if op == "slice":
        return slice_(ops, attrs, ty)
    if op == "batch_norm":
        return batch_norm(ops, attrs, ty)
    if op == "lookup":
        return lookup(ops, attrs, ty)
    raise NotImplementedError("op %s" % op)


def run_graph(text):
    _, params, outputs, stmts = Parser(text).graph()
    assert not params, "expectations need a graph without inputs"
    env = {}
    pending = []
    for st in stmts:
        if st[0] == "const":
            _, v, ty, data = st
            assert len(data) == numel(ty.shape), v
            env[v] = Tensor(ty, data)
        else:
            pending.append(st)
    while pending:  # any topological order
        progress = False
        for st in list(pending):
            _, v, op, args, attrs, ty = st
            if all(a in env for a in args):
                t = evaluate(op, [env[a] for a in args], attrs, ty)
                assert len(t.data) == numel(ty.shape), (v, len(t.data), ty.shape)
                env[v] = t
                pending.remove(st)
                progress = True
        assert progress, "cycle"
    return [(o, env[o]) for o in outputs]


def fmt_value(t, v):
    if t.ty.dtype == "f32":
        return repr(float(v))
    return str(int(v))


def expect_lines(text):
    lines = []
    for name, t in run_graph(text):
        tag = "expect" if t.ty.dtype == "f32" or t.exact else "expect~1"
        vals = ", ".join(fmt_value(t, v) for v in t.data)
        lines.append("# %s: %%%s = [%s]" % (tag, name, vals))
    return lines


def update_text(text, lines):
    """Removes old expect lines and inserts `lines` right after `# test:`."""
    src = text.split("\n")
    kept = [l for l in src if not re.match(r"\s*# expect(~1)?:", l)]
    for k, l in enumerate(kept):
        if l.strip().startswith("# test:"):
            return "\n".join(kept[: k + 1] + lines + kept[k + 1 :])
    raise ValueError("no `# test:` line")


def main(argv):
    write = "--write" in argv
    files = [a for a in argv if not a.startswith("--")]
    if not files:
        files = sorted(
            os.path.join(OPS_DIR, f) for f in os.listdir(OPS_DIR) if f.endswith(".tir")
        )
    for path in files:
        with open(path, encoding="utf-8", newline="") as f:
            text = f.read()
        lines = expect_lines(text)
        print("%s:" % os.path.relpath(path, HERE))
        for l in lines:
            print("  " + l)
        if write:
            new = update_text(text, lines)
            if new != text:
                with open(path, "w", encoding="utf-8", newline="") as f:
                    f.write(new)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

//! Weight packing and requantisation parameters: the compile-time
//! re-layout of constant data into the orders the int8 kernels read, and
//! the per-channel constants of their requantisation. Pure functions of
//! the weights and scales.

use tmlc_ir::prepare::Multiplier;
use tmlc_ir::Quant;

/// `bias[c] + off * sum(w[c])` for each output channel `c` (rows of `per`
/// weights), in wrapping int32 arithmetic: the input offset `off = -zp_in`
/// folded into the bias.
pub(crate) fn fold_input_offset(w: &[i8], per: usize, bias: &[i32], off: i32) -> Vec<i32> {
    bias.iter()
        .enumerate()
        .map(|(c, &b)| {
            let sum = w[c * per..(c + 1) * per]
                .iter()
                .fold(0i32, |s, &v| s.wrapping_add(v as i32));
            b.wrapping_add(off.wrapping_mul(sum))
        })
        .collect()
}

/// Index of tap `t` of output channel `c` in the depthwise weight layout
/// (`tmlc_dw_widx` in `dwconv_s8.c`): groups of 4 channels, each
/// `[taps][4]`, then the last `c_out % 4` channels as `[taps][c_out % 4]`.
pub(crate) fn dw_widx(t: usize, c: usize, taps: usize, c_out: usize) -> usize {
    let c4 = c_out & !3;
    if c < c4 {
        (c & !3) * taps + t * 4 + (c & 3)
    } else {
        c4 * taps + t * (c_out - c4) + (c - c4)
    }
}

/// Depthwise weights `[c_out][taps]` in the [`dw_widx`] layout.
pub(crate) fn pack_depthwise(w: &[i8], taps: usize, c_out: usize) -> Vec<i8> {
    let mut out = vec![0i8; taps * c_out];
    for c in 0..c_out {
        for t in 0..taps {
            out[dw_widx(t, c, taps, c_out)] = w[c * taps + t];
        }
    }
    out
}

/// Packs `[n][k]` weights for `tmlc_mm_s8`: each group of 4 columns
/// interleaves 4-byte chunks (`c0[0..4] c1[0..4] c2[0..4] c3[0..4] c0[4..8]
/// ...`), then the 4 columns' `k % 4` tail bytes one column after the
/// other; the last `n % 4` columns stay plain rows.
pub(crate) fn pack_mm(w: &[i8], n: usize, k: usize) -> Vec<i8> {
    let mut out = Vec::with_capacity(n * k);
    let k4 = k / 4;
    let mut c = 0;
    while c + 4 <= n {
        for i in 0..k4 {
            for j in 0..4 {
                out.extend_from_slice(&w[(c + j) * k + 4 * i..(c + j) * k + 4 * i + 4]);
            }
        }
        for j in 0..4 {
            out.extend_from_slice(&w[(c + j) * k + 4 * k4..(c + j + 1) * k]);
        }
        c += 4;
    }
    out.extend_from_slice(&w[c * k..n * k]);
    out
}

/// `[o][k]` rows padded with zeros to `[o][kpad]`.
pub(crate) fn pad_rows(w: &[i8], o: usize, k: usize, kpad: usize) -> Vec<i8> {
    let mut wt = vec![0i8; o * kpad];
    for oc in 0..o {
        wt[oc * kpad..oc * kpad + k].copy_from_slice(&w[oc * k..(oc + 1) * k]);
    }
    wt
}

/// Conv weights `[o][k]` for `tmlc_conv_s8` / `tmlc_conv1x1_s8`: rows
/// padded with zeros to `kpad`, then [`pack_mm`] per group of `o / groups`
/// output channels.
pub(crate) fn pack_conv(w: &[i8], o: usize, k: usize, kpad: usize, groups: usize) -> Vec<i8> {
    let wt = pad_rows(w, o, k, kpad);
    let og = o / groups.max(1);
    wt.chunks((og * kpad).max(1))
        .flat_map(|gw| pack_mm(gw, og, kpad))
        .collect()
}

/// `[n][k]` 4-bit weights (`-8..=7`) packed for `tmlc_mm_s4`: per row,
/// groups of 8 in 4 bytes, byte `j` holding weight `j` in its low nibble
/// and weight `j + 4` in its high nibble; a last short group padded with
/// zeros.
pub(crate) fn pack_s4(w: &[i8], n: usize, k: usize) -> Vec<u8> {
    let groups = k.div_ceil(8);
    let mut out = vec![0u8; n * 4 * groups];
    for (r, row) in w.chunks(k.max(1)).take(n).enumerate() {
        for (i, &v) in row.iter().enumerate() {
            let (g, t) = (i / 8, i % 8);
            let byte = &mut out[r * 4 * groups + 4 * g + t % 4];
            let nib = (v as u8) & 15;
            *byte |= if t < 4 { nib } else { nib << 4 };
        }
    }
    out
}

/// Weights in the sparse layout of `tmlc_spmm_s8`: each row (output
/// channel) of `k` weights cut into blocks of `blk`; per row a bitmap of
/// `ceil(ceil(k / blk) / 32)` words, bit `j` of word `i` set when block
/// `32 i + j` has a non-zero weight; the set blocks' values, row after row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Sparse {
    pub(crate) blk: usize,
    pub(crate) map: Vec<u32>,
    pub(crate) nz: Vec<i8>,
}

impl Sparse {
    /// Flash bytes: the bitmaps and the stored blocks.
    pub(crate) fn bytes(&self) -> usize {
        4 * self.map.len() + self.nz.len()
    }
}

/// `[n][k]` weights in the [`Sparse`] layout with blocks of `blk` (a block
/// cut short by the end of a row is padded with zeros).
pub(crate) fn pack_sparse(w: &[i8], n: usize, k: usize, blk: usize) -> Sparse {
    let blocks = k.div_ceil(blk);
    let words = blocks.div_ceil(32);
    let mut map = vec![0u32; n * words];
    let mut nz = Vec::new();
    for (r, row) in w.chunks(k.max(1)).take(n).enumerate() {
        for (b, block) in row.chunks(blk).enumerate() {
            if block.iter().any(|&v| v != 0) {
                map[r * words + b / 32] |= 1 << (b % 32);
                nz.extend_from_slice(block);
                nz.resize(nz.len() + blk - block.len(), 0);
            }
        }
    }
    Sparse { blk, map, nz }
}

/// The sparse layout of `[n][k]` weights, when it saves at least a quarter
/// of the `dense` bytes: blocks of 4 (when `k` is a multiple of 4: two
/// SMLADs per block, the fastest) unless blocks of 1 take less than 95% of
/// their bytes. The bitmap walk is slower than the dense product per
/// stored weight, which only a large saving pays for: a model with a
/// fraction of zeros that training left keeps its dense kernels.
pub(crate) fn choose_sparse(w: &[i8], n: usize, k: usize, dense: usize) -> Option<Sparse> {
    let zeros = w.iter().filter(|&&v| v == 0).count();
    if 4 * zeros < w.len() {
        return None;
    }
    let one = pack_sparse(w, n, k, 1);
    let best = if k & 3 == 0 {
        let four = pack_sparse(w, n, k, 4);
        if 20 * one.bytes() < 19 * four.bytes() {
            one
        } else {
            four
        }
    } else {
        one
    };
    (4 * best.bytes() <= 3 * dense).then_some(best)
}

/// True when `tmlc_requant_q` is exact for every channel: the true
/// accumulator `sum w*(x - zp_in) + bias` is below 2^30 in magnitude for
/// every input (|x - zp_in| <= 255) and every shift is in -30..=-1.
pub(crate) fn fast_requant(w: &[i8], per: usize, bias: &[i32], mults: &[Multiplier]) -> bool {
    mults.iter().enumerate().all(|(c, &(m, e))| {
        let sw: i64 = w.get(c * per..(c + 1) * per).map_or(i64::MAX / 512, |r| {
            r.iter().map(|&v| (v as i64).abs()).sum()
        });
        let b = bias.get(c).map_or(0, |&b| (b as i64).abs());
        m >= 0 && (-30..=-1).contains(&e) && sw * 255 + b < (1 << 30)
    })
}

/// The short requantisation's `(m, rz, n)` per channel, with `n = -shift`
/// and `rz = 2^(n-1) + (zp_out << n)` (the rounding term and the output
/// zero point, added before the shift: `(h + r) >> n + zp == (h + r + (zp
/// << n)) >> n`); `None` when it is not exact ([`fast_requant`] on the
/// weights, or `|rz| >= 2^30 - 1`, where adding `rz` could overflow).
pub(crate) fn fast_requant_params(
    w: &[i8],
    per: usize,
    bias: &[i32],
    mults: &[Multiplier],
    zp_out: i32,
) -> Option<Vec<i32>> {
    if !fast_requant(w, per, bias, mults) {
        return None;
    }
    let mut rq = Vec::with_capacity(3 * mults.len());
    for &(m, e) in mults {
        let n = -e;
        let rz = (1i64 << (n - 1)) + ((zp_out as i64) << n);
        if rz.abs() >= (1 << 30) - 1 {
            return None;
        }
        rq.extend([m, rz as i32, n]);
    }
    Some(rq)
}

/// `(inner, channels)` for per-axis parameters: element `i` uses channel
/// `(i / inner) % channels`; per tensor `(1, 1)`.
pub(crate) fn axis_layout(shape: &[usize], q: &Quant) -> (usize, usize) {
    match q.axis {
        None => (1, 1),
        Some(a) => {
            let inner: usize = shape[a + 1..].iter().product();
            (inner.max(1), shape[a].max(1))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fold_input_offset_adds_the_offset_times_the_row_sums() {
        // rows [1, 2, -3] and [4, 0, 0]; off = 5.
        let w = [1, 2, -3, 4, 0, 0];
        assert_eq!(fold_input_offset(&w, 3, &[10, -1], 5), vec![10, 19]);
        // Wrapping, not saturating.
        assert_eq!(fold_input_offset(&[1], 1, &[i32::MAX], 1), vec![i32::MIN]);
    }

    #[test]
    fn depthwise_layout_groups_four_channels_per_tap() {
        // 6 channels, 2 taps: channel c tap t holds 10c + t.
        let w: Vec<i8> = (0..6).flat_map(|c| [10 * c, 10 * c + 1]).collect();
        assert_eq!(
            pack_depthwise(&w, 2, 6),
            vec![0, 10, 20, 30, 1, 11, 21, 31, 40, 50, 41, 51]
        );
    }

    #[test]
    fn pack_mm_interleaves_groups_of_four_columns() {
        // n = 5 columns of k = 5: column c holds 10c + i.
        let w: Vec<i8> = (0..5)
            .flat_map(|c| (0..5).map(move |i| 10 * c + i))
            .collect();
        let p = pack_mm(&w, 5, 5);
        assert_eq!(
            p,
            vec![
                0, 1, 2, 3, 10, 11, 12, 13, 20, 21, 22, 23, 30, 31, 32, 33, // first 4 bytes
                4, 14, 24, 34, // tails
                40, 41, 42, 43, 44, // the fifth column, plain
            ]
        );
    }

    #[test]
    fn pack_conv_pads_rows_and_packs_per_group() {
        // 2 groups of 1 channel, k = 3 padded to 4.
        let p = pack_conv(&[1, 2, 3, 4, 5, 6], 2, 3, 4, 2);
        assert_eq!(p, vec![1, 2, 3, 0, 4, 5, 6, 0]);
    }

    #[test]
    fn s4_packing_puts_weight_j_and_j_plus_4_in_one_byte() {
        // One row of 10: a group of 8, then 2 padded to a group.
        let w = [1, 2, 3, 4, -1, -2, -3, -8, 7, -7];
        assert_eq!(
            pack_s4(&w, 1, 10),
            vec![0xf1, 0xe2, 0xd3, 0x84, 0x07, 0x09, 0, 0]
        );
    }

    #[test]
    fn sparse_layout_keeps_the_non_zero_blocks_of_each_row() {
        // 2 rows of 8: blocks of 4 [1,0,0,0] [0,0,0,0] / [0,0,0,0] [0,2,0,3].
        let w = [1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 3];
        let s = pack_sparse(&w, 2, 8, 4);
        assert_eq!(s.map, vec![0b01, 0b10]);
        assert_eq!(s.nz, vec![1, 0, 0, 0, 0, 2, 0, 3]);
        assert_eq!(s.bytes(), 16);
        let s = pack_sparse(&w, 2, 8, 1);
        assert_eq!(s.map, vec![0b1, 0b1010_0000]);
        assert_eq!(s.nz, vec![1, 2, 3]);
        // 33 blocks take two words per row.
        let w: Vec<i8> = (0..66).map(|i| (i == 65) as i8).collect();
        let s = pack_sparse(&w, 1, 66, 2);
        assert_eq!(s.map, vec![0, 1]);
        assert_eq!(s.nz, vec![0, 1]);
        // A block cut short by the end of the row is padded.
        let s = pack_sparse(&[0, 0, 0, 0, 7], 1, 5, 4);
        assert_eq!((s.map, s.nz), (vec![0b10], vec![7, 0, 0, 0]));
        // Every other weight zero: blocks of 1 (2 rows of 64: 2 x 2 bitmap
        // words, 64 values; blocks of 4 would keep every block).
        let w: Vec<i8> = (0..128).map(|i| (i % 2) as i8).collect();
        let s = choose_sparse(&w, 2, 64, 128).expect("sparse");
        assert_eq!((s.blk, s.bytes()), (1, 16 + 64));
        // Every other block of 4 zero: blocks of 4 (8 bytes of bitmaps, 64 values).
        let w: Vec<i8> = (0..128).map(|i| (i / 4 % 2) as i8).collect();
        let s = choose_sparse(&w, 2, 64, 128).expect("sparse");
        assert_eq!((s.blk, s.bytes()), (4, 8 + 64));
        // Too few zeros: dense.
        assert_eq!(choose_sparse(&[1; 16], 2, 8, 16), None);
    }

    #[test]
    fn fast_requantisation_only_where_exact() {
        let w = [1i8, -1];
        // m >= 0, shift in -30..=-1, small accumulators: (m, rz, n).
        let rq = fast_requant_params(&w, 2, &[0], &[(1 << 30, -3)], 5);
        assert_eq!(rq, Some(vec![1 << 30, 4 + (5 << 3), 3]));
        // A left shift, or a negative multiplier: not exact.
        assert_eq!(fast_requant_params(&w, 2, &[0], &[(1 << 30, 1)], 0), None);
        assert_eq!(fast_requant_params(&w, 2, &[0], &[(-1, -3)], 0), None);
        // An accumulator that may reach 2^30.
        assert_eq!(
            fast_requant_params(&w, 2, &[(1 << 30) - 100], &[(1 << 30, -3)], 0),
            None
        );
    }

    #[test]
    fn axis_layout_of_per_axis_parameters() {
        let q = Quant::per_axis(1, vec![1.0; 3], vec![0; 3]);
        assert_eq!(axis_layout(&[2, 3, 4], &q), (4, 3));
        assert_eq!(axis_layout(&[2, 3, 4], &Quant::per_tensor(1.0, 0)), (1, 1));
    }
}

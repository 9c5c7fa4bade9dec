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

/// Conv weights `[o][k]` for `tmlc_conv_s8` / `tmlc_conv1x1_s8`: rows
/// padded with zeros to `kpad`, then [`pack_mm`] per group of `o / groups`
/// output channels.
pub(crate) fn pack_conv(w: &[i8], o: usize, k: usize, kpad: usize, groups: usize) -> Vec<i8> {
    let mut wt = vec![0i8; o * kpad];
    for oc in 0..o {
        wt[oc * kpad..oc * kpad + k].copy_from_slice(&w[oc * k..(oc + 1) * k]);
    }
    let og = o / groups.max(1);
    wt.chunks((og * kpad).max(1))
        .flat_map(|gw| pack_mm(gw, og, kpad))
        .collect()
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

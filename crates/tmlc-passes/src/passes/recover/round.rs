//! Rounding of weights to a coarse grid (4-bit) chosen by the layer's
//! output reconstruction error, as AdaRound does: each weight goes down or
//! up to a grid point, whichever set of choices makes the layer's result on
//! the calibration data closest to the teacher's. AdaRound relaxes the
//! choices to continuous variables and anneals them by gradient descent;
//! here the same objective, a quadratic form in the weights (`w^T G w - 2
//! w^T c`, [`super::stats`]), is minimised directly by coordinate descent
//! over the binary choices from round-to-nearest: a change is kept when it
//! lowers the objective, until a sweep changes nothing.

/// Grid integers of one output channel: `w[i] ~ scale * q[i]`, `q[i]` in
/// `-levels..=levels`.
pub(crate) fn nearest(w: &[f32], scale: f32, levels: i32) -> Vec<i32> {
    w.iter()
        .map(|&x| {
            let v = f64::from(x) / f64::from(scale);
            (v.abs() + 0.5)
                .floor()
                .copysign(v)
                .clamp(-f64::from(levels), f64::from(levels)) as i32
        })
        .collect()
}

/// Sweeps of coordinate descent at most (each is `O(K^2)` at worst).
const SWEEPS: usize = 20;

/// Chooses floor or ceil of `w[i] / scale` for every weight (a zero weight
/// stays zero) to minimise `v^T G v - 2 v^T c` over `v = scale * q`, where
/// `gram` is `G` (`d x d`, full, row major; only its first `k` rows and
/// columns are read) and `c` the target correlation (the bias's share
/// already taken out). Starts from [`nearest`].
pub(crate) fn reconstruct(
    w: &[f32],
    scale: f32,
    levels: i32,
    gram: &[f64],
    d: usize,
    c: &[f64],
) -> Vec<i32> {
    let k = w.len();
    let s = f64::from(scale);
    let mut q = nearest(w, scale, levels);
    // The two candidates of each weight: floor and ceil of w / scale.
    let cand: Vec<(i32, i32)> = w
        .iter()
        .map(|&x| {
            let v = f64::from(x) / s;
            let lo = (v.floor() as i32).clamp(-levels, levels);
            let hi = (v.ceil() as i32).clamp(-levels, levels);
            if x == 0.0 {
                (0, 0)
            } else {
                (lo, hi)
            }
        })
        .collect();
    // r = G v - c over the weights.
    let mut r: Vec<f64> = (0..k)
        .map(|i| {
            (0..k)
                .map(|j| gram[i * d + j] * s * f64::from(q[j]))
                .sum::<f64>()
                - c[i]
        })
        .collect();
    for _ in 0..SWEEPS {
        let mut changed = false;
        for i in 0..k {
            let (lo, hi) = cand[i];
            let other = if q[i] == lo { hi } else { lo };
            if other == q[i] {
                continue;
            }
            let delta = s * f64::from(other - q[i]);
            let gain = 2.0 * delta * r[i] + delta * delta * gram[i * d + i];
            if gain < -1e-12 * (1.0 + gram[i * d + i]) {
                q[i] = other;
                for (j, rj) in r.iter_mut().enumerate() {
                    *rj += delta * gram[j * d + i];
                }
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    q
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rounds_half_away_and_clamps() {
        assert_eq!(
            nearest(&[0.5, -0.5, 1.49, 9.0, -0.0], 1.0, 7),
            vec![1, -1, 1, 7, 0]
        );
    }

    #[test]
    fn reconstruction_compensates_correlated_inputs() {
        // Two inputs that are always equal (G all ones): only w0 + w1
        // matters. w = [0.4, 0.4] on a grid of 1: nearest gives 0 + 0 = 0,
        // the target is 0.8; rounding one weight up gives 1, closer.
        let gram = [1.0, 1.0, 1.0, 1.0];
        let c = [0.8, 0.8]; // G w for w = [0.4, 0.4]
        assert_eq!(nearest(&[0.4, 0.4], 1.0, 7), vec![0, 0]);
        let q = reconstruct(&[0.4, 0.4], 1.0, 7, &gram, 2, &c);
        assert_eq!(q.iter().sum::<i32>(), 1, "{q:?}");
        // Independent inputs (G = I): nearest is already optimal.
        let q = reconstruct(&[0.4, 0.6], 1.0, 7, &[1.0, 0.0, 0.0, 1.0], 2, &[0.4, 0.6]);
        assert_eq!(q, vec![0, 1]);
        // A zero weight (pruned) stays zero.
        let q = reconstruct(&[0.0, 0.4], 1.0, 7, &gram, 2, &[0.4, 0.4]);
        assert_eq!(q[0], 0);
    }
}

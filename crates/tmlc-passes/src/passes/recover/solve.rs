//! Symmetric positive definite solves for the layer re-fits. Written out
//! rather than taken from a linear-algebra crate: one Cholesky
//! factorisation and two triangular solves, on matrices of at most a few
//! thousand rows, are all the recovery needs.

/// Solves `a x = b` for symmetric positive definite `a` (`n x n`, row
/// major) by Cholesky factorisation; `None` when `a` is not positive
/// definite (to rounding).
pub(crate) fn solve_spd(a: &[f64], b: &[f64], n: usize) -> Option<Vec<f64>> {
    let l = cholesky(a, n)?;
    Some(cholesky_solve(&l, b, n))
}

/// The lower-triangular `l` with `l l^T = a`.
pub(crate) fn cholesky(a: &[f64], n: usize) -> Option<Vec<f64>> {
    let mut l = vec![0.0; n * n];
    for i in 0..n {
        for j in 0..=i {
            let s: f64 = (0..j).map(|k| l[i * n + k] * l[j * n + k]).sum();
            if i == j {
                let d = a[i * n + i] - s;
                if d <= 0.0 || !d.is_finite() {
                    return None;
                }
                l[i * n + i] = d.sqrt();
            } else {
                l[i * n + j] = (a[i * n + j] - s) / l[j * n + j];
            }
        }
    }
    Some(l)
}

/// Solves `l l^T x = b` with the factor of [`cholesky`].
pub(crate) fn cholesky_solve(l: &[f64], b: &[f64], n: usize) -> Vec<f64> {
    let mut y = vec![0.0; n];
    for i in 0..n {
        let s: f64 = (0..i).map(|k| l[i * n + k] * y[k]).sum();
        y[i] = (b[i] - s) / l[i * n + i];
    }
    let mut x = vec![0.0; n];
    for i in (0..n).rev() {
        let s: f64 = (i + 1..n).map(|k| l[k * n + i] * x[k]).sum();
        x[i] = (y[i] - s) / l[i * n + i];
    }
    x
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn solves_a_small_system() {
        // a = [[4, 2], [2, 3]], b = [2, 1]: x = [0.5, 0].
        let x = solve_spd(&[4.0, 2.0, 2.0, 3.0], &[2.0, 1.0], 2).expect("spd");
        assert!((x[0] - 0.5).abs() < 1e-12 && x[1].abs() < 1e-12, "{x:?}");
        // 3x3: a = [[2,-1,0],[-1,2,-1],[0,-1,2]], x = [1, 2, 3] -> b = [0, 0, 4].
        let a = [2.0, -1.0, 0.0, -1.0, 2.0, -1.0, 0.0, -1.0, 2.0];
        let x = solve_spd(&a, &[0.0, 0.0, 4.0], 3).expect("spd");
        for (got, want) in x.iter().zip([1.0, 2.0, 3.0]) {
            assert!((got - want).abs() < 1e-12, "{x:?}");
        }
    }

    #[test]
    fn refuses_a_singular_matrix() {
        assert_eq!(solve_spd(&[1.0, 1.0, 1.0, 1.0], &[1.0, 1.0], 2), None);
    }
}

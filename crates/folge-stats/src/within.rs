//! The within-person rate ratio of two windows: the Poisson model with a fixed effect per
//! person, `value ~ after + person + offset(log(person-years))` (Hausman, Hall & Griliches
//! 1984; R: `fixest::fepois(value ~ after | pid, offset = ~log(py))`; Stata: `xtpoisson,
//! fe` / `ppmlhdfe`). Each person is compared with themself, so how much persons differ
//! (frailty) and who leaves early (heavy users die or move sooner) drop out of the
//! estimate: under no change in anyone's rate its truth is 1, where the ratio of pooled
//! rates drifts below 1 as heavy users' after-windows are cut short.
//!
//! The person effects are conditioned away: given a person's total `n = before + after`,
//! the after share has mean `n · p` with `p = r e^β / (1 + r e^β)`, `r` the person's after
//! over before person-time. `β̂` solves `Σ (after − n p(β)) = 0` — the conditional
//! (multinomial) likelihood's score, which is also the Poisson pseudo-likelihood's for any
//! non-negative outcome (days, hours; Wooldridge 1999). Only persons with time in both
//! windows and a value above 0 carry information; the others leave every number unchanged.
//!
//! Variance, clustered by person (each person's two windows are one cluster):
//! - CR1: `G/(G − 1) · Σ s_i² / H²` with `s_i` the person's score and `H = Σ n p (1 − p)`
//!   (the dummy-variable Poisson GLM's sandwich for `after`, `sandwich::vcovCL(type =
//!   "HC0")`, times `G/(G − 1)`; `G` the informative persons);
//! - the cluster jackknife (CV3): `(G − 1)/G Σ (β̂₍₋i₎ − β̂)²`, each person left out in
//!   turn. Where leaving a person out moves `β̂` by more than 10⁻³ the refit is solved to
//!   convergence; elsewhere one Newton step is taken, whose error is of the order of the
//!   square of the move (below 10⁻⁶), so a few heavy users are refitted exactly and
//!   200,000 persons cost one pass.

use crate::StatsError;

/// One person's two windows: the outcome summed over each window and the window's
/// person-years.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TwoWindows {
    /// Outcome in the before window (≥ 0).
    pub before: f64,
    /// Person-years at risk in the before window (≥ 0).
    pub before_years: f64,
    /// Outcome in the after window (≥ 0).
    pub after: f64,
    /// Person-years at risk in the after window (≥ 0).
    pub after_years: f64,
}

/// The fitted within-person rate ratio.
#[derive(Debug, Clone, PartialEq)]
pub struct WithinPersonFit {
    /// `β̂`, the log rate ratio after/before.
    pub log_ratio: f64,
    /// CR1 standard error of `β̂` by person.
    pub se_cr1: f64,
    /// Cluster-jackknife (CV3) standard error of `β̂`; `None` when leaving a person out
    /// leaves no finite estimate (all of one window's outcome is one person's).
    pub se_jackknife: Option<f64>,
    /// Persons with time in both windows and a value above 0 (the clusters).
    pub informative: usize,
    /// Persons left out in the jackknife whose refit was solved to convergence.
    pub refitted: usize,
}

/// A person's after/before person-time ratio and total, the informative persons only.
struct Person {
    r: f64,
    n: f64,
    after: f64,
}

/// `p = r e^β / (1 + r e^β)`, computed without overflow.
fn share(r: f64, beta: f64) -> f64 {
    let eta = r.ln() + beta;
    if eta >= 0.0 { 1.0 / (1.0 + (-eta).exp()) } else { eta.exp() / (1.0 + eta.exp()) }
}

/// `Σ (after − n p(β))` and `Σ n p (1 − p)` over `persons`, less person `skip`'s terms.
fn score_and_information(persons: &[Person], beta: f64, skip: Option<usize>) -> (f64, f64) {
    let (mut score, mut info) = (0.0, 0.0);
    for (i, p) in persons.iter().enumerate() {
        if Some(i) == skip {
            continue;
        }
        let q = share(p.r, beta);
        score += p.after - p.n * q;
        info += p.n * q * (1.0 - q);
    }
    (score, info)
}

/// Solve `Σ (after − n p(β)) = 0` (less `skip`) from `start`: Newton steps kept inside a
/// bracket that bisection narrows, so a step never overshoots. `None` when no finite root
/// exists (every value in one window).
fn solve(persons: &[Person], start: f64, skip: Option<usize>) -> Option<f64> {
    let (total_after, total) = persons
        .iter()
        .enumerate()
        .filter(|(i, _)| Some(*i) != skip)
        .fold((0.0, 0.0), |(a, n), (_, p)| (a + p.after, n + p.n));
    if !(total_after > 0.0 && total_after < total) {
        return None;
    }
    // The score falls with β; find a bracket around its root.
    let (mut low, mut high) = (start - 1.0, start + 1.0);
    while score_and_information(persons, low, skip).0 < 0.0 {
        low -= 2.0 * (start - low);
        if low < -700.0 {
            return None;
        }
    }
    while score_and_information(persons, high, skip).0 > 0.0 {
        high += 2.0 * (high - start);
        if high > 700.0 {
            return None;
        }
    }
    let mut beta = start.clamp(low, high);
    for _ in 0..200 {
        let (score, info) = score_and_information(persons, beta, skip);
        if score > 0.0 {
            low = beta;
        } else {
            high = beta;
        }
        let newton = beta + score / info;
        let next =
            if info > 0.0 && newton > low && newton < high { newton } else { 0.5 * (low + high) };
        if (next - beta).abs() < 1e-12 * (1.0 + beta.abs()) {
            return Some(next);
        }
        beta = next;
    }
    Some(beta)
}

/// Leaving a person out moves `β̂` by more than this: refit to convergence.
const EXACT_ABOVE: f64 = 1e-3;

/// One arm's fit: `β̂`, `Σ s_i² / H²` (CR1's sum before its factor), the jackknife's
/// `Σ (β̂₍₋i₎ − β̂)²` (before its factor), the informative persons and the refitted ones.
struct ArmFit {
    beta: f64,
    meat: f64,
    moves: Option<f64>,
    informative: usize,
    refitted: usize,
}

/// Check `persons` and keep the informative ones.
fn informative(persons: &[TwoWindows]) -> Result<Vec<Person>, StatsError> {
    let mut out = Vec::new();
    for w in persons {
        for (what, value) in [
            ("before", w.before),
            ("before_years", w.before_years),
            ("after", w.after),
            ("after_years", w.after_years),
        ] {
            if !(value >= 0.0 && value.is_finite()) {
                return Err(StatsError::OutOfRange { what, value, range: "[0, ∞)" });
            }
        }
        let n = w.before + w.after;
        if w.before_years > 0.0 && w.after_years > 0.0 && n > 0.0 {
            out.push(Person { r: w.after_years / w.before_years, n, after: w.after });
        }
    }
    Ok(out)
}

fn fit_arm(persons: &[TwoWindows]) -> Result<ArmFit, StatsError> {
    let informative = informative(persons)?;
    let g = informative.len();
    if g < 2 {
        return Err(StatsError::TooFew {
            what: "the within-person rate ratio (persons with time and a value in both windows)",
            needed: 2,
            got: g,
        });
    }
    // Start from the log odds of the after share against the time share.
    let (after, total, time_share) = informative
        .iter()
        .fold((0.0, 0.0, 0.0), |(a, n, t), p| (a + p.after, n + p.n, t + p.n * p.r / (1.0 + p.r)));
    let start = ((after / (total - after)) / (time_share / (total - time_share))).ln();
    let start = if start.is_finite() { start } else { 0.0 };
    let beta = solve(&informative, start, None).ok_or_else(|| {
        StatsError::Invalid(
            "the within-person rate ratio has no finite estimate: every value of the persons with time in both windows falls in one window".into(),
        )
    })?;
    let scores: Vec<(f64, f64)> = informative
        .iter()
        .map(|p| {
            let q = share(p.r, beta);
            (p.after - p.n * q, p.n * q * (1.0 - q))
        })
        .collect();
    let info: f64 = scores.iter().map(|(_, h)| h).sum();
    let meat = scores.iter().map(|(s, _)| s * s).sum::<f64>() / (info * info);
    let (moves, refitted) = jackknife(&informative, beta, &scores, EXACT_ABOVE);
    Ok(ArmFit { beta, meat, moves, informative: g, refitted })
}

/// The within-person (person fixed-effect) Poisson rate ratio of the after window to the
/// before window, with CR1 and cluster-jackknife standard errors by person. Persons
/// without time in both windows or without any outcome carry no information and are
/// skipped; every other argument error is an error.
pub fn within_person_rate_ratio(persons: &[TwoWindows]) -> Result<WithinPersonFit, StatsError> {
    let arm = fit_arm(persons)?;
    let g = arm.informative as f64;
    Ok(WithinPersonFit {
        log_ratio: arm.beta,
        se_cr1: (g / (g - 1.0) * arm.meat).sqrt(),
        se_jackknife: arm.moves.map(|m| ((g - 1.0) / g * m).sqrt()),
        informative: arm.informative,
        refitted: arm.refitted,
    })
}

/// The ratio of two arms' within-person rate ratios (pilot over comparison): the
/// coefficient of `pilot × after` in `value ~ after + pilot:after + person +
/// offset(log(person-years))` (`fixest::fepois(value ~ after + pilot:after | pid, offset
/// = ~log(py))`). Persons belong to one arm, so the model splits into the two arms' own
/// within-person ratios and the estimate is their ratio exactly; CR1 and the jackknife are
/// those of the joint model (`G` the informative persons of both arms; leaving out a person
/// moves only their arm's ratio).
pub fn within_person_ratio_of_ratios(
    pilot: &[TwoWindows],
    comparison: &[TwoWindows],
) -> Result<WithinPersonFit, StatsError> {
    let (p, c) = (fit_arm(pilot)?, fit_arm(comparison)?);
    let informative = p.informative + c.informative;
    let g = informative as f64;
    Ok(WithinPersonFit {
        log_ratio: p.beta - c.beta,
        se_cr1: (g / (g - 1.0) * (p.meat + c.meat)).sqrt(),
        se_jackknife: p.moves.zip(c.moves).map(|(a, b)| ((g - 1.0) / g * (a + b)).sqrt()),
        informative,
        refitted: p.refitted + c.refitted,
    })
}

/// The cluster jackknife's `Σ (β̂₍₋i₎ − β̂)²` (`None` when leaving a person out leaves
/// no finite estimate) and how many persons were refitted to convergence: those whose
/// one-step move exceeds `exact_above`.
fn jackknife(
    persons: &[Person],
    beta: f64,
    scores: &[(f64, f64)],
    exact_above: f64,
) -> (Option<f64>, usize) {
    let info: f64 = scores.iter().map(|(_, h)| h).sum();
    let mut sum_sq = 0.0;
    let mut refitted = 0;
    for (i, (s, h)) in scores.iter().enumerate() {
        let rest = info - h;
        if rest <= 0.0 {
            return (None, refitted);
        }
        // One Newton step from β̂ on the other persons' score, which is −s at β̂.
        let step = -s / rest;
        let moved = if step.abs() > exact_above {
            refitted += 1;
            match solve(persons, beta + step, Some(i)) {
                Some(b) => b - beta,
                None => return (None, refitted),
            }
        } else {
            step
        };
        sum_sq += moved * moved;
    }
    (Some(sum_sq), refitted)
}

/// The within-person Poisson model with covariates of the change, `value ~ after +
/// after:x₂ + … + person + offset(log(person-years))`, optionally weighted by person
/// (`fixest::fepois(value ~ after + after:x | pid, offset = ~log(py), weights = ~w)`).
/// Given each person's total the after share is binomial-like with log odds `ln r + x'β`,
/// so the model is that logistic model of the after share, the person's total as its
/// size and `w` times it as the prior weight (the conditional likelihood's score, as in
/// [`within_person_rate_ratio`]).
#[derive(Debug, Clone, PartialEq)]
pub struct WithinPersonGlm {
    /// `β̂`: log rate ratios after/before (the first column's) and their changes per unit
    /// of each other column.
    pub coef: Vec<f64>,
    /// CR1 covariance by person: `G/(G − 1) · B M B` (`fixest`'s `ssc(adj = FALSE)`).
    pub cov_cr1: Vec<Vec<f64>>,
    /// The cluster jackknife (CV3), `(G − 1)/G Σ (β̂₍₋i₎ − β̂)(β̂₍₋i₎ − β̂)'`; a person
    /// whose one-step move exceeds 10⁻³ in any coefficient is refitted to convergence.
    /// `None` when leaving a person out leaves no finite estimate.
    pub cov_jackknife: Option<Vec<Vec<f64>>>,
    /// Persons with time in both windows, a value above 0 and a positive weight.
    pub informative: usize,
    /// Persons refitted to convergence in the jackknife.
    pub refitted: usize,
}

/// An informative person of the model with covariates.
struct Row<'a> {
    /// `ln r`: the offset of the after share's log odds.
    offset: f64,
    n: f64,
    after: f64,
    weight: f64,
    x: &'a [f64],
}

/// The weighted log-likelihood of the after shares at `beta` (less row `skip`).
fn log_likelihood(rows: &[Row<'_>], beta: &[f64], skip: Option<usize>) -> f64 {
    rows.iter()
        .enumerate()
        .filter(|(i, _)| Some(*i) != skip)
        .map(|(_, r)| {
            let eta = r.offset + r.x.iter().zip(beta).map(|(a, b)| a * b).sum::<f64>();
            let softplus = if eta > 0.0 { eta + (-eta).exp().ln_1p() } else { eta.exp().ln_1p() };
            r.weight * (r.after * eta - r.n * softplus)
        })
        .sum()
}

/// Score and information (row-major) at `beta`, less row `skip`.
fn score_information(rows: &[Row<'_>], beta: &[f64], skip: Option<usize>) -> (Vec<f64>, Vec<f64>) {
    let k = beta.len();
    let (mut score, mut info) = (vec![0.0; k], vec![0.0; k * k]);
    for (i, r) in rows.iter().enumerate() {
        if Some(i) == skip {
            continue;
        }
        let (s, h) = row_terms(r, beta);
        for a in 0..k {
            score[a] += s * r.x[a];
            for b in 0..=a {
                info[a * k + b] += h * r.x[a] * r.x[b];
            }
        }
    }
    for a in 0..k {
        for b in 0..a {
            info[b * k + a] = info[a * k + b];
        }
    }
    (score, info)
}

/// A row's weighted residual `w (after − n p)` and weight `w n p (1 − p)` at `beta`.
fn row_terms(r: &Row<'_>, beta: &[f64]) -> (f64, f64) {
    let eta = r.offset + r.x.iter().zip(beta).map(|(a, b)| a * b).sum::<f64>();
    let p = if eta >= 0.0 { 1.0 / (1.0 + (-eta).exp()) } else { eta.exp() / (1.0 + eta.exp()) };
    (r.weight * (r.after - r.n * p), r.weight * r.n * p * (1.0 - p))
}

/// Newton's method with step halving on the (concave) log-likelihood, from `start`, less
/// row `skip`. `None` when the information is singular or the fit does not settle (no
/// finite maximum).
fn solve_glm(rows: &[Row<'_>], start: &[f64], skip: Option<usize>) -> Option<Vec<f64>> {
    let k = start.len();
    let mut beta = start.to_vec();
    let mut ll = log_likelihood(rows, &beta, skip);
    let mut step = vec![0.0; k];
    for _ in 0..100 {
        let (score, info) = score_information(rows, &beta, skip);
        let chol = crate::linalg::Cholesky::new(&info, k)?;
        chol.solve_into(&score, &mut step);
        let mut scale = 1.0;
        loop {
            let trial: Vec<f64> = beta.iter().zip(&step).map(|(b, s)| b + scale * s).collect();
            let trial_ll = log_likelihood(rows, &trial, skip);
            if trial_ll >= ll - 1e-12 * ll.abs().max(1.0) {
                let moved = step.iter().map(|s| (scale * s).abs()).fold(0.0, f64::max);
                beta = trial;
                ll = trial_ll;
                if moved < 1e-11 {
                    return beta.iter().all(|b| b.abs() < 50.0).then_some(beta);
                }
                break;
            }
            scale /= 2.0;
            if scale < 1e-10 {
                return beta.iter().all(|b| b.abs() < 50.0).then_some(beta);
            }
        }
    }
    None
}

/// `m += w · v v'`.
fn add_outer(m: &mut [Vec<f64>], v: &[f64], w: f64) {
    for (row, a) in m.iter_mut().zip(v) {
        for (cell, b) in row.iter_mut().zip(v) {
            *cell += w * a * b;
        }
    }
}

/// The within-person Poisson model with covariates of the change (see
/// [`WithinPersonGlm`]): `x` row-major, one row of `k` columns per person (its first column
/// usually 1: the after/before ratio itself), `weights` optional per person (≥ 0).
pub fn within_person_glm(
    persons: &[TwoWindows],
    x: &[f64],
    k: usize,
    weights: Option<&[f64]>,
) -> Result<WithinPersonGlm, StatsError> {
    if k == 0 {
        return Err(StatsError::Invalid("the design needs at least one column (k ≥ 1)".into()));
    }
    if x.len() != persons.len() * k {
        return Err(StatsError::UnequalLengths {
            what: "x (k columns per person)",
            left: persons.len() * k,
            right: x.len(),
        });
    }
    if let Some(w) = weights {
        if w.len() != persons.len() {
            return Err(StatsError::UnequalLengths {
                what: "weights",
                left: persons.len(),
                right: w.len(),
            });
        }
        if let Some(&bad) = w.iter().find(|v| !(**v >= 0.0 && v.is_finite())) {
            return Err(StatsError::OutOfRange { what: "weights", value: bad, range: "[0, ∞)" });
        }
    }
    if let Some(&bad) = x.iter().find(|v| !v.is_finite()) {
        return Err(StatsError::OutOfRange { what: "x", value: bad, range: "finite" });
    }
    // Check every person, then keep the informative ones.
    informative(persons)?;
    let rows: Vec<Row<'_>> = persons
        .iter()
        .enumerate()
        .filter_map(|(i, w)| {
            let weight = weights.map_or(1.0, |v| v[i]);
            let n = w.before + w.after;
            (w.before_years > 0.0 && w.after_years > 0.0 && n > 0.0 && weight > 0.0).then(|| Row {
                offset: (w.after_years / w.before_years).ln(),
                n,
                after: w.after,
                weight,
                x: &x[i * k..(i + 1) * k],
            })
        })
        .collect();
    let g = rows.len();
    if g <= k {
        return Err(StatsError::TooFew {
            what: "the within-person model (persons with time and a value in both windows)",
            needed: k + 1,
            got: g,
        });
    }
    let no_estimate = || {
        StatsError::Invalid(
            "the within-person model has no finite estimate (its information is singular, or the after shares are separated by the covariates)".into(),
        )
    };
    let beta = solve_glm(&rows, &vec![0.0; k], None).ok_or_else(no_estimate)?;
    let (_, info) = score_information(&rows, &beta, None);
    let chol = crate::linalg::Cholesky::new(&info, k).ok_or_else(no_estimate)?;
    let bread = chol.inverse();
    let gf = g as f64;
    let mut meat = vec![vec![0.0; k]; k];
    let terms: Vec<(f64, f64)> = rows.iter().map(|r| row_terms(r, &beta)).collect();
    for (r, (s, _)) in rows.iter().zip(&terms) {
        add_outer(&mut meat, r.x, s * s);
    }
    let mut cov_cr1 = crate::linalg::mul(&crate::linalg::mul(&bread, &meat), &bread);
    for v in cov_cr1.iter_mut().flatten() {
        *v *= gf / (gf - 1.0);
    }
    crate::linalg::symmetrize(&mut cov_cr1);
    // The jackknife: one Newton step per person on the others' information, refitted
    // where that moves a coefficient by more than EXACT_ABOVE.
    let full_info = info;
    let mut moves = vec![vec![0.0; k]; k];
    let mut refitted = 0;
    let mut jackknife_ok = true;
    let mut rest = vec![0.0; k * k];
    let mut delta = vec![0.0; k];
    for (i, (r, (s, h))) in rows.iter().zip(&terms).enumerate() {
        for a in 0..k {
            for b in 0..k {
                rest[a * k + b] = full_info[a * k + b] - h * r.x[a] * r.x[b];
            }
        }
        let Some(rest_chol) = crate::linalg::Cholesky::new(&rest, k) else {
            jackknife_ok = false;
            break;
        };
        // The others' score at β̂ is −s_i x_i.
        let minus: Vec<f64> = r.x.iter().map(|v| -s * v).collect();
        rest_chol.solve_into(&minus, &mut delta);
        if delta.iter().any(|d| d.abs() > EXACT_ABOVE) {
            refitted += 1;
            let start: Vec<f64> = beta.iter().zip(&delta).map(|(b, d)| b + d).collect();
            let Some(b) = solve_glm(&rows, &start, Some(i)) else {
                jackknife_ok = false;
                break;
            };
            for (d, (bi, b0)) in delta.iter_mut().zip(b.iter().zip(&beta)) {
                *d = bi - b0;
            }
        }
        add_outer(&mut moves, &delta, 1.0);
    }
    let cov_jackknife = jackknife_ok.then(|| {
        let mut m = moves;
        for v in m.iter_mut().flatten() {
            *v *= (gf - 1.0) / gf;
        }
        crate::linalg::symmetrize(&mut m);
        m
    });
    Ok(WithinPersonGlm { coef: beta, cov_cr1, cov_jackknife, informative: g, refitted })
}

#[cfg(test)]
mod tests;

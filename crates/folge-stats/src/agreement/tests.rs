//! Agreement statistics against statsmodels 0.14 (`cohens_kappa`, `fleiss_kappa`), the
//! `krippendorff` 0.8 package, and the published worked examples they reproduce.

use super::*;

#[track_caller]
fn close(got: f64, want: f64, tol: f64) {
    assert!((got - want).abs() <= tol, "got {got}, want {want}");
}

fn labels(v: &[u8]) -> Vec<Option<String>> {
    v.iter().map(|x| Some(x.to_string())).collect()
}

const X: [u8; 20] = [1, 2, 3, 1, 2, 3, 3, 2, 1, 1, 2, 3, 2, 2, 3, 1, 3, 2, 1, 2];
const Y: [u8; 20] = [1, 2, 3, 2, 2, 3, 2, 2, 1, 1, 3, 3, 2, 1, 3, 1, 3, 2, 2, 2];

#[test]
fn cohen_kappa_matches_statsmodels() {
    // statsmodels: r = cohens_kappa(table(X, Y), wt=None|'linear'|'quadratic');
    // [r.kappa, r.std_kappa, r.std_kappa0, r.kappa_low, r.kappa_upp, r.pvalue_two_sided]
    let cases = [
        (
            KappaWeights::None,
            [
                0.618_320_610_687_022_9,
                0.149_380_460_954_340_43,
                0.158_578_485_135_243_3,
                0.325_540_287_222_523_8,
                0.911_100_934_151_522,
                9.653_269_625_834_476e-5,
            ],
        ),
        (
            KappaWeights::Linear,
            [
                0.695_121_951_219_512_1,
                0.124_153_645_139_314_76,
                0.169_836_503_245_392_62,
                0.451_785_278_197_088_8,
                0.938_458_624_241_935_5,
                4.260_317_434_091_932e-5,
            ],
        ),
        (
            KappaWeights::Quadratic,
            [
                0.782_608_695_652_173_8,
                0.094_423_393_147_389_3,
                0.222_887_054_225_624_6,
                0.597_542_245_785_224_6,
                0.967_675_145_519_123,
                4.460_308_953_871_979_6e-4,
            ],
        ),
    ];
    for (weights, want) in cases {
        let r = cohen_kappa(&labels(&X), &labels(&Y), weights, 0.95).unwrap();
        close(r.estimate.unwrap(), want[0], 1e-14);
        // SEs: sums of squared deviations in a different order than statsmodels; 1e-12 is
        // still 11 significant digits.
        close(r.extra("se").unwrap(), want[1], 1e-12);
        close(r.extra("se0").unwrap(), want[2], 1e-12);
        close(r.ci_low.unwrap(), want[3], 1e-13);
        close(r.ci_high.unwrap(), want[4], 1e-13);
        close(r.p_value.unwrap(), want[5], 1e-15);
    }
    let mut x = labels(&X);
    x[0] = None;
    assert_eq!(cohen_kappa(&x, &labels(&Y), KappaWeights::None, 0.95).unwrap().n, 19);
}

#[test]
fn fleiss_kappa_matches_fleiss_1971() {
    // Fleiss (1971) / Wikipedia worked example: 10 subjects, 14 raters, 5 categories;
    // statsmodels fleiss_kappa(F, method='fleiss') = 0.20993070442195522.
    let f: Vec<Vec<f64>> = [
        [0, 0, 0, 0, 14],
        [0, 2, 6, 4, 2],
        [0, 0, 3, 5, 6],
        [0, 3, 9, 2, 0],
        [2, 2, 8, 1, 1],
        [7, 7, 0, 0, 0],
        [3, 2, 6, 3, 0],
        [2, 5, 3, 2, 2],
        [6, 5, 2, 1, 0],
        [0, 2, 2, 3, 7],
    ]
    .iter()
    .map(|r| r.iter().map(|v| f64::from(*v)).collect())
    .collect();
    let r = fleiss_kappa(&f).unwrap();
    close(r.estimate.unwrap(), 0.209_930_704_421_955_22, 1e-14);
    let mut bad = f.clone();
    bad[0][0] = 1.0;
    assert!(fleiss_kappa(&bad).unwrap_err().to_string().contains("same number of raters"));
}

/// Krippendorff (2011), "Computing Krippendorff's alpha-reliability", example C: 4 coders,
/// 12 units, missing values. Published: nominal 0.743, ordinal 0.815, interval 0.849,
/// ratio 0.797; full digits from `krippendorff.alpha(data, level_of_measurement=…)`.
fn example_c() -> Vec<Vec<Option<f64>>> {
    let n = f64::NAN;
    [
        [1.0, 2.0, 3.0, 3.0, 2.0, 1.0, 4.0, 1.0, 2.0, n, n, n],
        [1.0, 2.0, 3.0, 3.0, 2.0, 2.0, 4.0, 1.0, 2.0, 5.0, n, 3.0],
        [n, 3.0, 3.0, 3.0, 2.0, 3.0, 4.0, 2.0, 2.0, 5.0, 1.0, n],
        [1.0, 2.0, 3.0, 3.0, 2.0, 4.0, 4.0, 1.0, 2.0, 5.0, 1.0, n],
    ]
    .iter()
    .map(|r| r.iter().map(|v| (!v.is_nan()).then_some(*v)).collect())
    .collect()
}

#[test]
fn krippendorff_alpha_matches_the_worked_example() {
    let data = example_c();
    for (level, want) in [
        (Level::Nominal, 0.743_421_052_631_579),
        (Level::Ordinal, 0.815_387_503_754_881_4),
        (Level::Interval, 0.849_107_142_857_142_8),
        (Level::Ratio, 0.797_402_774_711_612_1),
    ] {
        let r = krippendorff_alpha(&data, level).unwrap();
        close(r.estimate.unwrap(), want, 1e-13);
        // Unit 12 has one value only: 11 pairable units.
        assert_eq!(r.n, 11);
    }
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn identical_coders_have_alpha_one(values in proptest::collection::vec(1u8..6, 3..40)) {
            prop_assume!(values.iter().any(|v| *v != values[0]));
            let row: Vec<Option<f64>> = values.iter().map(|v| Some(f64::from(*v))).collect();
            for level in [Level::Nominal, Level::Ordinal, Level::Interval, Level::Ratio] {
                let r = krippendorff_alpha(&[row.clone(), row.clone(), row.clone()], level).unwrap();
                prop_assert!((r.estimate.unwrap() - 1.0).abs() < 1e-12);
            }
            let l: Vec<Option<String>> = values.iter().map(|v| Some(v.to_string())).collect();
            prop_assert!((cohen_kappa(&l, &l, KappaWeights::None, 0.95).unwrap().estimate.unwrap() - 1.0).abs() < 1e-12);
        }
    }
}

//! The summary's quantiles against exact nearest-rank quantiles: within 1% relative error for
//! every distribution and sample size, exact on zero and the infinities.

use routemeter::{Error, Summary, SummaryOptions};

/// The documented bound, 0.95% (below the promised 1%), plus rounding.
const BOUND: f64 = 0.0095 + 1e-12;

/// Every quantile the accuracy tests ask for, including the minimum and the maximum.
const QUANTILES: [f64; 7] = [0.0, 0.01, 0.5, 0.9, 0.99, 0.999, 1.0];

/// splitmix64: small, deterministic and good enough for test data.
struct Rng(u64);

impl Rng {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in (0, 1).
    fn unit(&mut self) -> f64 {
        ((self.next_u64() >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    }

    /// Standard normal (Box-Muller).
    fn normal(&mut self) -> f64 {
        let radius = (-2.0 * self.unit().ln()).sqrt();
        radius * (std::f64::consts::TAU * self.unit()).cos()
    }

    fn log_normal(&mut self, median: f64, sigma: f64) -> f64 {
        median * (sigma * self.normal()).exp()
    }

    /// Pareto with scale `minimum` and shape `alpha` (heavy-tailed for small alpha).
    fn pareto(&mut self, minimum: f64, alpha: f64) -> f64 {
        minimum / self.unit().powf(1.0 / alpha)
    }
}

/// `sorted[ceil(q * n) - 1]`, with `q = 0` meaning the minimum.
fn exact_quantile(sorted: &[f64], q: f64) -> f64 {
    let n = sorted.len();
    let rank = ((q * n as f64).ceil() as usize).clamp(1, n);
    sorted[rank - 1]
}

fn options() -> Result<SummaryOptions, Error> {
    SummaryOptions::default().with_quantiles(QUANTILES.to_vec())
}

/// Observes `values` at one instant and checks every quantile, the count and the sum.
fn check(name: &str, values: &[f64]) -> Result<(), Error> {
    let summary = Summary::new(&options()?);
    for &value in values {
        summary.observe(value, 1_000);
    }
    let snapshot = summary.snapshot(2_000);
    assert_eq!(snapshot.count, values.len() as u64, "{name}: count");
    assert_eq!(
        snapshot.window_count,
        values.len() as u64,
        "{name}: window count"
    );
    let sequential_sum = values.iter().fold(0.0, |sum, value| sum + value);
    assert_eq!(
        snapshot.sum.to_bits(),
        sequential_sum.to_bits(),
        "{name}: sum"
    );

    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    assert_eq!(snapshot.quantiles.len(), QUANTILES.len());
    for (&q, &reported) in QUANTILES.iter().zip(&snapshot.quantiles) {
        let exact = exact_quantile(&sorted, q);
        assert_within_bound(name, values.len(), q, reported, exact);
    }
    Ok(())
}

fn assert_within_bound(name: &str, n: usize, q: f64, reported: f64, exact: f64) {
    if exact == 0.0 || exact.is_infinite() {
        assert_eq!(reported, exact, "{name}, n = {n}, q = {q}: must be exact");
        return;
    }
    let error = (reported - exact).abs() / exact.abs();
    assert!(
        error <= BOUND,
        "{name}, n = {n}, q = {q}: reported {reported:e}, exact {exact:e}, relative error {error:e}"
    );
}

fn sample(n: usize, seed: u64, draw: impl Fn(&mut Rng) -> f64) -> Vec<f64> {
    let mut rng = Rng(seed);
    (0..n).map(|_| draw(&mut rng)).collect()
}

const SIZES: [usize; 5] = [1, 10, 100, 10_000, 1_000_000];

#[test]
fn uniform() -> Result<(), Error> {
    for (i, n) in SIZES.into_iter().enumerate() {
        check(
            "uniform",
            &sample(n, 1 + i as u64, |rng| rng.unit() * 1_000.0),
        )?;
    }
    Ok(())
}

#[test]
fn log_normal_latencies() -> Result<(), Error> {
    for (i, n) in SIZES.into_iter().enumerate() {
        check(
            "log-normal",
            &sample(n, 10 + i as u64, |rng| rng.log_normal(0.005, 1.0)),
        )?;
    }
    Ok(())
}

#[test]
fn bimodal() -> Result<(), Error> {
    for (i, n) in SIZES.into_iter().enumerate() {
        let values = sample(n, 20 + i as u64, |rng| {
            // A fast cache hit or a slow database call.
            if rng.unit() < 0.8 {
                rng.log_normal(0.002, 0.2)
            } else {
                rng.log_normal(0.250, 0.3)
            }
        });
        check("bimodal", &values)?;
    }
    Ok(())
}

#[test]
fn heavy_tailed_pareto() -> Result<(), Error> {
    for (i, n) in SIZES.into_iter().enumerate() {
        check(
            "pareto",
            &sample(n, 30 + i as u64, |rng| rng.pareto(0.001, 1.1)),
        )?;
    }
    Ok(())
}

#[test]
fn constant() -> Result<(), Error> {
    for n in SIZES {
        check("constant", &vec![0.042; n])?;
    }
    Ok(())
}

#[test]
fn all_zero() -> Result<(), Error> {
    for n in SIZES {
        check("all zero", &vec![0.0; n])?;
    }
    Ok(())
}

#[test]
fn response_sizes_in_bytes() -> Result<(), Error> {
    // Whole numbers of bytes, many of them equal, with some empty bodies.
    for (i, n) in SIZES.into_iter().enumerate() {
        let values = sample(n, 40 + i as u64, |rng| {
            if rng.unit() < 0.05 {
                0.0
            } else {
                rng.log_normal(300.0, 0.5).round()
            }
        });
        check("sizes", &values)?;
    }
    Ok(())
}

#[test]
fn mixed_signs_and_zeros() -> Result<(), Error> {
    for (i, n) in SIZES.into_iter().enumerate() {
        let values = sample(n, 50 + i as u64, |rng| match rng.next_u64() % 4 {
            0 => -rng.log_normal(3.0, 2.0),
            1 => 0.0,
            2 => -0.0,
            _ => rng.log_normal(3.0, 2.0),
        });
        check("mixed signs", &values)?;
    }
    Ok(())
}

#[test]
fn magnitudes_across_the_whole_range() -> Result<(), Error> {
    // Every power of two from 2^-48 to 2^47, in both signs.
    let values = sample(100_000, 60, |rng| {
        let exponent = (rng.next_u64() % 96) as i32 - 48;
        let value = 2f64.powi(exponent) * (1.0 + rng.unit());
        if rng.next_u64() % 2 == 0 {
            value
        } else {
            -value
        }
    });
    check("whole range", &values)?;
    Ok(())
}

#[test]
fn bucket_edges() -> Result<(), Error> {
    // Values exactly on, and just below, every 1/256th of one power of two (bucket boundaries
    // are among them), and of the extremes of the range.
    let mut values = Vec::new();
    for power in [2f64.powi(-48), 1.0, 2f64.powi(47)] {
        for cell in 0..=256 {
            let edge = power * (1.0 + f64::from(cell) / 256.0);
            values.push(edge);
            values.push(f64::from_bits(edge.to_bits() - 1));
        }
    }
    check("bucket edges", &values)?;
    Ok(())
}

#[test]
fn infinities_are_exact() -> Result<(), Error> {
    let mut values = sample(1_000, 70, |rng| rng.log_normal(1.0, 1.0));
    values.extend([f64::INFINITY; 20]);
    values.extend([f64::NEG_INFINITY; 5]);
    let summary = Summary::new(&options()?);
    for &value in &values {
        summary.observe(value, 0);
    }
    let snapshot = summary.snapshot(0);
    let mut sorted = values.clone();
    sorted.sort_by(f64::total_cmp);
    for (&q, &reported) in QUANTILES.iter().zip(&snapshot.quantiles) {
        assert_within_bound(
            "infinities",
            values.len(),
            q,
            reported,
            exact_quantile(&sorted, q),
        );
    }
    assert_eq!(snapshot.quantiles[0], f64::NEG_INFINITY);
    assert_eq!(snapshot.quantiles[6], f64::INFINITY);
    // +Inf + -Inf: the sum is NaN, as in every Prometheus client.
    assert!(snapshot.sum.is_nan());
    assert_eq!(snapshot.count, values.len() as u64);
    Ok(())
}

#[test]
fn nan_is_ignored() -> Result<(), Error> {
    let summary = Summary::new(&options()?);
    for value in [1.0, f64::NAN, 2.0, -f64::NAN, 3.0] {
        summary.observe(value, 0);
    }
    let snapshot = summary.snapshot(0);
    assert_eq!(snapshot.count, 3);
    assert_eq!(snapshot.window_count, 3);
    assert_eq!(snapshot.sum, 6.0);
    assert!(snapshot.quantiles.iter().all(|q| q.is_finite()));
    Ok(())
}

#[test]
fn out_of_range_magnitudes_are_clamped_with_their_sign() -> Result<(), Error> {
    let summary = Summary::new(&options()?);
    for value in [1e-30, 5e-324, -1e-300, 1e30, f64::MAX, -f64::MAX] {
        summary.observe(value, 0);
    }
    let snapshot = summary.snapshot(0);
    // Sorted: -MAX, -1e-300, 5e-324, 1e-30, 1e30, MAX. The lowest bucket (2^-48 up) holds
    // 5e-324 and 1e-30, the highest (up to 2^48) 1e30 and MAX; -MAX is alone in its mirror.
    // Each reads its bucket's value, clamped to the extremes its slot counted in those pages.
    let [minimum, ..] = snapshot.quantiles[..] else {
        unreachable!()
    };
    assert_eq!(minimum, -f64::MAX, "alone in its page");
    let median = snapshot.quantiles[2]; // rank 3: 5e-324, in the lowest bucket
    assert!((5e-324..=1e-30).contains(&median), "{median:e}");
    let maximum = snapshot.quantiles[6];
    assert!((1e30..=f64::MAX).contains(&maximum), "{maximum:e}");
    Ok(())
}

#[test]
fn quantiles_follow_the_normalised_order() -> Result<(), Error> {
    let options = SummaryOptions::default().with_quantiles(vec![0.9, 0.1, 0.5, 0.9])?;
    assert_eq!(options.quantiles(), &[0.1, 0.5, 0.9]);
    let summary = Summary::new(&options);
    for value in 1..=100 {
        summary.observe(f64::from(value), 0);
    }
    let snapshot = summary.snapshot(0);
    let expected = [10.0, 50.0, 90.0];
    for (reported, exact) in snapshot.quantiles.iter().zip(expected) {
        assert_within_bound("ordered", 100, f64::NAN, *reported, exact);
    }
    Ok(())
}

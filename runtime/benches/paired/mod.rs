//! The cost of one thing over another measured in paired rounds: each round times both, back to
//! back, so that a drift of the machine between two of criterion's benchmarks (on a shared
//! machine, often larger than the cost itself) does not enter the difference.

use std::time::Instant;

/// Set, the benchmark executable prints the paired figures alone and exits.
pub const PAIRED_ONLY: &str = "ROUTEMETER_BENCH_PAIRED";

/// Rounds of each pair; a round times each side for [`CALLS_PER_ROUND`] calls.
const ROUNDS: usize = 101;
const CALLS_PER_ROUND: u32 = 20_000;

/// The median and quartiles, over the rounds, of the nanoseconds one side costs per call over
/// the other.
pub struct Quartiles {
    /// The median round's difference.
    pub median: f64,
    /// The first quartile's.
    pub low: f64,
    /// The third quartile's.
    pub high: f64,
}

impl Quartiles {
    /// Prints the figure as `what`.
    pub fn print(&self, what: &str) {
        println!(
            "  {what:<28} {:>6.1} ns per call in paired rounds (quartiles {:.1} to {:.1})",
            self.median, self.low, self.high
        );
    }
}

/// What `measured` costs per call over `base`, in [`ROUNDS`] rounds that time both, the one
/// first and then the other, alternately.
pub fn paired(base: impl Fn(), measured: impl Fn()) -> Quartiles {
    fn per_call(call: &impl Fn()) -> f64 {
        let started = Instant::now();
        for _ in 0..CALLS_PER_ROUND {
            call();
        }
        started.elapsed().as_nanos() as f64 / f64::from(CALLS_PER_ROUND)
    }
    // A first round warms both up and is not counted.
    per_call(&base);
    per_call(&measured);
    let mut differences: Vec<f64> = (0..ROUNDS)
        .map(|round| {
            if round % 2 == 0 {
                let base = per_call(&base);
                per_call(&measured) - base
            } else {
                let measured = per_call(&measured);
                measured - per_call(&base)
            }
        })
        .collect();
    differences.sort_by(f64::total_cmp);
    let at =
        |quantile: f64| differences[((differences.len() - 1) as f64 * quantile).round() as usize];
    Quartiles {
        median: at(0.5),
        low: at(0.25),
        high: at(0.75),
    }
}

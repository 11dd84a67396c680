//! The cost of one thing over another measured in paired rounds: each round times both, back to
//! back, so that a drift of the machine between two of criterion's benchmarks (on a shared
//! machine, often larger than the cost itself) does not enter the difference.
//!
//! Within one process the rounds agree closely; between processes of one build they do not
//! (where the stack, heap and storage land moves a handler's cost by about ±20 ns). So each
//! figure is measured in [`PROCESSES`] processes of this executable, one after the other, and
//! reported as the median of their medians, with the lowest and highest.

use std::process::Command;
use std::time::{Duration, Instant};

/// Set, the benchmark executable prints the paired figures alone and exits.
pub const PAIRED_ONLY: &str = "ROUTEMETER_BENCH_PAIRED";

/// Set in the processes that measure: each prints its figures, a name and a median per line.
pub const PAIRED_CHILD: &str = "ROUTEMETER_BENCH_PAIRED_CHILD";

/// Processes each figure is measured in.
pub const PROCESSES: usize = 7;

/// Rounds of each pair; a round times each side for [`CALLS_PER_ROUND`] calls.
const ROUNDS: usize = 101;
const CALLS_PER_ROUND: u32 = 20_000;

/// What `measured` costs per call over `base`, in nanoseconds: the median over [`ROUNDS`] rounds
/// that time both, the one first and then the other, alternately.
pub fn paired(base: impl Fn(), measured: impl Fn()) -> f64 {
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
    differences[differences.len() / 2]
}

/// Nanoseconds per call of `call`, over [`CALLS_PER_ROUND`] calls.
fn per_call(call: &impl Fn()) -> f64 {
    let started = Instant::now();
    for _ in 0..CALLS_PER_ROUND {
        call();
    }
    started.elapsed().as_nanos() as f64 / f64::from(CALLS_PER_ROUND)
}

/// `ours`'s cost over `base` as a fraction of `peer`'s over it: the median over [`ROUNDS`]
/// rounds that time all three back to back, in an order that turns from round to round.
pub fn overhead_ratio(base: impl Fn(), ours: impl Fn(), peer: impl Fn()) -> f64 {
    // A first round warms all three up and is not counted.
    per_call(&base);
    per_call(&ours);
    per_call(&peer);
    let mut ratios: Vec<f64> = (0..ROUNDS)
        .filter_map(|round| {
            let (base, ours, peer) = match round % 3 {
                0 => {
                    let base = per_call(&base);
                    let ours = per_call(&ours);
                    (base, ours, per_call(&peer))
                }
                1 => {
                    let ours = per_call(&ours);
                    let peer = per_call(&peer);
                    (per_call(&base), ours, peer)
                }
                _ => {
                    let peer = per_call(&peer);
                    let base = per_call(&base);
                    (base, per_call(&ours), peer)
                }
            };
            // A round in which the peer read as free says nothing of the ratio.
            (peer > base).then(|| (ours - base) / (peer - base))
        })
        .collect();
    ratios.sort_by(f64::total_cmp);
    ratios.get(ratios.len() / 2).copied().unwrap_or(f64::NAN)
}

/// Calls of each side per round in [`ratio`].
const CALLS_PER_RATIO_ROUND: u32 = 4;

/// How many times as long `measured` takes as `base`: the median over [`ROUNDS`] rounds that
/// time both, the one first and then the other, alternately. Each call does its own setup and
/// returns the time of the part that counts.
pub fn ratio(mut base: impl FnMut() -> Duration, mut measured: impl FnMut() -> Duration) -> f64 {
    fn time(call: &mut impl FnMut() -> Duration) -> f64 {
        (0..CALLS_PER_RATIO_ROUND)
            .map(|_| call().as_secs_f64())
            .sum()
    }
    // A first round warms both up and is not counted.
    time(&mut base);
    time(&mut measured);
    let mut ratios: Vec<f64> = (0..ROUNDS)
        .map(|round| {
            if round % 2 == 0 {
                let base = time(&mut base);
                time(&mut measured) / base
            } else {
                let measured = time(&mut measured);
                measured / time(&mut base)
            }
        })
        .collect();
    ratios.sort_by(f64::total_cmp);
    ratios[ratios.len() / 2]
}

/// Prints one process's figures for the process that started it.
pub fn print_for_parent(figures: &[(&str, f64)]) {
    for (name, median) in figures {
        println!("{name}\t{median}");
    }
}

/// One figure over the processes: the median of their medians, the lowest and the highest.
pub struct Spread {
    pub name: String,
    pub median: f64,
    pub low: f64,
    pub high: f64,
}

impl Spread {
    /// Prints the figure, a cost per call, as `what`.
    pub fn print(&self, what: &str) {
        println!(
            "  {what:<28} {:>6.1} ns per call in paired rounds ({PROCESSES} processes: {:.1} to {:.1})",
            self.median, self.low, self.high
        );
    }

    /// Prints the figure, a ratio, as `what`.
    pub fn print_ratio(&self, what: &str) {
        println!(
            "  {what:<28} {:>6.2}x in paired rounds ({PROCESSES} processes: {:.2} to {:.2})",
            self.median, self.low, self.high
        );
    }
}

/// Runs this executable [`PROCESSES`] times with [`PAIRED_CHILD`] set, and gathers the figures
/// they print.
pub fn in_processes() -> Result<Vec<Spread>, String> {
    let exe = std::env::current_exe().map_err(|err| format!("this executable: {err}"))?;
    let mut by_name: Vec<(String, Vec<f64>)> = Vec::new();
    for _ in 0..PROCESSES {
        let output = Command::new(&exe)
            .env(PAIRED_CHILD, "1")
            .output()
            .map_err(|err| format!("{}: {err}", exe.display()))?;
        if !output.status.success() {
            return Err(format!(
                "a paired-rounds process failed ({}): {}",
                output.status,
                String::from_utf8_lossy(&output.stderr)
            ));
        }
        for line in String::from_utf8_lossy(&output.stdout).lines() {
            let Some((name, value)) = line.split_once('\t') else {
                continue;
            };
            let value: f64 = value
                .parse()
                .map_err(|err| format!("a paired figure {line:?}: {err}"))?;
            match by_name.iter_mut().find(|(known, _)| known == name) {
                Some((_, values)) => values.push(value),
                None => by_name.push((name.to_owned(), vec![value])),
            }
        }
    }
    Ok(by_name
        .into_iter()
        .map(|(name, mut values)| {
            values.sort_by(f64::total_cmp);
            Spread {
                name,
                median: values[values.len() / 2],
                low: values[0],
                high: values[values.len() - 1],
            }
        })
        .collect())
}

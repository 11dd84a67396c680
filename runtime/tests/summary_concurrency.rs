//! Many threads observing one summary while another reads it: totals stay exact, snapshots stay
//! sane, and a slot reset raced by several threads loses nothing.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Barrier;
use std::time::Duration;

use routemeter::{Error, Snapshot, Summary, SummaryOptions};

const THREADS: u64 = 4;
const PER_THREAD: u64 = 200_000;

/// The value thread `thread` observes at step `i`: whole numbers from 1 to 1000, so every sum is
/// exact in `f64` whatever the order of additions.
fn value(thread: u64, i: u64) -> f64 {
    ((thread * 7_919 + i * 104_729) % 1_000 + 1) as f64
}

/// Exact sum and nearest-rank quantiles of everything the threads observe.
fn expected(quantiles: &[f64]) -> (f64, Vec<f64>) {
    let mut all: Vec<f64> = (0..THREADS)
        .flat_map(|thread| (0..PER_THREAD).map(move |i| value(thread, i)))
        .collect();
    all.sort_by(f64::total_cmp);
    let n = all.len();
    let exact = quantiles
        .iter()
        .map(|q| all[((q * n as f64).ceil() as usize).clamp(1, n) - 1])
        .collect();
    (all.iter().sum(), exact)
}

fn assert_sane(snapshot: &Snapshot, previous: &Snapshot) {
    assert!(snapshot.count >= previous.count, "count went down");
    assert!(snapshot.sum >= previous.sum, "sum went down");
    assert!(snapshot.window_count <= THREADS * PER_THREAD);
    let empty = snapshot.quantiles.iter().all(|q| q.is_nan());
    assert_eq!(empty, snapshot.window_count == 0, "{snapshot:?}");
    for pair in snapshot.quantiles.windows(2) {
        assert!(empty || pair[0] <= pair[1], "out of order: {snapshot:?}");
    }
    for q in &snapshot.quantiles {
        assert!(
            q.is_nan() || (0.99..=1_010.0).contains(q),
            "impossible quantile {q}"
        );
    }
}

/// Runs `THREADS` observers, each with its own clock `clock(thread, i)`, against one reader that
/// snapshots until they are done, and returns the reader's number of snapshots.
fn race(summary: &Summary, clock: impl Fn(u64, u64) -> u64 + Sync) -> u64 {
    let done = AtomicBool::new(false);
    let start = Barrier::new(THREADS as usize + 1);
    std::thread::scope(|scope| {
        let observers: Vec<_> = (0..THREADS)
            .map(|thread| {
                let (start, clock) = (&start, &clock);
                scope.spawn(move || {
                    start.wait();
                    for i in 0..PER_THREAD {
                        summary.observe(value(thread, i), clock(thread, i));
                    }
                })
            })
            .collect();
        let reader = scope.spawn(|| {
            start.wait();
            let mut previous = summary.snapshot(0);
            let mut snapshots = 0;
            while !done.load(Ordering::Acquire) {
                let snapshot = summary.snapshot(clock(0, PER_THREAD / 2));
                assert_sane(&snapshot, &previous);
                previous = snapshot;
                snapshots += 1;
            }
            snapshots
        });
        for observer in observers {
            assert!(observer.join().is_ok());
        }
        done.store(true, Ordering::Release);
        reader.join().unwrap_or(0)
    })
}

#[test]
fn totals_and_quantiles_are_exact_after_a_concurrent_run() {
    let summary = Summary::new(&SummaryOptions::default());
    let snapshots = race(&summary, |_, _| 5_000_000_000);
    assert!(snapshots > 0);
    let snapshot = summary.snapshot(6_000_000_000);
    assert_eq!(snapshot.count, THREADS * PER_THREAD);
    assert_eq!(snapshot.window_count, THREADS * PER_THREAD);
    let (sum, exact) = expected(&[0.5, 0.9, 0.99]);
    assert_eq!(snapshot.sum, sum);
    for (reported, exact) in snapshot.quantiles.iter().zip(exact) {
        assert!(
            (reported - exact).abs() <= exact / 100.0,
            "reported {reported}, exact {exact}"
        );
    }
}

#[test]
fn totals_are_exact_while_epochs_roll_over() -> Result<(), Error> {
    // One-second window in ten slots; each thread's clock runs at its own pace through hundreds
    // of slot periods, so slots are reset again and again under contention.
    let options = SummaryOptions::default().with_window(Duration::from_secs(1), 10)?;
    let summary = Summary::new(&options);
    race(&summary, |thread, i| i * (20_000 + thread * 1_000));
    let snapshot = summary.snapshot(u64::MAX);
    assert_eq!(snapshot.count, THREADS * PER_THREAD);
    assert_eq!(snapshot.sum, expected(&[]).0);
    Ok(())
}

#[test]
fn a_reset_raced_by_every_thread_loses_no_observation() -> Result<(), Error> {
    let options = SummaryOptions::default().with_quantiles(vec![0.0, 0.5, 1.0])?;
    let summary = Summary::new(&options);
    // Fill every slot with values that must disappear.
    for slot in 0..5 {
        for _ in 0..1_000 {
            summary.observe(1_000_000.0, slot * 120_000_000_000);
        }
    }
    // Twenty minutes later all threads start at once in a slot that still holds old data: one
    // clears it, the others wait, and none of the new observations is lost.
    let now = 1_200_000_000_000;
    race(&summary, |_, _| now);
    let snapshot = summary.snapshot(now);
    assert_eq!(snapshot.window_count, THREADS * PER_THREAD);
    assert_eq!(snapshot.count, 5_000 + THREADS * PER_THREAD);
    let (_, exact) = expected(&[0.0, 0.5, 1.0]);
    for (reported, exact) in snapshot.quantiles.iter().zip(exact) {
        assert!(
            (reported - exact).abs() <= exact / 100.0,
            "{reported} vs {exact}"
        );
    }
    Ok(())
}

#[test]
fn summaries_are_send_and_sync() {
    fn shareable<T: Send + Sync + 'static>() {}
    shareable::<Summary>();
    shareable::<SummaryOptions>();
    shareable::<Snapshot>();
}

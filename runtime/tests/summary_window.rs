//! The sliding window, driven by injected time: what counts, what expires, what never decays,
//! and which options are accepted.

use std::time::Duration;

use routemeter::{Error, Summary, SummaryOptions};

const SECOND: u64 = 1_000_000_000;
const MINUTE: u64 = 60 * SECOND;
const HOUR: u64 = 60 * MINUTE;
/// The default window: 10 minutes in 5 slots of 2 minutes.
const MAX_AGE: u64 = 10 * MINUTE;
const SLOT: u64 = 2 * MINUTE;

fn is_empty_window(summary: &Summary, now: u64) -> bool {
    let snapshot = summary.snapshot(now);
    snapshot.window_count == 0 && snapshot.quantiles.iter().all(|q| q.is_nan())
}

/// The reported median is `expected` within the summary's 1% bound.
fn median_is(summary: &Summary, now: u64, expected: f64) -> bool {
    let median = summary.snapshot(now).quantiles[0];
    (median - expected).abs() <= expected.abs() / 100.0
}

#[test]
fn an_empty_summary_reports_nan_quantiles_and_zero_totals() {
    let summary = Summary::new(&SummaryOptions::default());
    let snapshot = summary.snapshot(0);
    assert_eq!(snapshot.quantiles.len(), 3);
    assert!(snapshot.quantiles.iter().all(|q| q.is_nan()));
    assert_eq!(snapshot.count, 0);
    assert_eq!(snapshot.sum, 0.0);
    assert!(is_empty_window(&summary, 5 * HOUR));
}

#[test]
fn observations_expire_after_max_age_but_totals_never_decay() {
    let summary = Summary::new(&SummaryOptions::default());
    let start = 7 * HOUR; // any origin; a slot boundary
    summary.observe(0.25, start);
    summary.observe(0.75, start + 1);

    // Within the slot period and just before the window has moved past it.
    assert!(median_is(&summary, start, 0.25));
    assert!(median_is(&summary, start + MAX_AGE - 1, 0.25));
    // The slot holding them leaves the window exactly max_age after its start.
    assert!(is_empty_window(&summary, start + MAX_AGE));
    assert!(is_empty_window(&summary, start + 100 * HOUR));

    for now in [start, start + MAX_AGE, start + 100 * HOUR] {
        let snapshot = summary.snapshot(now);
        assert_eq!(snapshot.count, 2);
        assert_eq!(snapshot.sum, 1.0);
    }
}

#[test]
fn the_window_covers_between_four_and_five_slots_like_the_go_client() {
    let summary = Summary::new(&SummaryOptions::default());
    // One value per slot period: 1.0 in the first, 2.0 in the second, and so on.
    for slot in 0..5u32 {
        summary.observe(f64::from(slot + 1), u64::from(slot) * SLOT + SLOT / 2);
    }
    // At the end of the fifth slot, all five are in the window.
    let snapshot = summary.snapshot(5 * SLOT - 1);
    assert_eq!(snapshot.window_count, 5);
    // At the start of the sixth, the oldest (observed 9 minutes ago) has gone: the window is
    // 4 slots (8 minutes) long now, and grows back to 10 minutes by the end of this slot.
    let snapshot = summary.snapshot(5 * SLOT);
    assert_eq!(snapshot.window_count, 4);
    assert!(median_is(&summary, 5 * SLOT, 3.0));
    assert_eq!(summary.snapshot(6 * SLOT - 1).window_count, 4);
    assert_eq!(summary.snapshot(6 * SLOT).window_count, 3);
    assert_eq!(summary.snapshot(9 * SLOT - 1).window_count, 1);
    assert_eq!(summary.snapshot(9 * SLOT).window_count, 0);
}

#[test]
fn a_reused_slot_forgets_its_previous_epoch() {
    let summary = Summary::new(&SummaryOptions::default());
    for _ in 0..10 {
        summary.observe(100.0, 0);
    }
    // Slot 0 again, one full window later: the old values are cleared first.
    summary.observe(1.0, MAX_AGE);
    let snapshot = summary.snapshot(MAX_AGE);
    assert_eq!(snapshot.window_count, 1);
    assert!(median_is(&summary, MAX_AGE, 1.0));
    assert_eq!(snapshot.count, 11);
    assert_eq!(snapshot.sum, 1001.0);
}

#[test]
fn long_idle_periods_need_no_rotation() {
    let summary = Summary::new(&SummaryOptions::default());
    // Fill every slot.
    for i in 0..1_000u32 {
        summary.observe(f64::from(i), u64::from(i) * (MAX_AGE / 1_000));
    }
    assert_eq!(summary.snapshot(MAX_AGE - 1).window_count, 1_000);
    // Hours later nothing is left, without any observation in between.
    let later = 3 * HOUR + 17 * SECOND;
    assert!(is_empty_window(&summary, later));
    // One new observation lands in a slot that still holds hours-old data: only it counts.
    summary.observe(42.0, later);
    let snapshot = summary.snapshot(later);
    assert_eq!(snapshot.window_count, 1);
    assert!(snapshot.quantiles.iter().all(|q| (q - 42.0).abs() <= 0.42));
    // And it stays alone while the other stale slots are passed over.
    assert_eq!(summary.snapshot(later + MAX_AGE - SLOT).window_count, 1);
    assert_eq!(summary.snapshot(later + MAX_AGE).window_count, 0);
    assert_eq!(summary.snapshot(later + MAX_AGE).count, 1_001);
}

#[test]
fn a_late_observation_for_an_expired_epoch_counts_only_in_the_totals() {
    let summary = Summary::new(&SummaryOptions::default());
    summary.observe(1.0, MAX_AGE); // slot 0, epoch 5
    summary.observe(1_000.0, 0); // slot 0, epoch 0: long expired, arriving late
    let snapshot = summary.snapshot(MAX_AGE);
    assert_eq!(snapshot.window_count, 1);
    assert!(median_is(&summary, MAX_AGE, 1.0));
    assert_eq!(snapshot.count, 2);
    assert_eq!(snapshot.sum, 1001.0);
}

#[test]
fn observations_from_a_clock_ahead_of_the_snapshot_are_included() {
    // An observer may read the clock just after the exporter did.
    let summary = Summary::new(&SummaryOptions::default());
    summary.observe(3.0, SLOT + 5);
    assert_eq!(summary.snapshot(SLOT - 5).window_count, 1);
}

#[test]
fn a_custom_window_of_one_slot() -> Result<(), Error> {
    let options = SummaryOptions::default().with_window(Duration::from_secs(1), 1)?;
    let summary = Summary::new(&options);
    summary.observe(5.0, 0);
    summary.observe(6.0, SECOND - 1);
    assert_eq!(summary.snapshot(SECOND - 1).window_count, 2);
    // One slot: the window is between 0 and 1 s long and empties at each boundary.
    assert!(is_empty_window(&summary, SECOND));
    summary.observe(7.0, SECOND);
    assert!(median_is(&summary, SECOND, 7.0));
    assert_eq!(summary.snapshot(SECOND).count, 3);
    Ok(())
}

#[test]
fn a_custom_window_of_sixty_slots() -> Result<(), Error> {
    let options = SummaryOptions::default().with_window(Duration::from_secs(60), 60)?;
    assert_eq!(options.max_age(), Duration::from_secs(60));
    assert_eq!(options.age_buckets(), 60);
    let summary = Summary::new(&options);
    for second in 0..120u32 {
        summary.observe(f64::from(second), u64::from(second) * SECOND);
    }
    // At 119.5 s the window holds seconds 60 to 119.
    let snapshot = summary.snapshot(119 * SECOND + SECOND / 2);
    assert_eq!(snapshot.window_count, 60);
    assert!(median_is(&summary, 119 * SECOND, 89.0));
    assert_eq!(snapshot.count, 120);
    Ok(())
}

#[test]
fn custom_quantiles() -> Result<(), Error> {
    let options = SummaryOptions::default().with_quantiles(vec![0.75, 0.25, 0.25, -0.0])?;
    assert_eq!(options.quantiles(), &[0.0, 0.25, 0.75]);
    assert!(options.quantiles()[0].is_sign_positive());
    let summary = Summary::new(&options);
    for value in 1..=4 {
        summary.observe(f64::from(value), 0);
    }
    let quantiles = summary.snapshot(0).quantiles;
    let expected = [1.0, 1.0, 3.0];
    for (reported, exact) in quantiles.iter().zip(expected) {
        assert!((reported - exact).abs() <= exact / 100.0, "{quantiles:?}");
    }
    Ok(())
}

#[test]
fn no_quantiles_still_counts() -> Result<(), Error> {
    let options = SummaryOptions::default().with_quantiles(Vec::new())?;
    let summary = Summary::new(&options);
    summary.observe(2.5, 0);
    let snapshot = summary.snapshot(0);
    assert!(snapshot.quantiles.is_empty());
    assert_eq!(snapshot.count, 1);
    assert_eq!(snapshot.sum, 2.5);
    Ok(())
}

#[test]
fn defaults_match_the_go_client() {
    let options = SummaryOptions::default();
    assert_eq!(options.max_age(), Duration::from_secs(600));
    assert_eq!(options.age_buckets(), 5);
    assert_eq!(options.quantiles(), &[0.5, 0.9, 0.99]);
    assert_eq!(Summary::new(&options).options(), &options);
}

#[test]
fn invalid_windows_are_errors() {
    let bad = [
        (Duration::from_secs(600), 0),
        (Duration::from_secs(600), 61),
        (Duration::ZERO, 5),
        (Duration::from_millis(999), 1),
        // 1 s does not split into 7 whole-nanosecond slots.
        (Duration::from_secs(1), 7),
        // Longer than u64 nanoseconds.
        (Duration::from_secs(u64::MAX), 5),
    ];
    for (max_age, age_buckets) in bad {
        let result = SummaryOptions::default().with_window(max_age, age_buckets);
        assert!(
            matches!(result, Err(Error::InvalidConfig(_))),
            "{max_age:?} in {age_buckets} buckets: {result:?}"
        );
    }
    let good = [
        (Duration::from_secs(1), 1),
        (Duration::from_secs(1), 8),
        (Duration::from_secs(60), 60),
        (Duration::from_secs(86_400 * 365), 5),
    ];
    for (max_age, age_buckets) in good {
        let result = SummaryOptions::default().with_window(max_age, age_buckets);
        assert!(result.is_ok(), "{max_age:?} in {age_buckets} buckets");
    }
}

#[test]
fn invalid_quantiles_are_errors() {
    for bad in [-0.1, 1.000_001, f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
        let result = SummaryOptions::default().with_quantiles(vec![0.5, bad]);
        let Err(Error::InvalidConfig(message)) = result else {
            unreachable!("{bad} was accepted");
        };
        assert!(message.contains("quantile"), "{message}");
    }
}

#[test]
fn extreme_times_do_not_panic() {
    let summary = Summary::new(&SummaryOptions::default());
    summary.observe(1.0, u64::MAX);
    summary.observe(2.0, u64::MAX - 1);
    summary.observe(3.0, 0);
    let snapshot = summary.snapshot(u64::MAX);
    assert_eq!(snapshot.count, 3);
    assert_eq!(snapshot.window_count, 2);
    assert!(summary.snapshot(0).window_count >= 1);
}

/// The observations thread `thread` makes in `epoch`: of both signs, zero and the infinities,
/// spread over many powers of two.
fn values(thread: u64, epoch: u64) -> impl Iterator<Item = f64> {
    (0..500u64).map(move |i| match (i + thread) % 50 {
        0 => 0.0,
        1 => f64::INFINITY,
        2 => f64::NEG_INFINITY,
        3..=9 => -((i * 7 + thread) as f64) / 1000.0,
        _ => {
            ((i * 13 + epoch * 31 + thread) % 997 + 1) as f64 * 1e-4 * 1.9f64.powi((i % 20) as i32)
        }
    })
}

#[test]
fn epochs_folded_over_many_threads_read_as_recorded() -> Result<(), Error> {
    let quantiles: Vec<f64> = (0..=20).map(|i| f64::from(i) / 20.0).collect();
    let summary = Summary::new(&SummaryOptions::default().with_quantiles(quantiles.clone())?);
    // Four threads (four shards) record epochs 0 to 6 in turn: each new epoch folds the one
    // before into the folded slots.
    std::thread::scope(|scope| {
        for thread in 0..4u64 {
            let summary = &summary;
            scope.spawn(move || {
                for epoch in 0..7 {
                    for (i, value) in values(thread, epoch).enumerate() {
                        summary.observe(value, epoch * SLOT + i as u64 * SECOND / 10);
                    }
                }
            });
        }
    });
    // At epoch 7 the window holds epochs 3 to 6: 3 to 5 folded, 6 in the shards' slots.
    let mut window: Vec<f64> = (0..4)
        .flat_map(|thread| (3..7).flat_map(move |epoch| values(thread, epoch)))
        .collect();
    window.sort_by(f64::total_cmp);
    let snapshot = summary.snapshot(7 * SLOT + SECOND);
    assert_eq!(snapshot.window_count, window.len() as u64);
    assert_eq!(snapshot.count, 4 * 7 * 500);
    for (q, reported) in quantiles.iter().zip(&snapshot.quantiles) {
        let rank = ((q * window.len() as f64).ceil() as usize).clamp(1, window.len());
        let exact = window[rank - 1];
        let close = if exact.is_finite() && exact != 0.0 {
            (reported - exact).abs() <= exact.abs() * 0.0095
        } else {
            *reported == exact
        };
        assert!(close, "q {q}: {reported} for {exact}");
    }
    // A thread that moves on to epoch 8 folds its epoch 6; epoch 3 leaves the window.
    summary.observe(1e6, 8 * SLOT);
    let next = summary.snapshot(8 * SLOT + SECOND);
    assert_eq!(next.window_count, 3 * 4 * 500 + 1);
    assert_eq!(next.quantiles.last(), Some(&f64::INFINITY));
    Ok(())
}

#[test]
fn an_observation_stamped_in_an_epoch_its_shard_moved_past_counts_in_the_folded_slots() {
    let summary = Summary::new(&SummaryOptions::default());
    summary.observe(0.5, SLOT / 2);
    // Epoch 1 folds epoch 0 away from the shard's slot...
    summary.observe(0.7, SLOT + 1);
    // ...so an observation stamped in epoch 0 recorded now lands in the folded slot of epoch 0.
    summary.observe(0.5, SLOT - 1);
    let snapshot = summary.snapshot(SLOT + 2);
    assert_eq!((snapshot.count, snapshot.window_count), (3, 3));
    assert!((snapshot.quantiles[0] - 0.5).abs() <= 0.5 * 0.0095);
    // Once epoch 0 has left the window, it only counts in the totals.
    summary.observe(0.5, 6 * SLOT);
    summary.observe(0.5, SLOT - 1);
    let snapshot = summary.snapshot(6 * SLOT);
    assert_eq!((snapshot.count, snapshot.window_count), (5, 1));
}

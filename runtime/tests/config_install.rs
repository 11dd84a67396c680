//! Bad configurations are errors, not panics; the configuration is fixed once.

use std::time::Duration;

use routemeter::{Config, Error};

#[test]
fn configuration_is_validated_then_fixed() {
    let invalid = [
        Config::new().namespace("9lives"),
        Config::new().namespace("with-dash"),
        Config::new().window(Duration::ZERO, 5),
        Config::new().window(Duration::from_secs(600), 0),
        Config::new().quantiles(vec![0.5, 1.5]),
        Config::new().quantiles(vec![f64::NAN]),
        Config::new().histogram_buckets(Vec::new()),
        Config::new().histogram_buckets(vec![1.0, 0.5]),
        Config::new().histogram_buckets(vec![0.5, f64::INFINITY]),
        Config::new()
            .native_histogram(true)
            .native_histogram_max_buckets(7),
    ];
    for config in invalid {
        let shown = format!("{config:?}");
        match config.install() {
            Err(Error::InvalidConfig(reason)) => assert!(!reason.is_empty()),
            other => panic!("{shown} should be invalid, got {other:?}"),
        }
    }

    let chosen = || {
        Config::new()
            .namespace("shop")
            .window(Duration::from_secs(60), 3)
            .quantiles(vec![0.5, 0.999])
    };
    let exporter = chosen().install().expect("a valid configuration installs");
    // The same configuration again is fine (e.g. two servers in one process).
    chosen()
        .install()
        .expect("installing the same configuration twice");
    let error = Config::new()
        .install()
        .expect_err("a different configuration");
    assert!(matches!(error, Error::AlreadyInstalled), "{error}");

    let text = exporter.render().expect("render");
    assert!(
        text.contains("# TYPE routemeter_metrics_handler_requests_in_flight gauge"),
        "{text}"
    );
    assert!(text.contains("process_resident_memory_bytes"), "{text}");
}

#[test]
fn custom_registries_are_served_beside_the_default_one() {
    let registry = prometheus::Registry::new();
    let jobs = prometheus::IntCounter::new("shop_jobs_total", "Jobs \"done\".\nAll of them.")
        .expect("valid counter");
    registry.register(Box::new(jobs.clone())).expect("register");
    jobs.inc_by(3);
    let exporter = Config::new()
        .namespace("shop")
        .window(Duration::from_secs(60), 3)
        .quantiles(vec![0.5, 0.999])
        .registry(registry)
        .install()
        .expect("install");
    let text = exporter.render().expect("render");
    assert!(
        text.contains("# HELP shop_jobs_total Jobs \"done\".\\nAll of them.\n# TYPE shop_jobs_total counter\nshop_jobs_total 3\n"),
        "{text}"
    );
    // Families are sorted by name, whichever registry they come from.
    let names: Vec<&str> = text
        .lines()
        .filter_map(|line| line.strip_prefix("# TYPE "))
        .filter_map(|rest| rest.split(' ').next())
        .collect();
    let mut sorted = names.clone();
    sorted.sort_unstable();
    assert_eq!(names, sorted);
}

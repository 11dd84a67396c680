//! One instrumented handler's series, read out of a parsed exposition: its summary's `_count` and `_sum`, its
//! `requests_total` by code, its in-flight gauge and its histogram's count.

use std::collections::BTreeMap;

use std::time::Duration;

use routemeter::Exporter;

use crate::exposition::Exposition;
use crate::process::eventually;
use crate::TestResult;

/// How long [`ended`] waits for a request to be recorded.
const ENDING_PATIENCE: Duration = Duration::from_secs(15);

/// Names one handler as routemeter reports it: `<namespace>_<name>` with labels `handler`, `method`, `route`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HandlerSeries {
    /// The namespace: the crate the handler lives in, unless overridden.
    pub namespace: &'static str,
    /// The attribute's `name`.
    pub name: &'static str,
    /// The route's method.
    pub method: &'static str,
    /// The route's normalised path.
    pub route: &'static str,
}

impl HandlerSeries {
    /// The handler `name` with route `method route`, in `namespace`.
    pub const fn new(
        namespace: &'static str,
        name: &'static str,
        method: &'static str,
        route: &'static str,
    ) -> HandlerSeries {
        HandlerSeries {
            namespace,
            name,
            method,
            route,
        }
    }

    /// The summary family's name, `<namespace>_<name>`.
    pub fn summary(&self) -> String {
        format!("{}_{}", self.namespace, self.name)
    }

    /// The labels that name the handler: `handler`, `method`, `route`.
    fn labels(&self) -> [(&'static str, &'static str); 3] {
        [
            ("handler", self.name),
            ("method", self.method),
            ("route", self.route),
        ]
    }

    /// The handler's sample `<namespace>_<sample>` (0 when the series does not exist yet), for
    /// the families labelled by the handler alone: `request_duration_seconds_count`,
    /// `time_to_headers_seconds_count`, `request_size_bytes_sum`, ...
    pub fn value(&self, metrics: &Exposition, sample: &str) -> f64 {
        metrics.value_or_zero(&format!("{}_{sample}", self.namespace), &self.labels())
    }

    /// `requests_total` for `code` (0 when the series does not exist yet).
    pub fn requests(&self, metrics: &Exposition, code: &str) -> f64 {
        let [handler, method, route] = self.labels();
        metrics.value_or_zero(
            &format!("{}_requests_total", self.namespace),
            &[handler, method, route, ("code", code)],
        )
    }

    /// Every `requests_total` series of the handler, by code.
    pub fn requests_by_code(&self, metrics: &Exposition) -> BTreeMap<String, f64> {
        let family = format!("{}_requests_total", self.namespace);
        metrics
            .samples()
            .filter(|sample| sample.name == family && sample.has_labels(&self.labels()))
            .filter_map(|sample| Some((sample.labels.get("code")?.clone(), sample.value)))
            .collect()
    }

    /// The sum of `requests_total` over every code.
    pub fn requests_total(&self, metrics: &Exposition) -> f64 {
        self.requests_by_code(metrics).values().sum()
    }

    /// The summary's `_count` for `service` (`duration` or `size`).
    pub fn count(&self, metrics: &Exposition, service: &str) -> f64 {
        metrics.value_or_zero(
            &format!("{}_count", self.summary()),
            &[("service", service)],
        )
    }

    /// The summary's `_sum` for `service` (`duration` or `size`).
    pub fn sum(&self, metrics: &Exposition, service: &str) -> f64 {
        metrics.value_or_zero(&format!("{}_sum", self.summary()), &[("service", service)])
    }

    /// The cancellation and panic tests' shared check: `requests` more requests, all with `code`, each one timed.
    #[track_caller]
    pub fn assert_counted_as(
        &self,
        before: &Exposition,
        after: &Exposition,
        code: &str,
        requests: f64,
    ) {
        assert_eq!(
            self.requests(after, code) - self.requests(before, code),
            requests
        );
        assert_eq!(
            self.requests_total(after) - self.requests_total(before),
            requests,
            "{:?}",
            self.requests_by_code(after)
        );
        assert_eq!(
            self.count(after, "duration") - self.count(before, "duration"),
            requests
        );
    }

    /// The in-flight gauge, if the handler is reported at all.
    pub fn in_flight(&self, metrics: &Exposition) -> Option<f64> {
        metrics.value(
            &format!("{}_requests_in_flight", self.namespace),
            &[("handler", self.name)],
        )
    }

    /// The histogram's `_count` (0 when the handler has no histogram).
    pub fn histogram_count(&self, metrics: &Exposition) -> f64 {
        self.value(metrics, "request_duration_seconds_count")
    }
}

/// The exporter's text exposition, parsed.
///
/// # Errors
/// When it cannot be rendered or does not parse.
pub fn metrics(exporter: &Exporter) -> TestResult<Exposition> {
    Ok(Exposition::parse(&exporter.render()?)?)
}

/// Waits until `handler` has one more request ended with `code` than `before` shows, its size observed, and none
/// in flight. (A scrape reads the summaries before the counts, so it may see a count before its size.)
///
/// # Errors
/// When that does not happen within the patience.
pub async fn ended(
    exporter: &Exporter,
    handler: HandlerSeries,
    before: &Exposition,
    code: &str,
) -> TestResult<Exposition> {
    let wanted = handler.requests(before, code) + 1.0;
    let sized = handler.count(before, "size") + 1.0;
    eventually(
        &format!("{} to end with {code}", handler.name),
        ENDING_PATIENCE,
        || async {
            let now = metrics(exporter).ok()?;
            (handler.requests(&now, code) == wanted
                && handler.count(&now, "size") == sized
                && handler.in_flight(&now) == Some(0.0))
            .then_some(now)
        },
    )
    .await
}

//! The protobuf format: one length-delimited `io.prometheus.client.MetricFamily` after another,
//! the only format that carries native histograms. Families have the text format's names (a
//! counter keeps `_total`); label values and HELP go as they are, unescaped; every counter,
//! summary and histogram has its created timestamp, and with the `exemplars` feature counters
//! and classic buckets have their exemplars.
//!
//! Prometheus decides per message, from its first metric, whether a histogram family is native
//! or classic. A namespace whose handlers mix the two therefore sends its histogram family as
//! two messages of one name: the native histograms, then the classic ones.

use prost::Message as _;

use crate::expose::catalog::RegisteredHandler;
use crate::expose::families::{
    service_version, Family, HandlerHistogram, Source, StreamFamily, SummaryReader,
    BUILD_INFO_HELP, IN_FLIGHT_HELP, REQUESTS_HELP, SCRAPE_IN_FLIGHT_HELP, SCRAPE_REQUESTS_HELP,
};
use crate::expose::metrics_proto::{
    Bucket, BucketSpan, Counter, Exemplar as ProtoExemplar, Gauge, Histogram, LabelPair, Metric,
    MetricFamily, MetricType, Quantile, Summary, Timestamp, Untyped,
};
use crate::expose::scrapes::ScrapeStats;
use crate::record::metrics::{HandlerMetrics, Measure};
use crate::record::native_histogram::NativeSnapshot;
use crate::record::outcome::Code;
use crate::Error;

/// The content type of the delimited protobuf format.
pub const PROTOBUF_CONTENT_TYPE: &str =
    "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited";

/// Encodes every family of `families`, the summaries reporting `quantiles` of their windows at
/// `now` on the process clock.
///
/// # Errors
/// [`Error::Encode`] if a message cannot be written (it always can, into a `Vec`).
pub(crate) fn render(
    families: &[Family<'_>],
    scrapes: &ScrapeStats,
    quantiles: &[f64],
    now: u64,
) -> Result<Vec<u8>, Error> {
    let mut summaries = SummaryReader::new(families, quantiles.len(), now);
    let mut codes = Vec::new();
    let mut out = Vec::with_capacity(1024 * families.len());
    for family in families {
        for message in messages(family, scrapes, quantiles, &mut summaries, &mut codes) {
            message
                .encode_length_delimited(&mut out)
                .map_err(|err| Error::Encode(err.to_string()))?;
        }
    }
    Ok(out)
}

/// The message of `family`, or two for a histogram family that mixes native and classic ones.
fn messages(
    family: &Family<'_>,
    scrapes: &ScrapeStats,
    quantiles: &[f64],
    summaries: &mut SummaryReader<'_>,
    codes: &mut Vec<(Code, u64)>,
) -> Vec<MetricFamily> {
    let name = &*family.name;
    let message = |help: &str, kind: MetricType, metric: Vec<Metric>| MetricFamily {
        name: Some(name.to_owned()),
        help: Some(help.to_owned()),
        r#type: Some(kind as i32),
        metric,
        unit: None,
    };
    match &family.source {
        Source::Summary(entry) => {
            let metrics = entry.handler.metrics();
            let metric = Measure::ALL
                .into_iter()
                .map(|measure| {
                    let (reading, values) = summaries.read(metrics.summary(measure));
                    Metric {
                        label: vec![label("service", measure.label())],
                        summary: Some(Summary {
                            sample_count: Some(reading.count),
                            sample_sum: Some(reading.sum),
                            quantile: quantiles
                                .iter()
                                .zip(values)
                                .map(|(quantile, value)| Quantile {
                                    quantile: Some(*quantile),
                                    value: Some(*value),
                                })
                                .collect(),
                            created_timestamp: Some(created(metrics)),
                        }),
                        ..Metric::default()
                    }
                })
                .collect();
            vec![message(&entry.raw_help, MetricType::Summary, metric)]
        }
        Source::Requests(entries) => {
            let mut metric = Vec::new();
            for entry in *entries {
                let metrics = entry.handler.metrics();
                metrics.collect_codes(codes);
                for &(code, count) in codes.iter() {
                    let mut labels = route_labels(entry);
                    labels.push(label("code", &code.label().to_string()));
                    metric.push(Metric {
                        label: labels,
                        counter: Some(Counter {
                            value: Some(count as f64),
                            exemplar: request_exemplar(metrics, code),
                            created_timestamp: Some(created(metrics)),
                        }),
                        ..Metric::default()
                    });
                }
            }
            vec![message(REQUESTS_HELP, MetricType::Counter, metric)]
        }
        Source::InFlight(entries) => {
            let metric = entries
                .iter()
                .map(|entry| Metric {
                    label: vec![label("handler", entry.name())],
                    gauge: Some(Gauge {
                        value: Some(entry.handler.metrics().in_flight() as f64),
                    }),
                    ..Metric::default()
                })
                .collect();
            vec![message(IN_FLIGHT_HELP, MetricType::Gauge, metric)]
        }
        Source::Histogram(entries, kind) => {
            let (native, classic): (Vec<Metric>, Vec<Metric>) = entries
                .iter()
                .filter_map(|entry| histogram_metric(entry, *kind))
                .partition(|metric| {
                    metric
                        .histogram
                        .as_ref()
                        .is_some_and(|histogram| histogram.schema.is_some())
                });
            [native, classic]
                .into_iter()
                .filter(|metric| !metric.is_empty())
                .map(|metric| MetricFamily {
                    unit: Some(kind.unit().to_owned()),
                    ..message(kind.help(), MetricType::Histogram, metric)
                })
                .collect()
        }
        Source::Streams(entries, family) => {
            let metric = entries
                .iter()
                .filter_map(|entry| stream_metric(entry, *family))
                .collect();
            let kind = match family {
                StreamFamily::Open => MetricType::Gauge,
                StreamFamily::Duration => MetricType::Summary,
                StreamFamily::Sent => MetricType::Counter,
            };
            vec![message(family.help(), kind, metric)]
        }
        Source::BuildInfo(entries) => {
            let metric = Metric {
                label: vec![
                    label("version", service_version(entries)),
                    label("routemeter_version", env!("CARGO_PKG_VERSION")),
                ],
                gauge: Some(Gauge { value: Some(1.0) }),
                ..Metric::default()
            };
            vec![message(BUILD_INFO_HELP, MetricType::Gauge, vec![metric])]
        }
        Source::ScrapeRequests => {
            let metric = scrapes
                .requests
                .iter()
                .map(|(status, count)| Metric {
                    label: vec![label("code", &status.to_string())],
                    counter: Some(Counter {
                        value: Some(*count as f64),
                        exemplar: None,
                        created_timestamp: Some(Timestamp::from_unix_nanos(scrapes.created)),
                    }),
                    ..Metric::default()
                })
                .collect();
            vec![message(SCRAPE_REQUESTS_HELP, MetricType::Counter, metric)]
        }
        Source::ScrapeInFlight => {
            let metric = Metric {
                gauge: Some(Gauge {
                    value: Some(scrapes.in_flight as f64),
                }),
                ..Metric::default()
            };
            vec![message(
                SCRAPE_IN_FLIGHT_HELP,
                MetricType::Gauge,
                vec![metric],
            )]
        }
        Source::Registry(family) => vec![registry_family(family)],
    }
}

fn label(name: &str, value: &str) -> LabelPair {
    LabelPair {
        name: Some(name.to_owned()),
        value: Some(value.to_owned()),
    }
}

/// `handler`, `method` and `route`, as they are.
fn route_labels(entry: &RegisteredHandler) -> Vec<LabelPair> {
    vec![
        label("handler", entry.name()),
        label("method", entry.method()),
        label("route", entry.route()),
    ]
}

fn created(metrics: &HandlerMetrics) -> Timestamp {
    Timestamp::from_unix_nanos(metrics.created)
}

/// A handler's histogram of `kind`: its classic buckets (`+Inf` included), and for the latency
/// its native histogram if it keeps one, and its exemplars. `None` for a handler without.
fn histogram_metric(entry: &RegisteredHandler, kind: HandlerHistogram) -> Option<Metric> {
    let metrics = entry.handler.metrics();
    let classic = kind.of(metrics)?.snapshot();
    let latency = kind == HandlerHistogram::Latency;
    let count = classic.cumulative.last().copied().unwrap_or(0);
    let bounds = classic.bounds.iter().chain([&f64::INFINITY]);
    let bucket = bounds
        .zip(&classic.cumulative)
        .enumerate()
        .map(|(index, (bound, cumulative))| Bucket {
            cumulative_count: Some(*cumulative),
            cumulative_count_float: None,
            upper_bound: Some(*bound),
            exemplar: latency.then(|| bucket_exemplar(metrics, index)).flatten(),
        })
        .collect::<Vec<_>>();
    let mut histogram = Histogram {
        sample_count: Some(count),
        sample_sum: Some(classic.sum),
        created_timestamp: Some(created(metrics)),
        ..Histogram::default()
    };
    if let Some(native) = metrics.native_histogram.as_ref().filter(|_| latency) {
        let native = native.snapshot();
        // Exemplars of a native histogram go in their own field; Prometheus before 2.5x reads
        // them from the classic buckets, which keep theirs.
        histogram.exemplars = bucket.iter().filter_map(|b| b.exemplar.clone()).collect();
        set_native(&mut histogram, &native);
    }
    histogram.bucket = bucket;
    Some(Metric {
        label: route_labels(entry),
        histogram: Some(histogram),
        ..Metric::default()
    })
}

/// A long-lived route's sample of `family`; `None` for a handler that is not one.
fn stream_metric(entry: &RegisteredHandler, family: StreamFamily) -> Option<Metric> {
    let metrics = entry.handler.metrics();
    let streams = metrics.streams.as_ref()?.read();
    Some(match family {
        StreamFamily::Open => Metric {
            label: vec![label("handler", entry.name())],
            gauge: Some(Gauge {
                value: Some(streams.open as f64),
            }),
            ..Metric::default()
        },
        StreamFamily::Duration => Metric {
            label: route_labels(entry),
            summary: Some(Summary {
                sample_count: Some(streams.closed),
                sample_sum: Some(streams.lifetimes),
                quantile: Vec::new(),
                created_timestamp: Some(created(metrics)),
            }),
            ..Metric::default()
        },
        StreamFamily::Sent => Metric {
            label: route_labels(entry),
            counter: Some(Counter {
                value: Some(streams.sent as f64),
                exemplar: None,
                created_timestamp: Some(created(metrics)),
            }),
            ..Metric::default()
        },
    })
}

/// Fills the native fields: schema, zero bucket, and the buckets as spans of consecutive keys
/// with each count written as its difference from the previous one. The count and sum become
/// the native histogram's, read with its buckets, which they must add up with.
fn set_native(histogram: &mut Histogram, native: &NativeSnapshot) {
    histogram.sample_count = Some(native.count);
    histogram.sample_sum = Some(native.sum);
    histogram.schema = Some(native.schema);
    histogram.zero_threshold = Some(native.zero_threshold);
    histogram.zero_count = Some(native.zero_count);
    let mut previous_key = None;
    let mut previous_count = 0i64;
    for &(key, count) in &native.buckets {
        let count = i64::try_from(count).unwrap_or(i64::MAX);
        match (previous_key, histogram.positive_span.last_mut()) {
            (Some(previous), Some(span)) if key == previous + 1 => {
                span.length = Some(span.length.unwrap_or(0) + 1);
            }
            _ => histogram.positive_span.push(BucketSpan {
                // The first span starts at its key; the others at their gap from the last bucket.
                offset: Some(previous_key.map_or(key, |previous| key - previous - 1)),
                length: Some(1),
            }),
        }
        histogram
            .positive_delta
            .push(count.wrapping_sub(previous_count));
        previous_key = Some(key);
        previous_count = count;
    }
    // Without a bucket the zero threshold still marks the histogram as native; the empty span is
    // what newer clients send too.
    if histogram.positive_span.is_empty() {
        histogram.positive_span.push(BucketSpan {
            offset: Some(0),
            length: Some(0),
        });
    }
}

#[cfg(feature = "exemplars")]
fn request_exemplar(metrics: &HandlerMetrics, code: Code) -> Option<ProtoExemplar> {
    metrics
        .exemplars()?
        .request(code)
        .map(|exemplar| proto_exemplar(&exemplar))
}

#[cfg(feature = "exemplars")]
fn bucket_exemplar(metrics: &HandlerMetrics, bucket: usize) -> Option<ProtoExemplar> {
    metrics
        .exemplars()?
        .bucket(bucket)
        .map(|exemplar| proto_exemplar(&exemplar))
}

#[cfg(feature = "exemplars")]
fn proto_exemplar(exemplar: &crate::record::exemplars::Exemplar) -> ProtoExemplar {
    ProtoExemplar {
        label: vec![label("trace_id", &exemplar.trace.hex())],
        value: Some(exemplar.value),
        timestamp: Some(Timestamp::from_unix_nanos(exemplar.at)),
    }
}

/// Without the `exemplars` feature, counters have none.
#[cfg(not(feature = "exemplars"))]
fn request_exemplar(_: &HandlerMetrics, _: Code) -> Option<ProtoExemplar> {
    None
}

/// Without the `exemplars` feature, buckets have none.
#[cfg(not(feature = "exemplars"))]
fn bucket_exemplar(_: &HandlerMetrics, _: usize) -> Option<ProtoExemplar> {
    None
}

/// A family of a `prometheus` registry, field for field.
fn registry_family(family: &prometheus::proto::MetricFamily) -> MetricFamily {
    use prometheus::proto::MetricType as Plain;
    let kind = family.get_field_type();
    let metric = family
        .get_metric()
        .iter()
        .map(|plain| {
            let mut metric = Metric {
                label: plain
                    .get_label()
                    .iter()
                    .map(|pair| label(pair.name(), pair.value()))
                    .collect(),
                timestamp_ms: (plain.timestamp_ms() != 0).then(|| plain.timestamp_ms()),
                ..Metric::default()
            };
            match kind {
                Plain::COUNTER => {
                    metric.counter = Some(Counter {
                        value: Some(plain.get_counter().get_value()),
                        ..Counter::default()
                    });
                }
                Plain::GAUGE => {
                    metric.gauge = Some(Gauge {
                        value: Some(plain.get_gauge().get_value()),
                    });
                }
                Plain::UNTYPED => {
                    #[allow(deprecated)] // the plain model keeps untyped values for encoders only
                    let value = plain.get_untyped().get_value();
                    metric.untyped = Some(Untyped { value: Some(value) });
                }
                Plain::SUMMARY => {
                    let summary = plain.get_summary();
                    metric.summary = Some(Summary {
                        sample_count: Some(summary.sample_count()),
                        sample_sum: Some(summary.sample_sum()),
                        quantile: summary
                            .get_quantile()
                            .iter()
                            .map(|quantile| Quantile {
                                quantile: Some(quantile.quantile()),
                                value: Some(quantile.value()),
                            })
                            .collect(),
                        created_timestamp: None,
                    });
                }
                Plain::HISTOGRAM => {
                    let histogram = plain.get_histogram();
                    metric.histogram = Some(Histogram {
                        sample_count: Some(histogram.get_sample_count()),
                        sample_sum: Some(histogram.get_sample_sum()),
                        bucket: histogram
                            .get_bucket()
                            .iter()
                            .map(|bucket| Bucket {
                                cumulative_count: Some(bucket.cumulative_count()),
                                upper_bound: Some(bucket.upper_bound()),
                                ..Bucket::default()
                            })
                            .collect(),
                        ..Histogram::default()
                    });
                }
            }
            metric
        })
        .collect();
    MetricFamily {
        name: Some(family.name().to_owned()),
        help: Some(family.help().to_owned()),
        r#type: Some(match kind {
            Plain::COUNTER => MetricType::Counter,
            Plain::GAUGE => MetricType::Gauge,
            Plain::SUMMARY => MetricType::Summary,
            Plain::UNTYPED => MetricType::Untyped,
            Plain::HISTOGRAM => MetricType::Histogram,
        } as i32),
        metric,
        unit: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::expose::catalog::Catalog;
    use crate::expose::families::gather;
    use crate::record::handler::Handler;
    use crate::record::handler_info::{HandlerInfo, HistogramKind};
    use crate::record::outcome::Classification;

    fn handler(name: &'static str, histogram: HistogramKind) -> &'static Handler {
        Box::leak(Box::new(Handler::new(HandlerInfo {
            namespace: Some("proto_test"),
            histogram: Some(histogram),
            crate_version: Some("1.2.3"),
            ..HandlerInfo::plain(name, "GET", "/q\"uote/{id}")
        })))
    }

    /// Every message of a delimited stream, decoded with the messages that wrote it.
    fn decode(mut bytes: &[u8]) -> Vec<MetricFamily> {
        let mut families = Vec::new();
        while !bytes.is_empty() {
            match MetricFamily::decode_length_delimited(&mut bytes) {
                Ok(family) => families.push(family),
                Err(err) => panic!("not a delimited MetricFamily: {err}"),
            }
        }
        families
    }

    /// The native buckets of a histogram message, as `(key, count)`.
    fn native_buckets(histogram: &Histogram) -> Vec<(i32, u64)> {
        let mut buckets = Vec::new();
        let mut deltas = histogram.positive_delta.iter();
        let (mut key, mut count) = (0i32, 0i64);
        for (index, span) in histogram.positive_span.iter().enumerate() {
            let offset = span.offset.unwrap_or(0);
            key = if index == 0 { offset } else { key + 1 + offset };
            for step in 0..span.length.unwrap_or(0) {
                if step > 0 {
                    key += 1;
                }
                count += deltas.next().copied().unwrap_or(0);
                buckets.push((key, count as u64));
            }
        }
        buckets
    }

    #[test]
    fn the_stream_decodes_with_the_messages_of_metrics_proto() {
        let native = handler("Native", HistogramKind::Native);
        let classic = handler("Classic", HistogramKind::Classic);
        let plain = handler("Plain", HistogramKind::Off);
        let now = 10_000_000_000;
        let durations = [0.0, 0.0012, 0.0012, 0.003, 0.04, 0.04, 0.7, 2.5];
        for handler in [native, classic, plain] {
            for (index, seconds) in durations.iter().enumerate() {
                handler.metrics().start();
                let status = if index == 0 { 503 } else { 200 };
                handler.metrics().record(
                    (seconds * 1e9) as u64,
                    now,
                    Classification {
                        code: Code::Status(status),
                        size: Some(100),
                    },
                );
            }
        }
        let catalog = Catalog::build([plain, native, classic].into_iter(), None);
        let registry = prometheus::Registry::new();
        let counter = prometheus::IntCounter::new("custom_total", "A custom\ncounter.");
        if let Ok(counter) = counter {
            counter.inc_by(3);
            let _ = registry.register(Box::new(counter));
        }
        let families = gather(&catalog, std::slice::from_ref(&registry));
        let stats = ScrapeStats {
            requests: vec![(200, 4)],
            in_flight: 1,
            created: 1_700_000_000_250_000_000,
        };
        let bytes = render(&families, &stats, &[0.5, 0.99], now).unwrap_or_default();
        let decoded = decode(&bytes);
        let names: Vec<&str> = decoded
            .iter()
            .filter_map(|family| family.name.as_deref())
            .collect();
        assert_eq!(
            names,
            [
                "custom_total",
                "proto_test_Classic",
                "proto_test_Native",
                "proto_test_Plain",
                "proto_test_build_info",
                // Native histograms first, then the classic ones, in messages of their own.
                "proto_test_request_duration_seconds",
                "proto_test_request_duration_seconds",
                "proto_test_requests_in_flight",
                "proto_test_requests_total",
                "routemeter_metrics_handler_requests_in_flight",
                "routemeter_metrics_handler_requests_total",
            ]
        );
        let family = |name: &str, nth: usize| {
            decoded
                .iter()
                .filter(|family| family.name.as_deref() == Some(name))
                .nth(nth)
                .cloned()
                .unwrap_or_default()
        };

        // The summary: raw HELP and labels, quantiles, totals, created timestamp.
        let summary = family("proto_test_Native", 0);
        assert_eq!(summary.help.as_deref(), Some("GET /q\"uote/{id}"));
        assert_eq!(summary.r#type, Some(MetricType::Summary as i32));
        let duration = summary.metric[0].summary.clone().unwrap_or_default();
        assert_eq!(summary.metric[0].label, vec![label("service", "duration")]);
        assert_eq!(duration.sample_count, Some(8));
        assert_eq!(duration.quantile.len(), 2);
        let created = duration.created_timestamp.unwrap_or_default();
        let metrics = native.metrics();
        assert_eq!(created, Timestamp::from_unix_nanos(metrics.created));
        assert!(created.seconds > 1_600_000_000, "{created:?}");

        // The counter: one metric per code, with every route label as it is.
        let requests = family("proto_test_requests_total", 0);
        assert_eq!(requests.r#type, Some(MetricType::Counter as i32));
        let native_503 = requests.metric.iter().find(|metric| {
            metric.label.contains(&label("handler", "Native"))
                && metric.label.contains(&label("code", "503"))
        });
        let native_503 = native_503.cloned().unwrap_or_default();
        assert!(native_503.label.contains(&label("route", "/q\"uote/{id}")));
        let counter = native_503.counter.unwrap_or_default();
        assert_eq!(counter.value, Some(1.0));
        assert_eq!(counter.created_timestamp, Some(created));

        // The native histogram: the buckets of the snapshot, as spans and deltas.
        let natives = family("proto_test_request_duration_seconds", 0);
        assert_eq!(natives.metric.len(), 1);
        assert!(natives.metric[0]
            .label
            .contains(&label("handler", "Native")));
        let histogram = natives.metric[0].histogram.clone().unwrap_or_default();
        let snapshot = metrics
            .native_histogram
            .as_ref()
            .map(|native| native.snapshot());
        let snapshot = snapshot.unwrap_or_else(|| panic!("no native histogram"));
        assert_eq!(histogram.schema, Some(7));
        assert_eq!(histogram.zero_threshold, Some(snapshot.zero_threshold));
        assert_eq!(histogram.zero_count, Some(1));
        assert_eq!(histogram.sample_count, Some(8));
        assert_eq!(native_buckets(&histogram), snapshot.buckets);
        assert_eq!(
            native_buckets(&histogram)
                .iter()
                .map(|(_, count)| count)
                .sum::<u64>(),
            7
        );
        // Its classic buckets stay, for scrapers that ingest them, `+Inf` last.
        let last = histogram.bucket.last().cloned().unwrap_or_default();
        assert_eq!(last.upper_bound, Some(f64::INFINITY));
        assert_eq!(last.cumulative_count, Some(8));
        assert_eq!(histogram.created_timestamp, Some(created));

        // The classic histograms: no native field, in a message of their own.
        let classics = family("proto_test_request_duration_seconds", 1);
        assert_eq!(classics.metric.len(), 1);
        let histogram = classics.metric[0].histogram.clone().unwrap_or_default();
        assert_eq!(histogram.schema, None);
        assert!(histogram.positive_span.is_empty());
        assert_eq!(histogram.sample_count, Some(8));

        // A registry family, field for field.
        let custom = family("custom_total", 0);
        assert_eq!(custom.help.as_deref(), Some("A custom\ncounter."));
        assert_eq!(
            custom.metric[0].counter.clone().unwrap_or_default().value,
            Some(3.0)
        );
        // The scrape handler's own counter has its created timestamp too.
        let scrapes = family("routemeter_metrics_handler_requests_total", 0);
        let counter = scrapes.metric[0].counter.clone().unwrap_or_default();
        assert_eq!(
            counter.created_timestamp,
            Some(Timestamp {
                seconds: 1_700_000_000,
                nanos: 250_000_000
            })
        );
    }

    #[test]
    fn an_empty_native_histogram_is_still_native() {
        let mut histogram = Histogram::default();
        set_native(
            &mut histogram,
            &NativeSnapshot {
                schema: 7,
                zero_threshold: 1e-9,
                zero_count: 0,
                count: 0,
                sum: 0.0,
                buckets: Vec::new(),
            },
        );
        // What Prometheus checks: a span, or a zero threshold above zero.
        assert!(histogram.zero_threshold.is_some_and(|t| t > 0.0));
        assert_eq!(histogram.positive_span.len(), 1);
        assert!(native_buckets(&histogram).is_empty());
    }

    #[test]
    fn gaps_between_buckets_start_new_spans() {
        let mut histogram = Histogram::default();
        let buckets = vec![(-3, 2), (-2, 5), (4, 1), (5, 1), (6, 9), (40, 3)];
        set_native(
            &mut histogram,
            &NativeSnapshot {
                schema: 3,
                zero_threshold: 1e-9,
                zero_count: 0,
                count: 21,
                sum: 1.0,
                buckets: buckets.clone(),
            },
        );
        let spans: Vec<(Option<i32>, Option<u32>)> = histogram
            .positive_span
            .iter()
            .map(|span| (span.offset, span.length))
            .collect();
        assert_eq!(
            spans,
            [(Some(-3), Some(2)), (Some(5), Some(3)), (Some(33), Some(1))]
        );
        assert_eq!(histogram.positive_delta, [2, 3, -4, 0, 8, -6]);
        assert_eq!(native_buckets(&histogram), buckets);
    }
}

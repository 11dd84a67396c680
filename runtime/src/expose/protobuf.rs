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
    service_version, Family, Source, SummaryReader, BUILD_INFO_HELP, HISTOGRAM_HELP,
    IN_FLIGHT_HELP, REQUESTS_HELP, SCRAPE_IN_FLIGHT_HELP, SCRAPE_REQUESTS_HELP,
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
        Source::Histogram(entries) => {
            let (native, classic): (Vec<Metric>, Vec<Metric>) = entries
                .iter()
                .filter_map(histogram_metric)
                .partition(|metric| {
                    metric
                        .histogram
                        .as_ref()
                        .is_some_and(|histogram| histogram.schema.is_some())
                });
            [native, classic]
                .into_iter()
                .filter(|metric| !metric.is_empty())
                .map(|metric| message(HISTOGRAM_HELP, MetricType::Histogram, metric))
                .collect()
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

/// A handler's histogram: its classic buckets (`+Inf` included), and its native histogram if
/// it keeps one. `None` for a handler without.
fn histogram_metric(entry: &RegisteredHandler) -> Option<Metric> {
    let metrics = entry.handler.metrics();
    let classic = metrics.histogram.as_ref()?.snapshot();
    let count = classic.cumulative.last().copied().unwrap_or(0);
    let bounds = classic.bounds.iter().chain([&f64::INFINITY]);
    let bucket = bounds
        .zip(&classic.cumulative)
        .enumerate()
        .map(|(index, (bound, cumulative))| Bucket {
            cumulative_count: Some(*cumulative),
            cumulative_count_float: None,
            upper_bound: Some(*bound),
            exemplar: bucket_exemplar(metrics, index),
        })
        .collect::<Vec<_>>();
    let mut histogram = Histogram {
        sample_count: Some(count),
        sample_sum: Some(classic.sum),
        created_timestamp: Some(created(metrics)),
        ..Histogram::default()
    };
    if let Some(native) = &metrics.native_histogram {
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
        histogram.positive_delta.push(count.wrapping_sub(previous_count));
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

//! The catalog: every instrumented handler of the program, named and checked for clashes once, when
//! `install` builds the exporter.

use std::collections::BTreeMap;

use crate::expose::text::{escape_help, escape_label};
use crate::record::handler::Handler;
use crate::Error;

/// The name suffixes (after `<namespace>_`) of every family routemeter writes per namespace, as
/// the text format and OpenMetrics name them (OpenMetrics names the `requests_total` counter
/// `requests`); a handler's summary may not take one of these names.
pub(crate) const OWN_FAMILIES: [&str; 11] = [
    "build_info",
    "request_duration_seconds",
    "request_size_bytes",
    "requests",
    "requests_in_flight",
    "requests_total",
    "stream_duration_seconds",
    "stream_sent_bytes",
    "stream_sent_bytes_total",
    "streams_open",
    "time_to_headers_seconds",
];

/// An instrumented handler as `/metrics` reports it: its resolved names and its label set,
/// escaped once at start-up. A read-only view, for tools that generate dashboards and rules
/// (see [`Exporter::handlers`](crate::Exporter::handlers)).
#[derive(Debug)]
pub struct RegisteredHandler {
    pub(crate) handler: &'static Handler,
    /// The namespace it reports under.
    pub(crate) namespace: String,
    /// `<namespace>_<name>`.
    pub(crate) metric: String,
    /// `handler="...",method="...",route="..."`.
    pub(crate) labels: String,
    /// `handler="..."`.
    pub(crate) handler_label: String,
    /// The summary's HELP text, `<METHOD> <path>`, escaped for the text format.
    pub(crate) help: String,
    /// The same, escaped for OpenMetrics (which escapes double quotes too).
    pub(crate) openmetrics_help: String,
    /// The same, as it is: protobuf needs no escaping.
    pub(crate) raw_help: String,
}

/// The handlers grouped by namespace, each group sorted by metric name.
#[derive(Debug, Default)]
pub(crate) struct Catalog {
    pub(crate) namespaces: BTreeMap<String, Vec<RegisteredHandler>>,
    conflicts: Vec<Conflict>,
}

/// A handler left out because its name is taken.
#[derive(Debug)]
enum Conflict {
    Duplicate {
        metric: String,
        first: String,
        second: String,
    },
    Reserved {
        metric: String,
        handler: String,
    },
}

impl Conflict {
    fn to_error(&self) -> Error {
        match self {
            Conflict::Duplicate {
                metric,
                first,
                second,
            } => Error::DuplicateHandler {
                metric: metric.clone(),
                first: first.clone(),
                second: second.clone(),
            },
            Conflict::Reserved { metric, handler } => Error::ReservedName {
                metric: metric.clone(),
                handler: handler.clone(),
            },
        }
    }
}

impl Catalog {
    /// Names `handlers`: each under its own namespace, else `namespace_override`, else its
    /// crate's name. Handlers whose names clash are left out and remembered for [`Catalog::check`].
    pub(crate) fn build(
        handlers: impl Iterator<Item = &'static Handler>,
        namespace_override: Option<&str>,
    ) -> Catalog {
        let mut catalog = Catalog::default();
        for handler in handlers {
            let info = handler.info();
            let namespace = info
                .namespace
                .or(namespace_override)
                .unwrap_or_else(|| crate_name(info.module_path));
            let raw_help = format!("{} {}", info.method, info.path);
            let entry = RegisteredHandler {
                handler,
                namespace: namespace.to_owned(),
                metric: format!("{namespace}_{}", info.name),
                labels: format!(
                    "handler=\"{}\",method=\"{}\",route=\"{}\"",
                    escape_label(info.name),
                    escape_label(info.method),
                    escape_label(info.path)
                ),
                handler_label: format!("handler=\"{}\"", escape_label(info.name)),
                help: escape_help(&raw_help),
                openmetrics_help: escape_label(&raw_help),
                raw_help,
            };
            if let Some(own) = clashes_with_own_family(namespace, &entry.metric) {
                catalog.conflicts.push(Conflict::Reserved {
                    metric: own,
                    handler: handler.location(),
                });
                continue;
            }
            let group = catalog.namespaces.entry(namespace.to_owned()).or_default();
            if let Some(first) = group.iter().find(|other| other.metric == entry.metric) {
                catalog.conflicts.push(Conflict::Duplicate {
                    metric: entry.metric.clone(),
                    first: first.handler.location(),
                    second: handler.location(),
                });
                continue;
            }
            group.push(entry);
        }
        for group in catalog.namespaces.values_mut() {
            group.sort_by(|a, b| a.metric.cmp(&b.metric));
        }
        catalog
    }

    /// This catalog with `added` handlers.
    pub(crate) fn with(
        &self,
        added: &[&'static Handler],
        namespace_override: Option<&str>,
    ) -> Self {
        let handlers = self.entries().map(|entry| entry.handler);
        Catalog::build(handlers.chain(added.iter().copied()), namespace_override)
    }

    /// The first clash found, if any. Clashing handlers are left out of `/metrics`.
    pub(crate) fn check(&self) -> Result<(), Error> {
        self.conflicts
            .first()
            .map_or(Ok(()), |conflict| Err(conflict.to_error()))
    }

    /// Creates every handler's metrics now, so that all series exist before the first request.
    pub(crate) fn initialise(&self) {
        for entry in self.entries() {
            entry.handler.metrics();
        }
    }

    /// Every handler, by namespace then metric name.
    pub(crate) fn entries(&self) -> impl Iterator<Item = &RegisteredHandler> {
        self.namespaces.values().flatten()
    }
}

impl RegisteredHandler {
    /// The namespace its metrics report under.
    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    /// The name given to the attribute, e.g. `GetAccount`: the `handler` label.
    pub fn name(&self) -> &'static str {
        self.handler.info().name
    }

    /// The summary's name, `<namespace>_<name>`.
    pub fn metric(&self) -> &str {
        &self.metric
    }

    /// The HTTP method of its route, upper case: the `method` label.
    pub fn method(&self) -> &'static str {
        self.handler.info().method
    }

    /// The path of its route with parameters written `{param}`: the `route` label.
    pub fn route(&self) -> &'static str {
        self.handler.info().path
    }

    /// Whether it is a long-lived route (`stream = true`), whose streams are counted apart.
    pub fn is_stream(&self) -> bool {
        self.handler.info().stream
    }

    /// Whether it records into `<namespace>_request_duration_seconds` (classic buckets, and
    /// perhaps a native histogram too: see [`RegisteredHandler::has_native_histogram`]).
    pub fn has_histogram(&self) -> bool {
        self.handler.metrics().histogram.is_some()
    }

    /// Whether its `<namespace>_request_duration_seconds` is also a native histogram, which a
    /// Prometheus with native histograms on stores instead of the classic buckets.
    pub fn has_native_histogram(&self) -> bool {
        self.handler.metrics().native_histogram.is_some()
    }
}

/// The default namespace: the crate the handler is defined in.
fn crate_name(module_path: &str) -> &str {
    module_path.split("::").next().unwrap_or(module_path)
}

/// The name of routemeter's own family (or sample) that a summary called `metric` would collide with.
fn clashes_with_own_family(namespace: &str, metric: &str) -> Option<String> {
    let fragment = metric.strip_prefix(namespace)?.strip_prefix('_')?;
    let summary_samples = [
        fragment.to_owned(),
        format!("{fragment}_sum"),
        format!("{fragment}_count"),
        format!("{fragment}_created"),
    ];
    OWN_FAMILIES.iter().find_map(|own| {
        let own_samples = [
            (*own).to_owned(),
            format!("{own}_sum"),
            format!("{own}_count"),
            format!("{own}_bucket"),
            format!("{own}_total"),
            format!("{own}_created"),
        ];
        summary_samples
            .iter()
            .any(|sample| own_samples.contains(sample))
            .then(|| format!("{namespace}_{own}"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::handler_info::HandlerInfo;

    fn handler(name: &'static str, namespace: Option<&'static str>, line: u32) -> &'static Handler {
        Box::leak(Box::new(Handler::new(HandlerInfo {
            namespace,
            module_path: "shop::handlers",
            file: "src/handlers.rs",
            line,
            ..HandlerInfo::plain(name, "GET", "/x/{id}")
        })))
    }

    #[test]
    fn names_default_to_the_crate_and_sort() {
        let catalog = Catalog::build(
            [handler("B", None, 1), handler("A", None, 2)].into_iter(),
            None,
        );
        let names: Vec<_> = catalog.entries().map(|e| e.metric.as_str()).collect();
        assert_eq!(names, ["shop_A", "shop_B"]);
        assert!(catalog.check().is_ok());
    }

    #[test]
    fn handler_namespace_beats_the_process_override() {
        let catalog = Catalog::build(
            [handler("A", Some("mine"), 1), handler("B", None, 2)].into_iter(),
            Some("global"),
        );
        let names: Vec<_> = catalog.entries().map(|e| e.metric.as_str()).collect();
        assert_eq!(names, ["global_B", "mine_A"]);
    }

    #[test]
    fn duplicates_are_an_error_naming_both_places() {
        let catalog = Catalog::build(
            [handler("A", None, 1), handler("A", None, 9)].into_iter(),
            None,
        );
        let message = catalog
            .check()
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(message.contains("shop_A"), "{message}");
        assert!(message.contains("src/handlers.rs:1"), "{message}");
        assert!(message.contains("src/handlers.rs:9"), "{message}");
        assert_eq!(catalog.entries().count(), 1);
    }

    #[test]
    fn own_family_names_are_reserved() {
        for name in [
            "requests_total",
            "build_info",
            "request_duration_seconds",
            "request_duration_seconds_bucket",
            // OpenMetrics names the counter `requests`, with `requests_created` beside it.
            "requests",
            "requests_created",
        ] {
            let catalog = Catalog::build([handler(name, None, 3)].into_iter(), None);
            assert!(
                matches!(catalog.check(), Err(Error::ReservedName { .. })),
                "{name} should clash"
            );
        }
        let catalog = Catalog::build([handler("requests_totals", None, 3)].into_iter(), None);
        assert!(catalog.check().is_ok());
    }
}

//! Every instrumented handler in the program, found at start-up, named and checked for clashes.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use crate::config::settings;
use crate::exposition::{escape_help, escape_label};
use crate::handler::HandlerSite;
use crate::Error;

/// Each `#[instrumented]` handler adds its site here at link time.
#[doc(hidden)]
#[linkme::distributed_slice]
pub static HANDLERS: [&'static HandlerSite];

/// The families routemeter writes per namespace besides the handlers' summaries.
pub(crate) const OWN_FAMILIES: [&str; 4] = [
    "build_info",
    "request_duration_seconds",
    "requests_in_flight",
    "requests_total",
];

/// A handler with its resolved names and its label set, escaped once at start-up.
#[derive(Debug)]
pub(crate) struct Entry {
    pub(crate) site: &'static HandlerSite,
    /// `<namespace>_<name>`.
    pub(crate) metric: String,
    /// `handler="...",method="...",route="..."`.
    pub(crate) labels: String,
    /// `handler="..."`.
    pub(crate) handler_label: String,
    /// The summary's HELP text, `<METHOD> <path>`, escaped.
    pub(crate) help: String,
}

/// The handlers grouped by namespace, each group sorted by metric name.
#[derive(Debug, Default)]
pub(crate) struct Catalog {
    pub(crate) namespaces: BTreeMap<String, Vec<Entry>>,
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

static CATALOG: OnceLock<Catalog> = OnceLock::new();

/// The catalog of every handler linked into the program; its names depend on the settings, so it
/// is built the first time it is needed, after which the settings are fixed.
pub(crate) fn catalog() -> &'static Catalog {
    CATALOG
        .get_or_init(|| Catalog::build(HANDLERS.iter().copied(), settings().namespace.as_deref()))
}

impl Catalog {
    pub(crate) fn build(
        sites: impl Iterator<Item = &'static HandlerSite>,
        namespace_override: Option<&str>,
    ) -> Catalog {
        let mut catalog = Catalog::default();
        for site in sites {
            let info = site.info();
            let namespace = info
                .namespace
                .or(namespace_override)
                .unwrap_or_else(|| crate_name(info.module_path));
            let entry = Entry {
                site,
                metric: format!("{namespace}_{}", info.name),
                labels: format!(
                    "handler=\"{}\",method=\"{}\",route=\"{}\"",
                    escape_label(info.name),
                    escape_label(info.method),
                    escape_label(info.path)
                ),
                handler_label: format!("handler=\"{}\"", escape_label(info.name)),
                help: escape_help(&format!("{} {}", info.method, info.path)),
            };
            if let Some(own) = clashes_with_own_family(namespace, &entry.metric) {
                catalog.conflicts.push(Conflict::Reserved {
                    metric: own,
                    handler: site.location(),
                });
                continue;
            }
            let group = catalog.namespaces.entry(namespace.to_owned()).or_default();
            if let Some(first) = group.iter().find(|other| other.metric == entry.metric) {
                catalog.conflicts.push(Conflict::Duplicate {
                    metric: entry.metric.clone(),
                    first: first.site.location(),
                    second: site.location(),
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

    /// The first clash found, if any. Clashing handlers are left out of `/metrics`.
    pub(crate) fn check(&self) -> Result<(), Error> {
        self.conflicts
            .first()
            .map_or(Ok(()), |conflict| Err(conflict.to_error()))
    }

    /// Creates every handler's metrics now, so that all series exist before the first request.
    pub(crate) fn initialise(&self) {
        for entry in self.entries() {
            entry.site.metrics();
        }
    }

    pub(crate) fn entries(&self) -> impl Iterator<Item = &Entry> {
        self.namespaces.values().flatten()
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
    ];
    OWN_FAMILIES.iter().find_map(|own| {
        let own_samples = [
            (*own).to_owned(),
            format!("{own}_sum"),
            format!("{own}_count"),
            format!("{own}_bucket"),
        ];
        summary_samples
            .iter()
            .any(|sample| own_samples.contains(sample))
            .then(|| format!("{namespace}_{own}"))
    })
}

/// Whether `name` can stand in a metric name after `<namespace>_`: `[A-Za-z_][A-Za-z0-9_]*`.
pub(crate) fn is_valid_fragment(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(first) if first.is_ascii_alphabetic() || first == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::handler::SiteInfo;

    fn site(
        name: &'static str,
        namespace: Option<&'static str>,
        line: u32,
    ) -> &'static HandlerSite {
        Box::leak(Box::new(HandlerSite::new(SiteInfo {
            name,
            method: "GET",
            path: "/x/{id}",
            namespace,
            histogram: None,
            module_path: "shop::handlers",
            crate_version: None,
            file: "src/handlers.rs",
            line,
        })))
    }

    #[test]
    fn names_default_to_the_crate_and_sort() {
        let catalog = Catalog::build([site("B", None, 1), site("A", None, 2)].into_iter(), None);
        let names: Vec<_> = catalog.entries().map(|e| e.metric.as_str()).collect();
        assert_eq!(names, ["shop_A", "shop_B"]);
        assert!(catalog.check().is_ok());
    }

    #[test]
    fn handler_namespace_beats_the_process_override() {
        let catalog = Catalog::build(
            [site("A", Some("mine"), 1), site("B", None, 2)].into_iter(),
            Some("global"),
        );
        let names: Vec<_> = catalog.entries().map(|e| e.metric.as_str()).collect();
        assert_eq!(names, ["global_B", "mine_A"]);
    }

    #[test]
    fn duplicates_are_an_error_naming_both_places() {
        let catalog = Catalog::build([site("A", None, 1), site("A", None, 9)].into_iter(), None);
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
        ] {
            let catalog = Catalog::build([site(name, None, 3)].into_iter(), None);
            assert!(
                matches!(catalog.check(), Err(Error::ReservedName { .. })),
                "{name} should clash"
            );
        }
        let catalog = Catalog::build([site("requests_totals", None, 3)].into_iter(), None);
        assert!(catalog.check().is_ok());
    }

    #[test]
    fn fragments() {
        assert!(is_valid_fragment("GetAccount"));
        assert!(is_valid_fragment("_x9"));
        assert!(!is_valid_fragment("9x"));
        assert!(!is_valid_fragment("a-b"));
        assert!(!is_valid_fragment(""));
    }
}

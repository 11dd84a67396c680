//! The handlers an exporter reports, grouped by namespace: what both generators walk.

use std::collections::BTreeMap;

use routemeter::{Exporter, Handlers, RegisteredHandler};

/// Every namespace with its handlers, in the exporter's order.
pub(crate) fn by_namespace(handlers: &Handlers) -> BTreeMap<&str, Vec<&RegisteredHandler>> {
    let mut namespaces: BTreeMap<&str, Vec<&RegisteredHandler>> = BTreeMap::new();
    for handler in handlers {
        namespaces
            .entry(handler.namespace())
            .or_default()
            .push(handler);
    }
    namespaces
}

/// The served quantile equal to `wanted`, as `/metrics` writes it in the `quantile` label.
pub(crate) fn served_quantile(exporter: &Exporter, wanted: f64) -> Option<String> {
    exporter
        .quantiles()
        .iter()
        .find(|served| (**served - wanted).abs() < 1e-12)
        .map(|served| served.to_string())
}

//! One instrumented handler: what the attribute knows of it, the metrics it records into, and the
//! link-time list of every handler in the program.

use std::sync::OnceLock;

use crate::record::handler_info::HandlerInfo;
use crate::record::metrics::HandlerMetrics;
use crate::record::settings;

/// Each `#[instrumented]` handler adds itself here at link time, so that every handler is known
/// at start-up, before its first request.
#[doc(hidden)]
#[linkme::distributed_slice]
pub static HANDLERS: [&'static Handler];

/// An instrumented handler, as the `static` the attribute emits for it: its [`HandlerInfo`]
/// plus its metrics, created on first use.
#[doc(hidden)]
#[derive(Debug)]
pub struct Handler {
    info: HandlerInfo,
    metrics: OnceLock<HandlerMetrics>,
}

impl Handler {
    /// Describes a handler; called by the attribute in a `static`.
    pub const fn new(info: HandlerInfo) -> Handler {
        Handler {
            info,
            metrics: OnceLock::new(),
        }
    }

    pub(crate) fn info(&self) -> &HandlerInfo {
        &self.info
    }

    /// The handler's metrics, built from the settings in force the first time they are needed
    /// (which fixes the settings if `install` has not: see [`settings::in_force`]).
    #[inline]
    pub(crate) fn metrics(&self) -> &HandlerMetrics {
        self.metrics.get_or_init(|| {
            let settings =
                settings::in_force(|| format!("`{}` at {}", self.info.name, self.location()));
            HandlerMetrics::new(&self.info, settings)
        })
    }

    /// Where the handler is defined, as `file:line`; a handler of no line (one the route layer
    /// made) by its file alone, which says where it comes from.
    pub(crate) fn location(&self) -> String {
        match self.info.line {
            0 => self.info.file.to_owned(),
            line => format!("{}:{line}", self.info.file),
        }
    }
}

/// Whether `name` can stand in a metric name after `<namespace>_`, and be a namespace:
/// `[A-Za-z_][A-Za-z0-9_]*`. The attribute applies the same rule at compile time; a test of the
/// macros crate checks that the two agree.
pub fn is_valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(first) if first.is_ascii_alphabetic() || first == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert!(is_valid_name("GetAccount"));
        assert!(is_valid_name("_x9"));
        assert!(!is_valid_name("9x"));
        assert!(!is_valid_name("a-b"));
        assert!(!is_valid_name(""));
    }
}

//! The settings every handler's metrics are built from: fixed once per process, by `install` or
//! else by the first request recorded.
//!
//! This is the one process-wide state of the crate (besides the clock and the shard pool below
//! it). It has to be global: the code the attribute emits reaches its handler's metrics with no
//! argument to pass settings through, and those metrics are built the first time they are
//! needed. Everything else, the catalog of handlers and the scrape counts, belongs to the
//! [`Exporter`](crate::Exporter) that `install` returns.

use std::sync::{Arc, OnceLock};

use crate::record::handler_info::HistogramKind;
use crate::record::histogram::DEFAULT_BUCKETS;
use crate::record::native_histogram::DEFAULT_MAX_BUCKETS;
use crate::summary::SummaryOptions;
use crate::Error;

/// What a `Config` fixes for the process.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Settings {
    /// The process-wide namespace override.
    pub(crate) namespace: Option<String>,
    /// The shape of every handler's two summaries.
    pub(crate) summary: SummaryOptions,
    /// Whether handlers that do not say keep the aggregatable histogram.
    pub(crate) histogram: bool,
    /// The histogram's upper bounds in seconds.
    pub(crate) buckets: Arc<[f64]>,
    /// Whether handlers that do not say keep a time-to-headers histogram.
    pub(crate) time_to_headers: bool,
    /// Whether handlers that do not say keep a request size histogram.
    pub(crate) request_size: bool,
    /// Whether handlers that do not say keep a native histogram (and the classic one).
    pub(crate) native_histogram: bool,
    /// The most buckets a native histogram is written with; past it, its resolution halves.
    pub(crate) native_max_buckets: u32,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            namespace: None,
            summary: SummaryOptions::default(),
            histogram: false,
            buckets: Arc::from(DEFAULT_BUCKETS),
            time_to_headers: false,
            request_size: false,
            native_histogram: false,
            native_max_buckets: DEFAULT_MAX_BUCKETS,
        }
    }
}

impl Settings {
    /// The histograms of a handler whose attribute says `own`, if anything.
    pub(crate) fn histogram_kind(&self, own: Option<HistogramKind>) -> HistogramKind {
        own.unwrap_or(if self.native_histogram {
            HistogramKind::Native
        } else if self.histogram {
            HistogramKind::Classic
        } else {
            HistogramKind::Off
        })
    }
}

/// The settings in force and what fixed them.
struct Fixed {
    settings: Settings,
    /// The handler whose request fixed the defaults before any `install`, if one did.
    by_request: Option<String>,
}

static FIXED: OnceLock<Fixed> = OnceLock::new();

/// The settings in force. A request recorded before `install` fixes the defaults; `handler`
/// describes its handler, for the error a later `install` may meet.
pub(crate) fn in_force(handler: impl FnOnce() -> String) -> &'static Settings {
    &FIXED
        .get_or_init(|| Fixed {
            settings: Settings::default(),
            by_request: Some(handler()),
        })
        .settings
}

/// Fixes `settings` for the process; fine again with equal settings, which includes installing
/// the defaults after requests fixed them.
///
/// # Errors
/// [`Error::AlreadyInstalled`] when an earlier `install` fixed other settings;
/// [`Error::RecordedBeforeInstall`] when a request recorded before `install` fixed the defaults
/// and `settings` differ from them.
pub(crate) fn fix(settings: Settings) -> Result<&'static Settings, Error> {
    let fixed = FIXED.get_or_init(|| Fixed {
        settings: settings.clone(),
        by_request: None,
    });
    if fixed.settings == settings {
        return Ok(&fixed.settings);
    }
    Err(match &fixed.by_request {
        None => Error::AlreadyInstalled,
        Some(handler) => Error::RecordedBeforeInstall {
            handler: handler.clone(),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_handler_s_own_switch_beats_the_configured_ones() {
        let native = Settings {
            native_histogram: true,
            ..Settings::default()
        };
        let classic = Settings {
            histogram: true,
            ..Settings::default()
        };
        let none = Settings::default();
        assert_eq!(native.histogram_kind(None), HistogramKind::Native);
        assert_eq!(classic.histogram_kind(None), HistogramKind::Classic);
        assert_eq!(none.histogram_kind(None), HistogramKind::Off);
        for settings in [&native, &classic, &none] {
            for own in [
                HistogramKind::Off,
                HistogramKind::Classic,
                HistogramKind::Native,
            ] {
                assert_eq!(settings.histogram_kind(Some(own)), own);
            }
        }
    }
}

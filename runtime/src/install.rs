//! The top of the house: [`Config`] and [`install`], the one place that knows every layer. It
//! validates the configuration, fixes the settings the request path builds handlers' metrics
//! from, builds the catalog of handlers and hands both to the [`Exporter`].

use std::sync::Arc;
use std::time::Duration;

use crate::expose::catalog::Catalog;
use crate::expose::exporter::Exporter;
use crate::record::handler::{is_valid_name, HANDLERS};
use crate::record::native_histogram::MIN_MAX_BUCKETS;
use crate::record::settings::{self, Settings};
use crate::Error;

/// Configures routemeter for this process and returns the [`Exporter`] that serves `/metrics`.
///
/// Every setting has a default that reproduces the tutorial's metrics: namespace = the crate the handler
/// is defined in, a 10-minute window in 5 age buckets, quantiles 0.5, 0.9 and 0.99, no histogram.
///
/// ```
/// use std::time::Duration;
///
/// let exporter = routemeter::Config::new()
///     .window(Duration::from_secs(600), 5)
///     .histogram(true)
///     .install()?;
/// # let _ = exporter;
/// # Ok::<(), routemeter::Error>(())
/// ```
#[derive(Clone, Debug, Default)]
#[must_use = "a Config does nothing until `install` is called"]
pub struct Config {
    settings: Settings,
    quantiles: Option<Vec<f64>>,
    window: Option<(Duration, u32)>,
    registries: Vec<prometheus::Registry>,
    without_default_registry: bool,
}

impl Config {
    /// The default configuration.
    pub fn new() -> Config {
        Config::default()
    }

    /// Replaces the default namespace (the handler's crate name) for every handler that does not
    /// set `namespace = "..."` itself. Must match `[A-Za-z_][A-Za-z0-9_]*`.
    pub fn namespace(mut self, namespace: impl Into<String>) -> Config {
        self.settings.namespace = Some(namespace.into());
        self
    }

    /// The sliding window of the summaries' quantiles: `max_age` split into `age_buckets`.
    ///
    /// Quantiles then cover between `max_age * (age_buckets - 1) / age_buckets` and `max_age`
    /// of the most recent observations. The default is 10 minutes in 5 buckets.
    pub fn window(mut self, max_age: Duration, age_buckets: u32) -> Config {
        self.window = Some((max_age, age_buckets));
        self
    }

    /// The quantiles every summary reports, each in `[0, 1]`. The default is 0.5, 0.9 and 0.99.
    pub fn quantiles(mut self, quantiles: impl Into<Vec<f64>>) -> Config {
        self.quantiles = Some(quantiles.into());
        self
    }

    /// Turns the `<namespace>_request_duration_seconds` histogram on for every handler that does
    /// not set `histogram` itself.
    pub fn histogram(mut self, enabled: bool) -> Config {
        self.settings.histogram = enabled;
        self
    }

    /// The histogram's upper bounds in seconds: finite, strictly increasing, at least one.
    pub fn histogram_buckets(mut self, bounds: impl Into<Vec<f64>>) -> Config {
        self.settings.buckets = Arc::from(bounds.into());
        self
    }

    /// Gives every handler that does not say `time_to_headers = false` a histogram of the time
    /// until its response headers, `<namespace>_time_to_headers_seconds`, beside its duration to
    /// the end of the body. Recorded for requests served through [`Metered`](crate::Metered).
    pub fn time_to_headers(mut self, enabled: bool) -> Config {
        self.settings.time_to_headers = enabled;
        self
    }

    /// Gives every handler that does not say `request_size = false` a histogram of its requests'
    /// `Content-Length`, `<namespace>_request_size_bytes`. Recorded for requests served through
    /// [`Metered`](crate::Metered) that declare their length.
    pub fn request_size(mut self, enabled: bool) -> Config {
        self.settings.request_size = enabled;
        self
    }

    /// Turns native histograms on for every handler that does not set `histogram` itself:
    /// `<namespace>_request_duration_seconds` then also carries, in the protobuf format, a
    /// native histogram of exponential buckets, which Prometheus (with native histograms on)
    /// stores instead of the classic buckets. Text scrapers still get the classic buckets.
    pub fn native_histogram(mut self, enabled: bool) -> Config {
        self.settings.native_histogram = enabled;
        self
    }

    /// The most buckets a native histogram is written with, at least 8; 160 by default. A
    /// histogram starts at 128 buckets per power of two (schema 7) and halves its resolution
    /// while more buckets than this hold observations, as client_golang does, so a scrape stays
    /// small whatever the spread of latencies. See [`Config::native_histogram`].
    pub fn native_histogram_max_buckets(mut self, max_buckets: u32) -> Config {
        self.settings.native_max_buckets = max_buckets;
        self
    }

    /// Serves the metrics of a custom `prometheus` registry beside routemeter's own.
    pub fn registry(mut self, registry: prometheus::Registry) -> Config {
        self.registries.push(registry);
        self
    }

    /// Leaves out `prometheus::default_registry()` (which holds the `process_*` metrics).
    pub fn without_default_registry(mut self) -> Config {
        self.without_default_registry = true;
        self
    }

    /// Validates the configuration, fixes it for the process, registers every instrumented handler
    /// (so its series exist at zero) and returns the exporter.
    ///
    /// Call it once at start-up, before the first request. A request recorded before it fixes
    /// the default configuration for the process: a later `install` of the defaults adopts those
    /// requests (its exporter reports them), and a later `install` of anything else fails with
    /// [`Error::RecordedBeforeInstall`], naming the handler, rather than serve metrics shaped
    /// otherwise than configured.
    ///
    /// # Errors
    /// - [`Error::InvalidConfig`] for an out-of-range setting;
    /// - [`Error::AlreadyInstalled`] when a different configuration is already in force (installing
    ///   the same one again is fine, and gives an exporter of its own);
    /// - [`Error::RecordedBeforeInstall`] when a request was recorded before `install` and this
    ///   configuration is not the default one;
    /// - [`Error::DuplicateHandler`] / [`Error::ReservedName`] when two handlers, or a handler and
    ///   routemeter's own metrics, would report under one name.
    pub fn install(self) -> Result<Exporter, Error> {
        let Config {
            mut settings,
            quantiles,
            window,
            mut registries,
            without_default_registry,
        } = self;
        if let Some(namespace) = &settings.namespace {
            if !is_valid_name(namespace) {
                return Err(Error::InvalidConfig(format!(
                    "namespace `{namespace}` is not a valid metric name part: \
                     use letters, digits and `_`, not starting with a digit"
                )));
            }
        }
        validate_buckets(&settings.buckets)?;
        if settings.native_max_buckets < MIN_MAX_BUCKETS {
            return Err(Error::InvalidConfig(format!(
                "native histogram buckets: allow at least {MIN_MAX_BUCKETS}, not {}",
                settings.native_max_buckets
            )));
        }
        if let Some((max_age, age_buckets)) = window {
            settings.summary = settings.summary.with_window(max_age, age_buckets)?;
        }
        if let Some(quantiles) = quantiles {
            settings.summary = settings.summary.with_quantiles(quantiles)?;
        }
        let settings = settings::fix(settings)?;
        let catalog = Catalog::build(HANDLERS.iter().copied(), settings.namespace.as_deref());
        catalog.check()?;
        catalog.initialise();
        if !without_default_registry {
            registries.insert(0, prometheus::default_registry().clone());
        }
        Ok(Exporter::new(catalog, registries, settings))
    }
}

/// Installs the default configuration: `Config::new().install()`.
///
/// # Errors
/// As [`Config::install`].
pub fn install() -> Result<Exporter, Error> {
    Config::new().install()
}

fn validate_buckets(bounds: &[f64]) -> Result<(), Error> {
    if bounds.is_empty() {
        return Err(Error::InvalidConfig(
            "histogram buckets: give at least one upper bound".into(),
        ));
    }
    if bounds.iter().any(|bound| !bound.is_finite()) {
        return Err(Error::InvalidConfig(
            "histogram buckets must be finite; `+Inf` is always added".into(),
        ));
    }
    if bounds.windows(2).any(|pair| pair[0] >= pair[1]) {
        return Err(Error::InvalidConfig(format!(
            "histogram buckets must be strictly increasing, got {bounds:?}"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_validated() {
        assert!(validate_buckets(&[]).is_err());
        assert!(validate_buckets(&[1.0, f64::INFINITY]).is_err());
        assert!(validate_buckets(&[1.0, 1.0]).is_err());
        assert!(validate_buckets(&[0.1, 1.0]).is_ok());
    }
}

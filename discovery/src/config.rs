//! The validated configuration of a run: [`Config`], its built-in limits, and the checks a
//! configuration must pass.

use std::path::PathBuf;
use std::time::Duration;

use crate::targets::Selection;
use crate::{DockerHost, Error};

/// How long one Docker Engine API call may take before the poll counts as failed; the
/// default of `--api-timeout`.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// The largest response body accepted from the Docker Engine API. A running task is a few
/// KiB of JSON, so this is room for some twenty thousand tasks, and a cap on the memory a
/// misbehaving endpoint that streams without end can make the program use.
pub const MAX_RESPONSE_BYTES: usize = 64 * 1024 * 1024;

/// Everything a run needs, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Where the Docker Engine API listens.
    pub docker_host: DockerHost,
    /// Network, ignore list and port mode.
    pub selection: Selection,
    /// Time between polls.
    pub interval: Duration,
    /// The file Prometheus reads.
    pub output: PathBuf,
    /// Poll once and return.
    pub once: bool,
    /// Limit for one Docker Engine API call, answer and body included.
    pub request_timeout: Duration,
    /// Limit for the size of one Docker Engine API response body.
    pub max_response_bytes: usize,
}

impl Config {
    /// This configuration with the network name trimmed, or an error when the network name
    /// is blank or the output path empty.
    pub fn validate(mut self) -> Result<Config, Error> {
        if let Some(name) = &mut self.selection.network {
            *name = name.trim().to_string();
            if name.is_empty() {
                return Err(Error::Config("--network must not be empty".to_string()));
            }
        }
        if self.output.as_os_str().is_empty() {
            return Err(Error::Config("--output must not be empty".to_string()));
        }
        Ok(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::targets::PortMode;
    use std::collections::BTreeSet;

    fn config(network: Option<&str>, output: &str) -> Config {
        Config {
            docker_host: DockerHost::default(),
            selection: Selection {
                network: network.map(str::to_string),
                ignored: BTreeSet::new(),
                port_mode: PortMode::Published,
                strip_stack_prefix: false,
            },
            interval: Duration::from_secs(15),
            output: PathBuf::from(output),
            once: false,
            request_timeout: REQUEST_TIMEOUT,
            max_response_bytes: MAX_RESPONSE_BYTES,
        }
    }

    #[test]
    fn the_network_name_is_trimmed() {
        let valid = config(Some(" my_network "), "out.json").validate().unwrap();
        assert_eq!(valid.selection.network.as_deref(), Some("my_network"));
    }

    #[test]
    fn a_blank_network_or_an_empty_output_is_refused() {
        assert!(config(Some(" "), "out.json").validate().is_err());
        assert!(config(None, "").validate().is_err());
    }
}

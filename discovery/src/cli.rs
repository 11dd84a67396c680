//! Command-line flags, and how they and the environment make a [`Config`].

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;

use crate::config::{Config, MAX_RESPONSE_BYTES};
use crate::output::DEFAULT_OUTPUT;
use crate::targets::{PortMode, Selection};
use crate::{DockerHost, Error};

/// The flags, as clap parses them. Usage errors make clap exit with status 2.
#[derive(Debug, Clone, Parser)]
#[command(
    name = "swarm-discovery",
    version,
    about = "Writes a Prometheus file_sd_configs file listing the running tasks of a Docker Swarm.",
    long_about = "Writes a Prometheus file_sd_configs file listing the running tasks of a Docker \
                  Swarm.\n\nEach poll lists the running tasks and the services from the Docker \
                  Engine API and writes one target group per task, <task address>:<port>, \
                  labelled task=<service name>, service_id, node_id and slot. The file is \
                  replaced atomically, and only when its content changes. On an API error the \
                  last good file stays and the next poll tries again."
)]
pub struct Cli {
    /// Network (name or ID) whose task addresses become targets, e.g. my_network.
    /// Without it, each task's first network other than ingress is used.
    #[arg(long, value_name = "NAME|ID")]
    pub network: Option<String>,

    /// Services to leave out, comma-separated, e.g. prometheus,grafana. May be repeated.
    #[arg(
        long,
        value_name = "LIST",
        value_delimiter = ',',
        alias = "ignoredServices"
    )]
    pub ignored_services: Vec<String>,

    /// Time between polls, e.g. 15s, 500ms, 1m. The first poll runs at start-up.
    #[arg(long, value_name = "DURATION", default_value = "15s", value_parser = parse_interval)]
    pub interval: Duration,

    /// File to write; its directory is created when missing.
    #[arg(long, value_name = "PATH", default_value = DEFAULT_OUTPUT)]
    pub output: PathBuf,

    /// Port to scrape: the service's published TCP port (as the original program did) or the
    /// container's target port (what a task's overlay address listens on).
    #[arg(long, value_name = "MODE", value_enum, default_value_t = PortMode::Published)]
    pub port_mode: PortMode,

    /// Poll once, write the file, and exit (status 1 when the poll failed).
    #[arg(long)]
    pub once: bool,

    /// Docker Engine API endpoint: unix:///path/to/docker.sock or tcp://host:port.
    /// Wins over DOCKER_HOST; the default is unix:///var/run/docker.sock.
    #[arg(long, value_name = "URL")]
    pub docker_host: Option<String>,

    /// Longest time one Docker Engine API call may take, answer and body included, before
    /// the poll counts as failed and the last file is kept, e.g. 30s, 2s.
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = parse_interval)]
    pub api_timeout: Duration,

    /// Remove the stack name from services deployed with `docker stack deploy`: service
    /// monitoring_accountservice gets task="accountservice". --ignored-services then matches
    /// either name, and --network also finds a stack's network by its name in the stack file.
    #[arg(long)]
    pub strip_stack_prefix: bool,
}

impl Cli {
    /// Validates the flags, reading `DOCKER_HOST` and `DOCKER_TLS_VERIFY` from the process
    /// environment.
    pub fn into_config(self) -> Result<Config, Error> {
        let env = |name: &str| std::env::var(name).ok();
        self.into_config_with_env(env)
    }

    /// Validates the flags, reading environment variables through `env`.
    pub fn into_config_with_env(
        self,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Config, Error> {
        let docker_host = DockerHost::resolve(
            self.docker_host.as_deref(),
            env("DOCKER_HOST").as_deref(),
            env("DOCKER_TLS_VERIFY").as_deref(),
        )?;
        Config {
            docker_host,
            selection: Selection {
                network: self.network,
                ignored: service_list(&self.ignored_services),
                port_mode: self.port_mode,
                strip_stack_prefix: self.strip_stack_prefix,
            },
            interval: self.interval,
            output: self.output,
            once: self.once,
            request_timeout: self.api_timeout,
            max_response_bytes: MAX_RESPONSE_BYTES,
        }
        .validate()
    }
}

/// Trims each name and drops empty ones, so `"prometheus, grafana,"` is two services.
pub fn service_list<S: AsRef<str>>(values: &[S]) -> BTreeSet<String> {
    values
        .iter()
        .flat_map(|value| value.as_ref().split(','))
        .map(str::trim)
        .filter(|name| !name.is_empty())
        .map(str::to_string)
        .collect()
}

/// Parses `15s`, `500ms`, `1m`, `1h 30m`; zero is refused (an interval of zero would make
/// the loop spin, a timeout of zero would fail every call).
pub fn parse_interval(text: &str) -> Result<Duration, String> {
    let duration = humantime::parse_duration(text.trim())
        .map_err(|error| format!("{error} (expected e.g. 15s, 500ms, 1m)"))?;
    if duration.is_zero() {
        return Err("the duration must be longer than zero".to_string());
    }
    Ok(duration)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::error::ErrorKind;

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("swarm-discovery").chain(args.iter().copied()))
    }

    fn config(args: &[&str]) -> Config {
        parse(args).unwrap().into_config_with_env(|_| None).unwrap()
    }

    #[test]
    fn defaults_match_the_original_program() {
        let config = config(&[]);
        assert_eq!(config.interval, Duration::from_secs(15));
        assert_eq!(
            config.output,
            PathBuf::from("/etc/swarm-endpoints/swarm-endpoints.json")
        );
        assert_eq!(config.selection.port_mode, PortMode::Published);
        assert_eq!(config.selection.network, None);
        assert!(config.selection.ignored.is_empty());
        assert_eq!(config.docker_host, DockerHost::default());
        assert!(!config.once);
        assert_eq!(config.request_timeout, Duration::from_secs(30));
        assert_eq!(config.max_response_bytes, MAX_RESPONSE_BYTES);
        assert!(!config.selection.strip_stack_prefix);
    }

    #[test]
    fn ignored_services_are_trimmed_and_empty_entries_dropped() {
        let listed = config(&[
            "--ignored-services",
            " prometheus, grafana ,,",
            "--ignored-services=alertmanager",
        ]);
        let ignored: Vec<_> = listed
            .selection
            .ignored
            .iter()
            .map(String::as_str)
            .collect();
        assert_eq!(ignored, ["alertmanager", "grafana", "prometheus"]);
        // The original program's spelling is accepted too.
        let tutorial_style = config(&["--ignoredServices=prometheus"]);
        assert!(tutorial_style.selection.ignored.contains("prometheus"));
    }

    #[test]
    fn intervals_parse_in_human_units() {
        assert_eq!(
            config(&["--interval", "500ms"]).interval,
            Duration::from_millis(500)
        );
        assert_eq!(config(&["--interval=1m"]).interval, Duration::from_secs(60));
        assert_eq!(
            config(&["--interval", "1h 30m"]).interval,
            Duration::from_secs(5400)
        );
    }

    #[test]
    fn bad_intervals_are_usage_errors() {
        for bad in ["15", "fast", "0s", "-1s", ""] {
            let error = parse(&[&format!("--interval={bad}")]).unwrap_err();
            assert_eq!(error.kind(), ErrorKind::ValueValidation, "{bad}");
            assert_eq!(error.exit_code(), 2);
            assert!(error.to_string().contains("--interval"), "{error}");
        }
    }

    #[test]
    fn other_flags() {
        let config = config(&[
            "--network",
            "my_network",
            "--port-mode",
            "target",
            "--once",
            "--output",
            "out.json",
            "--docker-host",
            "tcp://127.0.0.1:2375",
            "--api-timeout",
            "2500ms",
            "--strip-stack-prefix",
        ]);
        assert_eq!(config.selection.network.as_deref(), Some("my_network"));
        assert_eq!(config.selection.port_mode, PortMode::Target);
        assert!(config.once);
        assert_eq!(config.output, PathBuf::from("out.json"));
        assert_eq!(config.docker_host, DockerHost::Tcp("127.0.0.1:2375".into()));
        assert_eq!(config.request_timeout, Duration::from_millis(2500));
        assert!(config.selection.strip_stack_prefix);
    }

    #[test]
    fn unknown_flags_and_values_are_usage_errors() {
        for args in [
            &["--port-mode", "random"][..],
            &["--nope"],
            &["--network"],
            &["positional"],
            &["--api-timeout", "0s"],
            &["--api-timeout", "soon"],
            &["--strip-stack-prefix=yes"],
        ] {
            let error = parse(args).unwrap_err();
            assert_eq!(error.exit_code(), 2, "{args:?}: {error}");
        }
    }

    #[test]
    fn the_environment_supplies_docker_host_unless_the_flag_is_given() {
        let env = |name: &str| (name == "DOCKER_HOST").then(|| "tcp://env:2375".to_string());
        let from_env = parse(&[]).unwrap().into_config_with_env(env).unwrap();
        assert_eq!(from_env.docker_host, DockerHost::Tcp("env:2375".into()));
        let from_flag = parse(&["--docker-host", "unix:///tmp/d.sock"])
            .unwrap()
            .into_config_with_env(env)
            .unwrap();
        assert_eq!(
            from_flag.docker_host,
            DockerHost::Unix("/tmp/d.sock".into())
        );
        let bad = parse(&["--docker-host", "ssh://x"])
            .unwrap()
            .into_config_with_env(env);
        assert!(bad.is_err());
    }

    #[test]
    fn an_empty_network_is_refused() {
        let result = parse(&["--network", " "])
            .unwrap()
            .into_config_with_env(|_| None);
        assert!(result.is_err());
    }
}

//! The poll: Docker Engine API -> target groups -> file, once or every interval.

use std::fmt::Write as _;
use std::future::Future;

use tokio::time::MissedTickBehavior;

use crate::config::Config;
use crate::docker::Engine;
use crate::log::{log_error, log_info, log_warn};
use crate::output::{self, WriteContent, WriteOutcome};
use crate::targets::{self, Discovery};
use crate::Error;

/// What one successful poll did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PollOutcome {
    /// What was found.
    pub discovery: Discovery,
    /// Whether the file was replaced.
    pub written: WriteOutcome,
}

/// Runs polls with one configuration, keeping the Docker client between them.
#[derive(Debug)]
pub struct Poller {
    config: Config,
    engine: Engine,
    write_content: WriteContent,
}

impl Poller {
    /// A poller for `config`. It connects on each poll, so a daemon that is not up yet (or
    /// restarts) only fails the polls until it is back.
    pub fn new(config: Config) -> Poller {
        let engine = Engine::new(
            &config.docker_host,
            config.request_timeout,
            config.max_response_bytes,
        );
        Poller {
            config,
            engine,
            write_content: output::write_all,
        }
    }

    /// Replaces how the file's content is put into its temporary file (see
    /// [`output::write_if_changed_with`]); tests use it to simulate a full disk.
    pub fn set_write_content(&mut self, write: WriteContent) {
        self.write_content = write;
    }

    /// The configuration in use.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Lists tasks and services, maps them, and writes the file if its content changed.
    ///
    /// On any error the file is left as it was.
    pub async fn poll(&mut self) -> Result<PollOutcome, Error> {
        let engine = &self.engine;
        let (tasks, services) = tokio::try_join!(engine.running_tasks(), engine.services())?;
        let discovery = targets::discover(&tasks, &services, &self.config.selection);
        let content = output::render(&discovery.groups)?;
        let written =
            output::write_if_changed_with(&self.config.output, &content, self.write_content)?;
        Ok(PollOutcome { discovery, written })
    }

    /// Polls and logs the result; returns whether the poll succeeded.
    pub async fn poll_and_log(&mut self) -> bool {
        match self.poll().await {
            Ok(outcome) => {
                log_outcome(&self.config, &outcome);
                true
            }
            Err(problem) => {
                log_error!("poll failed, keeping the last file: {problem}");
                false
            }
        }
    }
}

/// Runs until `shutdown` completes: polls at start-up, then every `config.interval`.
///
/// With `config.once`, polls once and returns; an error from that poll is returned. A poll
/// in progress when `shutdown` completes is abandoned; the file is then either the old or
/// the new one, never a mix, because it is replaced by rename.
pub async fn run(config: Config, shutdown: impl Future<Output = ()>) -> Result<(), Error> {
    let mut poller = Poller::new(config);
    log_start(poller.config());
    if poller.config().once {
        let outcome = poller.poll().await?;
        log_outcome(poller.config(), &outcome);
        return Ok(());
    }
    let mut ticks = tokio::time::interval(poller.config().interval);
    // A slow poll delays the next one rather than causing a burst.
    ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            () = &mut shutdown => break,
            _ = ticks.tick() => {}
        }
        tokio::select! {
            () = &mut shutdown => break,
            _ = poller.poll_and_log() => {}
        }
    }
    log_info!("shutting down");
    Ok(())
}

fn log_start(config: &Config) {
    let network = config
        .selection
        .network
        .as_deref()
        .unwrap_or("(first non-ingress)");
    let ignored: Vec<&str> = config
        .selection
        .ignored
        .iter()
        .map(String::as_str)
        .collect();
    log_info!(
        "swarm-discovery {}: docker {} (timeout {}), network {network}, port mode {}, \
         ignoring [{}]{}, writing {}, {}",
        env!("CARGO_PKG_VERSION"),
        config.docker_host,
        humantime::format_duration(config.request_timeout),
        config.selection.port_mode,
        ignored.join(","),
        if config.selection.strip_stack_prefix {
            ", stripping stack prefixes"
        } else {
            ""
        },
        config.output.display(),
        if config.once {
            "once".to_string()
        } else {
            format!("every {}", humantime::format_duration(config.interval))
        }
    );
}

fn log_outcome(config: &Config, outcome: &PollOutcome) {
    let found = &outcome.discovery;
    let mut line = format!("found {} targets", found.target_count());
    let mut with_targets = found
        .services
        .iter()
        .filter(|s| s.skipped.is_none())
        .peekable();
    if with_targets.peek().is_some() {
        line.push(':');
        for service in with_targets {
            let _ = write!(line, " {}={}", service.name, service.targets);
            if service.targets < service.running {
                let _ = write!(
                    line,
                    " ({} of {} running tasks had no address)",
                    service.running - service.targets,
                    service.running
                );
            }
        }
    }
    let mut skipped = found
        .services
        .iter()
        .filter_map(|s| Some((s, s.skipped.as_ref()?)))
        .peekable();
    if skipped.peek().is_some() {
        line.push_str("; skipped:");
        for (service, reason) in skipped {
            let _ = write!(line, " {} ({reason})", service.name);
        }
    }
    if found.orphans > 0 {
        let _ = write!(line, "; {} tasks of removed services", found.orphans);
    }
    match outcome.written {
        WriteOutcome::Unchanged => line.push_str("; file unchanged"),
        WriteOutcome::Written { created_directory } => {
            if created_directory {
                line.push_str("; created the missing directory");
            }
            let _ = write!(line, "; wrote {}", config.output.display());
        }
    }
    log_info!("{line}");
    if let Some(network) = &config.selection.network {
        let unaddressed = found
            .services
            .iter()
            .any(|s| s.skipped == Some(targets::SkipReason::NoAddress));
        if found.target_count() == 0 && unaddressed {
            log_warn!(
                "no running task has an address on network {network:?}; check --network \
                 (a stack's networks are named <stack>_<network>, unless \
                 --strip-stack-prefix is given)"
            );
        }
    }
}

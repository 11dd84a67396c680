//! What a stack or compose project leaves behind: found by its label, and removed.

use std::time::{Duration, Instant};

use super::cli::Docker;
use crate::TestResult;

/// The labels Docker puts on everything a stack, or a compose project, creates.
pub(super) const STACK_LABEL: &str = "com.docker.stack.namespace";
pub(super) const COMPOSE_LABEL: &str = "com.docker.compose.project";

/// What is left of a stack or compose project: each kind of object that still carries its label,
/// with the IDs. Empty when everything is gone.
///
/// # Errors
/// A `docker` command failed.
pub(super) fn labelled_leftovers(
    docker: &Docker,
    label: &str,
    swarm: bool,
) -> TestResult<Vec<String>> {
    let filter = format!("label={label}");
    let mut kinds: Vec<(&str, Vec<&str>)> = vec![
        ("container", vec!["ps", "--all", "--quiet"]),
        ("network", vec!["network", "ls", "--quiet"]),
        ("volume", vec!["volume", "ls", "--quiet"]),
    ];
    if swarm {
        kinds.push(("service", vec!["service", "ls", "--quiet"]));
        kinds.push(("config", vec!["config", "ls", "--quiet"]));
        kinds.push(("secret", vec!["secret", "ls", "--quiet"]));
    }
    let mut left = Vec::new();
    for (kind, mut args) in kinds {
        args.extend(["--filter", filter.as_str()]);
        for id in docker.lines(&args)? {
            left.push(format!("{kind} {id}"));
        }
    }
    Ok(left)
}

/// Waits up to a minute until nothing labelled `label` is left, removing the volumes and
/// networks that their owner's removal leaves behind once no container uses them.
pub(super) fn remove_leftovers(docker: &Docker, label: &str, swarm: bool) -> TestResult {
    let deadline = Instant::now() + Duration::from_secs(60);
    let filter = format!("label={label}");
    loop {
        let left = labelled_leftovers(docker, label, swarm)?;
        if left.is_empty() {
            return Ok(());
        }
        if !left.iter().any(|item| item.starts_with("container ")) {
            // Volumes outlive `docker stack rm`; a network may still be detaching.
            for id in docker.lines(&["volume", "ls", "--quiet", "--filter", &filter])? {
                let _ = docker.run(&["volume", "rm", &id]);
            }
            for id in docker.lines(&["network", "ls", "--quiet", "--filter", &filter])? {
                let _ = docker.run(&["network", "rm", &id]);
            }
        }
        if Instant::now() > deadline {
            return Err(format!("still there a minute after removal: {left:?}").into());
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}

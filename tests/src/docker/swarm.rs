//! A single-manager swarm: the engine's own, or one the test initialises and leaves.

use std::time::{Duration, Instant};

use super::cli::Docker;
use crate::TestResult;

/// A single-manager swarm: the engine's own, or one this guard initialised and leaves on drop.
#[derive(Debug)]
pub struct Swarm {
    docker: Docker,
    initialised: bool,
    /// Whether the bridge the engine makes for swarm containers was there before.
    had_gateway_bridge: bool,
}

/// The bridge network the engine creates for the containers of a swarm.
const GATEWAY_BRIDGE: &str = "docker_gwbridge";

impl Swarm {
    /// Joins nothing: uses the swarm the engine is part of, or initialises one on 127.0.0.1.
    ///
    /// # Errors
    /// `docker swarm init` failed.
    pub fn existing_or_init(docker: &Docker) -> TestResult<Swarm> {
        let state = docker.run(&["info", "--format", "{{.Swarm.LocalNodeState}}"])?;
        let had_gateway_bridge = docker.run(&["network", "inspect", GATEWAY_BRIDGE]).is_ok();
        let initialised = state.trim() != "active";
        if initialised {
            docker.run(&["swarm", "init", "--advertise-addr", "127.0.0.1"])?;
        }
        Ok(Swarm {
            docker: docker.clone(),
            initialised,
            had_gateway_bridge,
        })
    }
}

impl Drop for Swarm {
    fn drop(&mut self) {
        if !self.initialised {
            return;
        }
        if let Err(err) = self.docker.run(&["swarm", "leave", "--force"]) {
            eprintln!("cannot leave the swarm this test initialised: {err}");
        }
        if self.had_gateway_bridge {
            return;
        }
        // The ingress sandbox leaves the bridge a moment after the node leaves the swarm.
        let deadline = Instant::now() + Duration::from_secs(20);
        while let Err(err) = self.docker.run(&["network", "rm", GATEWAY_BRIDGE]) {
            if Instant::now() > deadline {
                eprintln!("cannot remove {GATEWAY_BRIDGE}: {err}");
                break;
            }
            std::thread::sleep(Duration::from_millis(500));
        }
    }
}

//! The engine a test uses: the running one, or a `dockerd` the test starts and stops by its PID.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::cli::Docker;
use super::run_id::run_id;
use crate::process::required_program;
use crate::TestResult;

/// The Docker engine of a test: the one that runs already, or a `dockerd` started for the test and
/// stopped when this drops.
#[derive(Debug)]
pub struct Engine {
    docker: Docker,
    started: Option<StartedDaemon>,
}

impl Engine {
    /// Uses the running engine, or starts `dockerd` and waits until it answers. `None` when Docker
    /// is not installed and `CI` is not set: the test is skipped with a message.
    ///
    /// # Errors
    /// Docker is missing under CI, or `dockerd` does not come up within a minute.
    pub fn connect_or_start() -> TestResult<Option<Engine>> {
        let Some(program) = required_program("docker", "docker.io")? else {
            return Ok(None);
        };
        let docker = Docker::new(program);
        if docker.engine_answers() {
            return Ok(Some(Engine {
                docker,
                started: None,
            }));
        }
        let Some(dockerd) = required_program("dockerd", "docker.io")? else {
            return Ok(None);
        };
        let started = StartedDaemon::start(&dockerd)?;
        let engine = Engine {
            docker,
            started: Some(started),
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        while !engine.docker.engine_answers() {
            if let Some(daemon) = &engine.started {
                daemon.check_alive()?;
            }
            if Instant::now() > deadline {
                return Err("dockerd did not answer within a minute".into());
            }
            std::thread::sleep(Duration::from_millis(250));
        }
        Ok(Some(engine))
    }

    /// The client talking to this engine.
    pub fn docker(&self) -> &Docker {
        &self.docker
    }
}

/// A `dockerd` this test started; stopped by its PID when dropped.
#[derive(Debug)]
struct StartedDaemon {
    child: Child,
    log: PathBuf,
}

impl StartedDaemon {
    fn start(dockerd: &Path) -> TestResult<StartedDaemon> {
        let log = std::env::temp_dir().join(format!("routemeter-dockerd-{}.log", run_id()));
        let output = File::create(&log)?;
        let child = Command::new(dockerd)
            .stdin(Stdio::null())
            .stdout(output.try_clone()?)
            .stderr(output)
            .spawn()
            .map_err(|err| format!("cannot start {}: {err}", dockerd.display()))?;
        eprintln!(
            "started dockerd (pid {}), logging to {}",
            child.id(),
            log.display()
        );
        Ok(StartedDaemon { child, log })
    }

    fn check_alive(&self) -> TestResult {
        let pid = self.child.id();
        if Path::new(&format!("/proc/{pid}")).exists() && !is_zombie(pid) {
            return Ok(());
        }
        let log = std::fs::read_to_string(&self.log).unwrap_or_default();
        let tail: Vec<&str> = log.lines().rev().take(20).collect();
        Err(format!(
            "dockerd exited; the end of its log:\n{}",
            tail.into_iter().rev().collect::<Vec<_>>().join("\n")
        )
        .into())
    }
}

impl Drop for StartedDaemon {
    fn drop(&mut self) {
        // dockerd stops the containerd it started when it is asked to stop; killed, it would
        // leave that child behind, so it gets time, and whatever is left is killed by PID.
        let pid = self.child.id();
        let children = children_of(pid);
        signal(pid, libc::SIGTERM);
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        for child in children {
            if Path::new(&format!("/proc/{child}")).exists() && !is_zombie(child) {
                signal(child, libc::SIGKILL);
            }
        }
        let _ = std::fs::remove_file(&self.log);
        eprintln!("stopped dockerd (pid {pid})");
    }
}

/// Sends `signal` to the process `pid`.
fn signal(pid: u32, signal: libc::c_int) {
    if let Ok(pid) = libc::pid_t::try_from(pid) {
        // SAFETY: kill(2) takes plain integers and touches no memory of ours.
        unsafe {
            libc::kill(pid, signal);
        }
    }
}

/// The field after the command name in /proc/PID/stat: (state, parent PID).
fn process_state(pid: u32) -> Option<(char, u32)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name is in parentheses and may hold spaces: read after the last ')'.
    let mut fields = stat.get(stat.rfind(')')? + 1..)?.split_whitespace();
    let state = fields.next()?.chars().next()?;
    let parent = fields.next()?.parse().ok()?;
    Some((state, parent))
}

fn is_zombie(pid: u32) -> bool {
    process_state(pid).is_some_and(|(state, _)| state == 'Z')
}

/// The PIDs of the processes whose parent is `pid`.
fn children_of(pid: u32) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|child| process_state(*child).is_some_and(|(_, parent)| parent == pid))
        .collect()
}

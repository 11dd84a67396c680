//! A real Docker engine for the deployment tests: the engine itself (the running one, or a
//! `dockerd` started and stopped again), a single-manager swarm, images built offline from static
//! binaries, and HTTP to containers on their own loopback.
//!
//! No registry is reachable where the tests run, so every image is built `FROM scratch`
//! (`deploy/static/`): the example and swarm-discovery from static binaries, Prometheus from
//! Debian's binary and the libraries it links. Each guard removes what it made when it drops, also
//! when a test fails midway, and touches nothing else.

use std::fs::File;
use std::net::{IpAddr, SocketAddr, TcpStream};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http::header::HOST;
use http::Request;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use serde_json::Value;

use crate::client::Reply;
use crate::process::{find_program, required_program, workspace_root};
use crate::prometheus::{api_data, encode, vector};
use crate::TestResult;

/// The Docker command-line client, with the environment its commands get.
#[derive(Clone, Debug)]
pub struct Docker {
    program: PathBuf,
    env: Vec<(String, String)>,
}

impl Docker {
    /// The same client, with `name=value` in the environment of its commands (the variables the
    /// stack and compose files read).
    pub fn with_env(&self, name: &str, value: &str) -> Docker {
        let mut docker = self.clone();
        docker.env.push((name.to_owned(), value.to_owned()));
        docker
    }

    /// `program` (`docker`, or another client such as `docker-compose`) with this environment.
    pub fn command_of(&self, program: &Path) -> Command {
        let mut command = Command::new(program);
        command
            .stdin(Stdio::null())
            .envs(self.env.iter().map(|(name, value)| (name, value)));
        command
    }

    /// A `docker` command with `args`.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut command = self.command_of(&self.program);
        command.args(args);
        command
    }

    /// Runs `docker args` and returns what it printed.
    ///
    /// # Errors
    /// When it cannot start or exits with a failure; the error holds what it printed.
    pub fn run(&self, args: &[&str]) -> TestResult<String> {
        checked(
            &format!("docker {}", args.join(" ")),
            self.command(args).output()?,
        )
    }

    /// Runs `docker args`, expecting JSON (`docker inspect` and friends).
    ///
    /// # Errors
    /// As [`Docker::run`], or output that is not JSON.
    pub fn json(&self, args: &[&str]) -> TestResult<Value> {
        Ok(serde_json::from_str(&self.run(args)?)?)
    }

    /// The lines `docker args` printed, without empty ones.
    ///
    /// # Errors
    /// As [`Docker::run`].
    pub fn lines(&self, args: &[&str]) -> TestResult<Vec<String>> {
        Ok(self
            .run(args)?
            .lines()
            .map(str::trim)
            .filter(|line| !line.is_empty())
            .map(str::to_owned)
            .collect())
    }

    /// Whether an engine answers.
    pub fn engine_answers(&self) -> bool {
        self.run(&["info", "--format", "{{.ServerVersion}}"])
            .is_ok()
    }
}

/// The output of a finished command, or an error with everything it printed.
///
/// # Errors
/// The command exited with a failure.
pub fn checked(what: &str, output: Output) -> TestResult<String> {
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    if output.status.success() {
        return Ok(stdout);
    }
    Err(format!(
        "{what}: {}\n{stdout}{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    )
    .into())
}

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
        let docker = Docker {
            program,
            env: Vec::new(),
        };
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

/// A name part unique to this test run: the process ID and the clock, in lowercase hex.
pub fn run_id() -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.subsec_nanos());
    format!("{:x}{:05x}", std::process::id(), nanos >> 12)
}

/// The static release builds of the example and of swarm-discovery, for images `FROM scratch`.
#[derive(Clone, Debug)]
pub struct StaticBinaries {
    /// The accountservice example.
    pub accountservice: PathBuf,
    /// The swarm-discovery program.
    pub swarm_discovery: PathBuf,
}

/// The target whose static builds the images take: explicit, so `RUSTFLAGS` reach neither build
/// scripts nor procedural macros.
const STATIC_TARGET: &str = "x86_64-unknown-linux-gnu";

/// Builds both programs statically linked (glibc included) in one cargo run; a second call finds
/// them fresh and returns at once.
///
/// # Errors
/// When the build fails.
pub fn static_binaries() -> TestResult<StaticBinaries> {
    let root = workspace_root();
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let started = Instant::now();
    let status = Command::new(cargo)
        .current_dir(&root)
        .env("RUSTFLAGS", "-C target-feature=+crt-static")
        .args(["build", "--release", "--quiet", "--target", STATIC_TARGET])
        .args(["-p", "accountservice", "--example", "accountservice"])
        .args(["-p", "swarm-discovery", "--bin", "swarm-discovery"])
        .status()?;
    if !status.success() {
        return Err(format!("the static release build failed: {status}").into());
    }
    eprintln!("static binaries ready in {:?}", started.elapsed());
    let target =
        std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), PathBuf::from);
    let release = target.join(STATIC_TARGET).join("release");
    Ok(StaticBinaries {
        accountservice: release.join("examples/accountservice"),
        swarm_discovery: release.join("swarm-discovery"),
    })
}

/// An image this test built; removed (by its tag) when dropped.
#[derive(Debug)]
pub struct Image {
    docker: Docker,
    tag: String,
    removed: bool,
}

impl Image {
    /// Builds `dockerfile` (relative to the workspace root) into `tag`, from a fresh context
    /// directory holding `files`: each source file copied to its path in the context.
    ///
    /// # Errors
    /// When a file cannot be copied or the build fails.
    pub fn build(
        docker: &Docker,
        dockerfile: &str,
        files: &[(&Path, &str)],
        tag: &str,
    ) -> TestResult<Image> {
        let context =
            std::env::temp_dir().join(format!("routemeter-image-{}", tag.replace([':', '/'], "-")));
        let result = build_in(docker, dockerfile, files, tag, &context);
        let _ = std::fs::remove_dir_all(&context);
        result?;
        Ok(Image {
            docker: docker.clone(),
            tag: tag.to_owned(),
            removed: false,
        })
    }

    /// The image's name and tag.
    pub fn tag(&self) -> &str {
        &self.tag
    }

    /// Removes the image now, failing when it cannot (dropping it only reports that).
    ///
    /// # Errors
    /// `docker image rm` failed, e.g. a container still uses the image.
    pub fn remove(mut self) -> TestResult {
        self.removed = true;
        self.docker.run(&["image", "rm", &self.tag]).map(drop)
    }
}

fn build_in(
    docker: &Docker,
    dockerfile: &str,
    files: &[(&Path, &str)],
    tag: &str,
    context: &Path,
) -> TestResult {
    for (source, destination) in files {
        let destination = context.join(destination);
        if let Some(parent) = destination.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::copy(source, &destination)
            .map_err(|err| format!("cannot copy {}: {err}", source.display()))?;
    }
    let dockerfile = workspace_root().join(dockerfile);
    let dockerfile = dockerfile.to_string_lossy();
    let context = context.to_string_lossy();
    // --force-rm: no intermediate container stays behind, even when a step fails.
    docker.run(&[
        "build",
        "--quiet",
        "--force-rm",
        "-f",
        &dockerfile,
        "-t",
        tag,
        &context,
    ])?;
    Ok(())
}

impl Drop for Image {
    fn drop(&mut self) {
        if self.removed {
            return;
        }
        if let Err(err) = self.docker.run(&["image", "rm", &self.tag]) {
            eprintln!("cannot remove image {}: {err}", self.tag);
        }
    }
}

/// The accountservice image, `deploy/static/accountservice.Dockerfile`, tagged `name:run`.
///
/// # Errors
/// When the build fails.
pub fn accountservice_image(
    docker: &Docker,
    binaries: &StaticBinaries,
    run: &str,
) -> TestResult<Image> {
    Image::build(
        docker,
        "deploy/static/accountservice.Dockerfile",
        &[(&binaries.accountservice, "accountservice")],
        &format!("routemeter-test-accountservice:{run}"),
    )
}

/// The swarm-discovery image, `deploy/static/swarm-discovery.Dockerfile`.
///
/// # Errors
/// When the build fails.
pub fn swarm_discovery_image(
    docker: &Docker,
    binaries: &StaticBinaries,
    run: &str,
) -> TestResult<Image> {
    Image::build(
        docker,
        "deploy/static/swarm-discovery.Dockerfile",
        &[(&binaries.swarm_discovery, "swarm-discovery")],
        &format!("routemeter-test-swarm-discovery:{run}"),
    )
}

/// A Prometheus image from Debian's binary and the libraries `ldd` lists for it,
/// `deploy/static/prometheus.Dockerfile`.
///
/// # Errors
/// Prometheus is missing (under CI), `ldd` fails, or the build fails.
pub fn prometheus_image(docker: &Docker, run: &str) -> TestResult<Option<Image>> {
    let Some(prometheus) = required_program("prometheus", "prometheus")? else {
        return Ok(None);
    };
    let ldd = find_program("ldd").ok_or("ldd is not on PATH")?;
    let listed = checked("ldd", Command::new(ldd).arg(&prometheus).output()?)?;
    // "libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x...)" and "/lib64/ld-linux-x86-64.so.2 (0x...)"
    let libraries: Vec<PathBuf> = listed
        .split_whitespace()
        .filter(|word| word.starts_with('/'))
        .map(PathBuf::from)
        .collect();
    if libraries.is_empty() {
        return Err(format!("ldd listed no library for {}", prometheus.display()).into());
    }
    let mut files: Vec<(&Path, String)> = vec![(&prometheus, "usr/bin/prometheus".to_owned())];
    for library in &libraries {
        let inside = library.to_string_lossy().trim_start_matches('/').to_owned();
        files.push((library, inside));
    }
    let files: Vec<(&Path, &str)> = files.iter().map(|(s, d)| (*s, d.as_str())).collect();
    Image::build(
        docker,
        "deploy/static/prometheus.Dockerfile",
        &files,
        &format!("routemeter-test-prometheus:{run}"),
    )
    .map(Some)
}

/// A TCP port on the loopback interface of a container's network namespace. The test reaches it
/// from a thread that enters that namespace to open the connection, so no traffic leaves the
/// container's own loopback and no port is published.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ContainerPort {
    /// A process inside the container (its main process).
    pub pid: u32,
    /// The port on the container's 127.0.0.1.
    pub port: u16,
}

impl ContainerPort {
    /// Opens a connection to 127.0.0.1:port inside the container's network namespace.
    ///
    /// # Errors
    /// The namespace cannot be entered, or nothing listens.
    pub fn connect(&self) -> TestResult<TcpStream> {
        let namespace = File::open(format!("/proc/{}/ns/net", self.pid))?;
        let addr = SocketAddr::from(([127, 0, 0, 1], self.port));
        // A socket belongs to the namespace it was made in: a short-lived thread enters the
        // container's, makes the socket, and ends, leaving every other thread where it was.
        let connected = std::thread::spawn(move || {
            // SAFETY: setns(2) is given a descriptor that stays open for the call; it changes
            // the namespace of this thread only, which ends right after.
            let entered = unsafe { libc::setns(namespace.as_raw_fd(), libc::CLONE_NEWNET) };
            if entered != 0 {
                return Err(std::io::Error::last_os_error());
            }
            TcpStream::connect_timeout(&addr, Duration::from_secs(5))
        })
        .join()
        .map_err(|_| "the namespace thread panicked")??;
        Ok(connected)
    }

    /// `GET path` on its own connection, with the whole answer.
    ///
    /// # Errors
    /// A connection or HTTP failure, or no answer within 10 seconds.
    pub async fn get(&self, path: &str) -> TestResult<Reply> {
        let stream = self.connect()?;
        stream.set_nonblocking(true)?;
        let stream = tokio::net::TcpStream::from_std(stream)?;
        let exchange = async {
            let (mut sender, connection) =
                hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
            let connection = tokio::spawn(connection);
            let request = Request::get(path)
                .header(HOST, format!("127.0.0.1:{}", self.port))
                .body(Full::new(Bytes::new()))?;
            let response = sender.send_request(request).await?;
            let (parts, body) = response.into_parts();
            let body = body.collect().await?.to_bytes();
            connection.abort();
            TestResult::Ok(Reply {
                status: parts.status,
                headers: parts.headers,
                body,
            })
        };
        tokio::time::timeout(Duration::from_secs(10), exchange)
            .await
            .map_err(|_| format!("GET {path}: no answer within 10 s"))?
    }
}

/// A Prometheus running in a container, queried over its HTTP API on the container's loopback.
#[derive(Clone, Copy, Debug)]
pub struct ContainerPrometheus {
    api: ContainerPort,
}

/// One of Prometheus' active targets.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Target {
    /// `instance`: the scraped address.
    pub instance: String,
    /// `task`: the tutorial's service label.
    pub task: String,
    /// `up`, `down` or `unknown` (not scraped yet).
    pub health: String,
}

impl ContainerPrometheus {
    /// The Prometheus whose main process is `pid`, listening on 9090.
    pub fn in_process(pid: u32) -> ContainerPrometheus {
        ContainerPrometheus {
            api: ContainerPort { pid, port: 9090 },
        }
    }

    /// `GET path` on the API; returns `data`.
    ///
    /// # Errors
    /// A transport failure or an API error.
    pub async fn api(&self, path: &str) -> TestResult<Value> {
        api_data(path, &self.api.get(path).await?)
    }

    /// Evaluates `query` now; returns the samples as (labels, value).
    ///
    /// # Errors
    /// A transport failure, an API error, or a result that is not an instant vector.
    pub async fn query(&self, query: &str) -> TestResult<Vec<(Value, f64)>> {
        let path = format!("/api/v1/query?query={}", encode(query));
        vector(query, &self.api(&path).await?)
    }

    /// The active targets of the job `swarm-service-endpoints`, sorted.
    ///
    /// # Errors
    /// A transport failure or an API error.
    pub async fn targets(&self) -> TestResult<Vec<Target>> {
        let data = self.api("/api/v1/targets?state=active").await?;
        let label = |target: &Value, name: &str| {
            target["labels"][name]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        };
        let mut targets: Vec<Target> = data["activeTargets"]
            .as_array()
            .ok_or("no activeTargets in the answer")?
            .iter()
            .filter(|target| target["labels"]["job"] == "swarm-service-endpoints")
            .map(|target| Target {
                instance: label(target, "instance"),
                task: label(target, "task"),
                health: target["health"].as_str().unwrap_or_default().to_owned(),
            })
            .collect();
        targets.sort();
        Ok(targets)
    }

    /// Whether the active targets are exactly `instances` (sorted), each labelled
    /// `task="accountservice"` and scraped successfully.
    ///
    /// # Errors
    /// A transport failure or an API error.
    pub async fn sees_exactly(&self, instances: &[String]) -> TestResult<bool> {
        let targets = self.targets().await?;
        let found: Vec<&str> = targets.iter().map(|t| t.instance.as_str()).collect();
        Ok(found == instances
            && targets
                .iter()
                .all(|target| target.task == "accountservice" && target.health == "up"))
    }
}

/// One running container of a service: what the test talks to and what Prometheus should find.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Replica {
    /// The container's ID.
    pub container: String,
    /// Its main process, whose network namespace the test enters.
    pub pid: u32,
    /// Its address on the service's network.
    pub address: IpAddr,
}

impl Replica {
    /// The container's port 6767 (the accountservice's).
    pub fn accountservice(&self) -> ContainerPort {
        ContainerPort {
            pid: self.pid,
            port: 6767,
        }
    }

    /// `address:6767`, the scrape target Prometheus should have for it.
    pub fn instance(&self) -> String {
        SocketAddr::new(self.address, 6767).to_string()
    }
}

/// The sorted scrape targets of `replicas`.
pub fn instances(replicas: &[Replica]) -> Vec<String> {
    let mut instances: Vec<String> = replicas.iter().map(Replica::instance).collect();
    instances.sort();
    instances
}

/// The main process of a running container.
///
/// # Errors
/// The container is unknown or not running.
pub fn container_pid(docker: &Docker, container: &str) -> TestResult<u32> {
    let pid: u32 = docker
        .run(&["inspect", "--format", "{{.State.Pid}}", container])?
        .trim()
        .parse()?;
    if pid == 0 {
        return Err(format!("container {container} is not running").into());
    }
    Ok(pid)
}

/// The running tasks of swarm service `service`, with their address on network `network`
/// (its full name, with the stack prefix).
///
/// # Errors
/// A `docker` command failed, or a task's answer lacks a field.
pub fn swarm_replicas(docker: &Docker, service: &str, network: &str) -> TestResult<Vec<Replica>> {
    let ids = docker.lines(&[
        "service",
        "ps",
        "--quiet",
        "--no-trunc",
        "--filter",
        "desired-state=running",
        service,
    ])?;
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut args = vec!["inspect", "--type", "task"];
    args.extend(ids.iter().map(String::as_str));
    let tasks = docker.json(&args)?;
    let mut replicas = Vec::new();
    for task in tasks.as_array().ok_or("docker inspect gave no list")? {
        if task["Status"]["State"] != "running" {
            continue;
        }
        let container = task["Status"]["ContainerStatus"]["ContainerID"]
            .as_str()
            .ok_or_else(|| format!("a running task without a container: {task}"))?
            .to_owned();
        let address = task["NetworksAttachments"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|attachment| attachment["Network"]["Spec"]["Name"] == network)
            .and_then(|attachment| attachment["Addresses"][0].as_str())
            .and_then(|cidr| cidr.split('/').next())
            .ok_or_else(|| format!("task {} has no address on {network}", task["ID"]))?
            .parse()?;
        let pid = container_pid(docker, &container)?;
        replicas.push(Replica {
            container,
            pid,
            address,
        });
    }
    Ok(replicas)
}

/// The running containers of compose service `service` in project `project`, with their address
/// on the project's default network.
///
/// # Errors
/// A `docker` command failed, or a container's answer lacks a field.
pub fn compose_replicas(docker: &Docker, project: &str, service: &str) -> TestResult<Vec<Replica>> {
    let ids = docker.lines(&[
        "ps",
        "--quiet",
        "--no-trunc",
        "--filter",
        &format!("label=com.docker.compose.project={project}"),
        "--filter",
        &format!("label=com.docker.compose.service={service}"),
    ])?;
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut args = vec!["inspect", "--type", "container"];
    args.extend(ids.iter().map(String::as_str));
    let network = format!("{project}_default");
    let mut replicas = Vec::new();
    for container in docker.json(&args)?.as_array().ok_or("no list")? {
        let id = container["Id"].as_str().ok_or("a container without Id")?;
        let pid = container["State"]["Pid"].as_u64().unwrap_or(0);
        let address = container["NetworkSettings"]["Networks"][&network]["IPAddress"]
            .as_str()
            .filter(|address| !address.is_empty())
            .ok_or_else(|| format!("container {id} has no address on {network}"))?;
        replicas.push(Replica {
            container: id.to_owned(),
            pid: u32::try_from(pid)?,
            address: address.parse()?,
        });
    }
    Ok(replicas)
}

/// The label Docker puts on everything a stack or a compose project creates.
const STACK_LABEL: &str = "com.docker.stack.namespace";
const COMPOSE_LABEL: &str = "com.docker.compose.project";

/// What is left of a stack or compose project: each kind of object that still carries its label,
/// with the IDs. Empty when everything is gone.
///
/// # Errors
/// A `docker` command failed.
fn labelled_leftovers(docker: &Docker, label: &str, swarm: bool) -> TestResult<Vec<String>> {
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
fn remove_leftovers(docker: &Docker, label: &str, swarm: bool) -> TestResult {
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

/// A deployed Swarm stack; removed, with everything it created, when dropped.
#[derive(Debug)]
pub struct Stack {
    docker: Docker,
    name: String,
    removed: bool,
}

impl Stack {
    /// `docker stack deploy -c stack_file name`, as a user deploys locally built images (no
    /// registry is asked for their digests).
    ///
    /// # Errors
    /// The deployment is refused.
    pub fn deploy(docker: &Docker, stack_file: &Path, name: &str) -> TestResult<Stack> {
        let stack = Stack {
            docker: docker.clone(),
            name: name.to_owned(),
            removed: false,
        };
        let file = stack_file.to_string_lossy();
        docker.run(&[
            "stack",
            "deploy",
            "--resolve-image",
            "never",
            "-c",
            &file,
            name,
        ])?;
        Ok(stack)
    }

    /// The stack's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The full name of one of its services or networks: `<stack>_<name>`.
    pub fn scoped(&self, name: &str) -> String {
        format!("{}_{name}", self.name)
    }

    /// What of the stack is still there: services, networks, volumes, configs, secrets and
    /// containers carrying its label.
    ///
    /// # Errors
    /// A `docker` command failed.
    pub fn leftovers(&self) -> TestResult<Vec<String>> {
        labelled_leftovers(&self.docker, &self.label(), true)
    }

    /// `docker stack rm`, then waits until its containers are gone and removes the volumes it
    /// leaves behind.
    ///
    /// # Errors
    /// Something of the stack is still there after a minute.
    pub fn remove(&mut self) -> TestResult {
        self.removed = true;
        self.docker.run(&["stack", "rm", &self.name])?;
        remove_leftovers(&self.docker, &self.label(), true)
    }

    fn label(&self) -> String {
        format!("{STACK_LABEL}={}", self.name)
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        if !self.removed {
            if let Err(err) = self.remove() {
                eprintln!("cannot remove stack {}: {err}", self.name);
            }
        }
    }
}

/// A compose implementation: Debian's `docker-compose`, or the `docker compose` plugin.
#[derive(Clone, Debug)]
pub struct Compose {
    program: PathBuf,
    plugin: bool,
}

impl Compose {
    /// The compose implementation installed here; `None` when there is none and `CI` is not set.
    ///
    /// # Errors
    /// None is installed, under CI.
    pub fn find(docker: &Docker) -> TestResult<Option<Compose>> {
        if let Some(program) = find_program("docker-compose") {
            return Ok(Some(Compose {
                program,
                plugin: false,
            }));
        }
        if docker.run(&["compose", "version"]).is_ok() {
            return Ok(Some(Compose {
                program: docker.program.clone(),
                plugin: true,
            }));
        }
        Ok(
            required_program("docker-compose", "docker-compose")?.map(|program| Compose {
                program,
                plugin: false,
            }),
        )
    }
}

/// A compose project brought up from a compose file; brought down, with its volumes and
/// networks, when dropped.
#[derive(Debug)]
pub struct ComposeProject {
    docker: Docker,
    compose: Compose,
    file: PathBuf,
    name: String,
    down: bool,
}

impl ComposeProject {
    /// `compose -f file -p name up -d --no-build services...`.
    ///
    /// # Errors
    /// The project does not come up.
    pub fn up(
        docker: &Docker,
        compose: &Compose,
        file: &Path,
        name: &str,
        services: &[&str],
    ) -> TestResult<ComposeProject> {
        let project = ComposeProject {
            docker: docker.clone(),
            compose: compose.clone(),
            file: file.to_path_buf(),
            name: name.to_owned(),
            down: false,
        };
        let mut args = vec!["up", "--detach", "--no-build"];
        args.extend(services);
        project.run(&args)?;
        Ok(project)
    }

    /// Runs `compose -f file -p name args`.
    ///
    /// # Errors
    /// It fails.
    pub fn run(&self, args: &[&str]) -> TestResult<String> {
        let mut command = self.docker.command_of(&self.compose.program);
        if self.compose.plugin {
            command.arg("compose");
        }
        command
            .arg("--file")
            .arg(&self.file)
            .args(["--project-name", &self.name])
            .args(args);
        checked(&format!("compose {}", args.join(" ")), command.output()?)
    }

    /// The project's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// What of the project is still there: containers, networks and volumes carrying its label.
    ///
    /// # Errors
    /// A `docker` command failed.
    pub fn leftovers(&self) -> TestResult<Vec<String>> {
        labelled_leftovers(&self.docker, &self.label(), false)
    }

    /// `compose down --volumes`, then waits until nothing of the project is left.
    ///
    /// # Errors
    /// Something of the project is still there after a minute.
    pub fn down(&mut self) -> TestResult {
        self.down = true;
        self.run(&["down", "--volumes", "--remove-orphans", "--timeout", "5"])?;
        remove_leftovers(&self.docker, &self.label(), false)
    }

    fn label(&self) -> String {
        format!("{COMPOSE_LABEL}={}", self.name)
    }
}

impl Drop for ComposeProject {
    fn drop(&mut self) {
        if !self.down {
            if let Err(err) = self.down() {
                eprintln!("cannot bring project {} down: {err}", self.name);
            }
        }
    }
}

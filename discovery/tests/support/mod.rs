//! Test support: a fake Docker Engine API serving recorded Swarm responses, and helpers.
#![allow(dead_code, missing_docs)] // each test file uses a different part
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code fails loudly

use std::convert::Infallible;
use std::fs;
use std::io::{self, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use bytes::Bytes;
use clap::Parser;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full};
use hyper::body::{Body, Frame, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use swarm_discovery::{Cli, Config, DockerHost};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::oneshot;

/// Path of a file under tests/fixtures/.
pub fn fixture_path(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// Contents of a file under tests/fixtures/.
pub fn fixture(name: &str) -> String {
    let path = fixture_path(name);
    fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// What the fake daemon does with the next requests.
#[derive(Debug, Clone)]
pub enum Behaviour {
    /// Answer `/tasks` and `/services` with these bodies.
    Serve { tasks: String, services: String },
    /// Answer every request with this status and a Docker-style error body.
    Fail(u16),
    /// Answer every request with exactly this status, content type and body.
    Reply {
        status: u16,
        content_type: &'static str,
        body: Bytes,
    },
    /// Wait this long, then behave as the inner behaviour (`Serve`, `Fail` or `Reply`).
    Delayed(Duration, Box<Behaviour>),
    /// Answer 200 at once, then send the body one byte every 50 ms, without end.
    Trickle,
    /// Answer 200 at once, then send body bytes as fast as the client reads, without end.
    Endless,
    /// Accept connections and close them without answering.
    Close,
    /// Accept connections and never answer.
    Hang,
}

impl Behaviour {
    /// The recorded swarm: tasks.json and services.json.
    pub fn recorded() -> Behaviour {
        Behaviour::serve("tasks.json")
    }

    /// The recorded services with another tasks file.
    pub fn serve(tasks_file: &str) -> Behaviour {
        Behaviour::Serve {
            tasks: fixture(tasks_file),
            services: fixture("services.json"),
        }
    }
}

struct State {
    behaviour: Behaviour,
    requests: Vec<String>,
    connections: usize,
}

/// A fake Docker Engine API on 127.0.0.1 (ephemeral port) or on a unix socket, running on
/// its own thread so that sync tests that run the binary can use it too.
pub struct FakeDocker {
    pub host: DockerHost,
    state: Arc<Mutex<State>>,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
    _socket_dir: Option<tempfile::TempDir>,
}

impl FakeDocker {
    /// Listens on 127.0.0.1 with an ephemeral port.
    pub fn tcp(behaviour: Behaviour) -> FakeDocker {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let host = DockerHost::Tcp(listener.local_addr().unwrap().to_string());
        FakeDocker::start(host, behaviour, None, Listener::Tcp(listener))
    }

    /// Listens on 127.0.0.1 at `address` (a daemon coming back on its old port).
    pub fn tcp_at(address: SocketAddr, behaviour: Behaviour) -> FakeDocker {
        let listener = std::net::TcpListener::bind(address).unwrap();
        listener.set_nonblocking(true).unwrap();
        let host = DockerHost::Tcp(address.to_string());
        FakeDocker::start(host, behaviour, None, Listener::Tcp(listener))
    }

    /// Listens on a unix socket in a temporary directory.
    pub fn unix(behaviour: Behaviour) -> FakeDocker {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("docker.sock");
        let mut docker = FakeDocker::unix_at(&path, behaviour);
        docker._socket_dir = Some(dir);
        docker
    }

    /// Listens on a unix socket at `path`, replacing a stale socket file there (as the
    /// daemon does when it restarts).
    pub fn unix_at(path: &Path, behaviour: Behaviour) -> FakeDocker {
        let _ = fs::remove_file(path);
        let listener = std::os::unix::net::UnixListener::bind(path).unwrap();
        listener.set_nonblocking(true).unwrap();
        let host = DockerHost::Unix(path.to_path_buf());
        FakeDocker::start(host, behaviour, None, Listener::Unix(listener))
    }

    fn start(
        host: DockerHost,
        behaviour: Behaviour,
        socket_dir: Option<tempfile::TempDir>,
        listener: Listener,
    ) -> FakeDocker {
        let state = Arc::new(Mutex::new(State {
            behaviour,
            requests: Vec::new(),
            connections: 0,
        }));
        let (stop, mut stopped) = oneshot::channel::<()>();
        let shared = Arc::clone(&state);
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async move {
                match listener {
                    Listener::Tcp(listener) => {
                        let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                        loop {
                            tokio::select! {
                                _ = &mut stopped => break,
                                accepted = listener.accept() => if let Ok((stream, _)) = accepted {
                                    dispatch(stream, &shared);
                                },
                            }
                        }
                    }
                    Listener::Unix(listener) => {
                        let listener = tokio::net::UnixListener::from_std(listener).unwrap();
                        loop {
                            tokio::select! {
                                _ = &mut stopped => break,
                                accepted = listener.accept() => if let Ok((stream, _)) = accepted {
                                    dispatch(stream, &shared);
                                },
                            }
                        }
                    }
                }
            });
        });
        FakeDocker {
            host,
            state,
            stop: Some(stop),
            thread: Some(thread),
            _socket_dir: socket_dir,
        }
    }

    /// Changes what the next requests get.
    pub fn set(&self, behaviour: Behaviour) {
        lock(&self.state).behaviour = behaviour;
    }

    /// Path and query of every request answered so far.
    pub fn requests(&self) -> Vec<String> {
        lock(&self.state).requests.clone()
    }

    /// Connections accepted so far, answered or not.
    pub fn connections(&self) -> usize {
        lock(&self.state).connections
    }

    /// The `--docker-host` value for this server.
    pub fn url(&self) -> String {
        self.host.to_string()
    }
}

impl Drop for FakeDocker {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    state
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

type AnswerBody = BoxBody<Bytes, Infallible>;

/// Answers like the Docker daemon: with or without a `/vX.Y` prefix.
async fn answer(state: Arc<Mutex<State>>, request: Request<Incoming>) -> Response<AnswerBody> {
    let path_and_query = request
        .uri()
        .path_and_query()
        .map(|pq| pq.as_str().to_string())
        .unwrap_or_default();
    let mut behaviour = {
        let mut state = lock(&state);
        state.requests.push(path_and_query);
        state.behaviour.clone()
    };
    if let Behaviour::Delayed(delay, inner) = behaviour {
        tokio::time::sleep(delay).await;
        behaviour = *inner;
    }
    let path = unversioned(request.uri().path());
    let json = |status: StatusCode, body: String| {
        Response::builder()
            .status(status)
            .header("content-type", "application/json")
            .header("api-version", "1.45")
            .body(Full::new(Bytes::from(body)).boxed())
            .unwrap()
    };
    let streamed = |delay: Option<Duration>| {
        Response::builder()
            .header("content-type", "application/json")
            .body(ChannelBody::generate(delay).boxed())
            .unwrap()
    };
    match &behaviour {
        Behaviour::Fail(status) => json(
            StatusCode::from_u16(*status).unwrap(),
            r#"{"message":"rpc error: code = Unavailable desc = the swarm does not have a leader"}"#
                .to_string(),
        ),
        Behaviour::Serve { tasks, services } => match (request.method().as_str(), path) {
            ("GET", "/tasks") => json(StatusCode::OK, tasks.clone()),
            ("GET", "/services") => json(StatusCode::OK, services.clone()),
            ("GET" | "HEAD", "/_ping") => json(StatusCode::OK, "OK".to_string()),
            ("GET", "/version") => json(
                StatusCode::OK,
                r#"{"Version":"26.1.4","ApiVersion":"1.45","MinAPIVersion":"1.24","Os":"linux","Arch":"amd64"}"#
                    .to_string(),
            ),
            _ => json(
                StatusCode::NOT_FOUND,
                r#"{"message":"page not found"}"#.to_string(),
            ),
        },
        Behaviour::Reply {
            status,
            content_type,
            body,
        } => Response::builder()
            .status(StatusCode::from_u16(*status).unwrap())
            .header("content-type", *content_type)
            .body(Full::new(body.clone()).boxed())
            .unwrap(),
        Behaviour::Trickle => streamed(Some(Duration::from_millis(50))),
        Behaviour::Endless => streamed(None),
        Behaviour::Delayed(..) | Behaviour::Close | Behaviour::Hang => {
            json(StatusCode::INTERNAL_SERVER_ERROR, String::new())
        }
    }
}

/// A response body fed by a task that sends chunks until the client goes away.
struct ChannelBody(tokio::sync::mpsc::Receiver<Bytes>);

impl ChannelBody {
    /// `[` then one byte per `delay`, or 64 KiB chunks as fast as they are read.
    fn generate(delay: Option<Duration>) -> ChannelBody {
        let (sender, receiver) = tokio::sync::mpsc::channel(4);
        tokio::spawn(async move {
            if sender.send(Bytes::from_static(b"[")).await.is_err() {
                return;
            }
            let chunk = match delay {
                Some(_) => Bytes::from_static(b" "),
                None => Bytes::from(r#"{"ID":"x"},"#.repeat(64 * 1024 / 11)),
            };
            loop {
                if let Some(delay) = delay {
                    tokio::time::sleep(delay).await;
                }
                if sender.send(chunk.clone()).await.is_err() {
                    return;
                }
            }
        });
        ChannelBody(receiver)
    }
}

impl Body for ChannelBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        self.0
            .poll_recv(cx)
            .map(|chunk| chunk.map(|bytes| Ok(Frame::data(bytes))))
    }
}

fn unversioned(path: &str) -> &str {
    if let Some(rest) = path.strip_prefix("/v") {
        if let Some((version, _)) = rest.split_once('/') {
            if !version.is_empty() && version.chars().all(|c| c.is_ascii_digit() || c == '.') {
                return &path[2 + version.len()..];
            }
        }
    }
    path
}

enum Listener {
    Tcp(std::net::TcpListener),
    Unix(std::os::unix::net::UnixListener),
}

/// Handles one accepted connection according to the current behaviour.
fn dispatch<S>(stream: S, shared: &Arc<Mutex<State>>)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let behaviour = {
        let mut state = lock(shared);
        state.connections += 1;
        state.behaviour.clone()
    };
    match behaviour {
        Behaviour::Close => drop(stream),
        Behaviour::Hang => {
            tokio::spawn(async move {
                let _held = stream;
                std::future::pending::<()>().await;
            });
        }
        Behaviour::Serve { .. }
        | Behaviour::Fail(_)
        | Behaviour::Reply { .. }
        | Behaviour::Delayed(..)
        | Behaviour::Trickle
        | Behaviour::Endless => {
            let shared = Arc::clone(shared);
            tokio::spawn(async move {
                let service = service_fn(move |request| {
                    let shared = Arc::clone(&shared);
                    async move { Ok::<_, Infallible>(answer(shared, request).await) }
                });
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    }
}

/// A configuration built from command-line flags, as the binary would build it.
pub fn config(args: &[&str]) -> Config {
    let cli = Cli::try_parse_from(std::iter::once("swarm-discovery").chain(args.iter().copied()))
        .unwrap();
    cli.into_config_with_env(|_| None).unwrap()
}

/// `flags` against the daemon at `docker_host`, writing to `output`: the flags every test passes.
pub fn config_at(docker_host: &str, output: &Path, flags: &[&str]) -> Config {
    let output = output.to_str().unwrap();
    let mut args = vec!["--docker-host", docker_host, "--output", output];
    args.extend_from_slice(flags);
    config(&args)
}

/// The tutorial's network and ignore list, shared by the tutorial configurations.
pub const TUTORIAL_FLAGS: [&str; 4] = [
    "--network",
    "my_network",
    "--ignored-services",
    "prometheus,grafana",
];

/// The tutorial's flags against `docker`, writing to `output`.
pub fn tutorial_config(docker: &FakeDocker, output: &Path, extra: &[&str]) -> Config {
    config_at(
        &docker.url(),
        output,
        &[&TUTORIAL_FLAGS[..], extra].concat(),
    )
}

/// `swarm-endpoints.json` in a fresh temporary directory (keep the directory): most tests' output.
pub fn output_in_tempdir() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let output = dir.path().join("swarm-endpoints.json");
    (dir, output)
}

/// A fake daemon over TCP and an output in a fresh temporary directory: how most tests start.
pub fn docker_and_output(behaviour: Behaviour) -> (FakeDocker, tempfile::TempDir, PathBuf) {
    let docker = FakeDocker::tcp(behaviour);
    let (dir, output) = output_in_tempdir();
    (docker, dir, output)
}

/// Waits until `check` holds, for at most `limit`.
pub fn wait_for(limit: Duration, mut check: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < limit {
        if check() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    check()
}

/// Compares the written file with tests/fixtures/expected/<name>, byte for byte. With
/// `SWARM_DISCOVERY_BLESS` set, writes the expected file instead.
pub fn assert_output(path: &Path, name: &str) {
    let written = fs::read_to_string(path).unwrap();
    let expected_path = fixture_path(&format!("expected/{name}"));
    if std::env::var_os("SWARM_DISCOVERY_BLESS").is_some() {
        fs::create_dir_all(expected_path.parent().unwrap()).unwrap();
        fs::write(&expected_path, &written).unwrap();
        return;
    }
    let expected = fixture(&format!("expected/{name}"));
    assert_eq!(written, expected, "{} differs from {name}", path.display());
}

/// The names in `dir`, sorted.
pub fn names_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<_> = fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// A full disk: half the content reaches the temporary file, the rest goes to /dev/full,
/// so the error is the kernel's own ENOSPC ("No space left on device").
pub fn disk_full(file: &mut fs::File, content: &[u8]) -> io::Result<()> {
    let (first, rest) = content.split_at(content.len() / 2);
    file.write_all(first)?;
    fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")?
        .write_all(rest)
}

//! Hostile clients against the release accountservice, a real process on 127.0.0.1 whose limit on open files is
//! 1024 (set with `prlimit` before it starts), serving its routes on one port and routemeter's stand-alone
//! `/metrics` server on another. Each test starts a fresh instance, attacks it as the README's reliability table
//! describes, and checks that it keeps serving, with memory and CPU measured from `/proc`. The tests run one at a
//! time (they measure time and memory), each bounded in time.

use std::collections::BTreeSet;
use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{Method, Request, StatusCode};
use http_body::{Body, Frame, SizeHint};
use hyper_util::rt::{TokioExecutor, TokioIo};
use routemeter_tests::client::Client;
use routemeter_tests::process::{
    release_accountservice, start_limited_accountservice, LimitedService,
};
use routemeter_tests::raw::{self, closed_within};
use routemeter_tests::resources::{cpu_time, ensure_descriptor_limit, resident_bytes};
use routemeter_tests::TestResult;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::sync::{mpsc, Mutex};
use tokio::task::JoinSet;

/// The service's limit on open files.
const DESCRIPTOR_LIMIT: u64 = 1024;
/// Idle sockets opened against it: more than it can hold.
const IDLE_SOCKETS: usize = 1100;
/// Bodies held at the limit.
const HELD_BODIES: usize = 200;
const MIB: u64 = 1 << 20;
/// The default budget for bodies held at once.
const BUDGET: u64 = accountservice::DEFAULT_BODY_BUDGET as u64;
/// The body limit; a held body is one byte short of it.
const BODY_LIMIT: usize = accountservice::DEFAULT_BODY_LIMIT;
/// What memory may grow by beyond the budget while bodies are held: the connections' own buffers and the
/// allocator's slack. Without the budget, 200 held bodies grow it by more than 200 MiB.
const MEMORY_MARGIN: u64 = 32 * MIB;
/// How long a request that must be served may take while the service is under attack: generous on a busy
/// machine, and far below what the attacks cost without the limits (requests that never came back).
const PROBE_LIMIT: Duration = Duration::from_secs(2);

/// One test at a time: they measure time and memory.
static SERIAL: Mutex<()> = Mutex::const_new(());

/// Builds the release example (outside the test's time bound) and starts it with the descriptor limit.
async fn start_service() -> TestResult<LimitedService> {
    ensure_descriptor_limit(4096)?;
    let executable = tokio::task::spawn_blocking(release_accountservice).await??;
    start_limited_accountservice(&executable, DESCRIPTOR_LIMIT)
}

/// Runs `test` within `limit`.
async fn bounded(limit: Duration, test: impl Future<Output = TestResult>) -> TestResult {
    match tokio::time::timeout(limit, test).await {
        Ok(result) => result,
        Err(_) => Err(format!("the test did not finish within {limit:?}").into()),
    }
}

/// `GET path` on a connection of its own (the hard case under a connection flood): the status and the time the
/// whole exchange took.
async fn probe(addr: SocketAddr, path: &str) -> (Option<u16>, Duration) {
    let request = format!("GET {path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
    let started = Instant::now();
    let reply = tokio::time::timeout(
        PROBE_LIMIT,
        raw::exchange(addr, request.as_bytes(), PROBE_LIMIT),
    )
    .await;
    let status = match reply {
        Ok(Ok(reply)) => reply.status(),
        _ => None,
    };
    (status, started.elapsed())
}

/// The largest resident memory of `pid` over `during`, sampled every 100 ms.
async fn peak_resident(pid: u32, during: Duration) -> TestResult<u64> {
    let until = Instant::now() + during;
    let mut peak = resident_bytes(pid)?;
    while Instant::now() < until {
        tokio::time::sleep(Duration::from_millis(100)).await;
        peak = peak.max(resident_bytes(pid)?);
    }
    Ok(peak)
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / MIB as f64
}

// -----------------------------------------------------------------------------------------------------------------
// GraphQL

/// `levels` fragments, each spreading the next `fan_out` times: ten times the work per level once written out.
fn fan_out(levels: usize, fan_out: usize) -> String {
    let mut query = String::from("query { ...F0 }\n");
    for level in 0..levels {
        let spreads = format!("...F{} ", level + 1).repeat(fan_out);
        query.push_str(&format!("fragment F{level} on Query {{ {spreads}}}\n"));
    }
    query.push_str(&format!("fragment F{levels} on Query {{ __typename }}\n"));
    query
}

/// The abuse shapes: a name and the JSON body of the request.
fn abusive_queries() -> Vec<(&'static str, String)> {
    let query = |query: String| serde_json::json!({ "query": query }).to_string();
    let aliases: String = (0..400)
        .map(|i| format!("a{i}: Account(id: \"10001\") {{ id }} "))
        .collect();
    let aliased_fields: String = (0..50).map(|i| format!("a{i}: __typename ")).collect();
    let directives = "@include(if: true) ".repeat(700);
    vec![
        ("fan-out, 6 levels", query(fan_out(6, 10))),
        ("fan-out, 7 levels", query(fan_out(7, 10))),
        ("fan-out, 20 levels", query(fan_out(20, 10))),
        ("400 aliases", query(format!("{{ {aliases}}}"))),
        (
            "aliases through fragments",
            query(format!(
                "{{ ...C }} fragment C on Query {{ {} }} fragment B on Query {{ {} }} \
                 fragment A on Query {{ {aliased_fields} }}",
                "...B ".repeat(10),
                "...A ".repeat(10)
            )),
        ),
        (
            "700 directives on a field",
            query(format!("{{ Account(id: \"10001\") {{ id {directives}}} }}")),
        ),
        (
            "a 15 kB string argument",
            query(format!(
                "{{ Account(id: \"{}x\") {{ id }} }}",
                "9".repeat(15_000)
            )),
        ),
        (
            "a 900 kB string variable",
            serde_json::json!({
                "query": "query($id: String) { Account(id: $id) { id } }",
                "variables": { "id": format!("{}x", "9".repeat(900_000)) },
            })
            .to_string(),
        ),
        (
            "a 1 MB query",
            query(format!("{{ {}__typename }}", " ".repeat(1_000_000))),
        ),
        (
            "100 levels of nesting",
            query(format!(
                "{{ Account(id: \"10001\") {{ {}quote{} }} }}",
                "quote { ".repeat(100),
                " }".repeat(100)
            )),
        ),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graphql_abuse_is_refused_within_100_ms_with_memory_and_cpu_flat() -> TestResult {
    let _serial = SERIAL.lock().await;
    let mut service = start_service().await?;
    bounded(Duration::from_secs(120), async {
        let pid = service.process.pid();
        let client = Client::new(service.addr);
        let tutorial = r#"{"query":"{ Account(id: \"10001\") { id name } }"}"#;
        let reply = client.send_json(Method::POST, "/graphql", tutorial).await?;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
        let memory_before = resident_bytes(pid)?;

        for (shape, body) in abusive_queries() {
            let mut times = Vec::new();
            for _ in 0..3 {
                let started = Instant::now();
                let reply = client.send_json(Method::POST, "/graphql", &body).await?;
                times.push(started.elapsed());
                assert_eq!(reply.status, StatusCode::OK, "{shape}: {}", reply.text());
                let answer = reply.json()?;
                let message = answer["errors"][0]["message"].as_str().unwrap_or_default();
                assert!(!message.is_empty(), "{shape}: no error in {answer}");
                if shape.starts_with("fan-out") {
                    assert!(message.contains("too much work"), "{shape}: {message}");
                }
                assert!(
                    reply.body.len() < 4096,
                    "{shape}: an answer of {} bytes",
                    reply.body.len()
                );
            }
            times.sort();
            eprintln!("{shape}: answered in {times:?}");
            // The median of three, so one hiccup of a busy machine does not decide; each well below a second.
            assert!(times[1] < Duration::from_millis(100), "{shape}: {times:?}");
            assert!(times[2] < Duration::from_secs(1), "{shape}: {times:?}");
        }

        // Many at once leave the other routes answering.
        let attack_until = Instant::now() + Duration::from_secs(2);
        let mut attackers = JoinSet::new();
        for _ in 0..8 {
            let client = Client::new(service.addr);
            let body = serde_json::json!({ "query": fan_out(20, 10) }).to_string();
            attackers.spawn(async move {
                let mut sent = 0_u32;
                while Instant::now() < attack_until {
                    let _ = client.send_json(Method::POST, "/graphql", &body).await;
                    sent += 1;
                }
                sent
            });
        }
        let mut slowest = Duration::ZERO;
        while Instant::now() < attack_until {
            let (status, took) = probe(service.addr, "/metrics").await;
            assert_eq!(
                status,
                Some(200),
                "/metrics during the attack, after {took:?}"
            );
            slowest = slowest.max(took);
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let mut attacks = 0;
        while let Some(sent) = attackers.join_next().await {
            attacks += sent?;
        }
        eprintln!("{attacks} fan-out queries in 2 s; /metrics answered in at most {slowest:?}");
        assert!(slowest < Duration::from_secs(1), "{slowest:?}");

        // Nothing keeps working after the answers, and nothing was kept.
        tokio::time::sleep(Duration::from_millis(300)).await;
        let cpu_before = cpu_time(pid)?;
        tokio::time::sleep(Duration::from_secs(1)).await;
        let cpu_spent = cpu_time(pid)?.saturating_sub(cpu_before);
        assert!(
            cpu_spent < Duration::from_millis(200),
            "{cpu_spent:?} of CPU in a quiet second"
        );
        let grown = resident_bytes(pid)?.saturating_sub(memory_before);
        eprintln!("memory grew by {:.1} MiB", mib(grown));
        assert!(grown < 16 * MIB, "memory grew by {:.1} MiB", mib(grown));
        Ok(())
    })
    .await?;
    service.process.check_alive()
}

// -----------------------------------------------------------------------------------------------------------------
// Idle connections

/// Opens `count` sockets to `target` that send nothing, each reopened as soon as the server closes it, until
/// `until`. Each task returns how many times its socket was closed by the server.
fn idle_socket_flood(target: SocketAddr, count: usize, until: Instant) -> JoinSet<u64> {
    let mut sockets = JoinSet::new();
    for _ in 0..count {
        sockets.spawn(async move {
            let mut closed = 0;
            while Instant::now() < until {
                let Ok(mut stream) = TcpStream::connect(target).await else {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    continue;
                };
                let remaining = until.saturating_duration_since(Instant::now());
                if closed_within(&mut stream, remaining).await.is_some() {
                    closed += 1;
                }
            }
            closed
        });
    }
    sockets
}

/// Floods `target` with idle sockets while probing `probes` on fresh connections; every probe must be answered
/// 200 within [`PROBE_LIMIT`], and the log must stay short.
async fn idle_sockets_do_not_lock_out(
    service: &LimitedService,
    target: SocketAddr,
    probes: &[(SocketAddr, &str)],
) -> TestResult {
    let flood_length = Duration::from_secs(8);
    let started = Instant::now();
    let log_before = service.process.stderr_lines().len();
    let mut flood = idle_socket_flood(target, IDLE_SOCKETS, started + flood_length);
    // Let the sockets pile up past the limit before probing.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let mut answered = 0;
    let mut slowest = Duration::ZERO;
    while started.elapsed() < flood_length - Duration::from_secs(1) {
        for (addr, path) in probes {
            let (status, took) = probe(*addr, path).await;
            assert_eq!(
                status,
                Some(200),
                "{path} on {addr} under the flood, after {took:?}"
            );
            slowest = slowest.max(took);
            answered += 1;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let mut closed_by_server = 0;
    while let Some(closed) = flood.join_next().await {
        closed_by_server += closed?;
    }
    let lines = service.process.stderr_lines();
    let log = &lines[log_before.min(lines.len())..];
    eprintln!(
        "{answered} probes answered, the slowest in {slowest:?}; the server closed idle sockets {closed_by_server} \
         times; {} log lines",
        log.len()
    );
    // More sockets than the server holds: it made room by closing idle ones.
    assert!(closed_by_server > 0, "no idle socket was ever closed");
    // Logged, but at most about once a second per kind of line.
    assert!(
        log.iter()
            .any(|line| line.contains("connections open, the limit")),
        "{log:?}"
    );
    assert!(log.len() <= 40, "{} log lines: {log:?}", log.len());
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_sockets_beyond_the_descriptor_limit_do_not_lock_clients_out() -> TestResult {
    let _serial = SERIAL.lock().await;
    let mut service = start_service().await?;
    bounded(Duration::from_secs(60), async {
        let probes = [
            (service.addr, "/metrics"),
            (service.addr, "/health"),
            (service.metrics_addr, "/metrics"),
        ];
        idle_sockets_do_not_lock_out(&service, service.addr, &probes).await
    })
    .await?;
    service.process.check_alive()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_sockets_do_not_lock_scrapers_out_of_the_metrics_server() -> TestResult {
    let _serial = SERIAL.lock().await;
    let mut service = start_service().await?;
    bounded(Duration::from_secs(60), async {
        let probes = [
            (service.metrics_addr, "/metrics"),
            (service.addr, "/health"),
        ];
        idle_sockets_do_not_lock_out(&service, service.metrics_addr, &probes).await
    })
    .await?;
    service.process.check_alive()
}

// -----------------------------------------------------------------------------------------------------------------
// Bodies held at the limit

/// Opens `count` connections to `target`, each sending the head of `method path` with a body of the limit, then
/// all of that body but its last byte, and holding the connection. Returns the connections.
async fn hold_bodies(
    target: SocketAddr,
    method: &str,
    path: &str,
    count: usize,
) -> TestResult<Vec<TcpStream>> {
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nContent-Length: {BODY_LIMIT}\r\n\r\n"
    );
    let mut senders = JoinSet::new();
    for _ in 0..count {
        let head = head.clone();
        senders.spawn(async move {
            let mut stream = TcpStream::connect(target).await?;
            stream.write_all(head.as_bytes()).await?;
            let chunk = vec![b' '; 64 * 1024];
            let mut left = BODY_LIMIT - 1;
            while left > 0 {
                let part = chunk.len().min(left);
                // A refused body ends in a closed connection; stop sending then.
                if stream.write_all(&chunk[..part]).await.is_err() {
                    break;
                }
                left -= part;
            }
            Ok::<_, std::io::Error>(stream)
        });
    }
    let mut streams = Vec::new();
    while let Some(sent) = senders.join_next().await {
        if let Ok(stream) = sent? {
            streams.push(stream);
        }
    }
    Ok(streams)
}

/// How many of `streams` the server keeps open (the others it closed, or is closing).
async fn still_open(streams: &mut [TcpStream]) -> usize {
    let mut open = 0;
    for stream in streams.iter_mut() {
        if closed_within(stream, Duration::from_millis(20))
            .await
            .is_none()
        {
            open += 1;
        }
    }
    open
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bodies_held_at_the_limit_grow_memory_by_no_more_than_the_budget() -> TestResult {
    let _serial = SERIAL.lock().await;
    let mut service = start_service().await?;
    bounded(Duration::from_secs(90), async {
        let pid = service.process.pid();
        let client = Client::new(service.addr);
        client.send_json(Method::POST, "/accounts", r#"{"name":"Warm Up"}"#).await?;
        let before = resident_bytes(pid)?;

        let mut held = hold_bodies(service.addr, "POST", "/accounts", HELD_BODIES).await?;
        let peak = peak_resident(pid, Duration::from_millis(1500)).await?;
        let grown = peak.saturating_sub(before);
        let open = still_open(&mut held).await;
        eprintln!(
            "{HELD_BODIES} bodies of {BODY_LIMIT} bytes less one: {open} held, memory grew by {:.1} MiB (budget {:.0} MiB)",
            mib(grown),
            mib(BUDGET)
        );
        assert!(
            grown < BUDGET + MEMORY_MARGIN,
            "memory grew by {:.1} MiB",
            mib(grown)
        );
        // At most as many as the budget holds are kept; the rest were refused and their connections closed.
        assert!(open <= (BUDGET / MIB) as usize, "{open} bodies held");
        assert!(open > 0, "no body was held at all");
        let (status, took) = probe(service.addr, "/health").await;
        assert_eq!(status, Some(200), "/health while bodies are held, after {took:?}");

        // Given back when the clients go: a body is accepted again.
        drop(held);
        let created = routemeter_tests::process::eventually(
            "the budget to come back",
            Duration::from_secs(10),
            || async {
                let reply = client
                    .send_json(Method::POST, "/accounts", r#"{"name":"After"}"#)
                    .await
                    .ok()?;
                (reply.status == StatusCode::CREATED).then_some(())
            },
        )
        .await;
        created?;
        Ok(())
    })
    .await?;
    service.process.check_alive()
}

/// A request body fed from a channel; it never ends while the sender lives.
struct ChannelBody {
    chunks: mpsc::Receiver<Bytes>,
    length: u64,
}

impl Body for ChannelBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        self.chunks
            .poll_recv(cx)
            .map(|chunk| chunk.map(|chunk| Ok(Frame::data(chunk))))
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.length)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bodies_held_on_http2_streams_grow_memory_by_no_more_than_the_budget() -> TestResult {
    let _serial = SERIAL.lock().await;
    let mut service = start_service().await?;
    bounded(Duration::from_secs(90), async {
        let pid = service.process.pid();
        let addr = service.addr;
        let before = resident_bytes(pid)?;

        // One connection, 200 streams, each with a body of the limit less its last byte, then held.
        let stream = TcpStream::connect(addr).await?;
        let (sender, connection) =
            hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(stream)).await?;
        let driver = tokio::spawn(connection);
        let fed = Arc::new(AtomicU64::new(0));
        let refused = Arc::new(AtomicU64::new(0));
        let mut streams = JoinSet::new();
        let mut keep_open = Vec::new();
        for _ in 0..HELD_BODIES {
            let (chunks, receiver) = mpsc::channel::<Bytes>(1);
            let request = Request::post(format!("http://{addr}/accounts"))
                .header("content-type", "application/json")
                .body(ChannelBody {
                    chunks: receiver,
                    length: BODY_LIMIT as u64,
                })?;
            let mut sender = sender.clone();
            let refused = refused.clone();
            streams.spawn(async move {
                if let Ok(response) = sender.send_request(request).await {
                    if response.status() == StatusCode::SERVICE_UNAVAILABLE {
                        refused.fetch_add(1, Ordering::SeqCst);
                    }
                }
            });
            let feeder = chunks.clone();
            let fed = fed.clone();
            streams.spawn(async move {
                let chunk = Bytes::from(vec![b' '; 64 * 1024]);
                let mut left = BODY_LIMIT - 1;
                while left > 0 {
                    let part = chunk.len().min(left);
                    if feeder.send(chunk.slice(..part)).await.is_err() {
                        break;
                    }
                    fed.fetch_add(part as u64, Ordering::SeqCst);
                    left -= part;
                }
            });
            keep_open.push(chunks);
        }
        // Until the bodies stop moving: refused streams end, held ones wait for their last byte.
        let mut last = u64::MAX;
        let settle_until = Instant::now() + Duration::from_secs(40);
        while Instant::now() < settle_until {
            tokio::time::sleep(Duration::from_millis(1000)).await;
            let now = fed.load(Ordering::SeqCst);
            if now == last {
                break;
            }
            last = now;
        }
        let peak = peak_resident(pid, Duration::from_millis(1500)).await?;
        let grown = peak.saturating_sub(before);
        let refused = refused.load(Ordering::SeqCst);
        eprintln!(
            "{HELD_BODIES} streams on one connection: {refused} refused with 503, {:.0} MiB sent, memory grew by {:.1} MiB",
            mib(last),
            mib(grown)
        );
        assert!(
            grown < BUDGET + MEMORY_MARGIN,
            "memory grew by {:.1} MiB",
            mib(grown)
        );
        assert!(
            refused >= (HELD_BODIES as u64) - BUDGET / MIB,
            "only {refused} streams refused"
        );
        let (status, took) = probe(addr, "/health").await;
        assert_eq!(status, Some(200), "/health while bodies are held, after {took:?}");
        drop(keep_open);
        streams.abort_all();
        driver.abort();
        Ok(())
    })
    .await?;
    service.process.check_alive()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bodies_sent_to_the_metrics_server_are_never_held() -> TestResult {
    let _serial = SERIAL.lock().await;
    let mut service = start_service().await?;
    bounded(Duration::from_secs(60), async {
        let pid = service.process.pid();
        let (status, _) = probe(service.metrics_addr, "/metrics").await;
        assert_eq!(status, Some(200));
        let before = resident_bytes(pid)?;
        let mut held = hold_bodies(service.metrics_addr, "POST", "/metrics", HELD_BODIES).await?;
        let peak = peak_resident(pid, Duration::from_millis(1000)).await?;
        let grown = peak.saturating_sub(before);
        let open = still_open(&mut held).await;
        eprintln!(
            "{HELD_BODIES} bodies sent to the /metrics server: {open} connections still open, memory grew by {:.1} MiB",
            mib(grown)
        );
        assert!(grown < 16 * MIB, "memory grew by {:.1} MiB", mib(grown));
        let (status, took) = probe(service.metrics_addr, "/metrics").await;
        assert_eq!(status, Some(200), "/metrics meanwhile, after {took:?}");
        Ok(())
    })
    .await?;
    service.process.check_alive()
}

// -----------------------------------------------------------------------------------------------------------------
// Labels and logs

/// A small deterministic generator (xorshift), so a failure can be replayed.
struct Random(u64);

impl Random {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn word(&mut self, alphabet: &[u8], max_length: u64) -> String {
        let length = 1 + self.next() % max_length;
        (0..length)
            .map(|_| char::from(alphabet[(self.next() % alphabet.len() as u64) as usize]))
            .collect()
    }

    /// A method no route serves: upper-case letters, never a standard method.
    fn method(&mut self) -> Method {
        loop {
            let word = self.word(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ", 12);
            let standard = [
                "GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH",
            ];
            if !standard.contains(&word.as_str()) {
                if let Ok(method) = Method::from_bytes(word.as_bytes()) {
                    return method;
                }
            }
        }
    }

    /// A path: made up, or one of the service's own.
    fn path(&mut self) -> String {
        match self.next() % 4 {
            0 => "/metrics".to_owned(),
            1 => format!("/accounts/{}", 10_000 + self.next() % 100),
            _ => (0..1 + self.next() % 3)
                .map(|_| {
                    format!(
                        "/{}",
                        self.word(b"abcdefghijklmnopqrstuvwxyz0123456789", 10)
                    )
                })
                .collect(),
        }
    }
}

async fn series(client: &Client) -> TestResult<BTreeSet<String>> {
    Ok(client.scrape().await?.series())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_methods_and_paths_add_no_series() -> TestResult {
    let _serial = SERIAL.lock().await;
    let mut service = start_service().await?;
    bounded(Duration::from_secs(120), async {
        let app = Client::new(service.addr);
        let metrics = Client::new(service.metrics_addr);
        // The scrape handler's own series exist after a first scrape.
        series(&app).await?;
        let before = series(&app).await?;
        let mut random = Random(0x5eed_1234_abcd_ef01);
        for (client, name) in [(&app, "service"), (&metrics, "/metrics server")] {
            for _ in 0..10_000 {
                let method = random.method();
                let path = random.path();
                let reply = client.request(method.clone(), &path, &[], "").await?;
                assert!(
                    matches!(reply.status.as_u16(), 404 | 405),
                    "{name}: {method} {path} answered {}",
                    reply.status
                );
            }
        }
        let after = series(&app).await?;
        let new: Vec<&String> = after.difference(&before).collect();
        eprintln!(
            "series before: {}, after: {}, new: {new:?}",
            before.len(),
            after.len()
        );
        // Only the scrape handler's count of 405 answers, one series for every unknown method.
        assert!(
            new.iter().all(|series| {
                series.starts_with("routemeter_metrics_handler_requests_total{")
                    && series.contains("\"405\"")
            }),
            "{new:?}"
        );
        assert!(new.len() <= 1, "{new:?}");
        assert!(before.difference(&after).next().is_none());
        Ok(())
    })
    .await?;
    service.process.check_alive()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_malformed_requests_is_logged_about_once_a_second() -> TestResult {
    let _serial = SERIAL.lock().await;
    let mut service = start_service().await?;
    bounded(Duration::from_secs(60), async {
        let log_before = service.process.stderr_lines().len();
        let started = Instant::now();
        let mut sent = 0;
        while started.elapsed() < Duration::from_secs(3) {
            let mut batch = JoinSet::new();
            for _ in 0..100 {
                let addr = service.addr;
                batch.spawn(async move {
                    raw::exchange(
                        addr,
                        b"GET /\x01 HTTP/1.1\r\nHost: t\r\n\r\n",
                        Duration::from_secs(2),
                    )
                    .await
                    .ok()
                    .and_then(|reply| reply.status())
                });
            }
            while let Some(status) = batch.join_next().await {
                assert_eq!(status?, Some(400));
                sent += 1;
            }
        }
        let elapsed = started.elapsed();
        tokio::time::sleep(Duration::from_millis(200)).await;
        let lines = service.process.stderr_lines();
        let log = &lines[log_before.min(lines.len())..];
        eprintln!(
            "{sent} malformed requests in {elapsed:?}: {} log lines",
            log.len()
        );
        assert!(!log.is_empty(), "malformed requests are not logged at all");
        assert!(
            log.len() as u64 <= elapsed.as_secs() + 2,
            "{} lines for {sent} malformed requests in {elapsed:?}: {log:?}",
            log.len()
        );
        Ok(())
    })
    .await?;
    service.process.check_alive()
}

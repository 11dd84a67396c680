//! Soak: the release accountservice under a high request rate for a bounded time (`ROUTEMETER_SOAK_SECS`,
//! default 120), scraped every second. Its memory stays flat and, at the end, its counts are exact: every request
//! a client sent is in `_count` and in `requests_total` under the status the client received.
//!
//! Ignored by `cargo test --workspace` (it takes minutes); run it with
//! `cargo test -p routemeter-tests --test soak -- --ignored --nocapture`.
//!
//! The load is the tutorial's traffic and its mistakes, on keep-alive connections to 127.0.0.1, chosen so that the
//! service's own data stays the same size: reads of the 100 seeded accounts, unknown and malformed ids, renames
//! of seeded accounts (events are capped per account), GraphQL queries, and bodies refused with 400 or 415 (no
//! account is ever created). Any growth of resident memory is then routemeter's or the server's, not the data's.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use http::Method;
use routemeter_tests::client::{Client, Reply};
use routemeter_tests::exposition::Exposition;
use routemeter_tests::process::{
    eventually, release_accountservice, start_accountservice, Running,
};
use routemeter_tests::series::HandlerSeries;
use routemeter_tests::TestResult;

/// Client tasks, each with a keep-alive connection of its own.
const CLIENTS: usize = 4;

/// Resident memory may grow by this much between the end of the warm-up and the end of the soak.
///
/// The service's data cannot grow under this load, routemeter's metrics are fixed arrays plus a table per power
/// of two that a value lands in, so steady state is reached within the warm-up; what remains is allocator noise
/// and a few connection buffers, well under 20 MiB. A leak of `20 MiB / requests` bytes per request (about 40
/// bytes at 500 000 requests, printed with the figures) or more fails the test.
const MEMORY_SLACK: f64 = 20.0 * 1024.0 * 1024.0;

/// The upper bound of requests per client task, on top of the time limit.
const MAX_REQUESTS_PER_CLIENT: u64 = 100_000_000;

const GET_ACCOUNT: HandlerSeries = HandlerSeries::new(
    "accountservice",
    "GetAccount",
    "GET",
    "/accounts/{accountId}",
);
const STORE_ACCOUNT: HandlerSeries =
    HandlerSeries::new("accountservice", "StoreAccount", "POST", "/accounts");
const UPDATE_ACCOUNT: HandlerSeries =
    HandlerSeries::new("accountservice", "UpdateAccount", "PUT", "/accounts");
const GRAPHQL: HandlerSeries = HandlerSeries::new("accountservice", "GraphQL", "POST", "/graphql");
const HANDLERS: [HandlerSeries; 4] = [GET_ACCOUNT, STORE_ACCOUNT, UPDATE_ACCOUNT, GRAPHQL];

/// What the clients saw: answers by handler and status, and requests that got no answer.
#[derive(Debug, Default)]
struct Tally {
    answers: BTreeMap<(&'static str, u16), u64>,
    failures: u64,
    first_failure: Option<String>,
}

impl Tally {
    fn requests(&self) -> u64 {
        self.answers.values().sum()
    }

    fn add(&mut self, other: Tally) {
        for (key, count) in other.answers {
            *self.answers.entry(key).or_default() += count;
        }
        self.failures += other.failures;
        self.first_failure = self.first_failure.take().or(other.first_failure);
    }
}

/// Sends the `i`-th request of the mix; returns the handler it reached and the answer.
async fn send(client: &Client, i: u64) -> TestResult<(&'static str, Reply)> {
    let id = 10_000 + i % 100;
    let json = [("content-type", "application/json")];
    let (handler, reply) = match i % 16 {
        0..=6 => (GET_ACCOUNT, client.get(&format!("/accounts/{id}")).await?),
        7 => (
            GET_ACCOUNT,
            client
                .get(&format!("/accounts/{}", 20_000 + i % 50))
                .await?,
        ),
        8 => (GET_ACCOUNT, client.get(&format!("/accounts/x{i}")).await?),
        9 | 10 => {
            let body = format!(r#"{{"id": "{id}", "name": "Soak_{}"}}"#, i % 7);
            let reply = client
                .request(Method::PUT, "/accounts", &json, body)
                .await?;
            (UPDATE_ACCOUNT, reply)
        }
        11 => {
            let reply = client.request(Method::PUT, "/accounts", &json, "{").await?;
            (UPDATE_ACCOUNT, reply)
        }
        12 | 13 => {
            let body = format!(
                r#"{{"query": "{{ Account(id: \"{id}\") {{ id name quote {{ quote }} }} }}"}}"#
            );
            let reply = client
                .request(Method::POST, "/graphql", &json, body)
                .await?;
            (GRAPHQL, reply)
        }
        14 => {
            let reply = client
                .request(Method::POST, "/accounts", &json, r#"{"id": "1"}"#)
                .await?;
            (STORE_ACCOUNT, reply)
        }
        _ => {
            let text = [("content-type", "text/plain")];
            let reply = client
                .request(Method::POST, "/accounts", &text, "name=Soak")
                .await?;
            (STORE_ACCOUNT, reply)
        }
    };
    Ok((handler.name, reply))
}

/// One client task: the mix, in order, until `deadline`.
async fn drive(addr: std::net::SocketAddr, first: u64, deadline: Instant) -> Tally {
    let client = Client::new(addr);
    let mut tally = Tally::default();
    let mut i = first;
    while Instant::now() < deadline && i - first < MAX_REQUESTS_PER_CLIENT {
        match send(&client, i).await {
            Ok((handler, reply)) => {
                *tally
                    .answers
                    .entry((handler, reply.status.as_u16()))
                    .or_default() += 1;
            }
            Err(err) => {
                tally.failures += 1;
                tally.first_failure.get_or_insert_with(|| err.to_string());
            }
        }
        i += 1;
    }
    tally
}

/// Runs [`CLIENTS`] client tasks until `deadline` and adds up what they saw.
async fn load(addr: std::net::SocketAddr, deadline: Instant) -> TestResult<Tally> {
    let mut tasks = tokio::task::JoinSet::new();
    for n in 0..CLIENTS {
        // Each task starts the mix elsewhere, so the requests in flight at one moment differ.
        tasks.spawn(drive(addr, n as u64 * 5, deadline));
    }
    let mut tally = Tally::default();
    while let Some(joined) = tasks.join_next().await {
        tally.add(joined?);
    }
    Ok(tally)
}

fn resident_memory(metrics: &Exposition) -> TestResult<f64> {
    metrics
        .value("process_resident_memory_bytes", &[])
        .ok_or_else(|| "no process_resident_memory_bytes in /metrics".into())
}

fn mib(bytes: f64) -> f64 {
    bytes / (1024.0 * 1024.0)
}

/// The soak's length: `ROUTEMETER_SOAK_SECS`, default 120.
fn soak_length() -> TestResult<Duration> {
    match std::env::var("ROUTEMETER_SOAK_SECS") {
        Ok(secs) => Ok(Duration::from_secs(secs.trim().parse().map_err(|_| {
            format!("ROUTEMETER_SOAK_SECS={secs:?} is not a number of seconds")
        })?)),
        Err(_) => Ok(Duration::from_secs(120)),
    }
}

/// Memory figures from the scrapes taken every second.
#[derive(Debug, Default)]
struct Scrapes {
    taken: usize,
    least_memory: f64,
    most_memory: f64,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "soak: run by .ci/run with --ignored"]
async fn soak_keeps_memory_flat_and_counts_exact() -> TestResult {
    let length = soak_length()?;
    let warm_up = (length / 4).clamp(Duration::from_secs(2), Duration::from_secs(15));
    let executable = release_accountservice()?;
    let (mut service, addr): (Running, _) = start_accountservice(&executable)?;
    let scraper = Client::new(addr);
    eventually(
        "the accountservice to answer",
        Duration::from_secs(30),
        || {
            let scraper = scraper.clone();
            async move { scraper.get("/health").await.ok().map(|_| ()) }
        },
    )
    .await?;

    // Warm-up: the same load, not counted, until memory settles into its steady state.
    let warm = load(addr, Instant::now() + warm_up).await?;
    let before = scraper.scrape().await?;
    let memory_before = resident_memory(&before)?;

    // The soak, with a scrape every second.
    let started = Instant::now();
    let deadline = started + length;
    let scrapes = tokio::spawn({
        let scraper = scraper.clone();
        async move {
            let mut scrapes = Scrapes {
                taken: 0,
                least_memory: f64::INFINITY,
                most_memory: 0.0,
            };
            let mut last_count = 0.0;
            let mut ticks = tokio::time::interval(Duration::from_secs(1));
            while Instant::now() < deadline && scrapes.taken < 10_000 {
                ticks.tick().await;
                let metrics = scraper.scrape().await?;
                let memory = resident_memory(&metrics)?;
                scrapes.least_memory = scrapes.least_memory.min(memory);
                scrapes.most_memory = scrapes.most_memory.max(memory);
                let count = GET_ACCOUNT.count(&metrics, "duration");
                if count < last_count {
                    return Err(
                        format!("GetAccount _count went back: {last_count} -> {count}").into(),
                    );
                }
                last_count = count;
                scrapes.taken += 1;
            }
            TestResult::Ok(scrapes)
        }
    });
    let tally = load(addr, deadline).await?;
    let elapsed = started.elapsed();
    let scrapes = scrapes.await??;
    let after = scraper.scrape().await?;
    let memory_after = resident_memory(&after)?;
    service.check_alive()?;

    let requests = tally.requests();
    let rate = requests as f64 / elapsed.as_secs_f64();
    let mut by_status: BTreeMap<u16, u64> = BTreeMap::new();
    for ((_, status), count) in &tally.answers {
        *by_status.entry(*status).or_default() += count;
    }
    let client_errors: u64 = by_status
        .iter()
        .filter(|(status, _)| **status >= 400)
        .map(|(_, count)| count)
        .sum();
    println!(
        "soak: {elapsed:.1?} after a {warm_up:?} warm-up of {} requests",
        warm.requests()
    );
    println!(
        "soak: {requests} requests from {CLIENTS} clients, {rate:.0} requests/s; answers by status {by_status:?} \
         ({client_errors} deliberate 4xx); {} without an answer{}",
        tally.failures,
        tally
            .first_failure
            .as_deref()
            .map(|err| format!(" (first: {err})"))
            .unwrap_or_default()
    );
    println!(
        "soak: resident memory {:.1} MiB after the warm-up, {:.1} MiB at the end ({:+.2} MiB); {:.1}..{:.1} MiB over \
         {} scrapes; a leak of {:.1} bytes per request would have exceeded the {:.0} MiB slack",
        mib(memory_before),
        mib(memory_after),
        mib(memory_after - memory_before),
        mib(scrapes.least_memory),
        mib(scrapes.most_memory),
        scrapes.taken,
        MEMORY_SLACK / requests.max(1) as f64,
        mib(MEMORY_SLACK)
    );

    if tally.failures > 0 {
        return Err(format!(
            "{} requests got no answer, so the counts cannot be compared",
            tally.failures
        )
        .into());
    }
    // Counts exact: per handler and status, what the clients received is what /metrics counted.
    for handler in HANDLERS {
        let sent: u64 = tally
            .answers
            .iter()
            .filter(|((name, _), _)| *name == handler.name)
            .map(|(_, count)| count)
            .sum();
        let counted = handler.requests_by_code(&after);
        let earlier = handler.requests_by_code(&before);
        let mut codes: Vec<&String> = counted.keys().chain(earlier.keys()).collect();
        codes.sort_unstable();
        codes.dedup();
        for code in codes {
            let delta = counted.get(code).copied().unwrap_or(0.0)
                - earlier.get(code).copied().unwrap_or(0.0);
            let status: Option<u16> = code.parse().ok();
            let expected = status
                .and_then(|status| tally.answers.get(&(handler.name, status)))
                .copied()
                .unwrap_or(0);
            assert_eq!(
                delta, expected as f64,
                "{} code {code}: counted {delta}, clients received {expected}",
                handler.name
            );
        }
        for (service_label, what) in [("duration", "timed"), ("size", "sized")] {
            let delta =
                handler.count(&after, service_label) - handler.count(&before, service_label);
            assert_eq!(
                delta, sent as f64,
                "{}: {delta} requests {what}, {sent} sent",
                handler.name
            );
        }
        assert_eq!(handler.in_flight(&after), Some(0.0), "{}", handler.name);
    }
    assert!(
        scrapes.taken as f64 >= elapsed.as_secs_f64() * 0.5,
        "only {} scrapes in {elapsed:?}",
        scrapes.taken
    );
    assert!(
        memory_after <= memory_before + MEMORY_SLACK,
        "resident memory grew from {:.1} MiB to {:.1} MiB",
        mib(memory_before),
        mib(memory_after)
    );
    Ok(())
}

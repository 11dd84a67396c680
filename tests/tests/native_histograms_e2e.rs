//! Native histograms end to end: a real Prometheus (with `--enable-feature=native-histograms,exemplar-storage`)
//! scrapes three replicas of a service with native histograms on (`src/bin/native_replica.rs`), over protobuf.
//!
//! - Every replica serves 300 requests whose durations the test chooses (20 ms to 300 ms, long enough that
//!   scheduling noise is small next to them) and reports how long each took by its own clock. That is more
//!   buckets at the finest schema than the default bound of 160, so each replica halves its resolution, and
//!   Prometheus sums the three at the coarsest schema among them. `histogram_quantile(0.99, sum(...))` must
//!   then agree with the exact p99 of those same durations within the error documented for the schema
//!   Prometheus stored (`2^(2^-schema) - 1`; for latencies spanning under five powers of two, schema 5 or finer:
//!   2.2% at most), plus one millisecond for the time between routemeter's clock and the handler's (measured
//!   to be far less on average).
//! - A handler with classic buckets only, in the same histogram family, is stored as classic series beside it.
//! - The trace ids sent with `traceparent` come back from `/api/v1/query_exemplars`, on the request counter and
//!   on the histogram.

use std::io::BufRead as _;
use std::net::SocketAddr;
use std::process::Command;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use http::Method;
use routemeter_tests::client::Client;
use routemeter_tests::process::{eventually, required_program, Running};
use routemeter_tests::prometheus::{encode, Prometheus};
use routemeter_tests::trace::traceparent;
use routemeter_tests::TestResult;
use serde_json::Value;

const REPLICAS: usize = 3;
const REQUESTS_PER_REPLICA: usize = 300;
/// How far routemeter's timing of one request may be from the handler's own, in seconds.
const CLOCK_ALLOWANCE: f64 = 0.001;
const CLASSIC_REQUESTS: usize = 5;
/// What Prometheus 2.42 with native histograms on asks a target for.
const PROMETHEUS_ACCEPT: &str = "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;\
                                 encoding=delimited,application/openmetrics-text;version=1.0.0;q=0.8,\
                                 application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
const SLEEP: &str = "native_replica_request_duration_seconds{handler=\"Sleep\"}";

/// Starts one replica; returns it (killed when dropped) and its address.
fn start_replica() -> TestResult<(Running, SocketAddr)> {
    let mut replica = Running::start(
        "native_replica",
        Command::new(env!("CARGO_BIN_EXE_native_replica")),
    )?;
    let mut line = String::new();
    replica.stdout()?.read_line(&mut line)?;
    let addr = line
        .trim()
        .strip_prefix("listening on http://")
        .ok_or_else(|| format!("the replica printed no address: {line:?}"))?
        .parse()?;
    Ok((replica, addr))
}

/// Durations from 20 ms to 300 ms, spread evenly on a log scale, in a shuffled order.
fn durations(count: usize) -> Vec<u64> {
    let mut state = 0x5eed_u64;
    (0..count)
        .map(|index| {
            // splitmix64, for an order that is not sorted.
            state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            let jitter = (z >> 11) as f64 / (1u64 << 53) as f64;
            let position = (index as f64 + jitter) / count as f64;
            (20_000.0 * 15f64.powf(position)) as u64
        })
        .collect()
}

/// `GET /sleep/{micros}`; the seconds the handler says it took.
async fn timed_request(client: Client, micros: u64, trace: Option<u128>) -> TestResult<f64> {
    let header = trace.map(traceparent);
    let headers: Vec<(&str, &str)> = header
        .iter()
        .map(|value| ("traceparent", value.as_str()))
        .collect();
    let reply = client
        .request(Method::GET, &format!("/sleep/{micros}"), &headers, "")
        .await?;
    if !reply.status.is_success() {
        return Err(format!("/sleep/{micros} answered {}", reply.status).into());
    }
    let nanos: f64 = reply
        .header("x-elapsed-ns")
        .ok_or("no x-elapsed-ns")?
        .parse()?;
    Ok(nanos / 1e9)
}

/// The one sample of an instant-vector query whose result is a float.
async fn scalar(prometheus: &Prometheus, query: &str) -> TestResult<f64> {
    let samples = prometheus.query(query).await?;
    match samples.as_slice() {
        [(_, value)] => Ok(*value),
        other => Err(format!("{query}: expected one sample, got {other:?}").into()),
    }
}

/// The trace ids of the exemplars Prometheus holds for `series`.
async fn exemplar_traces(prometheus: &Prometheus, series: &str) -> TestResult<Vec<String>> {
    let now = SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs_f64();
    let data = prometheus
        .api(&format!(
            "/api/v1/query_exemplars?query={}&start={}&end={}",
            encode(series),
            now - 600.0,
            now + 60.0
        ))
        .await?;
    Ok(data
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|series| series["exemplars"].as_array().cloned().unwrap_or_default())
        .filter_map(|exemplar| exemplar["labels"]["trace_id"].as_str().map(str::to_owned))
        .collect())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prometheus_sums_native_histograms_of_three_replicas() -> TestResult {
    let Some(prometheus_binary) = required_program("prometheus", "prometheus")? else {
        return Ok(());
    };
    let mut replicas = Vec::new();
    for _ in 0..REPLICAS {
        replicas.push(start_replica()?);
    }
    let clients: Vec<Client> = replicas
        .iter()
        .map(|(_, addr)| Client::new(*addr))
        .collect();

    // What a Prometheus with native histograms asks for is what it gets: protobuf.
    let asked = clients[0]
        .request(
            Method::GET,
            "/metrics",
            &[("accept", PROMETHEUS_ACCEPT), ("accept-encoding", "gzip")],
            "",
        )
        .await?;
    assert_eq!(
        asked.header("content-type"),
        Some(routemeter::PROTOBUF_CONTENT_TYPE)
    );
    assert_eq!(asked.header("content-encoding"), Some("gzip"));

    let targets: Vec<String> = replicas
        .iter()
        .map(|(_, addr)| format!("\"{addr}\""))
        .collect();
    let config = format!(
        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n  \
         - job_name: native-replicas\n    static_configs:\n      - targets: [{}]\n",
        targets.join(", ")
    );
    let prometheus = Prometheus::start_with_flags(
        &prometheus_binary,
        &config,
        &[],
        &["--enable-feature=native-histograms,exemplar-storage"],
    )
    .await?;
    eventually(
        "the three replicas to be up",
        Duration::from_secs(30),
        || async {
            let data = prometheus.api("/api/v1/targets").await.ok()?;
            let up = data["activeTargets"]
                .as_array()?
                .iter()
                .filter(|target| target["health"] == "up")
                .count();
            (up == REPLICAS).then_some(())
        },
    )
    .await?;

    // The load: every replica serves its share of the chosen durations, all at once.
    let chosen = durations(REPLICAS * REQUESTS_PER_REPLICA);
    let mut requests = tokio::task::JoinSet::new();
    for (index, micros) in chosen.iter().enumerate() {
        let client = clients[index % REPLICAS].clone();
        requests.spawn(timed_request(client, *micros, None));
    }
    let mut observed = Vec::new();
    while let Some(result) = requests.join_next().await {
        observed.push(result??);
    }
    for _ in 0..CLASSIC_REQUESTS {
        let reply = clients[0].get("/classic").await?;
        assert!(reply.status.is_success(), "/classic: {}", reply.status);
    }
    // Last, one traced request per replica: the latest exemplar of its counter, and the only one
    // of its histogram (it lands in the first bucket, the others are untraced).
    let traces: Vec<u128> = (0..REPLICAS as u128)
        .map(|replica| 0x0af7_6519_16cd_43dd_8448_eb21_1c80_319c_u128 + replica)
        .collect();
    for (client, trace) in clients.iter().zip(&traces) {
        observed.push(timed_request(client.clone(), 0, Some(*trace)).await?);
    }
    let total = observed.len();

    let count_query = format!("sum(histogram_count({SLEEP}))");
    eventually(
        "Prometheus to have scraped every request",
        Duration::from_secs(30),
        || async {
            let count = scalar(&prometheus, &count_query).await.ok()?;
            (count == total as f64).then_some(())
        },
    )
    .await?;

    // The sum across replicas, as Prometheus stores it: a native histogram; the width of its
    // buckets is what its schema allows histogram_quantile to err by.
    let summed = prometheus
        .api(&format!(
            "/api/v1/query?query={}",
            encode(&format!("sum({SLEEP})"))
        ))
        .await?;
    let histogram = &summed["result"][0]["histogram"][1];
    let buckets = histogram["buckets"]
        .as_array()
        .ok_or_else(|| format!("sum({SLEEP}) is not a native histogram: {summed}"))?;
    let bound = |bucket: &Value, index: usize| -> f64 {
        bucket[index]
            .as_str()
            .and_then(|text| text.parse().ok())
            .unwrap_or(f64::NAN)
    };
    let growth = buckets
        .iter()
        .filter(|bucket| bound(bucket, 1) > 0.0)
        .map(|bucket| bound(bucket, 2) / bound(bucket, 1) - 1.0)
        .fold(0.0, f64::max);
    let schema_5_error = 2f64.powf(1.0 / 32.0) - 1.0;
    assert!(
        growth > 0.0 && growth <= schema_5_error + 1e-9,
        "buckets grow by {growth}: coarser than schema 5 for latencies within four powers of two"
    );
    let stored_sum: f64 = histogram["sum"]
        .as_str()
        .and_then(|text| text.parse().ok())
        .ok_or("no sum")?;

    let p99 = scalar(
        &prometheus,
        &format!("histogram_quantile(0.99, sum({SLEEP}))"),
    )
    .await?;
    observed.sort_by(f64::total_cmp);
    let rank = (0.99 * total as f64).ceil() as usize;
    let exact = observed[rank - 1];
    // routemeter's clock brackets the handler's: its total exceeds theirs by the requests'
    // differences, which must be well within the allowance on average.
    let handlers_sum: f64 = observed.iter().sum();
    let mean_gap = (stored_sum - handlers_sum) / total as f64;
    assert!(
        (-1e-5..CLOCK_ALLOWANCE / 4.0).contains(&mean_gap),
        "routemeter's timing is {mean_gap} s from the handlers' on average"
    );
    let tolerance = growth + CLOCK_ALLOWANCE / exact;
    let error = (p99 - exact).abs() / exact;
    eprintln!(
        "p99 across {REPLICAS} replicas: {p99:.6} s from Prometheus, {exact:.6} s exact; error {:.3}%, \
         allowed {:.3}% (buckets {:.3}% wide, clocks {:.1} us apart on average)",
        error * 100.0,
        tolerance * 100.0,
        growth * 100.0,
        mean_gap * 1e6
    );
    assert!(
        error <= tolerance,
        "p99 {p99} vs exact {exact}: {error} > {tolerance}"
    );

    // The classic-only handler of the same family is stored as classic series.
    let classic = scalar(
        &prometheus,
        "sum(native_replica_request_duration_seconds_count{handler=\"Classic\"})",
    )
    .await?;
    assert_eq!(classic, CLASSIC_REQUESTS as f64);

    // The traces come back as exemplars of the counter and of the native histogram.
    let wanted: Vec<String> = traces.iter().map(|trace| format!("{trace:032x}")).collect();
    for series in ["native_replica_requests_total{handler=\"Sleep\"}", SLEEP] {
        let found = eventually(
            "the traces to come back as exemplars",
            Duration::from_secs(30),
            || async {
                let found = exemplar_traces(&prometheus, series).await.ok()?;
                wanted
                    .iter()
                    .all(|trace| found.contains(trace))
                    .then_some(found)
            },
        )
        .await
        .map_err(|err| format!("{series}: {err}"))?;
        assert!(
            found.iter().all(|trace| wanted.contains(trace)),
            "{series}: unexpected exemplars {found:?}"
        );
    }
    Ok(())
}

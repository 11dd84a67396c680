//! Discovery against a fake Docker Engine API serving recorded Swarm responses: the exact
//! file for each set of flags, the loop. Failures are in failures.rs.
//!
//! The expected files live in tests/fixtures/expected/. After a deliberate change of the
//! output, regenerate them with `SWARM_DISCOVERY_BLESS=1 cargo test -p swarm-discovery` and
//! review the diff.
// Test code: helpers outside #[test] functions fail loudly too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::time::Duration;

use support::{
    assert_output, config_at, docker_and_output, fixture, output_in_tempdir, tutorial_config,
    wait_for, Behaviour, FakeDocker,
};
use swarm_discovery::output::WriteOutcome;
use swarm_discovery::targets::{Discovery, SkipReason};
use swarm_discovery::{run, Poller};

async fn poll_once(docker: &FakeDocker, output: &Path, extra: &[&str]) -> WriteOutcome {
    let mut poller = Poller::new(tutorial_config(docker, output, extra));
    poller.poll().await.unwrap().written
}

/// Polls the recorded swarm once with only `flags` and compares the file: the flag tests' whole body.
async fn assert_flags_write(flags: &[&str], expected: &str) {
    let (docker, _dir, output) = docker_and_output(Behaviour::recorded());
    Poller::new(config_at(&docker.url(), &output, flags))
        .poll()
        .await
        .unwrap();
    assert_output(&output, expected);
}

/// Each service as `name=targets` or `name (why skipped)`, to compare a poll's report at a glance.
fn service_report(discovery: &Discovery) -> Vec<String> {
    discovery
        .services
        .iter()
        .map(|s| match &s.skipped {
            None => format!("{}={}", s.name, s.targets),
            Some(reason) => format!("{} ({reason})", s.name),
        })
        .collect()
}

#[tokio::test]
async fn published_mode_writes_the_tutorial_targets() {
    let (docker, _dir, output) = docker_and_output(Behaviour::recorded());
    let mut poller = Poller::new(tutorial_config(&docker, &output, &[]));
    let outcome = poller.poll().await.unwrap();
    assert_output(&output, "published.json");

    // accountservice x3, imageservice x1 (global, on the one node), quotes-service x1 (slot 2
    // is starting).
    assert_eq!(outcome.discovery.target_count(), 5);
    assert_eq!(
        service_report(&outcome.discovery),
        [
            "accountservice=3",
            "dns-cache (no published TCP port)",
            "grafana (ignored)",
            "imageservice=1",
            "ledger (no address on the network)",
            "prometheus (ignored)",
            "quotes-service=1",
            "worker (no published TCP port)",
        ]
    );

    // One call each: services are looked up in one list, not once per task.
    let requests = docker.requests();
    assert_eq!(requests.len(), 2, "{requests:?}");
    let tasks = requests.iter().find(|r| r.contains("/tasks")).unwrap();
    assert!(
        tasks.ends_with("/tasks?filters=%7B%22desired-state%22%3A%5B%22running%22%5D%7D"),
        "{tasks}"
    );
    assert!(
        requests.iter().any(|r| r.ends_with("/services")),
        "{requests:?}"
    );
}

#[tokio::test]
async fn target_mode_uses_the_container_port() {
    let (docker, _dir, output) = docker_and_output(Behaviour::recorded());
    poll_once(&docker, &output, &["--port-mode", "target"]).await;
    // Same tasks as published mode; quotes-service (published 18080) is scraped on 8080.
    assert_output(&output, "target.json");
}

#[tokio::test]
async fn without_an_ignore_list_prometheus_and_grafana_are_targets() {
    assert_flags_write(&["--network", "my_network"], "not-ignored.json").await;
}

#[tokio::test]
async fn another_network_gives_the_addresses_on_it() {
    // By network ID this time: backend's.
    let flags = [
        "--network",
        "qgzdkr50ufkzhek0wq7xnsvcv",
        "--ignored-services=prometheus,grafana",
    ];
    assert_flags_write(&flags, "backend.json").await;
}

#[tokio::test]
async fn without_a_network_each_task_uses_its_first_non_ingress_one() {
    let flags = ["--ignored-services", "prometheus, grafana"];
    assert_flags_write(&flags, "first-network.json").await;
}

/// The recorded swarm as `docker stack deploy -c deploy/swarm-stack.yml monitoring` leaves
/// it (services and a network named `monitoring_*`), plus two services created one by one
/// on an external network `my_network`.
fn stack_swarm() -> Behaviour {
    Behaviour::Serve {
        tasks: fixture("tasks-stack.json"),
        services: fixture("services-stack.json"),
    }
}

#[tokio::test]
async fn a_stack_keeps_its_service_names_by_default() {
    let (docker, _dir, output) = docker_and_output(stack_swarm());
    let config = config_at(
        &docker.url(),
        &output,
        &["--ignored-services=monitoring_prometheus,monitoring_grafana"],
    );
    Poller::new(config).poll().await.unwrap();
    // task="monitoring_accountservice": the tutorial's queries would not match.
    assert_output(&output, "stack-full-names.json");
    // The short names are not ignored without --strip-stack-prefix.
    let config = config_at(&docker.url(), &output, &["--ignored-services=prometheus"]);
    let found = Poller::new(config).poll().await.unwrap().discovery;
    assert!(found
        .services
        .iter()
        .all(|service| service.skipped != Some(SkipReason::Ignored)));
}

#[tokio::test]
async fn strip_stack_prefix_gives_the_names_of_the_stack_file() {
    let (docker, _dir, output) = docker_and_output(stack_swarm());
    let url = docker.url();
    // The stack file's flags, then the same with the full names: one result.
    for flags in [
        &[
            "--strip-stack-prefix",
            "--network=my_network",
            "--ignored-services=prometheus,grafana,swarm-discovery",
        ][..],
        &[
            "--strip-stack-prefix",
            "--network=my_network",
            "--ignored-services=monitoring_prometheus,monitoring_grafana",
        ],
    ] {
        let outcome = Poller::new(config_at(&url, &output, flags))
            .poll()
            .await
            .unwrap();
        // accountservice is on the stack's network, quotes-service and legacy_reports (no
        // stack label: its name stays) on the external one.
        assert_output(&output, "stack-stripped.json");
        assert_eq!(
            service_report(&outcome.discovery)[..3],
            [
                "monitoring_accountservice=3",
                "monitoring_grafana (ignored)",
                "legacy_reports=1"
            ],
            "{flags:?}"
        );
    }
}

#[tokio::test]
async fn an_unchanged_swarm_leaves_the_file_alone() {
    let (docker, _dir, output) = docker_and_output(Behaviour::recorded());
    let mut poller = Poller::new(tutorial_config(&docker, &output, &[]));
    let first = poller.poll().await.unwrap().written;
    assert_eq!(
        first,
        WriteOutcome::Written {
            created_directory: false
        }
    );
    let inode = fs::metadata(&output).unwrap().ino();
    let second = poller.poll().await.unwrap().written;
    assert_eq!(second, WriteOutcome::Unchanged);
    assert_eq!(fs::metadata(&output).unwrap().ino(), inode);
}

#[tokio::test]
async fn a_missing_output_directory_is_created() {
    let (docker, dir, _) = docker_and_output(Behaviour::recorded());
    let output = dir.path().join("etc/swarm-endpoints/swarm-endpoints.json");
    let written = poll_once(&docker, &output, &[]).await;
    assert_eq!(
        written,
        WriteOutcome::Written {
            created_directory: true
        }
    );
    assert_output(&output, "published.json");
}

#[tokio::test]
async fn the_unix_socket_transport_works() {
    let docker = FakeDocker::unix(Behaviour::recorded());
    let (_dir, output) = output_in_tempdir();
    poll_once(&docker, &output, &[]).await;
    assert_output(&output, "published.json");
    assert_eq!(docker.requests().len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_loop_polls_at_start_up_survives_failures_and_stops_on_shutdown() {
    let (docker, _dir, output) = docker_and_output(Behaviour::Fail(500));
    let mut config = tutorial_config(&docker, &output, &["--interval", "100ms"]);
    config.request_timeout = Duration::from_millis(500);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(run(config, async {
        let _ = stopped.await;
    }));

    // Failing polls write nothing, and the loop keeps going.
    let limit = Duration::from_secs(10);
    let polled = |count: usize| {
        let docker = &docker;
        move || docker.connections() >= count
    };
    assert!(wait_for(limit, polled(4)));
    assert!(!output.exists());

    docker.set(Behaviour::recorded());
    assert!(wait_for(limit, || output.exists()));
    let good = fs::read_to_string(&output).unwrap();
    assert_eq!(good, fixture("expected/published.json"));

    docker.set(Behaviour::Close);
    let seen = docker.connections();
    assert!(wait_for(limit, polled(seen + 3)));
    assert_eq!(fs::read_to_string(&output).unwrap(), good);

    docker.set(Behaviour::serve("tasks-scaled.json"));
    let scaled = fixture("expected/published-scaled.json");
    assert!(wait_for(limit, || fs::read_to_string(&output).unwrap() == scaled));

    stop.send(()).unwrap();
    let result = tokio::time::timeout(limit, running).await.unwrap().unwrap();
    assert!(result.is_ok(), "{result:?}");
}

#[tokio::test]
async fn the_first_poll_happens_at_start_up() {
    let (docker, _dir, output) = docker_and_output(Behaviour::recorded());
    // A one-hour interval: only the start-up poll can write the file within the limit.
    let config = tutorial_config(&docker, &output, &["--interval", "1h"]);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(run(config, async {
        let _ = stopped.await;
    }));
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !output.exists() && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_output(&output, "published.json");
    stop.send(()).unwrap();
    running.await.unwrap().unwrap();
}

//! The tutorial's deployment on one machine for real: `deploy/docker-compose.yml` brought up with
//! the compose implementation installed here (Debian's `docker-compose`, or the `docker compose`
//! plugin), its three accountservice replicas found by Prometheus' DNS discovery, and the
//! tutorial's queries answered.
//!
//! Grafana is not started (no registry serves its image here): the test names the services it
//! brings up, as a user may. Without Docker the test says so and passes, except under `CI`, where
//! it fails. `dockerd` is started when none runs, and stopped at the end. The project, its images
//! and its port carry names of this run, and are removed.

use std::time::{Duration, Instant};

use routemeter_tests::deployment::{check_dashboard_panels, check_tutorial_queries, send_load};
use routemeter_tests::docker::{
    accountservice_image, compose_replicas, instances, prometheus_image, run_id, static_binaries,
    Compose, ComposeProject, ContainerPrometheus, Engine,
};
use routemeter_tests::process::{eventually, free_port, workspace_root};
use routemeter_tests::TestResult;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_compose_file_runs_three_replicas_that_prometheus_finds_by_dns() -> TestResult {
    let started = Instant::now();
    let Some(engine) = Engine::connect_or_start()? else {
        return Ok(());
    };
    let Some(compose) = Compose::find(engine.docker())? else {
        return Ok(());
    };
    let run = run_id();
    let Some(prometheus_image) = prometheus_image(engine.docker(), &run)? else {
        return Ok(());
    };
    let binaries = static_binaries()?;
    let accountservice_image = accountservice_image(engine.docker(), &binaries, &run)?;

    // The compose file as users bring it up, with the test's images and a free host port.
    let docker = engine
        .docker()
        .with_env("ACCOUNTSERVICE_IMAGE", accountservice_image.tag())
        .with_env("PROMETHEUS_IMAGE", prometheus_image.tag())
        .with_env("PROMETHEUS_PORT", &free_port()?.to_string());
    let file = workspace_root().join("deploy/docker-compose.yml");
    let name = format!("routemeter{run}");
    let mut project = ComposeProject::up(
        &docker,
        &compose,
        &file,
        &name,
        &["accountservice", "prometheus"],
    )?;

    let replicas = eventually(
        "3 accountservice containers",
        Duration::from_secs(60),
        || async {
            let replicas = compose_replicas(&docker, &name, "accountservice").ok()?;
            (replicas.len() == 3).then_some(replicas)
        },
    )
    .await?;
    let prometheus = eventually(
        "the Prometheus container",
        Duration::from_secs(60),
        || async {
            let found = compose_replicas(&docker, &name, "prometheus").ok()?;
            found.first().map(|container| container.pid)
        },
    )
    .await?;
    let prometheus = ContainerPrometheus::in_process(prometheus);
    let expected = instances(&replicas);
    eventually(
        "Prometheus to find the 3 replicas by DNS",
        Duration::from_secs(60),
        || async { prometheus.sees_exactly(&expected).await.ok()?.then_some(()) },
    )
    .await?;
    eprintln!("3 replicas scraped after {:?}", started.elapsed());

    send_load(&replicas).await?;
    check_tutorial_queries(&prometheus, &replicas).await?;
    let panels = check_dashboard_panels(&prometheus).await?;
    assert!(panels >= 7, "{panels} panel queries");

    // Down, with its volumes and network: nothing of the project is left, nor of its images.
    project.down()?;
    assert_eq!(project.leftovers()?, Vec::<String>::new());
    for image in [accountservice_image, prometheus_image] {
        image.remove()?;
    }
    let images = docker.lines(&[
        "image",
        "ls",
        "--quiet",
        "--filter",
        &format!("reference=routemeter-test-*:{run}"),
    ])?;
    assert_eq!(images, Vec::<String>::new());
    eprintln!("compose test done in {:?}", started.elapsed());
    Ok(())
}

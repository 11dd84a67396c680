//! The tutorial's Swarm deployment for real: `deploy/swarm-stack.yml` deployed with `docker stack
//! deploy` on a real engine (a single-manager swarm), swarm-discovery reading the real Engine API
//! over the mounted socket, and the stack's own Prometheus scraping every replica.
//!
//! Grafana alone is left out (a derived stack file without it): no registry serves its image here.
//! Without Docker the test says so and passes, except under `CI`, where it fails. `dockerd` is
//! started when none runs, and a swarm initialised when the engine is in none; both are undone at
//! the end. Everything the test creates carries names of its own run, and is removed.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use routemeter_tests::deployment::{check_dashboard_panels, check_tutorial_queries, send_load};
use routemeter_tests::docker::{
    accountservice_image, instances, prometheus_image, run_id, static_binaries,
    swarm_discovery_image, swarm_replicas, ContainerPrometheus, Docker, Engine, Replica, Stack,
    Swarm,
};
use routemeter_tests::process::{eventually, workspace_root};
use routemeter_tests::TestResult;
use serde_json::Value;

/// swarm-discovery's polling interval in the stack file (the program's default).
const DISCOVERY_INTERVAL: Duration = Duration::from_secs(15);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_swarm_stack_is_monitored_through_scaling_failures_and_restarts() -> TestResult {
    let started = Instant::now();
    let Some(engine) = Engine::connect_or_start()? else {
        return Ok(());
    };
    let run = run_id();
    let Some(prometheus_image) = prometheus_image(engine.docker(), &run)? else {
        return Ok(());
    };
    let _swarm = Swarm::existing_or_init(engine.docker())?;
    let binaries = static_binaries()?;
    let accountservice_image = accountservice_image(engine.docker(), &binaries, &run)?;
    let discovery_image = swarm_discovery_image(engine.docker(), &binaries, &run)?;
    eprintln!(
        "engine, swarm and images ready after {:?}",
        started.elapsed()
    );

    // The stack file as users deploy it, with the test's images.
    let docker = engine
        .docker()
        .with_env("ACCOUNTSERVICE_IMAGE", accountservice_image.tag())
        .with_env("SWARM_DISCOVERY_IMAGE", discovery_image.tag())
        .with_env("PROMETHEUS_IMAGE", prometheus_image.tag());
    let stack_dir = tempfile::tempdir()?;
    let stack_file = stack_dir.path().join("swarm-stack.yml");
    std::fs::write(
        &stack_file,
        without_grafana(&workspace_root().join("deploy"))?,
    )?;
    let mut stack = Stack::deploy(&docker, &stack_file, &format!("routemeter{run}"))?;
    let network = stack.scoped("my_network");
    let accountservice = stack.scoped("accountservice");
    let discovery = stack.scoped("swarm-discovery");

    // Every replica, found by swarm-discovery through the Engine API, is scraped.
    let replicas = running(&docker, &accountservice, &network, 3).await?;
    let prometheus = running(&docker, &stack.scoped("prometheus"), &network, 1).await?;
    let prometheus = ContainerPrometheus::in_process(prometheus[0].pid);
    eventually(
        "Prometheus to scrape the 3 replicas swarm-discovery found",
        Duration::from_secs(120),
        || sees(&prometheus, &replicas),
    )
    .await?;
    let endpoints = endpoints_file(&docker, &stack)?;
    assert_eq!(file_targets(&endpoints)?, instances(&replicas));
    eprintln!("3 replicas scraped after {:?}", started.elapsed());

    // The tutorial's load on each replica, its four queries and every dashboard panel.
    send_load(&replicas).await?;
    check_tutorial_queries(&prometheus, &replicas).await?;
    let panels = check_dashboard_panels(&prometheus).await?;
    assert!(panels >= 7, "{panels} panel queries");

    // Scaling: Prometheus follows within two discovery intervals of the swarm converging.
    let mut replicas = replicas;
    for count in [5, 2] {
        docker.run(&[
            "service",
            "scale",
            "--detach=false",
            &format!("{accountservice}={count}"),
        ])?;
        let converged = Instant::now();
        replicas = running(&docker, &accountservice, &network, count).await?;
        eventually(
            &format!("Prometheus to follow the scaling to {count}"),
            2 * DISCOVERY_INTERVAL,
            || sees(&prometheus, &replicas),
        )
        .await?;
        eprintln!(
            "scaled to {count}: Prometheus followed in {:?}",
            converged.elapsed()
        );
    }

    // A replica's container dies: the swarm replaces it, and the replacement is found.
    let killed = replicas[0].container.clone();
    docker.run(&["kill", &killed])?;
    replicas = eventually(
        "the swarm to replace the killed replica",
        Duration::from_secs(90),
        || async {
            let now = swarm_replicas(&docker, &accountservice, &network).ok()?;
            (now.len() == 2 && now.iter().all(|r| r.container != killed)).then_some(now)
        },
    )
    .await?;
    let replaced = Instant::now();
    eventually(
        "Prometheus to find the replacement",
        2 * DISCOVERY_INTERVAL,
        || sees(&prometheus, &replicas),
    )
    .await?;
    eprintln!("replacement found in {:?}", replaced.elapsed());

    // swarm-discovery restarts: the target file stays, whole, and Prometheus keeps its targets.
    let expected = instances(&replicas);
    let old_discovery = running(&docker, &discovery, &network, 1).await?;
    let watch = FileWatch::start(endpoints.clone(), expected.clone());
    docker.run(&["service", "update", "--force", "--detach=false", &discovery])?;
    let new_discovery = running(&docker, &discovery, &network, 1).await?;
    assert_ne!(new_discovery[0].container, old_discovery[0].container);
    eventually(
        "the new swarm-discovery to poll",
        2 * DISCOVERY_INTERVAL,
        || async {
            // The container's standard error comes back on the client's.
            let logs = docker
                .command(&["logs", &new_discovery[0].container])
                .output()
                .ok()?;
            String::from_utf8_lossy(&logs.stderr)
                .contains("found 2 targets")
                .then_some(())
        },
    )
    .await?;
    let (reads, faults) = watch.stop();
    assert!(reads > 10, "the file was read only {reads} times");
    assert!(
        faults.is_empty(),
        "while swarm-discovery restarted: {faults:?}"
    );
    assert!(sees(&prometheus, &replicas).await.is_some());

    // Removing the stack leaves nothing of it, nor of its images.
    stack.remove()?;
    assert_eq!(stack.leftovers()?, Vec::<String>::new());
    for image in [accountservice_image, discovery_image, prometheus_image] {
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
    eprintln!("swarm test done in {:?}", started.elapsed());
    Ok(())
}

/// Waits up to two minutes until `service` has exactly `count` running tasks; returns them.
async fn running(
    docker: &Docker,
    service: &str,
    network: &str,
    count: usize,
) -> TestResult<Vec<Replica>> {
    eventually(
        &format!("{count} running tasks of {service}"),
        Duration::from_secs(120),
        || async {
            let replicas = swarm_replicas(docker, service, network).ok()?;
            (replicas.len() == count).then_some(replicas)
        },
    )
    .await
}

/// `Some` when Prometheus scrapes exactly `replicas`, for [`eventually`].
async fn sees(prometheus: &ContainerPrometheus, replicas: &[Replica]) -> Option<()> {
    let expected = instances(replicas);
    prometheus.sees_exactly(&expected).await.ok()?.then_some(())
}

/// The stack file with its Grafana service and Grafana's configs taken out, and the configs'
/// relative paths made absolute (the derived file lives elsewhere).
fn without_grafana(deploy: &Path) -> TestResult<String> {
    let original = std::fs::read_to_string(deploy.join("swarm-stack.yml"))?;
    let mut kept = Vec::new();
    let mut removed = Vec::new();
    let mut skipping = false;
    for line in original.lines() {
        let indent = line.len() - line.trim_start().len();
        // A key two spaces in (a service, a network, a config) starts or ends a block.
        if indent <= 2 && !line.trim().is_empty() {
            skipping = indent == 2 && line.trim_start().starts_with("grafana");
            if skipping {
                removed.push(line.trim().to_owned());
            }
        }
        if !skipping {
            kept.push(line.replace("file: ./", &format!("file: {}/", deploy.display())));
        }
    }
    let expected = [
        "grafana:",
        "grafana_datasource:",
        "grafana_dashboards:",
        "grafana_dashboard_json:",
    ];
    if removed != expected {
        return Err(format!("the stack file's Grafana parts changed: {removed:?}").into());
    }
    Ok(kept.join("\n") + "\n")
}

/// The discovery program's output on the host: the file in the stack's volume.
fn endpoints_file(docker: &Docker, stack: &Stack) -> TestResult<std::path::PathBuf> {
    let volume = stack.scoped("swarm-endpoints");
    let mountpoint = docker.run(&["volume", "inspect", "--format", "{{.Mountpoint}}", &volume])?;
    Ok(Path::new(mountpoint.trim()).join("swarm-endpoints.json"))
}

/// The `task="accountservice"` targets of a file_sd file, sorted.
fn file_targets(path: &Path) -> TestResult<Vec<String>> {
    let groups: Value = serde_json::from_str(&std::fs::read_to_string(path)?)?;
    let mut targets: Vec<String> = groups
        .as_array()
        .ok_or("the target file is not a list")?
        .iter()
        .filter(|group| group["labels"]["task"] == "accountservice")
        .flat_map(|group| group["targets"].as_array().cloned().unwrap_or_default())
        .filter_map(|target| target.as_str().map(str::to_owned))
        .collect();
    targets.sort();
    Ok(targets)
}

/// Reads the target file every 50 ms on a thread of its own, and notes every read that fails or
/// finds other targets than `expected`.
struct FileWatch {
    stop: Arc<AtomicBool>,
    faults: Arc<Mutex<Vec<String>>>,
    thread: std::thread::JoinHandle<usize>,
}

impl FileWatch {
    fn start(path: std::path::PathBuf, expected: Vec<String>) -> FileWatch {
        let stop = Arc::new(AtomicBool::new(false));
        let faults = Arc::new(Mutex::new(Vec::new()));
        let thread = {
            let (stop, faults) = (Arc::clone(&stop), Arc::clone(&faults));
            std::thread::spawn(move || {
                let mut reads = 0;
                while !stop.load(Ordering::Relaxed) {
                    reads += 1;
                    match file_targets(&path) {
                        Ok(targets) if targets == expected => {}
                        Ok(targets) => faults
                            .lock()
                            .unwrap_or_else(PoisonError::into_inner)
                            .push(format!("read {reads}: {targets:?}")),
                        Err(err) => faults
                            .lock()
                            .unwrap_or_else(PoisonError::into_inner)
                            .push(format!("read {reads}: {err}")),
                    }
                    std::thread::sleep(Duration::from_millis(50));
                }
                reads
            })
        };
        FileWatch {
            stop,
            faults,
            thread,
        }
    }

    /// Stops watching; returns how many reads were made and what went wrong.
    fn stop(self) -> (usize, Vec<String>) {
        self.stop.store(true, Ordering::Relaxed);
        let reads = self.thread.join().unwrap_or(0);
        let faults =
            std::mem::take(&mut *self.faults.lock().unwrap_or_else(PoisonError::into_inner));
        (reads, faults)
    }
}

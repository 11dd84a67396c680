//! The running containers of a swarm or compose service, found through the engine.

use std::net::{IpAddr, SocketAddr};

use super::cli::Docker;
use super::namespace::ContainerPort;
use crate::TestResult;

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

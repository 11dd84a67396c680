//! The Prometheus of a deployment, queried over its API inside its container.

use serde_json::Value;

use super::namespace::ContainerPort;
use crate::prometheus::{api_data, encode, vector};
use crate::TestResult;

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

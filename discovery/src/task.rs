//! The part of a Swarm task (`GET /tasks`) that discovery needs.
//!
//! bollard's generated `Task` model has no `NetworksAttachments`: Docker's swagger file never
//! declared the field although the daemon always sends it (bollard issue #767, moby PR
//! #53082). Without it a task has no address, so the tasks response is read into this small
//! model instead. States are kept as strings so that a state added by a newer daemon cannot
//! make the whole response fail to parse.

use serde::Deserialize;

/// One task, as the Docker Engine API reports it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct SwarmTask {
    /// Task ID.
    #[serde(rename = "ID")]
    pub id: String,
    /// ID of the service the task belongs to.
    #[serde(rename = "ServiceID")]
    pub service_id: String,
    /// Replica slot (1, 2, ...) of a replicated service; absent for global services.
    #[serde(rename = "Slot")]
    pub slot: Option<u64>,
    /// ID of the node the task is scheduled on.
    #[serde(rename = "NodeID")]
    pub node_id: Option<String>,
    /// The state the orchestrator wants, e.g. `running` or `shutdown`.
    #[serde(rename = "DesiredState")]
    pub desired_state: String,
    /// The state the task is in.
    #[serde(rename = "Status")]
    pub status: TaskStatus,
    /// The networks the task is attached to, with its addresses on each.
    #[serde(rename = "NetworksAttachments", deserialize_with = "null_as_empty")]
    pub networks_attachments: Vec<NetworkAttachment>,
}

/// The observed status of a task.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct TaskStatus {
    /// e.g. `running`, `starting`, `shutdown`, `failed`.
    #[serde(rename = "State")]
    pub state: String,
}

/// A task's attachment to one network.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct NetworkAttachment {
    /// The network.
    #[serde(rename = "Network")]
    pub network: AttachedNetwork,
    /// The task's addresses on it, in CIDR form (`10.0.1.5/24`).
    #[serde(rename = "Addresses", deserialize_with = "null_as_empty")]
    pub addresses: Vec<String>,
}

/// The network of an attachment.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct AttachedNetwork {
    /// Network ID.
    #[serde(rename = "ID")]
    pub id: String,
    /// The network's specification.
    #[serde(rename = "Spec")]
    pub spec: NetworkSpec,
}

/// The part of a network specification discovery uses.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct NetworkSpec {
    /// Network name, e.g. `my_network` (stacks prefix it: `mystack_my_network`).
    #[serde(rename = "Name")]
    pub name: String,
    /// True for the routing-mesh network, whose addresses Prometheus cannot scrape.
    #[serde(rename = "Ingress")]
    pub ingress: bool,
}

impl SwarmTask {
    /// True when the task is meant to run and does run.
    pub fn is_running(&self) -> bool {
        self.desired_state == "running" && self.status.state == "running"
    }
}

impl AttachedNetwork {
    /// True when `wanted` is this network's ID or name.
    pub fn matches(&self, wanted: &str) -> bool {
        self.id == wanted || self.spec.name == wanted
    }

    /// True for the ingress (routing-mesh) network. Old daemons omit the `Ingress` flag, so
    /// the name is checked as well.
    pub fn is_ingress(&self) -> bool {
        self.spec.ingress || self.spec.name == "ingress"
    }
}

// Go encodes a nil slice as `null`; treat it as empty.
fn null_as_empty<'de, D, T>(deserializer: D) -> Result<Vec<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Ok(Option::<Vec<T>>::deserialize(deserializer)?.unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_fields_docker_sends() {
        let json = r#"{
            "ID": "t1", "ServiceID": "s1", "Slot": 2, "NodeID": "n1",
            "Status": {"State": "running", "Message": "started"},
            "DesiredState": "running",
            "NetworksAttachments": [{
                "Network": {"ID": "net1", "Spec": {"Name": "my_network", "Scope": "swarm"}},
                "Addresses": ["127.0.10.2/24"]
            }],
            "Spec": {"ContainerSpec": {"Image": "x"}}
        }"#;
        let task: SwarmTask = serde_json::from_str(json).unwrap();
        assert!(task.is_running());
        assert_eq!(task.slot, Some(2));
        assert_eq!(task.networks_attachments[0].addresses, ["127.0.10.2/24"]);
        assert!(task.networks_attachments[0].network.matches("my_network"));
        assert!(task.networks_attachments[0].network.matches("net1"));
        assert!(!task.networks_attachments[0].network.is_ingress());
    }

    #[test]
    fn tolerates_nulls_and_missing_fields() {
        let json = r#"{"ID": "t1", "NetworksAttachments": null, "Status": {"State": "new"}}"#;
        let task: SwarmTask = serde_json::from_str(json).unwrap();
        assert!(task.networks_attachments.is_empty());
        assert!(!task.is_running());
        assert_eq!(task.slot, None);
    }
}

//! The pure mapping from Swarm tasks and services to Prometheus target groups.
//!
//! One group per running task. Its labels are `task` (the service name, as in the original
//! program, so `{task="accountservice"}` still selects every replica), `service_id`,
//! `node_id`, and `slot` for replicated services. Per-task labels can only be expressed with
//! one group per task: a file_sd group's labels apply to all of its targets.
//!
//! With [`Selection::strip_stack_prefix`], a service deployed by `docker stack deploy`
//! (`monitoring_accountservice`, labelled `com.docker.stack.namespace=monitoring`) gets the
//! `task` label of its name in the stack file (`accountservice`), so queries written for
//! services created one by one keep working.
//!
//! No label is called `service`: the tutorial's metrics carry `service="duration"|"size"`, and a
//! target label of the same name would make Prometheus rename those to `exported_service`.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;
use std::net::IpAddr;

use bollard::models::{EndpointPortConfig, EndpointPortConfigProtocolEnum, Service};
use serde::Serialize;

use crate::task::{NetworkAttachment, SwarmTask};

/// Label holding the service name (the original program's only label).
pub const LABEL_TASK: &str = "task";
/// Label holding the Swarm service ID.
pub const LABEL_SERVICE_ID: &str = "service_id";
/// Label holding the replica slot; absent for global services.
pub const LABEL_SLOT: &str = "slot";
/// Label holding the ID of the node the task runs on.
pub const LABEL_NODE_ID: &str = "node_id";

/// The service and network label `docker stack deploy` sets to the stack's name.
pub const STACK_NAMESPACE_LABEL: &str = "com.docker.stack.namespace";

/// Which port of a service becomes the target's port.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum PortMode {
    /// The service's first published TCP port, as the original program did. The task's
    /// overlay address only answers on it when the published and target ports are equal.
    #[default]
    Published,
    /// The first TCP port's target port: the port the container listens on, which is what a
    /// task's overlay address actually serves.
    Target,
}

impl fmt::Display for PortMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PortMode::Published => "published",
            PortMode::Target => "target",
        })
    }
}

/// What to turn into targets.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Selection {
    /// Network (name or ID) whose task addresses to use; `None` takes each task's first
    /// attachment that is not the ingress network.
    pub network: Option<String>,
    /// Service names to leave out.
    pub ignored: BTreeSet<String>,
    /// Which port to use.
    pub port_mode: PortMode,
    /// Strip `<stack>_` from the `task` label of services deployed as part of a stack.
    /// Ignored names then match the full or the stripped name, and [`Selection::network`]
    /// also matches `<stack>_<network>`, the name a stack gives the networks it creates.
    pub strip_stack_prefix: bool,
}

/// One entry of a Prometheus `file_sd_configs` file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TargetGroup {
    /// `ip:port` addresses to scrape.
    pub targets: Vec<String>,
    /// Labels attached to every series scraped from these targets.
    pub labels: BTreeMap<String, String>,
}

/// Why a service with running tasks produced no target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SkipReason {
    /// Named in `--ignored-services`.
    Ignored,
    /// No TCP port that fits the port mode.
    NoPort(PortMode),
    /// None of its running tasks has an address on the chosen network.
    NoAddress,
}

impl fmt::Display for SkipReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SkipReason::Ignored => f.write_str("ignored"),
            SkipReason::NoPort(PortMode::Published) => f.write_str("no published TCP port"),
            SkipReason::NoPort(PortMode::Target) => f.write_str("no TCP port"),
            SkipReason::NoAddress => f.write_str("no address on the network"),
        }
    }
}

/// What one poll found for one service that has running tasks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceReport {
    /// Service name, as Docker knows it (with the stack prefix, if any).
    pub name: String,
    /// Running tasks seen.
    pub running: usize,
    /// Targets written.
    pub targets: usize,
    /// Why nothing was written, when nothing was.
    pub skipped: Option<SkipReason>,
}

/// The result of mapping one snapshot of the swarm.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Discovery {
    /// Target groups in output order: by `task` label (the service name), service ID, then
    /// slot, node and address.
    pub groups: Vec<TargetGroup>,
    /// One report per service with running tasks, in the same order.
    pub services: Vec<ServiceReport>,
    /// Running tasks whose service was not in the services list (removed in between).
    pub orphans: usize,
}

impl Discovery {
    /// Number of targets over all groups.
    pub fn target_count(&self) -> usize {
        self.groups.iter().map(|group| group.targets.len()).sum()
    }
}

/// Maps running tasks to target groups.
///
/// Tasks that are not running (desired or observed state) are ignored, so the result does
/// not depend on the daemon having applied the `desired-state` filter.
pub fn discover(tasks: &[SwarmTask], services: &[Service], selection: &Selection) -> Discovery {
    let by_id: HashMap<&str, &Service> = services
        .iter()
        .filter_map(|service| Some((service.id.as_deref()?, service)))
        .collect();

    // Running tasks per service, keyed by label name so the output is ordered by it.
    let mut per_service: BTreeMap<(&str, &str), Vec<&SwarmTask>> = BTreeMap::new();
    let mut orphans = 0;
    for task in tasks.iter().filter(|task| task.is_running()) {
        match by_id.get(task.service_id.as_str()) {
            Some(service) => {
                let names = Names::of(service, selection.strip_stack_prefix);
                per_service
                    .entry((names.label, task.service_id.as_str()))
                    .or_default()
                    .push(task);
            }
            None => orphans += 1,
        }
    }

    let mut discovery = Discovery {
        orphans,
        ..Discovery::default()
    };
    for ((_, service_id), tasks) in per_service {
        // Every key comes from a task whose service is in `by_id`.
        let Some(service) = by_id.get(service_id).copied() else {
            continue;
        };
        let names = Names::of(service, selection.strip_stack_prefix);
        let mut report = ServiceReport {
            name: names.full.to_string(),
            running: tasks.len(),
            targets: 0,
            skipped: None,
        };
        let network = selection
            .network
            .as_deref()
            .map(|wanted| WantedNetwork::new(wanted, names.stack));
        if selection.ignored.contains(names.full) || selection.ignored.contains(names.label) {
            report.skipped = Some(SkipReason::Ignored);
        } else if let Some(port) = port_of(service, selection.port_mode) {
            let mut groups: Vec<(SortKey, TargetGroup)> = tasks
                .iter()
                .filter_map(|task| {
                    let address = address_of(task, network.as_ref())?;
                    Some(group_for(task, names.label, address, port))
                })
                .collect();
            groups.sort_by(|a, b| a.0.cmp(&b.0));
            report.targets = groups.len();
            if groups.is_empty() {
                report.skipped = Some(SkipReason::NoAddress);
            }
            discovery
                .groups
                .extend(groups.into_iter().map(|(_, group)| group));
        } else {
            report.skipped = Some(SkipReason::NoPort(selection.port_mode));
        }
        discovery.services.push(report);
    }
    discovery
}

// Slot as a number so that slot 10 sorts after slot 9; global tasks (no slot) by node.
type SortKey = (u64, String, String);

fn group_for(task: &SwarmTask, name: &str, address: IpAddr, port: u16) -> (SortKey, TargetGroup) {
    let target = match address {
        IpAddr::V4(v4) => format!("{v4}:{port}"),
        IpAddr::V6(v6) => format!("[{v6}]:{port}"),
    };
    let slot = task.slot.filter(|slot| *slot > 0);
    let node = task.node_id.clone().unwrap_or_default();
    let mut labels = BTreeMap::new();
    labels.insert(LABEL_TASK.to_string(), name.to_string());
    labels.insert(LABEL_SERVICE_ID.to_string(), task.service_id.clone());
    if !node.is_empty() {
        labels.insert(LABEL_NODE_ID.to_string(), node.clone());
    }
    if let Some(slot) = slot {
        labels.insert(LABEL_SLOT.to_string(), slot.to_string());
    }
    let key = (slot.unwrap_or(u64::MAX), node, target.clone());
    let group = TargetGroup {
        targets: vec![target],
        labels,
    };
    (key, group)
}

/// A service's name as Docker knows it, and as the `task` label shows it.
struct Names<'a> {
    full: &'a str,
    label: &'a str,
    /// The stack the service belongs to, when stripping is on and it has one.
    stack: Option<&'a str>,
}

impl<'a> Names<'a> {
    fn of(service: &'a Service, strip_stack_prefix: bool) -> Names<'a> {
        let spec = service.spec.as_ref();
        let full = spec
            .and_then(|spec| spec.name.as_deref())
            .unwrap_or_default();
        let stack = spec
            .and_then(|spec| spec.labels.as_ref())
            .and_then(|labels| labels.get(STACK_NAMESPACE_LABEL))
            .map(String::as_str)
            .filter(|stack| strip_stack_prefix && !stack.is_empty());
        // Only a name that really carries the prefix is shortened, and never to nothing.
        let label = stack
            .and_then(|stack| full.strip_prefix(stack)?.strip_prefix('_'))
            .filter(|short| !short.is_empty())
            .unwrap_or(full);
        Names { full, label, stack }
    }
}

/// `--network` as given, and the name a stack would have given it.
struct WantedNetwork<'a> {
    given: &'a str,
    in_stack: Option<String>,
}

impl<'a> WantedNetwork<'a> {
    fn new(given: &'a str, stack: Option<&str>) -> WantedNetwork<'a> {
        WantedNetwork {
            given,
            in_stack: stack.map(|stack| format!("{stack}_{given}")),
        }
    }
}

/// The service's port for the mode: the first TCP port config that has one.
///
/// `Endpoint.Ports` is what the swarm actually allocated (a published port left to Docker to
/// choose only appears there); the spec is the fallback for a service not yet allocated.
fn port_of(service: &Service, mode: PortMode) -> Option<u16> {
    let endpoint = service
        .endpoint
        .as_ref()
        .and_then(|endpoint| endpoint.ports.as_deref())
        .filter(|ports| !ports.is_empty());
    let spec = service
        .spec
        .as_ref()
        .and_then(|spec| spec.endpoint_spec.as_ref())
        .and_then(|endpoint_spec| endpoint_spec.ports.as_deref());
    let ports = endpoint.or(spec)?;
    ports.iter().filter(|port| is_tcp(port)).find_map(|port| {
        let number = match mode {
            PortMode::Published => port.published_port,
            PortMode::Target => port.target_port,
        }?;
        u16::try_from(number).ok().filter(|number| *number > 0)
    })
}

// Docker treats a missing or empty protocol as TCP.
fn is_tcp(port: &EndpointPortConfig) -> bool {
    matches!(
        port.protocol,
        None | Some(EndpointPortConfigProtocolEnum::TCP | EndpointPortConfigProtocolEnum::EMPTY)
    )
}

/// The task's first address on the chosen network, without its `/prefix`.
///
/// A network whose name or ID is the one given wins over the stack's network of that name,
/// so an external network called `my_network` is still chosen over `<stack>_my_network`.
fn address_of(task: &SwarmTask, network: Option<&WantedNetwork<'_>>) -> Option<IpAddr> {
    let attachments = &task.networks_attachments;
    let attachment: &NetworkAttachment = match network {
        Some(wanted) => attachments
            .iter()
            .find(|attachment| attachment.network.matches(wanted.given))
            .or_else(|| {
                let in_stack = wanted.in_stack.as_deref()?;
                attachments
                    .iter()
                    .find(|attachment| attachment.network.spec.name == in_stack)
            })?,
        None => task
            .networks_attachments
            .iter()
            .find(|attachment| !attachment.network.is_ingress())?,
    };
    attachment.addresses.iter().find_map(|cidr| {
        let ip = cidr.split_once('/').map_or(cidr.as_str(), |(ip, _)| ip);
        ip.trim().parse::<IpAddr>().ok()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::task::{AttachedNetwork, NetworkSpec, TaskStatus};
    use bollard::models::{EndpointSpec, ServiceEndpoint, ServiceSpec};

    fn port(
        protocol: Option<EndpointPortConfigProtocolEnum>,
        target: i64,
        published: i64,
    ) -> EndpointPortConfig {
        EndpointPortConfig {
            protocol,
            target_port: Some(target),
            published_port: Some(published),
            ..EndpointPortConfig::default()
        }
    }

    fn service(id: &str, name: &str, ports: Vec<EndpointPortConfig>) -> Service {
        Service {
            id: Some(id.to_string()),
            spec: Some(ServiceSpec {
                name: Some(name.to_string()),
                ..ServiceSpec::default()
            }),
            endpoint: Some(ServiceEndpoint {
                ports: Some(ports),
                ..ServiceEndpoint::default()
            }),
            ..Service::default()
        }
    }

    fn attachment(id: &str, name: &str, ingress: bool, address: &str) -> NetworkAttachment {
        NetworkAttachment {
            network: AttachedNetwork {
                id: id.to_string(),
                spec: NetworkSpec {
                    name: name.to_string(),
                    ingress,
                },
            },
            addresses: vec![address.to_string()],
        }
    }

    fn task(
        service_id: &str,
        slot: Option<u64>,
        node: &str,
        attachments: Vec<NetworkAttachment>,
    ) -> SwarmTask {
        SwarmTask {
            id: format!("{service_id}-{slot:?}-{node}"),
            service_id: service_id.to_string(),
            slot,
            node_id: Some(node.to_string()),
            desired_state: "running".to_string(),
            status: TaskStatus {
                state: "running".to_string(),
            },
            networks_attachments: attachments,
        }
    }

    fn on_net(address: &str) -> Vec<NetworkAttachment> {
        vec![
            attachment("ing", "ingress", true, "127.0.30.9/24"),
            attachment("net", "my_network", false, address),
        ]
    }

    fn selection(mode: PortMode) -> Selection {
        Selection {
            network: Some("my_network".to_string()),
            ignored: BTreeSet::new(),
            port_mode: mode,
            strip_stack_prefix: false,
        }
    }

    fn in_stack(mut service: Service, stack: &str) -> Service {
        if let Some(spec) = service.spec.as_mut() {
            let labels = spec.labels.get_or_insert_with(HashMap::new);
            labels.insert(STACK_NAMESPACE_LABEL.to_string(), stack.to_string());
        }
        service
    }

    fn task_labels(discovery: &Discovery) -> Vec<&str> {
        discovery
            .groups
            .iter()
            .map(|group| group.labels[LABEL_TASK].as_str())
            .collect()
    }

    fn targets(discovery: &Discovery) -> Vec<&str> {
        discovery
            .groups
            .iter()
            .flat_map(|group| group.targets.iter().map(String::as_str))
            .collect()
    }

    #[test]
    fn slots_sort_numerically_and_labels_are_per_task() {
        let services = [service("s1", "api", vec![port(None, 80, 8080)])];
        let tasks = [
            task("s1", Some(10), "n2", on_net("127.0.10.10/24")),
            task("s1", Some(9), "n1", on_net("127.0.10.9/24")),
        ];
        let found = discover(&tasks, &services, &selection(PortMode::Published));
        assert_eq!(targets(&found), ["127.0.10.9:8080", "127.0.10.10:8080"]);
        let labels = &found.groups[1].labels;
        assert_eq!(labels["task"], "api");
        assert_eq!(labels["service_id"], "s1");
        assert_eq!(labels["slot"], "10");
        assert_eq!(labels["node_id"], "n2");
        assert!(!labels.contains_key("service"));
    }

    #[test]
    fn port_modes_pick_published_or_target() {
        let services = [service(
            "s1",
            "api",
            vec![port(Some(EndpointPortConfigProtocolEnum::TCP), 80, 8080)],
        )];
        let tasks = [task("s1", Some(1), "n1", on_net("127.0.10.2/24"))];
        let published = discover(&tasks, &services, &selection(PortMode::Published));
        let target = discover(&tasks, &services, &selection(PortMode::Target));
        assert_eq!(targets(&published), ["127.0.10.2:8080"]);
        assert_eq!(targets(&target), ["127.0.10.2:80"]);
    }

    #[test]
    fn udp_only_and_portless_services_are_skipped() {
        let services = [
            service(
                "s1",
                "dns",
                vec![port(Some(EndpointPortConfigProtocolEnum::UDP), 53, 53)],
            ),
            service("s2", "worker", vec![]),
        ];
        let tasks = [
            task("s1", Some(1), "n1", on_net("127.0.10.2/24")),
            task("s2", Some(1), "n1", on_net("127.0.10.3/24")),
        ];
        let found = discover(&tasks, &services, &selection(PortMode::Published));
        assert!(found.groups.is_empty());
        let reasons: Vec<_> = found.services.iter().map(|s| s.skipped.clone()).collect();
        assert_eq!(
            reasons,
            [
                Some(SkipReason::NoPort(PortMode::Published)),
                Some(SkipReason::NoPort(PortMode::Published))
            ]
        );
    }

    #[test]
    fn port_falls_back_to_the_spec() {
        let mut svc = service("s1", "api", vec![]);
        if let Some(spec) = svc.spec.as_mut() {
            spec.endpoint_spec = Some(EndpointSpec {
                ports: Some(vec![port(None, 80, 8080)]),
                ..EndpointSpec::default()
            });
        }
        let tasks = [task("s1", Some(1), "n1", on_net("127.0.10.2/24"))];
        let found = discover(&tasks, &[svc], &selection(PortMode::Target));
        assert_eq!(targets(&found), ["127.0.10.2:80"]);
    }

    #[test]
    fn without_a_network_the_first_non_ingress_attachment_is_used() {
        let services = [service("s1", "api", vec![port(None, 80, 80)])];
        let tasks = [task("s1", Some(1), "n1", on_net("127.0.10.2/24"))];
        let mut chosen = selection(PortMode::Target);
        chosen.network = None;
        assert_eq!(
            targets(&discover(&tasks, &services, &chosen)),
            ["127.0.10.2:80"]
        );
        // By ID as well as by name.
        chosen.network = Some("net".to_string());
        assert_eq!(
            targets(&discover(&tasks, &services, &chosen)),
            ["127.0.10.2:80"]
        );
    }

    #[test]
    fn tasks_off_the_network_and_not_running_are_left_out() {
        let services = [service("s1", "api", vec![port(None, 80, 80)])];
        let mut starting = task("s1", Some(2), "n1", on_net("127.0.10.3/24"));
        starting.status.state = "starting".to_string();
        let elsewhere = task(
            "s1",
            Some(3),
            "n1",
            vec![attachment("other", "backend", false, "127.0.20.3/24")],
        );
        let found = discover(
            &[starting, elsewhere],
            &services,
            &selection(PortMode::Target),
        );
        assert!(found.groups.is_empty());
        assert_eq!(found.services[0].running, 1);
        assert_eq!(found.services[0].skipped, Some(SkipReason::NoAddress));
    }

    #[test]
    fn ipv6_addresses_are_bracketed_and_global_tasks_have_no_slot() {
        let services = [service("s1", "api", vec![port(None, 80, 80)])];
        let tasks = [task("s1", None, "n1", on_net("fd00::5/64"))];
        let found = discover(&tasks, &services, &selection(PortMode::Target));
        assert_eq!(targets(&found), ["[fd00::5]:80"]);
        assert!(!found.groups[0].labels.contains_key("slot"));
    }

    #[test]
    fn ignored_and_orphaned_tasks_are_reported() {
        let services = [service("s1", "prometheus", vec![port(None, 9090, 9090)])];
        let tasks = [
            task("s1", Some(1), "n1", on_net("127.0.10.2/24")),
            task("gone", Some(1), "n1", on_net("127.0.10.3/24")),
        ];
        let mut chosen = selection(PortMode::Published);
        chosen.ignored.insert("prometheus".to_string());
        let found = discover(&tasks, &services, &chosen);
        assert!(found.groups.is_empty());
        assert_eq!(found.services[0].skipped, Some(SkipReason::Ignored));
        assert_eq!(found.orphans, 1);
    }

    #[test]
    fn the_stack_prefix_is_stripped_only_when_asked_and_only_when_present() {
        let services = [
            in_stack(
                service("s1", "monitoring_api", vec![port(None, 80, 80)]),
                "monitoring",
            ),
            // Labelled, but the name does not carry the prefix: left alone.
            in_stack(
                service("s2", "renamed", vec![port(None, 81, 81)]),
                "monitoring",
            ),
            // An underscore but no stack label: a name like any other.
            service("s3", "legacy_web", vec![port(None, 82, 82)]),
            // Stripping would leave nothing.
            in_stack(
                service("s4", "monitoring_", vec![port(None, 83, 83)]),
                "monitoring",
            ),
        ];
        let tasks = [
            task("s1", Some(1), "n1", on_net("127.0.10.2/24")),
            task("s2", Some(1), "n1", on_net("127.0.10.3/24")),
            task("s3", Some(1), "n1", on_net("127.0.10.4/24")),
            task("s4", Some(1), "n1", on_net("127.0.10.5/24")),
        ];
        let mut chosen = selection(PortMode::Target);
        let kept = discover(&tasks, &services, &chosen);
        assert_eq!(
            task_labels(&kept),
            ["legacy_web", "monitoring_", "monitoring_api", "renamed"]
        );
        chosen.strip_stack_prefix = true;
        let stripped = discover(&tasks, &services, &chosen);
        // Ordered by the label Prometheus sees; the report keeps Docker's names.
        assert_eq!(
            task_labels(&stripped),
            ["api", "legacy_web", "monitoring_", "renamed"]
        );
        assert_eq!(targets(&stripped)[0], "127.0.10.2:80");
        assert_eq!(stripped.services[0].name, "monitoring_api");
        assert_eq!(stripped.groups[0].labels[LABEL_SERVICE_ID], "s1");
    }

    #[test]
    fn ignored_names_match_the_full_or_the_stripped_name() {
        let services = [
            in_stack(
                service("s1", "mon_prometheus", vec![port(None, 90, 90)]),
                "mon",
            ),
            in_stack(
                service("s2", "mon_grafana", vec![port(None, 30, 30)]),
                "mon",
            ),
            in_stack(service("s3", "mon_api", vec![port(None, 80, 80)]), "mon"),
        ];
        let tasks = [
            task("s1", Some(1), "n1", on_net("127.0.10.2/24")),
            task("s2", Some(1), "n1", on_net("127.0.10.3/24")),
            task("s3", Some(1), "n1", on_net("127.0.10.4/24")),
        ];
        let mut chosen = selection(PortMode::Target);
        chosen.strip_stack_prefix = true;
        chosen.ignored = ["prometheus", "mon_grafana"].map(String::from).into();
        let found = discover(&tasks, &services, &chosen);
        assert_eq!(task_labels(&found), ["api"]);
        let ignored: Vec<_> = found
            .services
            .iter()
            .filter(|s| s.skipped == Some(SkipReason::Ignored))
            .map(|s| s.name.as_str())
            .collect();
        assert_eq!(ignored, ["mon_grafana", "mon_prometheus"]);
        // Without stripping, only the full name matches.
        chosen.strip_stack_prefix = false;
        let found = discover(&tasks, &services, &chosen);
        assert_eq!(task_labels(&found), ["mon_api", "mon_prometheus"]);
    }

    #[test]
    fn a_stack_network_is_found_by_its_name_in_the_stack_file() {
        let services = [in_stack(
            service("s1", "mon_api", vec![port(None, 80, 80)]),
            "mon",
        )];
        let in_stack_net = vec![
            attachment("ing", "ingress", true, "127.0.30.9/24"),
            attachment("net", "mon_my_network", false, "127.0.10.2/24"),
        ];
        let tasks = [task("s1", Some(1), "n1", in_stack_net.clone())];
        let mut chosen = selection(PortMode::Target);
        assert!(discover(&tasks, &services, &chosen).groups.is_empty());
        chosen.strip_stack_prefix = true;
        assert_eq!(
            targets(&discover(&tasks, &services, &chosen)),
            ["127.0.10.2:80"]
        );
        // The full name keeps working.
        chosen.network = Some("mon_my_network".to_string());
        assert_eq!(
            targets(&discover(&tasks, &services, &chosen)),
            ["127.0.10.2:80"]
        );
        // A network really called my_network (external to the stack) wins.
        chosen.network = Some("my_network".to_string());
        let mut both = in_stack_net;
        both.push(attachment("ext", "my_network", false, "127.0.20.2/24"));
        let tasks = [task("s1", Some(1), "n1", both)];
        assert_eq!(
            targets(&discover(&tasks, &services, &chosen)),
            ["127.0.20.2:80"]
        );
    }
}

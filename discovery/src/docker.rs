//! The Docker Engine API calls: running tasks and services.
//!
//! Services come from bollard. Tasks are fetched with a plain GET on the same endpoint and
//! read into [`SwarmTask`], because bollard's `Task` model drops the network attachments
//! that hold each task's address (see [`crate::task`]). Once bollard's model has them, the
//! tasks call can move to `Docker::list_tasks` and the small raw client below can go.
//!
//! Paths carry no `/vX.Y` prefix (bollard 0.21 sends none either), so the daemon answers in
//! its own default API version: no version negotiation, and no "client version is too new"
//! error from older daemons. Both calls only read fields that every API version since 1.24
//! has.

use std::time::Duration;

use bollard::models::Service;
use bollard::query_parameters::ListServicesOptions;
use bollard::{Docker, API_DEFAULT_VERSION};
use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use hyperlocal::UnixConnector;

use crate::task::SwarmTask;
use crate::{DockerHost, Error};

const TASKS_CALL: &str = "GET /tasks";
const SERVICES_CALL: &str = "GET /services";

/// The `filters` query of the tasks call: only tasks the orchestrator wants running.
const RUNNING_FILTER: &str = r#"{"desired-state":["running"]}"#;

/// A client for the two calls discovery makes.
#[derive(Debug, Clone)]
pub struct Engine {
    docker: Docker,
    raw: RawClient,
    timeout: Duration,
}

impl Engine {
    /// Prepares clients for `host`. Nothing is sent yet; for a unix socket, bollard checks
    /// that the socket file exists.
    pub fn connect(host: &DockerHost, timeout: Duration) -> Result<Engine, Error> {
        // bollard counts whole seconds (a sub-second limit would become zero): round up
        // here, and enforce the exact limit around each call.
        let seconds = (timeout.as_secs() + u64::from(timeout.subsec_nanos() > 0)).max(1);
        let docker = match host {
            DockerHost::Unix(path) => {
                Docker::connect_with_unix(&path.to_string_lossy(), seconds, API_DEFAULT_VERSION)
            }
            DockerHost::Tcp(authority) => Docker::connect_with_http(
                &format!("tcp://{authority}"),
                seconds,
                API_DEFAULT_VERSION,
            ),
        }
        .map_err(|error| Error::Docker {
            call: "connect",
            message: error.to_string(),
        })?;
        Ok(Engine {
            docker,
            raw: RawClient::new(host),
            timeout,
        })
    }

    /// Tasks whose desired state is `running` (their observed state may still differ).
    pub async fn running_tasks(&self) -> Result<Vec<SwarmTask>, Error> {
        let path = format!("/tasks?filters={}", percent_encode(RUNNING_FILTER));
        let body = self.raw.get(&path, self.timeout).await?;
        // Go writes a nil slice as `null`.
        serde_json::from_slice::<Option<Vec<SwarmTask>>>(&body)
            .map(Option::unwrap_or_default)
            .map_err(|error| Error::Docker {
                call: TASKS_CALL,
                message: format!("unexpected response body: {error}"),
            })
    }

    /// Every service, in one call.
    pub async fn services(&self) -> Result<Vec<Service>, Error> {
        let call = self.docker.list_services(None::<ListServicesOptions>);
        match tokio::time::timeout(self.timeout, call).await {
            Ok(Ok(services)) => Ok(services),
            Ok(Err(error)) => Err(Error::Docker {
                call: SERVICES_CALL,
                message: match error {
                    // Same wording as the tasks call, so both read alike in the log.
                    bollard::errors::Error::DockerResponseServerError {
                        status_code,
                        message,
                    } => format!("{}: {message}", status_text(status_code)),
                    other => describe(&other),
                },
            }),
            Err(_) => Err(Error::Docker {
                call: SERVICES_CALL,
                message: no_answer(self.timeout),
            }),
        }
    }
}

/// A minimal HTTP client for GET requests on the Docker endpoint.
#[derive(Debug, Clone)]
enum RawClient {
    Unix {
        client: Client<UnixConnector, Empty<Bytes>>,
        socket: std::path::PathBuf,
    },
    Tcp {
        client: Client<HttpConnector, Empty<Bytes>>,
        authority: String,
    },
}

impl RawClient {
    fn new(host: &DockerHost) -> RawClient {
        // Polls are seconds apart: keeping idle connections open would buy nothing.
        let mut builder = Client::builder(TokioExecutor::new());
        builder.pool_max_idle_per_host(0);
        match host {
            DockerHost::Unix(socket) => RawClient::Unix {
                client: builder.build(UnixConnector),
                socket: socket.clone(),
            },
            DockerHost::Tcp(authority) => RawClient::Tcp {
                client: builder.build(HttpConnector::new()),
                authority: authority.clone(),
            },
        }
    }

    async fn get(&self, path_and_query: &str, timeout: Duration) -> Result<Bytes, Error> {
        let failed = |message: String| Error::Docker {
            call: TASKS_CALL,
            message,
        };
        let request = |uri: hyper::Uri| {
            http::Request::get(uri)
                .header(http::header::ACCEPT, "application/json")
                .body(Empty::<Bytes>::new())
                .map_err(|error| failed(error.to_string()))
        };
        let response = match self {
            RawClient::Unix { client, socket } => {
                let uri = hyperlocal::Uri::new(socket, path_and_query).into();
                tokio::time::timeout(timeout, client.request(request(uri)?)).await
            }
            RawClient::Tcp { client, authority } => {
                let uri = format!("http://{authority}{path_and_query}")
                    .parse::<hyper::Uri>()
                    .map_err(|error| failed(error.to_string()))?;
                tokio::time::timeout(timeout, client.request(request(uri)?)).await
            }
        };
        let response = response
            .map_err(|_| failed(no_answer(timeout)))?
            .map_err(|error| failed(describe(&error)))?;
        let status = response.status();
        let body = tokio::time::timeout(timeout, response.into_body().collect())
            .await
            .map_err(|_| failed("the response body did not arrive in time".to_string()))?
            .map_err(|error| failed(describe(&error)))?
            .to_bytes();
        if !status.is_success() {
            return Err(failed(format!("{status}: {}", daemon_message(&body))));
        }
        Ok(body)
    }
}

fn status_text(code: u16) -> String {
    match http::StatusCode::from_u16(code) {
        Ok(status) => status.to_string(),
        Err(_) => code.to_string(),
    }
}

fn no_answer(timeout: Duration) -> String {
    format!("no answer within {}", humantime::format_duration(timeout))
}

/// The daemon's `{"message": "..."}`, or the body itself when it is not that.
fn daemon_message(body: &[u8]) -> String {
    #[derive(serde::Deserialize)]
    struct Message {
        message: String,
    }
    match serde_json::from_slice::<Message>(body) {
        Ok(parsed) => parsed.message,
        Err(_) => String::from_utf8_lossy(body).trim().to_string(),
    }
}

/// The error and its causes on one line: hyper's top-level messages alone are vague. A
/// cause that the text already quotes (bollard embeds its source) is not repeated.
fn describe(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(inner) = cause {
        let line = inner.to_string();
        if !text.contains(&line) {
            text.push_str(": ");
            text.push_str(&line);
        }
        cause = inner.source();
    }
    text
}

/// Percent-encodes a query component (RFC 3986: everything but the unreserved characters).
fn percent_encode(text: &str) -> String {
    let mut encoded = String::with_capacity(text.len() * 3);
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            encoded.push(char::from(byte));
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    encoded
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_running_filter_is_encoded() {
        assert_eq!(
            percent_encode(RUNNING_FILTER),
            "%7B%22desired-state%22%3A%5B%22running%22%5D%7D"
        );
    }

    #[test]
    fn daemon_messages_are_unwrapped() {
        assert_eq!(
            daemon_message(br#"{"message":"This node is not a swarm manager."}"#),
            "This node is not a swarm manager."
        );
        assert_eq!(daemon_message(b"plain text\n"), "plain text");
    }

    #[test]
    fn a_missing_socket_is_reported_at_connect() {
        let host = DockerHost::Unix("/nonexistent/docker.sock".into());
        let error = Engine::connect(&host, Duration::from_secs(1)).unwrap_err();
        assert!(
            error.to_string().contains("/nonexistent/docker.sock"),
            "{error}"
        );
    }
}

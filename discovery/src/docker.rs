//! The Docker Engine API calls: running tasks and services.
//!
//! Both are plain GETs on the Docker endpoint, read into bollard's `Service` model and into
//! [`SwarmTask`] (bollard's `Task` model drops the network attachments that hold each
//! task's address; see [`crate::task`]). Going through one small client rather than
//! bollard's `Docker` lets both calls share the two limits that keep a broken or hostile
//! endpoint from stalling the loop or exhausting memory: one deadline for the whole call
//! (connection, answer and body) and a maximum body size.
//!
//! Paths carry no `/vX.Y` prefix (bollard 0.21 sends none either), so the daemon answers in
//! its own default API version: no version negotiation, and no "client version is too new"
//! error from older daemons. Both calls only read fields that every API version since 1.24
//! has.

use std::error::Error as _;
use std::time::Duration;

use bollard::models::Service;
use bytes::Bytes;
use http_body_util::{BodyExt, Empty, LengthLimitError, Limited};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use hyperlocal::UnixConnector;
use serde::de::DeserializeOwned;
use tokio::time::Instant;

use crate::task::SwarmTask;
use crate::{DockerHost, Error};

const TASKS_CALL: &str = "GET /tasks";
const SERVICES_CALL: &str = "GET /services";

/// The `filters` query of the tasks call: only tasks the orchestrator wants running.
const RUNNING_FILTER: &str = r#"{"desired-state":["running"]}"#;

/// How much of an unexpected body a log line quotes.
const EXCERPT_CHARS: usize = 160;

/// A client for the two calls discovery makes.
#[derive(Debug, Clone)]
pub struct Engine {
    raw: RawClient,
    host: DockerHost,
    timeout: Duration,
    max_body: usize,
}

/// A successful answer: its content type and its body.
struct Answer {
    content_type: String,
    body: Bytes,
}

impl Engine {
    /// Prepares a client for `host`. Nothing is sent yet, and nothing is checked: a socket
    /// that does not exist yet fails each call until it appears.
    ///
    /// `timeout` bounds each call from connecting to the last byte of the body;
    /// `max_body` bounds the size of each response body.
    pub fn new(host: &DockerHost, timeout: Duration, max_body: usize) -> Engine {
        Engine {
            raw: RawClient::new(host),
            host: host.clone(),
            timeout,
            max_body,
        }
    }

    /// Tasks whose desired state is `running` (their observed state may still differ).
    pub async fn running_tasks(&self) -> Result<Vec<SwarmTask>, Error> {
        let path = format!("/tasks?filters={}", percent_encode(RUNNING_FILTER));
        let answer = self.get(TASKS_CALL, &path).await?;
        parse_list(TASKS_CALL, &answer)
    }

    /// Every service, in one call.
    pub async fn services(&self) -> Result<Vec<Service>, Error> {
        let answer = self.get(SERVICES_CALL, "/services").await?;
        parse_list(SERVICES_CALL, &answer)
    }

    async fn get(&self, call: &'static str, path_and_query: &str) -> Result<Answer, Error> {
        let failed = |message: String| Error::Docker { call, message };
        // One deadline for the whole call: a daemon that answers at once but then sends
        // its body a byte at a time is as stuck as one that never answers.
        let deadline = Instant::now() + self.timeout;
        let limit = humantime::format_duration(self.timeout);
        let response = tokio::time::timeout_at(deadline, self.raw.get(path_and_query))
            .await
            .map_err(|_| failed(format!("no answer within {limit}")))?
            .map_err(|error| match error {
                RequestError::Build(message) => failed(message),
                RequestError::Send(error) if error.is_connect() => {
                    // The causes say why (refused, no such file); the top level only says
                    // "client error (Connect)".
                    let why = error.source().map_or_else(|| describe(&error), describe);
                    failed(format!("cannot connect to {}: {why}", self.host))
                }
                RequestError::Send(error) => failed(describe(&error)),
            })?;
        let status = response.status();
        let content_type = response
            .headers()
            .get(http::header::CONTENT_TYPE)
            .map(|value| String::from_utf8_lossy(value.as_bytes()).into_owned())
            .unwrap_or_else(|| "no content type".to_string());
        let body = Limited::new(response.into_body(), self.max_body).collect();
        let body = tokio::time::timeout_at(deadline, body)
            .await
            .map_err(|_| failed(format!("the response body did not arrive within {limit}")))?
            .map_err(|error| {
                if error.downcast_ref::<LengthLimitError>().is_some() {
                    failed(format!(
                        "{status}: the response body is larger than {}",
                        size(self.max_body)
                    ))
                } else {
                    failed(describe(&*error))
                }
            })?
            .to_bytes();
        if !status.is_success() {
            return Err(failed(format!("{status}: {}", daemon_message(&body))));
        }
        Ok(Answer { content_type, body })
    }
}

/// Reads a JSON array; Go writes a nil slice as `null`.
///
/// Any error rejects the whole answer, so the last good file stays rather than one missing
/// the tasks that did not parse.
fn parse_list<T: DeserializeOwned>(call: &'static str, answer: &Answer) -> Result<Vec<T>, Error> {
    serde_json::from_slice::<Option<Vec<T>>>(&answer.body)
        .map(Option::unwrap_or_default)
        .map_err(|error| {
            let mut message = format!(
                "unexpected response body ({}, {}): {error}",
                answer.content_type,
                size(answer.body.len()),
            );
            // JSON of the wrong shape is located well enough by the line and column; for
            // anything else (a web page, a cut-off body) the start says what came.
            if error.classify() != serde_json::error::Category::Data {
                message.push_str("; it starts: ");
                message.push_str(&excerpt(&answer.body));
            }
            Error::Docker { call, message }
        })
}

/// Why a request could not be sent or answered.
enum RequestError {
    Build(String),
    Send(hyper_util::client::legacy::Error),
}

/// A minimal HTTP client for GET requests on the Docker endpoint.
#[derive(Debug, Clone)]
enum RawClient {
    Unix {
        client: Client<UnixConnector, Empty<Bytes>>,
        /// hyperlocal's form of the socket path: `unix://<hex of the path>:0`.
        origin: String,
    },
    Tcp {
        client: Client<HttpConnector, Empty<Bytes>>,
        /// `http://host:port`.
        origin: String,
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
                origin: format!("unix://{}:0", hex(socket.to_string_lossy().as_bytes())),
            },
            DockerHost::Tcp(authority) => RawClient::Tcp {
                client: builder.build(HttpConnector::new()),
                origin: format!("http://{authority}"),
            },
        }
    }

    async fn get(
        &self,
        path_and_query: &str,
    ) -> Result<http::Response<hyper::body::Incoming>, RequestError> {
        // Built here rather than with `hyperlocal::Uri::new`, which panics on a URI it cannot
        // parse.
        let request = |origin: &str| {
            format!("{origin}{path_and_query}")
                .parse::<hyper::Uri>()
                .map_err(|error| error.to_string())
                .and_then(|uri| {
                    http::Request::get(uri)
                        .header(http::header::ACCEPT, "application/json")
                        .body(Empty::<Bytes>::new())
                        .map_err(|error| error.to_string())
                })
                .map_err(RequestError::Build)
        };
        match self {
            RawClient::Unix { client, origin } => client.request(request(origin)?).await,
            RawClient::Tcp { client, origin } => client.request(request(origin)?).await,
        }
        .map_err(RequestError::Send)
    }
}

/// The daemon's `{"message": "..."}`, or the start of the body when it is not that (say, a
/// proxy's HTML error page). Either way one short line.
fn daemon_message(body: &[u8]) -> String {
    #[derive(serde::Deserialize)]
    struct Message {
        message: String,
    }
    match serde_json::from_slice::<Message>(body) {
        Ok(parsed) => excerpt(parsed.message.as_bytes()),
        Err(_) => excerpt(body),
    }
}

/// The start of a body for a log line: at most [`EXCERPT_CHARS`] characters, control
/// characters and runs of white space shown as one space, `...` when cut.
fn excerpt(body: &[u8]) -> String {
    // Enough bytes for the characters wanted even if each took four.
    let head = &body[..body.len().min(EXCERPT_CHARS * 4)];
    let text = String::from_utf8_lossy(head);
    let mut shown = String::new();
    let mut chars = 0;
    let mut pending_space = false;
    for c in text.chars() {
        if c.is_whitespace() || c.is_control() {
            pending_space = !shown.is_empty();
            continue;
        }
        if chars + usize::from(pending_space) + 1 > EXCERPT_CHARS {
            shown.push_str("...");
            return shown;
        }
        if pending_space {
            shown.push(' ');
            chars += 1;
            pending_space = false;
        }
        shown.push(c);
        chars += 1;
    }
    if head.len() < body.len() {
        shown.push_str("...");
    }
    if shown.is_empty() {
        shown.push_str("(empty)");
    }
    shown
}

/// A byte count for a log line: `512 bytes`, `64 MiB`.
fn size(bytes: usize) -> String {
    const KIB: usize = 1024;
    const MIB: usize = 1024 * KIB;
    // Whole units only: a limit is shown as set, a body's length exactly.
    match (bytes / MIB, bytes % MIB, bytes / KIB, bytes % KIB) {
        (mib, 0, _, _) if mib > 0 => format!("{mib} MiB"),
        (_, _, kib, 0) if kib > 0 => format!("{kib} KiB"),
        _ => format!("{bytes} bytes"),
    }
}

/// Lower-case hex of `bytes`, as hyperlocal expects the socket path in the URI's host.
fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut text = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        text.push(char::from(DIGITS[usize::from(byte >> 4)]));
        text.push(char::from(DIGITS[usize::from(byte & 0x0f)]));
    }
    text
}

/// The error and its causes on one line: hyper's top-level messages alone are vague. A
/// cause that the text already quotes is not repeated.
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
    fn excerpts_are_one_short_line() {
        assert_eq!(
            excerpt(b"<html>\n  <body>\tBad\r\n gateway</body>"),
            "<html> <body> Bad gateway</body>"
        );
        assert_eq!(excerpt(b""), "(empty)");
        assert_eq!(excerpt(b" \n "), "(empty)");
        let long = "x".repeat(10_000);
        let shown = excerpt(long.as_bytes());
        assert_eq!(shown.len(), EXCERPT_CHARS + 3);
        assert!(shown.ends_with("..."));
        assert_eq!(excerpt(&[0xff, 0xfe, b'a']), "\u{fffd}\u{fffd}a");
        // Multi-byte characters are never cut in half.
        let wide = "é".repeat(1000);
        assert_eq!(excerpt(wide.as_bytes()).chars().count(), EXCERPT_CHARS + 3);
    }

    #[test]
    fn long_daemon_messages_are_cut() {
        let body = format!(r#"{{"message":"{}"}}"#, "y".repeat(5000));
        assert!(daemon_message(body.as_bytes()).len() <= EXCERPT_CHARS + 3);
    }

    #[test]
    fn sizes_and_hex() {
        assert_eq!(size(64 * 1024 * 1024), "64 MiB");
        assert_eq!(size(2048), "2 KiB");
        assert_eq!(size(1000), "1000 bytes");
        assert_eq!(hex(b"/a.sock"), "2f612e736f636b");
    }
}

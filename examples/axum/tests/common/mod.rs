//! What the behaviour tests share: the binary as a child process ([`child`]), an HTTP/1.1 and HTTP/2 client, and a
//! reader of `/metrics` in the text format. The service in-process is in `in_process`, apart, because naming this
//! package's library links its handlers, which the comparison with the hyper example must not.

// Each test file uses a part of it.
#![allow(dead_code)]

pub mod child;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::header::{CONTENT_TYPE, HOST};
use http::{HeaderMap, Method, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpStream;

/// The result of tests and helpers: any error, with a message, instead of a panic.
pub type TestResult<T = ()> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

/// How long any one exchange may take before the test fails.
pub const EXCHANGE_TIMEOUT: Duration = Duration::from_secs(10);

/// A whole response.
#[derive(Debug)]
pub struct Reply {
    /// Its status.
    pub status: StatusCode,
    /// Its headers.
    pub headers: HeaderMap,
    /// Its body, read to the end.
    pub body: Bytes,
}

impl Reply {
    /// The body as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body as JSON.
    pub fn json(&self) -> TestResult<serde_json::Value> {
        Ok(serde_json::from_slice(&self.body)?)
    }

    /// One header's value, when present and text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|value| value.to_str().ok())
    }
}

/// Sends a request on a connection of its own and reads the whole response.
pub async fn send(
    addr: SocketAddr,
    method: Method,
    path: &str,
    headers: &[(&str, &str)],
    body: impl Into<Bytes>,
) -> TestResult<Reply> {
    let body = body.into();
    let exchange = async {
        let response = open(addr, method, path, headers, body).await?;
        let (parts, body) = response.into_parts();
        let body = body.collect().await?.to_bytes();
        Ok::<_, Box<dyn std::error::Error + Send + Sync>>(Reply {
            status: parts.status,
            headers: parts.headers,
            body,
        })
    };
    tokio::time::timeout(EXCHANGE_TIMEOUT, exchange).await?
}

/// The HTTP version a test client speaks (HTTP/2 with prior knowledge, as routemeter's server accepts it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Protocol {
    /// HTTP/1.1.
    Http1,
    /// HTTP/2 over cleartext, with prior knowledge.
    Http2,
}

/// Sends a request over HTTP/1.1 on a connection of its own and returns the response as soon as its headers are
/// in; the body is read by the caller, and dropping it closes the connection.
pub async fn open(
    addr: SocketAddr,
    method: Method,
    path: &str,
    headers: &[(&str, &str)],
    body: Bytes,
) -> TestResult<http::Response<Incoming>> {
    open_with(Protocol::Http1, addr, method, path, headers, body).await
}

/// As [`open`], over `protocol`. Over HTTP/2, dropping the body resets its stream.
pub async fn open_with(
    protocol: Protocol,
    addr: SocketAddr,
    method: Method,
    path: &str,
    headers: &[(&str, &str)],
    body: Bytes,
) -> TestResult<http::Response<Incoming>> {
    let stream = TokioIo::new(TcpStream::connect(addr).await?);
    let mut request = Request::builder().method(method);
    request = match protocol {
        Protocol::Http1 => request.uri(path).header(HOST, addr.to_string()),
        Protocol::Http2 => request.uri(format!("http://{addr}{path}")),
    };
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let request = request.body(Full::new(body))?;
    let sending = async {
        match protocol {
            Protocol::Http1 => {
                let (mut sender, connection) =
                    hyper::client::conn::http1::handshake(stream).await?;
                tokio::spawn(connection);
                Ok::<_, hyper::Error>(sender.send_request(request).await?)
            }
            Protocol::Http2 => {
                let (mut sender, connection) =
                    hyper::client::conn::http2::handshake(TokioExecutor::new(), stream).await?;
                tokio::spawn(connection);
                Ok(sender.send_request(request).await?)
            }
        }
    };
    Ok(tokio::time::timeout(EXCHANGE_TIMEOUT, sending).await??)
}

/// `GET path`.
pub async fn get(addr: SocketAddr, path: &str) -> TestResult<Reply> {
    send(addr, Method::GET, path, &[], Bytes::new()).await
}

/// A JSON body sent with `method` to `path`, `Content-Type: application/json`.
pub async fn send_json(
    addr: SocketAddr,
    method: Method,
    path: &str,
    json: &str,
) -> TestResult<Reply> {
    let headers = [(CONTENT_TYPE.as_str(), "application/json")];
    send(addr, method, path, &headers, json.to_owned()).await
}

/// One sample of the exposition: its name, its labels, its value.
#[derive(Clone, Debug)]
pub struct Sample {
    /// The metric name, with its suffix (`_sum`, `_count`).
    pub name: String,
    /// The labels, in the order written.
    pub labels: Vec<(String, String)>,
    /// The value.
    pub value: f64,
}

/// A scrape of `/metrics`, in the text format.
#[derive(Clone, Debug)]
pub struct Metrics {
    /// The whole text, comments included.
    pub text: String,
    /// Every sample.
    pub samples: Vec<Sample>,
}

impl Metrics {
    /// Reads the text format: one sample a line, `name{label="value",...} value`; comments and blank lines skipped.
    pub fn parse(text: &str) -> TestResult<Metrics> {
        let mut samples = Vec::new();
        for line in text.lines() {
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (series, value) = line
                .rsplit_once(' ')
                .ok_or_else(|| format!("no value on line {line:?}"))?;
            let value: f64 = value
                .parse()
                .map_err(|err| format!("bad value on line {line:?}: {err}"))?;
            let (name, labels) = match series.split_once('{') {
                Some((name, rest)) => {
                    let inner = rest
                        .strip_suffix('}')
                        .ok_or_else(|| format!("unclosed labels on line {line:?}"))?;
                    (name, parse_labels(inner, line)?)
                }
                None => (series, Vec::new()),
            };
            samples.push(Sample {
                name: name.to_owned(),
                labels,
                value,
            });
        }
        Ok(Metrics {
            text: text.to_owned(),
            samples,
        })
    }

    /// The value of the one sample named `name` with (at least) these labels.
    pub fn value(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        let mut found = self.samples.iter().filter(|sample| {
            sample.name == name
                && labels
                    .iter()
                    .all(|(key, value)| sample.labels.iter().any(|(k, v)| k == key && v == value))
        });
        let first = found.next()?;
        // Two matches would make the question ambiguous: the test asked for too few labels.
        found.next().is_none().then_some(first.value)
    }

    /// As [`Metrics::value`], 0 for a series not written (yet).
    pub fn value_or_zero(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        self.value(name, labels).unwrap_or(0.0)
    }

    /// `accountservice_requests_total` of `handler` with status `code`.
    pub fn requests(&self, handler: &str, code: &str) -> f64 {
        self.value_or_zero(
            "accountservice_requests_total",
            &[("handler", handler), ("code", code)],
        )
    }

    /// `accountservice_requests_in_flight` of `handler`.
    pub fn in_flight(&self, handler: &str) -> Option<f64> {
        self.value("accountservice_requests_in_flight", &[("handler", handler)])
    }

    /// The `_sum` of `handler`'s summary, `service` being `duration` or `size`.
    pub fn sum(&self, handler: &str, service: &str) -> f64 {
        let name = format!("accountservice_{handler}_sum");
        self.value_or_zero(&name, &[("service", service)])
    }

    /// The `_count` of `handler`'s summary, `service` being `duration` or `size`.
    pub fn count(&self, handler: &str, service: &str) -> f64 {
        let name = format!("accountservice_{handler}_count");
        self.value_or_zero(&name, &[("service", service)])
    }
}

/// `key="value",...`, with the text format's escapes (`\\`, `\"`, `\n`).
fn parse_labels(inner: &str, line: &str) -> TestResult<Vec<(String, String)>> {
    let mut labels = Vec::new();
    let mut rest = inner;
    while !rest.is_empty() {
        let (key, after) = rest
            .split_once("=\"")
            .ok_or_else(|| format!("bad label on line {line:?}"))?;
        let mut value = String::new();
        let mut chars = after.char_indices();
        let mut end = None;
        while let Some((at, c)) = chars.next() {
            match c {
                '\\' => match chars.next() {
                    Some((_, 'n')) => value.push('\n'),
                    Some((_, other)) => value.push(other),
                    None => break,
                },
                '"' => {
                    end = Some(at);
                    break;
                }
                other => value.push(other),
            }
        }
        let end = end.ok_or_else(|| format!("unclosed label value on line {line:?}"))?;
        labels.push((key.to_owned(), value));
        rest = after[end + 1..].trim_start_matches(',');
    }
    Ok(labels)
}

/// `GET /metrics`, which must answer 200, parsed.
pub async fn scrape(addr: SocketAddr) -> TestResult<Metrics> {
    let reply = get(addr, "/metrics").await?;
    if reply.status != StatusCode::OK {
        return Err(format!("/metrics answered {}: {}", reply.status, reply.text()).into());
    }
    Metrics::parse(&reply.text())
}

/// Scrapes until `done` holds for the metrics, for at most `timeout`; the last scrape, or an error saying what
/// was awaited and what the metrics showed.
pub async fn scrape_until(
    addr: SocketAddr,
    what: &str,
    timeout: Duration,
    done: impl Fn(&Metrics) -> bool,
) -> TestResult<Metrics> {
    let deadline = Instant::now() + timeout;
    loop {
        let metrics = scrape(addr).await?;
        if done(&metrics) {
            return Ok(metrics);
        }
        if Instant::now() >= deadline {
            let ours: Vec<&str> = metrics
                .text
                .lines()
                .filter(|line| line.starts_with("accountservice_requests"))
                .collect();
            return Err(
                format!("{what}: not within {timeout:?}; the counts were {ours:#?}").into(),
            );
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

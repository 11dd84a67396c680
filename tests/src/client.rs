//! A small HTTP/1.1 client for talking to a service under test, built on hyper-util's pooled client.

use std::net::SocketAddr;

use bytes::Bytes;
use http::header::{HeaderMap, HeaderName, HeaderValue, CONTENT_TYPE};
use http::{Method, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client as HyperClient;
use hyper_util::rt::TokioExecutor;

use crate::exposition::Exposition;
use crate::TestResult;

/// A complete response: status, headers and the whole body.
#[derive(Clone, Debug)]
pub struct Reply {
    /// The status code.
    pub status: StatusCode,
    /// The response headers.
    pub headers: HeaderMap,
    /// The body, fully read.
    pub body: Bytes,
}

impl Reply {
    /// The body as text (invalid UTF-8 replaced).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body parsed as JSON.
    ///
    /// # Errors
    /// When the body is not JSON.
    pub fn json(&self) -> TestResult<serde_json::Value> {
        Ok(serde_json::from_slice(&self.body)?)
    }

    /// The value of header `name`, if present and visible ASCII.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|value| value.to_str().ok())
    }

    /// The `Content-Length` header, parsed.
    pub fn content_length(&self) -> Option<u64> {
        self.header("content-length")
            .and_then(|value| value.parse().ok())
    }
}

/// Sends requests to one service at `http://<addr>`.
#[derive(Clone, Debug)]
pub struct Client {
    base: String,
    inner: HyperClient<HttpConnector, Full<Bytes>>,
}

impl Client {
    /// A client for the service listening on `addr`.
    pub fn new(addr: SocketAddr) -> Client {
        Client {
            base: format!("http://{addr}"),
            inner: HyperClient::builder(TokioExecutor::new()).build_http(),
        }
    }

    /// The absolute URL of `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Sends `method path` with `headers` and `body`, and reads the whole answer.
    ///
    /// # Errors
    /// An invalid request, or a transport failure.
    pub async fn request(
        &self,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: impl Into<Bytes>,
    ) -> TestResult<Reply> {
        let mut request = Request::builder()
            .method(method)
            .uri(self.url(path))
            .body(Full::new(body.into()))?;
        for (name, value) in headers {
            request.headers_mut().append(
                HeaderName::from_bytes(name.as_bytes())?,
                HeaderValue::from_str(value)?,
            );
        }
        let response = self.inner.request(request).await?;
        let (parts, body) = response.into_parts();
        let body = body.collect().await?.to_bytes();
        Ok(Reply {
            status: parts.status,
            headers: parts.headers,
            body,
        })
    }

    /// `GET path`.
    ///
    /// # Errors
    /// A transport failure.
    pub async fn get(&self, path: &str) -> TestResult<Reply> {
        self.request(Method::GET, path, &[], Bytes::new()).await
    }

    /// `method path` with a JSON body (`Content-Type: application/json`).
    ///
    /// # Errors
    /// A transport failure.
    pub async fn send_json(&self, method: Method, path: &str, json: &str) -> TestResult<Reply> {
        let content_type = [(CONTENT_TYPE.as_str(), "application/json")];
        self.request(method, path, &content_type, json.to_owned())
            .await
    }

    /// `GET /metrics`, parsed.
    ///
    /// # Errors
    /// A transport failure, a status other than 200 or a body that is not valid text exposition.
    pub async fn scrape(&self) -> TestResult<Exposition> {
        let reply = self.get("/metrics").await?;
        if reply.status != StatusCode::OK {
            return Err(format!("/metrics answered {}: {}", reply.status, reply.text()).into());
        }
        Ok(Exposition::parse(&reply.text())?)
    }
}

//! Reading a response frame by frame over HTTP/1.1 or HTTP/2, on a connection of its own that can be dropped
//! mid-body, as a client that goes away would.

use std::net::SocketAddr;

use bytes::Bytes;
use http::{HeaderMap, Request, StatusCode};
use http_body_util::{BodyExt, Empty};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpStream;

use crate::TestResult;

/// The HTTP version a request goes out with.
#[derive(Clone, Copy, Debug)]
pub enum Protocol {
    /// HTTP/1.1.
    Http1,
    /// HTTP/2 with prior knowledge.
    Http2,
}

/// Both, for tests that run once per protocol.
pub const PROTOCOLS: [Protocol; 2] = [Protocol::Http1, Protocol::Http2];

/// A response being received on a connection of its own; dropping it closes the connection.
#[derive(Debug)]
pub struct Receiving {
    /// The response's status.
    pub status: StatusCode,
    /// The response's headers.
    pub headers: HeaderMap,
    body: Incoming,
    connection: tokio::task::JoinHandle<()>,
}

impl Drop for Receiving {
    fn drop(&mut self) {
        self.connection.abort();
    }
}

/// Sends `GET path` to `addr` on a new connection speaking `protocol`, and returns once the headers are in.
///
/// # Errors
/// A transport failure.
pub async fn get(addr: SocketAddr, protocol: Protocol, path: &str) -> TestResult<Receiving> {
    let io = TokioIo::new(TcpStream::connect(addr).await?);
    let request = Request::get(path)
        .header("host", addr.to_string())
        .body(Empty::<Bytes>::new())?;
    let (response, connection) = match protocol {
        Protocol::Http1 => {
            let (mut sender, connection) = hyper::client::conn::http1::handshake(io).await?;
            let connection = tokio::spawn(async move { drop(connection.await) });
            (sender.send_request(request).await?, connection)
        }
        Protocol::Http2 => {
            let (mut sender, connection) =
                hyper::client::conn::http2::handshake(TokioExecutor::new(), io).await?;
            let connection = tokio::spawn(async move { drop(connection.await) });
            (sender.send_request(request).await?, connection)
        }
    };
    let (parts, body) = response.into_parts();
    Ok(Receiving {
        status: parts.status,
        headers: parts.headers,
        body,
        connection,
    })
}

/// Reads `frames` data frames, or the whole body when `None`; returns the bytes read.
///
/// # Errors
/// The body failed.
pub async fn read(receiving: &mut Receiving, frames: Option<usize>) -> TestResult<usize> {
    Ok(collect(receiving, frames).await?.len())
}

/// Reads `frames` data frames, or the whole body when `None`; returns what was read.
///
/// # Errors
/// The body failed.
pub async fn collect(receiving: &mut Receiving, frames: Option<usize>) -> TestResult<Vec<u8>> {
    let mut bytes = Vec::new();
    let mut read = 0;
    while frames.is_none_or(|frames| read < frames) {
        match receiving.body.frame().await {
            Some(frame) => {
                if let Ok(data) = frame?.into_data() {
                    bytes.extend_from_slice(&data);
                    read += 1;
                }
            }
            None => break,
        }
    }
    Ok(bytes)
}

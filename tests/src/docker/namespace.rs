//! HTTP to a port on a container's own loopback, from inside its network namespace.

use std::fs::File;
use std::net::{SocketAddr, TcpStream};
use std::os::fd::AsRawFd;
use std::time::Duration;

use bytes::Bytes;
use http::header::HOST;
use http::Request;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;

use crate::client::Reply;
use crate::TestResult;

/// A TCP port on the loopback interface of a container's network namespace. The test reaches it
/// from a thread that enters that namespace to open the connection, so no traffic leaves the
/// container's own loopback and no port is published.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ContainerPort {
    /// A process inside the container (its main process).
    pub pid: u32,
    /// The port on the container's 127.0.0.1.
    pub port: u16,
}

impl ContainerPort {
    /// Opens a connection to 127.0.0.1:port inside the container's network namespace.
    ///
    /// # Errors
    /// The namespace cannot be entered, or nothing listens.
    pub fn connect(&self) -> TestResult<TcpStream> {
        let namespace = File::open(format!("/proc/{}/ns/net", self.pid))?;
        let addr = SocketAddr::from(([127, 0, 0, 1], self.port));
        // A socket belongs to the namespace it was made in: a short-lived thread enters the
        // container's, makes the socket, and ends, leaving every other thread where it was.
        let connected = std::thread::spawn(move || {
            // SAFETY: setns(2) is given a descriptor that stays open for the call; it changes
            // the namespace of this thread only, which ends right after.
            let entered = unsafe { libc::setns(namespace.as_raw_fd(), libc::CLONE_NEWNET) };
            if entered != 0 {
                return Err(std::io::Error::last_os_error());
            }
            TcpStream::connect_timeout(&addr, Duration::from_secs(5))
        })
        .join()
        .map_err(|_| "the namespace thread panicked")??;
        Ok(connected)
    }

    /// `GET path` on its own connection, with the whole answer.
    ///
    /// # Errors
    /// A connection or HTTP failure, or no answer within 10 seconds.
    pub async fn get(&self, path: &str) -> TestResult<Reply> {
        let stream = self.connect()?;
        stream.set_nonblocking(true)?;
        let stream = tokio::net::TcpStream::from_std(stream)?;
        let exchange = async {
            let (mut sender, connection) =
                hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
            let connection = tokio::spawn(connection);
            let request = Request::get(path)
                .header(HOST, format!("127.0.0.1:{}", self.port))
                .body(Full::new(Bytes::new()))?;
            let response = sender.send_request(request).await?;
            let (parts, body) = response.into_parts();
            let body = body.collect().await?.to_bytes();
            connection.abort();
            TestResult::Ok(Reply {
                status: parts.status,
                headers: parts.headers,
                body,
            })
        };
        tokio::time::timeout(Duration::from_secs(10), exchange)
            .await
            .map_err(|_| format!("GET {path}: no answer within 10 s"))?
    }
}

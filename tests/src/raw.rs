//! Raw TCP exchanges, for requests no well-behaved client would send: malformed HTTP, headers that never end,
//! uploads announced but never sent.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::TestResult;

/// What came back on a raw connection.
#[derive(Clone, Debug)]
pub struct RawReply {
    /// Everything the server sent.
    pub bytes: Vec<u8>,
    /// Whether the server closed the connection (rather than the wait running out).
    pub closed: bool,
    /// Time from sending the request to the close or the end of the wait.
    pub elapsed: Duration,
}

impl RawReply {
    /// The status code of the first response, if one was received.
    pub fn status(&self) -> Option<u16> {
        let text = std::str::from_utf8(self.bytes.get(..12)?).ok()?;
        text.strip_prefix("HTTP/1.1 ")?.trim().parse().ok()
    }

    /// Everything received, as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.bytes).into_owned()
    }
}

/// Connects to `addr`, writes `request`, then reads until the server closes the connection or `wait` passes.
///
/// A reset connection counts as closed: a server that refuses the rest of an upload may reset it.
///
/// # Errors
/// When the connection or the write fails.
pub async fn exchange(addr: SocketAddr, request: &[u8], wait: Duration) -> TestResult<RawReply> {
    let mut stream = TcpStream::connect(addr).await?;
    stream.write_all(request).await?;
    let started = Instant::now();
    let mut bytes = Vec::new();
    let mut buffer = [0_u8; 4096];
    let closed = loop {
        let remaining = wait.saturating_sub(started.elapsed());
        match tokio::time::timeout(remaining, stream.read(&mut buffer)).await {
            Err(_elapsed) => break false,
            Ok(Ok(0)) | Ok(Err(_)) => break true,
            Ok(Ok(read)) => bytes.extend_from_slice(buffer.get(..read).unwrap_or_default()),
        }
    };
    Ok(RawReply {
        bytes,
        closed,
        elapsed: started.elapsed(),
    })
}

/// Reads (and discards) what the server sends on `stream` until it closes the connection or `wait` passes; the
/// time until the close, if it came. A reset counts as a close.
pub async fn closed_within(stream: &mut TcpStream, wait: Duration) -> Option<Duration> {
    let started = Instant::now();
    let mut buffer = [0_u8; 4096];
    loop {
        let remaining = wait.checked_sub(started.elapsed())?;
        match tokio::time::timeout(remaining, stream.read(&mut buffer)).await {
            Err(_elapsed) => return None,
            Ok(Ok(0)) | Ok(Err(_)) => return Some(started.elapsed()),
            Ok(Ok(_)) => {}
        }
    }
}

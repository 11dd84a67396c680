//! The listening socket of the examples.

use std::io;

use tokio::net::{TcpListener, TcpSocket};

/// The kernel's queue of connections not yet accepted. While a flood of idle sockets fills the server, clients
/// wait their turn there (their requests already sent); a longer queue than tokio's default of 1024 keeps the
/// kernel from dropping their connection attempts (Linux caps it at `net.core.somaxconn`, 4096 by default).
const BACKLOG: u32 = 4096;

/// Listens on `addr` (`host:port`, host names resolved) with a backlog of 4096, as the examples' servers expect.
///
/// # Errors
/// When the address does not resolve or none of its addresses can be bound.
pub async fn listen(addr: &str) -> io::Result<TcpListener> {
    let mut last_error = None;
    for resolved in tokio::net::lookup_host(addr).await? {
        let socket = if resolved.is_ipv4() {
            TcpSocket::new_v4()?
        } else {
            TcpSocket::new_v6()?
        };
        // As `TcpListener::bind` does: a restarted service can bind while old connections linger in TIME_WAIT.
        #[cfg(unix)]
        socket.set_reuseaddr(true)?;
        match socket.bind(resolved).and_then(|()| socket.listen(BACKLOG)) {
            Ok(listener) => return Ok(listener),
            Err(err) => last_error = Some(err),
        }
    }
    Err(last_error.unwrap_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{addr} resolves to no address"),
        )
    }))
}

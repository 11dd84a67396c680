//! The limits a server keeps against hostile clients: one deadline per phase of a connection,
//! one cap per shared resource.

use std::time::Duration;

use crate::expose::server::descriptors;

/// hyper refuses read buffers below 8 KiB (it panics), so smaller header limits are raised to it.
const MIN_HEADER_BYTES: usize = 8 * 1024;

/// Limits of [`Exporter::serve_with`](crate::Exporter::serve_with) and
/// [`serve_connections`](crate::serve_connections): deadlines for every phase of a connection and
/// caps on every resource clients share, so that no client, however it behaves, takes the server
/// down.
///
/// The defaults suit a `/metrics` port, which a few Prometheus servers scrape, and are what
/// [`Exporter::serve`](crate::Exporter::serve) runs with:
///
/// | limit | default | what it bounds |
/// |---|---|---|
/// | [`first_request_timeout`](Self::first_request_timeout) | 10 s | a connection that sends no complete request (HTTP/1 headers or the HTTP/2 preface and a stream) |
/// | [`header_read_timeout`](Self::header_read_timeout) | 10 s | an HTTP/1 request's headers, from the moment the server waits for them |
/// | [`idle_timeout`](Self::idle_timeout) | 60 s | a connection, HTTP/1 or HTTP/2, with no request running and no response bytes produced |
/// | [`max_connections`](Self::max_connections) | 128 | open connections; beyond it the one quiet longest is closed |
/// | [`max_streams_per_connection`](Self::max_streams_per_connection) | 100 | concurrent HTTP/2 streams on one connection |
/// | [`max_header_bytes`](Self::max_header_bytes) | 32 KiB | an HTTP/1 request head, an HTTP/2 header list (431 above it) |
/// | [`shutdown_timeout`](Self::shutdown_timeout) | 10 s | how long a shutdown waits for requests in progress |
/// | [`scrape_timeout`](Self::scrape_timeout) | 10 s | one scrape's rendering (503 after it), as promhttp's `Timeout` |
/// | [`max_concurrent_scrapes`](Self::max_concurrent_scrapes) | 4 | scrapes rendered at once (503 beyond), as promhttp's `MaxRequestsInFlight` |
///
/// A server of a whole service sets [`max_connections`](Self::max_connections) to what it can
/// hold, for example with
/// [`max_connections_within_descriptor_limit`](Self::max_connections_within_descriptor_limit).
/// HTTP/2 flow-control windows are kept small (64 KiB per stream, 256 KiB per connection), so a
/// connection buffers little of a request body its handler has not read yet.
///
/// ```
/// use std::time::Duration;
///
/// let options = routemeter::ServeOptions::default()
///     .idle_timeout(Duration::from_secs(30))
///     .max_connections(16)
///     .max_concurrent_scrapes(2);
/// # let _ = options;
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[must_use = "ServeOptions do nothing until handed to a server"]
pub struct ServeOptions {
    pub(crate) first_request_timeout: Duration,
    pub(crate) header_read_timeout: Duration,
    pub(crate) idle_timeout: Duration,
    pub(crate) max_connections: usize,
    pub(crate) max_streams_per_connection: u32,
    pub(crate) max_header_bytes: usize,
    pub(crate) shutdown_timeout: Duration,
    pub(crate) scrape_timeout: Duration,
    pub(crate) max_concurrent_scrapes: usize,
    pub(crate) log_name: String,
}

impl Default for ServeOptions {
    fn default() -> ServeOptions {
        ServeOptions {
            first_request_timeout: Duration::from_secs(10),
            header_read_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            max_connections: 128,
            max_streams_per_connection: 100,
            max_header_bytes: 32 * 1024,
            shutdown_timeout: Duration::from_secs(10),
            scrape_timeout: Duration::from_secs(10),
            max_concurrent_scrapes: 4,
            log_name: "routemeter".to_owned(),
        }
    }
}

impl ServeOptions {
    /// The defaults (see the table above).
    pub fn new() -> ServeOptions {
        ServeOptions::default()
    }

    /// How long a new connection may take to deliver its first complete request before it is
    /// closed: covers a client that sends nothing, a partial HTTP/2 preface, or HTTP/1 headers
    /// that never end.
    pub fn first_request_timeout(mut self, timeout: Duration) -> ServeOptions {
        self.first_request_timeout = timeout;
        self
    }

    /// How long an HTTP/1 client may take to send a request's headers. hyper starts this timer
    /// as soon as it waits for a request, so it also closes a keep-alive connection that stays
    /// silent that long between requests.
    pub fn header_read_timeout(mut self, timeout: Duration) -> ServeOptions {
        self.header_read_timeout = timeout;
        self
    }

    /// How long a connection may stay quiet, no request running and no response bytes produced,
    /// before it is closed. For HTTP/2 this is the only limit on an idle connection.
    pub fn idle_timeout(mut self, timeout: Duration) -> ServeOptions {
        self.idle_timeout = timeout;
        self
    }

    /// The most connections open at once (at least 1). A connection beyond it makes room by
    /// closing the connection quiet longest: idle ones first, then the one whose request has
    /// made no progress for longest, but none within 100 ms of its last progress (the newcomer
    /// waits in the kernel's backlog meanwhile). Keep it below the process's descriptor limit,
    /// with room for everything else the process opens.
    pub fn max_connections(mut self, max: usize) -> ServeOptions {
        self.max_connections = max.max(1);
        self
    }

    /// [`max_connections`](Self::max_connections) set from the process's soft limit on open file
    /// descriptors, less a reserve for everything else the process opens, a stand-alone
    /// `/metrics` server with its default cap included (a quarter of the limit, at least 32). Where the limit cannot be read (`/proc/self/limits`), 1024 is
    /// assumed, the usual default.
    pub fn max_connections_within_descriptor_limit(self) -> ServeOptions {
        let limit = descriptors::soft_limit().unwrap_or(descriptors::USUAL_SOFT_LIMIT);
        self.max_connections(descriptors::share_for_connections(limit))
    }

    /// The most HTTP/2 streams one connection may have open at once.
    pub fn max_streams_per_connection(mut self, max: u32) -> ServeOptions {
        self.max_streams_per_connection = max.max(1);
        self
    }

    /// The largest request head accepted, in bytes: an HTTP/1 request line and headers (at
    /// least 8 KiB, hyper's smallest buffer), an HTTP/2 header list. Larger heads are refused
    /// with `431 Request Header Fields Too Large`.
    pub fn max_header_bytes(mut self, bytes: usize) -> ServeOptions {
        self.max_header_bytes = bytes.max(MIN_HEADER_BYTES);
        self
    }

    /// How long a shutdown waits for requests in progress before it closes their connections.
    pub fn shutdown_timeout(mut self, timeout: Duration) -> ServeOptions {
        self.shutdown_timeout = timeout;
        self
    }

    /// How long [`Exporter::serve_with`](crate::Exporter::serve_with) lets one scrape render
    /// before it answers `503 Service Unavailable`. The rendering still counts against
    /// [`max_concurrent_scrapes`](Self::max_concurrent_scrapes) until it ends.
    pub fn scrape_timeout(mut self, timeout: Duration) -> ServeOptions {
        self.scrape_timeout = timeout;
        self
    }

    /// How many scrapes [`Exporter::serve_with`](crate::Exporter::serve_with) renders at once
    /// (at least 1); one more is answered `503 Service Unavailable` with `Retry-After`.
    pub fn max_concurrent_scrapes(mut self, max: usize) -> ServeOptions {
        self.max_concurrent_scrapes = max.max(1);
        self
    }

    /// The name that starts the server's log lines on standard error (`routemeter` by default).
    /// Lines about clients (refused connections, failed accepts, malformed requests) are
    /// rate-limited: at most one a second of each kind, with a count of those left out.
    pub fn log_name(mut self, name: impl Into<String>) -> ServeOptions {
        self.log_name = name.into();
        self
    }

    /// The header limit as hyper's HTTP/2 setting.
    pub(crate) fn max_header_list_size(&self) -> u32 {
        u32::try_from(self.max_header_bytes).unwrap_or(u32::MAX)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_that_would_stop_serving_are_raised_to_their_least_useful_value() {
        let options = ServeOptions::new()
            .max_connections(0)
            .max_streams_per_connection(0)
            .max_header_bytes(10)
            .max_concurrent_scrapes(0);
        assert_eq!(options.max_connections, 1);
        assert_eq!(options.max_streams_per_connection, 1);
        assert_eq!(options.max_header_bytes, MIN_HEADER_BYTES);
        assert_eq!(options.max_concurrent_scrapes, 1);
    }

    #[test]
    fn descriptor_limit_leaves_a_reserve() {
        let options = ServeOptions::new().max_connections_within_descriptor_limit();
        let limit = descriptors::soft_limit().unwrap_or(descriptors::USUAL_SOFT_LIMIT);
        assert!(options.max_connections < limit);
        assert!(options.max_connections >= 1);
    }
}

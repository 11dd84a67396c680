//! routemeter's stand-alone `/metrics` server ([`routemeter::Exporter::serve_with`]) running in this process on an
//! ephemeral port of `127.0.0.1`.

use std::net::SocketAddr;

use routemeter::{Exporter, ServeOptions};
use tokio::net::TcpListener;

use crate::server_task::ServerTask;
use crate::TestResult;

/// `exporter` served with `options`; stopped on [`stop`](MetricsServer::stop) or drop.
#[derive(Debug)]
pub struct MetricsServer {
    addr: SocketAddr,
    task: ServerTask<routemeter::Error>,
}

impl MetricsServer {
    /// Serves `exporter` with `options` on 127.0.0.1, on an ephemeral port.
    ///
    /// # Errors
    /// When the listener cannot be bound.
    pub async fn start(exporter: Exporter, options: ServeOptions) -> TestResult<MetricsServer> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let task = ServerTask::spawn(|stopped| {
            exporter.serve_with(listener, options, async {
                let _ = stopped.await;
            })
        });
        Ok(MetricsServer { addr, task })
    }

    /// Where the server listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Signals shutdown and waits for the server to return.
    ///
    /// # Errors
    /// When the server failed or did not stop in time.
    pub async fn stop(self) -> TestResult {
        self.task.stop().await
    }
}

//! routemeter's stand-alone `/metrics` server ([`routemeter::Exporter::serve_with`]) running in this process on an
//! ephemeral port of `127.0.0.1`.

use std::net::SocketAddr;
use std::time::Duration;

use routemeter::{Exporter, ServeOptions};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::TestResult;

/// How long [`MetricsServer::stop`] waits for the server to return.
const STOP_TIMEOUT: Duration = Duration::from_secs(15);

/// `exporter` served with `options`; stopped on [`stop`](MetricsServer::stop) or drop.
#[derive(Debug)]
pub struct MetricsServer {
    addr: SocketAddr,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<Result<(), routemeter::Error>>>,
}

impl MetricsServer {
    /// Serves `exporter` with `options` on 127.0.0.1, on an ephemeral port.
    ///
    /// # Errors
    /// When the listener cannot be bound.
    pub async fn start(exporter: Exporter, options: ServeOptions) -> TestResult<MetricsServer> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let (shutdown, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(exporter.serve_with(listener, options, async {
            let _ = stopped.await;
        }));
        Ok(MetricsServer {
            addr,
            shutdown: Some(shutdown),
            task: Some(task),
        })
    }

    /// Where the server listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Signals shutdown and waits for the server to return.
    ///
    /// # Errors
    /// When the server failed or did not stop in time.
    pub async fn stop(mut self) -> TestResult {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        let Some(task) = self.task.take() else {
            return Ok(());
        };
        match tokio::time::timeout(STOP_TIMEOUT, task).await {
            Ok(Ok(served)) => Ok(served?),
            Ok(Err(join)) => Err(format!("the server task failed: {join}").into()),
            Err(_) => Err(format!("the server did not stop within {STOP_TIMEOUT:?}").into()),
        }
    }
}

impl Drop for MetricsServer {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

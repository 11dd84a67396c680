//! The axum accountservice served in this test's process, on an ephemeral port of 127.0.0.1.
//!
//! Apart from `common` because it names this package's library: a test binary that includes it links the axum
//! handlers (and registers them), which `compare.rs`, serving the hyper example's handlers of the same names, must
//! not.

use std::net::SocketAddr;
use std::time::Duration;

use accountservice_axum::AppState;
use routemeter::ServeOptions;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::common::{TestResult, EXCHANGE_TIMEOUT};

/// The axum accountservice, served in this process until [`Service::stop`] (or the test's runtime ends).
pub struct Service {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<std::io::Result<()>>,
}

impl Service {
    /// Installs routemeter (once per process; later calls get an exporter of the same configuration) and serves
    /// the service on 127.0.0.1 on a port the system picks.
    pub async fn start() -> TestResult<Service> {
        Service::start_with(AppState::seeded()).await
    }

    /// As [`Service::start`], over `state`.
    pub async fn start_with(state: AppState) -> TestResult<Service> {
        let exporter = routemeter::install()?;
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let (stop, stopped) = oneshot::channel::<()>();
        let options = ServeOptions::default().shutdown_timeout(Duration::from_secs(2));
        let task = tokio::spawn(accountservice_axum::serve_state(
            listener,
            state,
            exporter,
            options,
            async move {
                let _ = stopped.await;
            },
        ));
        Ok(Service {
            addr,
            stop: Some(stop),
            task,
        })
    }

    /// Where it listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops it and waits until it has stopped.
    pub async fn stop(mut self) -> TestResult {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        tokio::time::timeout(EXCHANGE_TIMEOUT, &mut self.task).await???;
        Ok(())
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        // A test that failed before `stop`: the server must not outlive it.
        self.task.abort();
    }
}

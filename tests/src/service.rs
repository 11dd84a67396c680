//! Running the accountservice in-process on an ephemeral port, and keeping metric assertions exact.
//!
//! All services started by one test binary share one process-wide set of metrics (routemeter's handlers are
//! statics), so two rules keep the numbers exact while tests run in parallel:
//! - the first service started in the process scrapes `/metrics` before anything else can send a request, and
//!   keeps that text ([`first_scrape`]): the "series exist at zero" check reads it, whatever test runs first;
//! - a test asserting counts starts its service with [`TestService::start_exclusive`], which waits until no other
//!   test has a service running and keeps others from starting one meanwhile; the other tests share.

use std::io;
use std::net::SocketAddr;
use std::sync::OnceLock;

use accountservice::Options;
use routemeter::Exporter;
use tokio::net::TcpListener;
use tokio::sync::{OnceCell, RwLock, RwLockReadGuard, RwLockWriteGuard};

use crate::client::Client;
use crate::server_task::ServerTask;
use crate::TestResult;

static EXPORTER: OnceLock<Result<Exporter, String>> = OnceLock::new();
static FIRST_SCRAPE: OnceCell<Result<String, String>> = OnceCell::const_new();
static METRICS: RwLock<()> = RwLock::const_new(());

/// The process's exporter: `routemeter::install()` runs once, as in a real service.
///
/// # Errors
/// When routemeter refuses to install.
pub fn exporter() -> TestResult<Exporter> {
    match EXPORTER.get_or_init(|| routemeter::install().map_err(|err| err.to_string())) {
        Ok(exporter) => Ok(exporter.clone()),
        Err(message) => Err(format!("routemeter::install failed: {message}").into()),
    }
}

/// The `/metrics` text of the first service this process started, scraped before any request was served.
///
/// # Errors
/// When that service could not be started or scraped.
pub async fn first_scrape() -> TestResult<String> {
    let scraped = FIRST_SCRAPE
        .get_or_init(|| async {
            let scrape = async {
                let service = TestService::spawn(Options::default(), Access::None).await?;
                let reply = service.client().get("/metrics").await?;
                service.stop().await?;
                Ok::<_, Box<dyn std::error::Error + Send + Sync>>(reply.text())
            };
            scrape.await.map_err(|err| err.to_string())
        })
        .await;
    scraped.clone().map_err(Into::into)
}

/// How a service holds the process-wide metrics. The guards are never read: holding them is the point, until
/// the service is dropped.
#[derive(Debug)]
#[allow(dead_code)]
enum Access {
    None,
    Shared(RwLockReadGuard<'static, ()>),
    Exclusive(RwLockWriteGuard<'static, ()>),
}

/// An accountservice running on `127.0.0.1:<ephemeral port>` in this process; stopped on [`stop`] or drop.
///
/// [`stop`]: TestService::stop
#[derive(Debug)]
pub struct TestService {
    addr: SocketAddr,
    client: Client,
    // Before the access: a dropped service stops before another test may take the metrics.
    task: ServerTask<io::Error>,
    _access: Access,
}

impl TestService {
    /// Starts a service with default options, sharing the metrics with other tests.
    ///
    /// # Errors
    /// When the service cannot start.
    pub async fn start() -> TestResult<TestService> {
        TestService::start_with(Options::default()).await
    }

    /// Starts a service with `options`, sharing the metrics with other tests.
    ///
    /// # Errors
    /// When the service cannot start.
    pub async fn start_with(options: Options) -> TestResult<TestService> {
        first_scrape().await?;
        let guard = METRICS.read().await;
        TestService::spawn(options, Access::Shared(guard)).await
    }

    /// Starts a service with `options` while no other test's service runs, so metric deltas are exact.
    ///
    /// # Errors
    /// When the service cannot start.
    pub async fn start_exclusive(options: Options) -> TestResult<TestService> {
        first_scrape().await?;
        let guard = METRICS.write().await;
        TestService::spawn(options, Access::Exclusive(guard)).await
    }

    async fn spawn(options: Options, access: Access) -> TestResult<TestService> {
        let exporter = exporter()?;
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let task = ServerTask::spawn(|stopped| {
            accountservice::serve(listener, exporter, options, async {
                let _ = stopped.await;
            })
        });
        Ok(TestService {
            addr,
            client: Client::new(addr),
            task,
            _access: access,
        })
    }

    /// Where the service listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// A client for the service.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Signals shutdown and waits for [`accountservice::serve`] to return.
    ///
    /// # Errors
    /// When the server failed, panicked or did not stop in time.
    pub async fn stop(self) -> TestResult<()> {
        self.task.stop().await
    }
}

//! A server running on a task of its own until it is told to stop: what every in-process test server holds.

use std::error::Error;
use std::future::Future;
use std::time::Duration;

use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::TestResult;

/// How long [`ServerTask::stop`] waits for the server to return.
const STOP_TIMEOUT: Duration = Duration::from_secs(15);

/// A spawned server; dropping it tells the server to stop and aborts its task.
#[derive(Debug)]
pub struct ServerTask<E> {
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<Result<(), E>>>,
}

impl<E> ServerTask<E>
where
    E: Into<Box<dyn Error + Send + Sync>> + Send + 'static,
{
    /// Spawns the server `serve` makes of its stop signal, which resolves when [`stop`](ServerTask::stop) is called
    /// or the task is dropped.
    pub fn spawn<F>(serve: impl FnOnce(oneshot::Receiver<()>) -> F) -> ServerTask<E>
    where
        F: Future<Output = Result<(), E>> + Send + 'static,
    {
        let (shutdown, stopped) = oneshot::channel();
        ServerTask {
            shutdown: Some(shutdown),
            task: Some(tokio::spawn(serve(stopped))),
        }
    }

    /// Tells the server to stop and waits for it to return.
    ///
    /// # Errors
    /// When the server failed, panicked or did not stop in time.
    pub async fn stop(mut self) -> TestResult {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        let Some(task) = self.task.take() else {
            return Ok(());
        };
        match tokio::time::timeout(STOP_TIMEOUT, task).await {
            Ok(Ok(served)) => served.map_err(Into::into),
            Ok(Err(join)) => Err(format!("the server task failed: {join}").into()),
            Err(_) => Err(format!("the server did not stop within {STOP_TIMEOUT:?}").into()),
        }
    }
}

impl<E> Drop for ServerTask<E> {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

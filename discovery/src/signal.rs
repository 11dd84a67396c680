//! Waiting for the signals that ask the program to stop.

use crate::log::{log_info, log_warn};

/// Completes on SIGINT (Ctrl-C) or SIGTERM (`docker stop`, a Swarm update).
///
/// When a handler cannot be installed, that signal is logged and left to its default
/// action, which still ends the process.
pub async fn shutdown_signal() {
    let interrupt = async {
        match tokio::signal::ctrl_c().await {
            Ok(()) => log_info!("received SIGINT"),
            Err(problem) => {
                log_warn!("cannot listen for SIGINT: {problem}");
                std::future::pending::<()>().await;
            }
        }
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut stream) => {
                stream.recv().await;
                log_info!("received SIGTERM");
            }
            Err(problem) => {
                log_warn!("cannot listen for SIGTERM: {problem}");
                std::future::pending::<()>().await;
            }
        }
    };
    tokio::select! {
        () = interrupt => {}
        () = terminate => {}
    }
}

// Handlers with shared state and other arguments beside the request, including patterns.
#![deny(warnings)]

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::Full;
use hyper::{Request, Response};
use routemeter::instrumented;

struct State {
    created: AtomicU64,
}

#[instrumented(name = "CreateAccount", route = "POST /accounts")]
async fn create_account(
    _req: Request<Full<Bytes>>,
    state: Arc<State>,
    (prefix, width): (&str, usize),
    mut attempts: u8,
) -> Response<Full<Bytes>> {
    attempts += 1;
    let id = state.created.fetch_add(1, Ordering::Relaxed);
    let body = format!("{prefix}{id:0width$} after {attempts} attempt(s)");
    Response::new(Full::new(Bytes::from(body)))
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let state = Arc::new(State {
        created: AtomicU64::new(0),
    });
    let response =
        create_account(Request::new(Full::default()), state.clone(), ("acc-", 4), 0).await;
    assert_eq!(response.status(), 200);
    assert_eq!(state.created.load(Ordering::Relaxed), 1);
}

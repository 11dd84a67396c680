// A handler returning `Response<B>` directly, not wrapped in `Result`.
#![deny(warnings)]

use bytes::Bytes;
use http_body_util::Full;
use hyper::{Request, Response, StatusCode};
use routemeter::instrumented;

#[instrumented(name = "Health", route = "GET /health")]
async fn health(_req: Request<Full<Bytes>>) -> Response<Full<Bytes>> {
    Response::builder()
        .status(StatusCode::NO_CONTENT)
        .body(Full::default())
        .unwrap_or_default()
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let response = health(Request::new(Full::default())).await;
    assert_eq!(response.status(), 204);
}

// `crate = "..."` names the runtime when the application knows it under another name.
#![deny(warnings)]

extern crate routemeter as metrics;

use bytes::Bytes;
use http_body_util::Full;
use hyper::{Request, Response};

#[metrics::instrumented(name = "Renamed", route = "GET /renamed", crate = "metrics")]
async fn renamed(_req: Request<()>) -> Response<Full<Bytes>> {
    Response::new(Full::default())
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    assert_eq!(renamed(Request::new(())).await.status(), 200);
}

// `namespace = "..."` puts one handler's metrics under a namespace other than the crate's.
#![deny(warnings)]

use bytes::Bytes;
use http_body_util::Full;
use hyper::{Request, Response};
use routemeter::instrumented;

#[instrumented(name = "Charge", route = "POST /charges", namespace = "billing")]
async fn charge(_req: Request<()>) -> Response<Full<Bytes>> {
    Response::new(Full::default())
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    assert_eq!(charge(Request::new(())).await.status(), 200);
}

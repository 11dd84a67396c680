// `histogram = true|false|"native"` switches the aggregatable histograms per handler.
#![deny(warnings)]

use bytes::Bytes;
use http_body_util::Full;
use hyper::{Request, Response};
use routemeter::instrumented;

#[instrumented(name = "Search", route = "GET /search", histogram = true)]
async fn search(_req: Request<()>) -> Response<Full<Bytes>> {
    Response::new(Full::default())
}

#[instrumented(histogram = false, name = "Ping", route = "GET /ping")]
async fn ping(_req: Request<()>) -> Response<Full<Bytes>> {
    Response::new(Full::default())
}

#[instrumented(name = "Report", route = "GET /report", histogram = "native")]
async fn report(_req: Request<()>) -> Response<Full<Bytes>> {
    Response::new(Full::default())
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    assert_eq!(search(Request::new(())).await.status(), 200);
    assert_eq!(ping(Request::new(())).await.status(), 200);
    assert_eq!(report(Request::new(())).await.status(), 200);
}

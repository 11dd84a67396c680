// Each argument may be given once; every duplicate key is reported the same way.
use bytes::Bytes;
use http_body_util::Full;
use hyper::{Request, Response};
use routemeter::instrumented;

#[instrumented(
    name = "GetAccount",
    route = "GET /accounts",
    name = "ListAccounts",
    histogram = true,
    histogram = false
)]
async fn handler(_req: Request<()>) -> Response<Full<Bytes>> {
    Response::new(Full::default())
}

fn main() {
    let _ = handler;
}

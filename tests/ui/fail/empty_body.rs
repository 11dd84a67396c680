// An empty body: the missing response is reported against the declared return type.
use bytes::Bytes;
use http_body_util::Full;
use hyper::{Request, Response};
use routemeter::instrumented;

#[instrumented(name = "GetAccount", route = "GET /accounts")]
async fn handler(_req: Request<()>) -> Response<Full<Bytes>> {}

fn main() {
    let _ = handler;
}

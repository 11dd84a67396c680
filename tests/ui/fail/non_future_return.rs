// A synchronous handler returns no future to observe: the error is on its return type.
use bytes::Bytes;
use http_body_util::Full;
use hyper::{Request, Response};
use routemeter::instrumented;

#[instrumented(name = "GetAccount", route = "GET /accounts")]
fn handler(_req: Request<()>) -> Response<Full<Bytes>> {
    Response::new(Full::default())
}

fn main() {
    let _ = handler;
}

// A bare attribute: one error names both required arguments.
use bytes::Bytes;
use http_body_util::Full;
use hyper::{Request, Response};
use routemeter::instrumented;

#[instrumented]
async fn handler(_req: Request<()>) -> Response<Full<Bytes>> {
    Response::new(Full::default())
}

fn main() {
    let _ = handler;
}

// An unknown HTTP method: the valid methods are listed.
use bytes::Bytes;
use http_body_util::Full;
use hyper::{Request, Response};
use routemeter::instrumented;

#[instrumented(name = "GetAccount", route = "FETCH /accounts")]
async fn handler(_req: Request<()>) -> Response<Full<Bytes>> {
    Response::new(Full::default())
}

fn main() {
    let _ = handler;
}

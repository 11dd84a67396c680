// A syntax error in the body is reported by the compiler as usual, with nothing added by the
// attribute.
use bytes::Bytes;
use http_body_util::Full;
use hyper::{Request, Response};
use routemeter::instrumented;

#[instrumented(name = "GetAccount", route = "GET /accounts")]
async fn handler(_req: Request<()>) -> Response<Full<Bytes>> {
    let response = ;
    Response::new(Full::default())
}

fn main() {
    let _ = handler;
}

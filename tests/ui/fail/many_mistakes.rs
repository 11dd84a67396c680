// Several mistakes at once, in the arguments and in the function: all are reported in one build.
use bytes::Bytes;
use http_body_util::Full;
use hyper::{Request, Response};
use routemeter::instrumented;

#[instrumented(
    name = "get-account",
    route = "get /accounts/{id",
    colour = "blue",
    histogram = 1
)]
fn handler(_req: Request<()>) -> Response<Full<Bytes>> {
    Response::new(Full::default())
}

fn main() {
    let _ = handler;
}

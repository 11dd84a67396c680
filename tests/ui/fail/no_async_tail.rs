// A non-async handler must end in the `async` block to observe: a ready-made future is rejected.
use std::future::{ready, Future};

use bytes::Bytes;
use http_body_util::Full;
use hyper::{Request, Response};
use routemeter::instrumented;

#[instrumented(name = "GetAccount", route = "GET /accounts")]
fn handler(_req: Request<()>) -> impl Future<Output = Response<Full<Bytes>>> {
    ready(Response::new(Full::default()))
}

fn main() {
    let _ = handler;
}

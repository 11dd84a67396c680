// A name that is not a Prometheus name fragment: the charset is stated and a fix suggested.
use bytes::Bytes;
use http_body_util::Full;
use hyper::{Request, Response};
use routemeter::instrumented;

#[instrumented(name = "Get-Account", route = "GET /accounts")]
async fn handler(_req: Request<()>) -> Response<Full<Bytes>> {
    Response::new(Full::default())
}

fn main() {
    let _ = handler;
}

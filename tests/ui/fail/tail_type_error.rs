// A body whose value is not the declared return type: the error is on the user's tail expression
// and names the declared type.
use bytes::Bytes;
use http_body_util::Full;
use hyper::{Request, Response};
use routemeter::instrumented;

#[instrumented(name = "GetAccount", route = "GET /accounts/{accountId}")]
async fn handler(_req: Request<()>) -> Response<Full<Bytes>> {
    Full::new(Bytes::from_static(b"forgot the Response"))
}

fn main() {
    let _ = handler;
}

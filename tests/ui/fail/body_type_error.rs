// A type error inside an instrumented body is reported on the user's line, not in generated code.
use bytes::Bytes;
use http_body_util::Full;
use hyper::{Request, Response};
use routemeter::instrumented;

#[instrumented(name = "GetAccount", route = "GET /accounts/{accountId}")]
async fn handler(req: Request<()>) -> Response<Full<Bytes>> {
    let id: u64 = req.uri().path();
    Response::new(Full::new(Bytes::from(id.to_string())))
}

fn main() {
    let _ = handler;
}

// `?` converts into the declared error type: a missing `From` is reported on the user's line, with
// the same message as in a handler without the attribute.
use bytes::Bytes;
use http_body_util::Full;
use hyper::{Request, Response};
use routemeter::instrumented;

#[derive(Debug)]
struct ApiError;

#[instrumented(name = "GetAccount", route = "GET /accounts/{accountId}")]
async fn handler(req: Request<()>) -> Result<Response<Full<Bytes>>, ApiError> {
    let id: u64 = req.uri().path().parse()?;
    Ok(Response::new(Full::new(Bytes::from(id.to_string()))))
}

fn main() {
    let _ = handler;
}

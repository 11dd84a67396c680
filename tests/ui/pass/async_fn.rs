// The basic shape: an `async fn` taking the request and returning `Result<Response<_>, Infallible>`.
#![deny(warnings)]

use std::convert::Infallible;

use bytes::Bytes;
use http_body_util::Full;
use hyper::{Request, Response};
use routemeter::instrumented;

#[instrumented(name = "GetAccount", route = "GET /accounts/{accountId}")]
async fn get_account(req: Request<Full<Bytes>>) -> Result<Response<Full<Bytes>>, Infallible> {
    let id = req.uri().path().trim_start_matches("/accounts/").to_owned();
    Ok(Response::new(Full::new(Bytes::from(id))))
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let req = Request::get("/accounts/7").body(Full::default()).unwrap();
    let response = get_account(req).await.unwrap();
    assert_eq!(response.status(), 200);
}

// A return type containing `impl Trait` (here the body type) is accepted as declared.
#![deny(warnings)]

use std::convert::Infallible;

use bytes::Bytes;
use http_body::Body;
use http_body_util::Full;
use hyper::{Request, Response};
use routemeter::instrumented;

#[instrumented(name = "Opaque", route = "GET /opaque")]
async fn opaque(_req: Request<()>) -> Response<impl Body<Data = Bytes, Error = Infallible>> {
    Response::new(Full::new(Bytes::from_static(b"hidden")))
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let response = opaque(Request::new(())).await;
    assert_eq!(response.body().size_hint().exact(), Some(6));
}

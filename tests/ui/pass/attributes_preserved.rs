// Doc comments, lint attributes, inner attributes and visibility survive the attribute:
// `missing_docs` rejects the public handler without its doc, `unused_variables` and `unused_mut`
// fire without the outer and inner `allow`, and `main` cannot call a handler that lost `pub(crate)`.
#![deny(warnings, missing_docs)]
//! A crate whose public handler must be documented.

use bytes::Bytes;
use http_body_util::Full;
use hyper::{Request, Response};
use routemeter::instrumented;

/// Answers with an empty body, whatever was asked.
#[instrumented(name = "Documented", route = "GET /documented")]
#[allow(unused_variables)]
pub async fn documented(req: Request<()>, ignored: u8) -> Response<Full<Bytes>> {
    #![allow(unused_mut)]
    let mut response = Response::new(Full::default());
    response
}

mod handlers {
    use super::*;

    #[instrumented(name = "Internal", route = "GET /internal")]
    pub(crate) async fn internal(_req: Request<()>) -> Response<Full<Bytes>> {
        Response::new(Full::default())
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    assert_eq!(documented(Request::new(()), 1).await.status(), 200);
    assert_eq!(handlers::internal(Request::new(())).await.status(), 200);
}

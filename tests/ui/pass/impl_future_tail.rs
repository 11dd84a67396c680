// A plain `fn` returning `impl Future` whose tail is an `async` block: statements before the block
// run at call time as before; only the returned future is observed.
#![deny(warnings)]

use std::convert::Infallible;
use std::future::Future;

use bytes::Bytes;
use http_body_util::Full;
use hyper::{Request, Response};
use routemeter::instrumented;

#[instrumented(name = "ListAccounts", route = "GET /accounts")]
fn list_accounts(
    req: Request<Full<Bytes>>,
) -> impl Future<Output = Result<Response<Full<Bytes>>, Infallible>> + Send {
    let query = req.uri().query().unwrap_or("").to_owned();
    async move { Ok(Response::new(Full::new(Bytes::from(query)))) }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let req = Request::get("/accounts?limit=2")
        .body(Full::default())
        .unwrap();
    let response = list_accounts(req).await.unwrap();
    assert_eq!(response.status(), 200);
}

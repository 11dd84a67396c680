// Path parameters in the `<param>` spelling of the design card, and a `{*rest}` catch-all.
#![deny(warnings)]

use bytes::Bytes;
use http_body_util::Full;
use hyper::{Request, Response};
use routemeter::instrumented;

#[instrumented(name = "GetItem", route = "GET /accounts/<accountId>/items/<itemId>")]
async fn get_item(_req: Request<()>) -> Response<Full<Bytes>> {
    Response::new(Full::default())
}

#[instrumented(name = "Static", route = "GET /static/{*path}")]
async fn static_file(_req: Request<()>) -> Response<Full<Bytes>> {
    Response::new(Full::default())
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    assert_eq!(get_item(Request::new(())).await.status(), 200);
    assert_eq!(static_file(Request::new(())).await.status(), 200);
}

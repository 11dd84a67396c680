// A long-lived route, and the time-to-headers and request-size opt-ins, on and off.
#![deny(warnings)]

use bytes::Bytes;
use http_body_util::Full;
use hyper::{Request, Response};
use routemeter::instrumented;

#[instrumented(name = "Events", route = "GET /events", stream = true)]
async fn events(_req: Request<()>) -> Response<Full<Bytes>> {
    Response::new(Full::default())
}

#[instrumented(
    name = "Upload",
    route = "POST /upload",
    time_to_headers = true,
    request_size = false
)]
async fn upload(_req: Request<()>) -> Response<Full<Bytes>> {
    Response::new(Full::default())
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    assert_eq!(events(Request::new(())).await.status(), 200);
    assert_eq!(upload(Request::new(())).await.status(), 200);
}

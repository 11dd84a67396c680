// `stream` takes a bool, not a string.
use bytes::Bytes;
use http_body_util::Full;
use hyper::Response;
use routemeter::instrumented;

#[instrumented(name = "Events", route = "GET /events", stream = "true")]
async fn events() -> Response<Full<Bytes>> {
    Response::new(Full::default())
}

fn main() {}

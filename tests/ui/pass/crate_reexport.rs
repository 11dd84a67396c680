// `crate = "..."` names a module that re-exports the runtime, e.g. an application's telemetry facade.
#![deny(warnings)]

use bytes::Bytes;
use http_body_util::Full;
use hyper::{Request, Response};

mod telemetry {
    pub use routemeter::*;
}

#[telemetry::instrumented(name = "Facade", route = "GET /facade", crate = "crate::telemetry")]
async fn facade(_req: Request<()>) -> Response<Full<Bytes>> {
    Response::new(Full::default())
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    assert_eq!(facade(Request::new(())).await.status(), 200);
}

//! Bodies held whole in memory (`Full<Bytes>`, `String`) served through `routemeter::Metered` in a program where
//! no handler asks for what only the meter records (time to headers, request size, a stream): the meter then
//! passes each response on untouched and the handler records itself, and the series must be those of any answer,
//! status, duration and size.
//!
//! A real hyper server on 127.0.0.1 serves the handlers of this file (namespace `whole_bodies`); this test binary
//! has no other instrumented handler, so the meter's pass-through is the path that runs.

use bytes::Bytes;
use http::{Response, StatusCode};
use http_body_util::Full;
use routemeter_tests::series::{ended, metrics, HandlerSeries};
use routemeter_tests::server::TestServer;
use routemeter_tests::TestResult;

const FULL: HandlerSeries = HandlerSeries::new("whole_bodies", "FullBody", "GET", "/full");
const TEXT: HandlerSeries = HandlerSeries::new("whole_bodies", "TextBody", "GET", "/text");

#[routemeter::instrumented(name = "FullBody", route = "GET /full", namespace = "whole_bodies")]
async fn full_body() -> Response<Full<Bytes>> {
    Response::new(Full::new(Bytes::from_static(b"a whole body")))
}

#[routemeter::instrumented(name = "TextBody", route = "GET /text", namespace = "whole_bodies")]
async fn text_body() -> Response<String> {
    let mut response = Response::new("nothing here".to_owned());
    *response.status_mut() = StatusCode::NOT_FOUND;
    response
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn whole_bodies_pass_through_the_meter_and_their_handlers_record_them() -> TestResult {
    let exporter = routemeter::install()?;
    let full = TestServer::start_metered(|_| full_body()).await?;
    let text = TestServer::start_metered(|_| text_body()).await?;
    for _ in 0..3 {
        let before = metrics(&exporter)?;
        let reply = full.client().get("/full").await?;
        assert_eq!(reply.text(), "a whole body");
        let after = ended(&exporter, FULL, &before, "200").await?;
        assert_eq!(FULL.sum(&after, "size") - FULL.sum(&before, "size"), 12.0);
        assert_eq!(
            FULL.count(&after, "duration") - FULL.count(&before, "duration"),
            1.0
        );

        let before = metrics(&exporter)?;
        let reply = text.client().get("/text").await?;
        assert_eq!(reply.status, StatusCode::NOT_FOUND);
        assert_eq!(reply.text(), "nothing here");
        let after = ended(&exporter, TEXT, &before, "404").await?;
        assert_eq!(TEXT.sum(&after, "size") - TEXT.sum(&before, "size"), 12.0);
        assert_eq!(TEXT.requests(&after, "aborted"), 0.0);
    }
    full.stop().await?;
    text.stop().await
}

//! A request recorded before `install` fixes the default configuration: installing the defaults
//! afterwards adopts it, and installing anything else is an error that names the handler.

use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::Response;
use routemeter::{Config, Error};

#[routemeter::instrumented(name = "Early", route = "GET /early")]
async fn early() -> Response<Full<Bytes>> {
    Response::new(Full::new(Bytes::from_static(b"early")))
}

#[test]
fn install_adopts_requests_recorded_before_it_or_says_why_it_cannot() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    runtime.block_on(early());

    let error = Config::new()
        .window(Duration::from_secs(60), 3)
        .install()
        .expect_err("the defaults are fixed by the request");
    let message = error.to_string();
    assert!(
        matches!(&error, Error::RecordedBeforeInstall { handler } if handler.contains("`Early`")),
        "{message}"
    );
    assert!(message.contains("recorded_before_install.rs:"), "{message}");
    assert!(message.contains("before serving requests"), "{message}");

    let exporter = routemeter::install().expect("the defaults adopt the early request");
    let text = exporter.render().expect("render");
    assert!(
        text.contains("recorded_before_install_Early_count{service=\"duration\"} 1\n"),
        "{text}"
    );
    assert!(
        text.contains(
            "recorded_before_install_requests_total{handler=\"Early\",method=\"GET\",route=\"/early\",code=\"200\"} 1\n"
        ),
        "{text}"
    );
}

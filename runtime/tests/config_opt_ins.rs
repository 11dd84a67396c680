//! `Config::time_to_headers` and `Config::request_size` give every handler those histograms, except a
//! handler that says `false` itself; a handler's own `true` needs no `Config`.

use bytes::Bytes;
use http_body_util::Empty;
use hyper::Response;

#[routemeter::instrumented(name = "Plain", route = "GET /plain")]
async fn plain() -> Response<Empty<Bytes>> {
    Response::new(Empty::new())
}

#[routemeter::instrumented(
    name = "OptedOut",
    route = "GET /opted-out",
    time_to_headers = false,
    request_size = false
)]
async fn opted_out() -> Response<Empty<Bytes>> {
    Response::new(Empty::new())
}

#[test]
fn the_process_wide_switches_reach_every_handler_that_does_not_say_otherwise() {
    let _ = (plain, opted_out);
    let exporter = routemeter::Config::new()
        .time_to_headers(true)
        .request_size(true)
        .install()
        .expect("install");
    let text = exporter.render().expect("render");
    for family in ["time_to_headers_seconds", "request_size_bytes"] {
        assert!(
            text.contains(&format!("# TYPE config_opt_ins_{family} histogram\n")),
            "{text}"
        );
        assert!(
            text.contains(&format!(
                "config_opt_ins_{family}_count{{handler=\"Plain\",method=\"GET\",route=\"/plain\"}} 0\n"
            )),
            "{text}"
        );
        assert!(
            !text.contains(&format!(
                "config_opt_ins_{family}_count{{handler=\"OptedOut\""
            )),
            "{text}"
        );
    }
    // Neither is a long-lived route, so no stream families.
    assert!(!text.contains("streams_open"), "{text}");
}

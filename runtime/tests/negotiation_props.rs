//! `Exporter::respond` under arbitrary scrape requests: whatever the `Accept` and `Accept-Encoding` headers say,
//! valid or not, a `GET` or `HEAD` gets a 200 in the text format 0.0.4 with its exact content type, gzipped only
//! when the scraper allows gzip and otherwise plain; any other method gets a 405. Generated with proptest.

use std::io::Read as _;

use bytes::Bytes;
use http::header::{ACCEPT, ACCEPT_ENCODING, ALLOW, CONTENT_ENCODING, CONTENT_TYPE, VARY};
use http::{HeaderValue, Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use proptest::prelude::*;
use routemeter::{Exporter, TEXT_CONTENT_TYPE};

#[routemeter::instrumented(name = "Probe", route = "GET /probe")]
async fn probe() -> Response<Full<Bytes>> {
    Response::new(Full::new(Bytes::from_static(b"probe")))
}

fn exporter() -> Result<Exporter, TestCaseError> {
    routemeter::install().map_err(|err| TestCaseError::fail(err.to_string()))
}

/// The whole body of an answer (a `Full` body is ready at once).
fn body(response: Response<Full<Bytes>>) -> Result<Bytes, TestCaseError> {
    let collected = tokio::runtime::Builder::new_current_thread()
        .build()
        .map_err(|err| TestCaseError::fail(err.to_string()))?
        .block_on(response.into_body().collect());
    Ok(collected.map(|body| body.to_bytes()).unwrap_or_default())
}

/// Header bytes: mostly text a scraper could send, sometimes anything at all.
fn header_bytes() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        "[a-zA-Z*/;=,.0-9 \t+-]{0,60}".prop_map(String::into_bytes),
        prop::collection::vec(any::<u8>(), 0..40),
        prop::sample::select(vec![
            "gzip",
            "gzip, deflate, br",
            "*",
            "identity",
            "gzip;q=0",
            "gzip;q=0, *",
            "application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.5,\
             application/openmetrics-text;version=0.0.1;q=0.4,text/plain;version=1.0.0;\
             escaping=allow-utf-8;q=0.3,text/plain;version=0.0.4;q=0.2,*/*;q=0.1",
            "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited",
        ])
        .prop_map(|text| text.as_bytes().to_vec()),
    ]
}

fn request(
    method: Method,
    accept: &[u8],
    accept_encoding: &[u8],
) -> Result<Request<()>, TestCaseError> {
    let mut request = Request::builder()
        .method(method)
        .uri("/metrics")
        .body(())
        .map_err(|err| TestCaseError::fail(err.to_string()))?;
    for (name, value) in [(ACCEPT, accept), (ACCEPT_ENCODING, accept_encoding)] {
        if let Ok(value) = HeaderValue::from_bytes(value) {
            request.headers_mut().insert(name, value);
        }
    }
    Ok(request)
}

#[test]
fn the_probe_handler_is_reported() -> Result<(), TestCaseError> {
    let exporter = exporter()?;
    let response = tokio::runtime::Builder::new_current_thread()
        .build()
        .map_err(|err| TestCaseError::fail(err.to_string()))?
        .block_on(probe());
    assert_eq!(response.status(), StatusCode::OK);
    let text = exporter
        .render()
        .map_err(|err| TestCaseError::fail(err.to_string()))?;
    assert!(text.contains("negotiation_props_Probe_count{service=\"duration\"} 1\n"));
    Ok(())
}

proptest! {
    #[test]
    fn any_scrape_headers_get_the_text_format(
        head in any::<bool>(),
        accept in header_bytes(),
        accept_encoding in header_bytes(),
    ) {
        let exporter = exporter()?;
        let method = if head { Method::HEAD } else { Method::GET };
        let response = exporter.respond(&request(method, &accept, &accept_encoding)?);
        prop_assert_eq!(response.status(), StatusCode::OK);
        let headers = response.headers().clone();
        prop_assert_eq!(headers.get(CONTENT_TYPE).map(HeaderValue::as_bytes), Some(TEXT_CONTENT_TYPE.as_bytes()));
        prop_assert_eq!(headers.get(VARY).map(HeaderValue::as_bytes), Some(&b"accept-encoding"[..]));
        let encoding = headers.get(CONTENT_ENCODING).map(HeaderValue::as_bytes);
        let body = body(response)?;
        let text = match encoding {
            None => String::from_utf8(body.to_vec()).map_err(|err| TestCaseError::fail(err.to_string()))?,
            Some(b"gzip") => {
                // Gzip only when the header names gzip or `*` at all.
                let named = String::from_utf8_lossy(&accept_encoding).to_ascii_lowercase();
                prop_assert!(named.contains("gzip") || named.contains('*'), "gzip for {:?}", named);
                let mut text = String::new();
                flate2::read::GzDecoder::new(&body[..])
                    .read_to_string(&mut text)
                    .map_err(|err| TestCaseError::fail(format!("not gzip: {err}")))?;
                text
            }
            Some(other) => return Err(TestCaseError::fail(format!("Content-Encoding {other:?}"))),
        };
        prop_assert!(text.starts_with("# HELP "), "{}", text);
        prop_assert!(text.contains("# TYPE negotiation_props_Probe summary\n"));
    }

    #[test]
    fn prometheus_gzip_request_is_gzipped(accept in header_bytes()) {
        let exporter = exporter()?;
        let response = exporter.respond(&request(Method::GET, &accept, b"gzip")?);
        prop_assert_eq!(
            response.headers().get(CONTENT_ENCODING).map(HeaderValue::as_bytes),
            Some(&b"gzip"[..])
        );
    }

    #[test]
    fn other_methods_get_405(
        method in prop::sample::select(vec!["POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE", "CONNECT", "PROPFIND"]),
        accept_encoding in header_bytes(),
    ) {
        let exporter = exporter()?;
        let method = Method::from_bytes(method.as_bytes()).map_err(|err| TestCaseError::fail(err.to_string()))?;
        let response = exporter.respond(&request(method, b"*/*", &accept_encoding)?);
        prop_assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
        prop_assert_eq!(response.headers().get(ALLOW).map(HeaderValue::as_bytes), Some(&b"GET, HEAD"[..]));
    }
}

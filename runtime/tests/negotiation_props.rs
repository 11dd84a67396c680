//! `Exporter::respond` under arbitrary scrape requests: whatever the `Accept` and `Accept-Encoding` headers say,
//! valid or not, a `GET` or `HEAD` gets a 200 in one of the three formats with its exact content type (the text
//! format 0.0.4 unless `Accept` names another), compressed only with a coding the scraper named, or a 406 when it
//! refuses every coding; never a 500 or a panic. Any other method gets a 405. Generated with proptest.

use std::io::Read as _;

use bytes::Bytes;
use http::header::{ACCEPT, ACCEPT_ENCODING, ALLOW, CONTENT_ENCODING, CONTENT_TYPE, VARY};
use http::{HeaderValue, Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use proptest::prelude::*;
use routemeter::{Exporter, Format, TEXT_CONTENT_TYPE};

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
            "zstd",
            "identity;q=0",
            "*;q=0",
            "zstd;q=0.5, gzip;q=0.9",
            "application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.5,\
             application/openmetrics-text;version=0.0.1;q=0.4,text/plain;version=1.0.0;\
             escaping=allow-utf-8;q=0.3,text/plain;version=0.0.4;q=0.2,*/*;q=0.1",
            "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited",
            "application/openmetrics-text;version=1.0.0",
            "application/openmetrics-text;version=1.0.0;q=0.1,text/plain;q=0.2",
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

#[test]
fn what_prometheus_asks_for_is_what_it_gets() -> Result<(), TestCaseError> {
    let exporter = exporter()?;
    for (accept, content_type) in [
        // Prometheus 2.42 with native histograms on, then its default.
        (
            "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited,\
             application/openmetrics-text;version=1.0.0;q=0.8,application/openmetrics-text;version=0.0.1;q=0.75,\
             text/plain;version=0.0.4;q=0.5,*/*;q=0.1",
            routemeter::PROTOBUF_CONTENT_TYPE,
        ),
        (
            "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,\
             text/plain;version=0.0.4;q=0.5,*/*;q=0.1",
            routemeter::OPENMETRICS_CONTENT_TYPE,
        ),
        ("text/plain;version=0.0.4", TEXT_CONTENT_TYPE),
        ("", TEXT_CONTENT_TYPE),
    ] {
        for coding in ["gzip", "zstd", "identity"] {
            let response = exporter.respond(&request(Method::GET, accept.as_bytes(), coding.as_bytes())?);
            prop_assert_eq!(response.status(), StatusCode::OK);
            let headers = response.headers();
            prop_assert_eq!(
                headers.get(CONTENT_TYPE).map(HeaderValue::as_bytes),
                Some(content_type.as_bytes())
            );
            let expected = (coding != "identity").then_some(coding.as_bytes());
            prop_assert_eq!(headers.get(CONTENT_ENCODING).map(HeaderValue::as_bytes), expected);
        }
    }
    Ok(())
}

proptest! {
    #[test]
    fn any_scrape_headers_get_an_answer_in_a_format_they_allow(
        head in any::<bool>(),
        accept in header_bytes(),
        accept_encoding in header_bytes(),
    ) {
        let exporter = exporter()?;
        let method = if head { Method::HEAD } else { Method::GET };
        let response = exporter.respond(&request(method, &accept, &accept_encoding)?);
        let headers = response.headers().clone();
        prop_assert_eq!(headers.get(VARY).map(HeaderValue::as_bytes), Some(&b"accept, accept-encoding"[..]));
        let named = |coding: &str| {
            let lower = String::from_utf8_lossy(&accept_encoding).to_ascii_lowercase();
            lower.contains(coding) || lower.contains('*')
        };
        if response.status() == StatusCode::NOT_ACCEPTABLE {
            // Only a header that refuses identity, by name or by `*`, gets no answer.
            let lower = String::from_utf8_lossy(&accept_encoding).to_ascii_lowercase();
            prop_assert!(lower.contains("identity") || lower.contains('*'), "406 for {:?}", lower);
            return Ok(());
        }
        prop_assert_eq!(response.status(), StatusCode::OK);
        let content_type = headers.get(CONTENT_TYPE).map(HeaderValue::as_bytes).unwrap_or_default();
        let format = Format::ALL.into_iter().find(|format| format.content_type().as_bytes() == content_type);
        prop_assert!(format.is_some(), "Content-Type {:?}", String::from_utf8_lossy(content_type));
        let encoding = headers.get(CONTENT_ENCODING).map(HeaderValue::as_bytes);
        let body = body(response)?;
        let plain = match encoding {
            None => body.to_vec(),
            Some(b"gzip") => {
                prop_assert!(named("gzip"), "gzip for {:?}", String::from_utf8_lossy(&accept_encoding));
                let mut plain = Vec::new();
                flate2::read::GzDecoder::new(&body[..])
                    .read_to_end(&mut plain)
                    .map_err(|err| TestCaseError::fail(format!("not gzip: {err}")))?;
                plain
            }
            Some(b"zstd") => {
                prop_assert!(named("zstd"), "zstd for {:?}", String::from_utf8_lossy(&accept_encoding));
                zstd::stream::decode_all(&body[..])
                    .map_err(|err| TestCaseError::fail(format!("not zstd: {err}")))?
            }
            Some(other) => return Err(TestCaseError::fail(format!("Content-Encoding {other:?}"))),
        };
        match format {
            Some(Format::OpenMetrics) => {
                let text = String::from_utf8_lossy(&plain);
                prop_assert!(text.contains("# TYPE negotiation_props_Probe summary\n"));
                prop_assert!(text.ends_with("# EOF\n"));
            }
            Some(Format::Protobuf) => {
                // A delimited message starts with its length; the family name is in it verbatim.
                let name = b"negotiation_props_Probe";
                prop_assert!(plain.windows(name.len()).any(|window| window == name));
            }
            _ => {
                prop_assert_eq!(content_type, TEXT_CONTENT_TYPE.as_bytes());
                let text = String::from_utf8_lossy(&plain);
                prop_assert!(text.starts_with("# HELP "), "{}", text);
                prop_assert!(text.contains("# TYPE negotiation_props_Probe summary\n"));
            }
        }
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

//! Building the service's responses.
//!
//! Every answer carries `Content-Length` (the tutorial set it by hand; routemeter reads it to observe the response
//! size) and an explicit `Content-Type`. The helpers assemble responses field by field instead of through
//! `Response::builder()`, whose `Result` would need an error path that can never be taken.

use bytes::Bytes;
use http::header::{HeaderName, HeaderValue, CONTENT_LENGTH, CONTENT_TYPE};
use http::{Response, StatusCode};
use http_body_util::{Either, Full};
use serde::Serialize;

use crate::export::AccountLines;

/// What an answer repeats of the request, a rule shared with the axum example.
pub(crate) use accountservice_core::excerpt::{excerpt, ECHO_CHARS, MESSAGE_CHARS};

/// The body type of every response of the service: whole, or the accounts' export streamed line by line.
pub type Body = Either<Full<Bytes>, AccountLines>;

const JSON: HeaderValue = HeaderValue::from_static("application/json");
const TEXT: HeaderValue = HeaderValue::from_static("text/plain; charset=utf-8");

/// A response with `status`, `body` and `content_type`, its `Content-Length` set.
fn with_body(status: StatusCode, content_type: HeaderValue, body: Bytes) -> Response<Body> {
    let length = HeaderValue::from(body.len());
    let mut response = Response::new(Either::Left(Full::new(body)));
    *response.status_mut() = status;
    response.headers_mut().insert(CONTENT_TYPE, content_type);
    response.headers_mut().insert(CONTENT_LENGTH, length);
    response
}

/// `value` as JSON (`Content-Type: application/json`).
pub(crate) fn json<T: Serialize + ?Sized>(status: StatusCode, value: &T) -> Response<Body> {
    match serde_json::to_vec(value) {
        Ok(body) => with_body(status, JSON, Bytes::from(body)),
        // Our types serialise infallibly; should that ever change, the client learns it from a 500.
        Err(err) => text(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("could not encode the answer as JSON: {err}"),
        ),
    }
}

/// A streamed body of newline-delimited JSON (`Content-Type: application/x-ndjson`).
pub(crate) fn ndjson(lines: AccountLines) -> Response<Body> {
    let mut response = Response::new(Either::Right(lines));
    response.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("application/x-ndjson"),
    );
    response
}

/// A short human-readable message (`text/plain`), followed by a newline so it reads well in a terminal.
pub(crate) fn text(status: StatusCode, message: impl Into<String>) -> Response<Body> {
    let mut message = message.into();
    message.push('\n');
    with_body(status, TEXT, Bytes::from(message))
}

/// `response` with one more header.
pub(crate) fn with_header(
    mut response: Response<Body>,
    name: HeaderName,
    value: HeaderValue,
) -> Response<Body> {
    response.headers_mut().insert(name, value);
    response
}

//! Reading JSON request bodies, with the checks every JSON route shares.
//!
//! In order: the media type (415 unless JSON or absent), the declared length (413 before reading anything when
//! `Content-Length` is over the limit), the actual length (413 when a chunked body grows past the limit while it
//! is read), the memory all bodies being read hold together (503 with `Retry-After` when this one would take the
//! [`BodyBudget`] past its total), the time taken to send it (408), and the syntax (400 with serde's description
//! of what is wrong and where). Rejecting on the header first means an oversized upload is refused without being
//! received. Answers quote at most a short, escaped excerpt of what the client sent.

use std::time::Duration;

use http::header::{HeaderValue, ACCEPT, CONNECTION, CONTENT_LENGTH, CONTENT_TYPE, RETRY_AFTER};
use http::{Request, Response, StatusCode};
use hyper::body::Incoming;
use serde::de::DeserializeOwned;

use accountservice_core::body_budget::BodyBudget;
use accountservice_core::read_body::{read_within, Refusal};
use accountservice_core::requests::is_json;

use crate::reply::{self, Body};

/// The largest request body accepted by default: 1 MiB, far above any account or GraphQL query.
pub const DEFAULT_BODY_LIMIT: usize = 1 << 20;

/// How request bodies are read.
#[derive(Clone, Debug)]
pub(crate) struct BodyRules {
    /// The largest body accepted, in bytes.
    pub(crate) limit: usize,
    /// The time a client gets to send the whole body.
    pub(crate) read_timeout: Duration,
    /// The memory all bodies being read may hold together.
    pub(crate) budget: BodyBudget,
}

/// Reads `req`'s body under `rules` and parses it as JSON into `T`; on failure, the response to send.
pub(crate) async fn read_json<T: DeserializeOwned>(
    req: Request<Incoming>,
    rules: &BodyRules,
) -> Result<T, Response<Body>> {
    let limit = rules.limit;
    if let Some(content_type) = req.headers().get(CONTENT_TYPE) {
        if !is_json(content_type.as_bytes()) {
            let response = reply::text(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                format!(
                    "request body must be application/json, got {}",
                    reply::excerpt(
                        &String::from_utf8_lossy(content_type.as_bytes()),
                        reply::ECHO_CHARS
                    )
                ),
            );
            // RFC 9110 §15.5.16: Accept in a 415 names the media types that would have been accepted.
            return Err(reply::with_header(
                response,
                ACCEPT,
                HeaderValue::from_static("application/json"),
            ));
        }
    }
    let declared = req
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<u64>().ok());
    if declared.is_some_and(|length| length > limit as u64) {
        return Err(too_large(limit));
    }
    let reading = read_within(req.into_body(), limit, declared, &rules.budget);
    let Ok(read) = tokio::time::timeout(rules.read_timeout, reading).await else {
        let response = reply::text(
            StatusCode::REQUEST_TIMEOUT,
            format!("request body not received within {:?}", rules.read_timeout),
        );
        return Err(closing(response));
    };
    // The share stays held until the body is parsed and dropped, as long as the memory it stands for.
    let (bytes, _share) = match read {
        Ok(read) => read,
        Err(Refusal::TooLarge) => return Err(too_large(limit)),
        Err(Refusal::OverBudget) => return Err(over_budget(&rules.budget)),
        Err(Refusal::Transport(err)) => {
            return Err(reply::text(
                StatusCode::BAD_REQUEST,
                format!("could not read the request body: {err}"),
            ))
        }
    };
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(reply::text(
            StatusCode::BAD_REQUEST,
            "request body is empty; expected a JSON object",
        ));
    }
    serde_json::from_slice(&bytes).map_err(|err| {
        // serde quotes the offending value, which may be most of the body.
        let description = reply::excerpt(&err.to_string(), reply::MESSAGE_CHARS);
        reply::text(
            StatusCode::BAD_REQUEST,
            format!("request body is not valid JSON for this route: {description}"),
        )
    })
}

/// The 413 answer.
fn too_large(limit: usize) -> Response<Body> {
    closing(reply::text(
        StatusCode::PAYLOAD_TOO_LARGE,
        format!("request body is larger than the limit of {limit} bytes"),
    ))
}

/// The 503 answer when the bodies being read already hold the whole budget. The client may try again shortly.
fn over_budget(budget: &BodyBudget) -> Response<Body> {
    let response = reply::text(
        StatusCode::SERVICE_UNAVAILABLE,
        format!(
            "too many request bodies are being received at once (together over {} bytes); try again shortly",
            budget.total()
        ),
    );
    closing(reply::with_header(
        response,
        RETRY_AFTER,
        HeaderValue::from_static("1"),
    ))
}

/// `response`, closing the connection: the rest of the body is not going to be read, and a client still sending
/// it would otherwise wait on a connection that never moves again (RFC 9110 §15.5.14).
fn closing(response: Response<Body>) -> Response<Body> {
    reply::with_header(response, CONNECTION, HeaderValue::from_static("close"))
}

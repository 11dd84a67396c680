//! The error answers of the handlers: `Result<T, AppError>` is how a handler says no.

use std::time::Duration;

use accountservice_core::excerpt::{excerpt, ECHO_CHARS};
use accountservice_core::store::StoreFull;
use axum::response::{IntoResponse, Response};
use http::header::{ACCEPT, CONNECTION, RETRY_AFTER};
use http::{HeaderValue, StatusCode};

/// Why a request was not served. Converted into the hyper example's answer: its status and its short
/// `text/plain` message, which quotes at most a short, escaped excerpt of the request.
#[derive(Debug)]
#[non_exhaustive]
pub enum AppError {
    /// No account has this id: 404, the tutorial's message.
    AccountNotFound(String),
    /// This id is not a decimal number: 400.
    InvalidAccountId(String),
    /// The request cannot be served as sent: 400 with this message.
    BadRequest(String),
    /// The store holds all the accounts it may: 507.
    StoreFull(StoreFull),
    /// The body is not JSON (this `Content-Type`): 415, naming JSON in `Accept`.
    NotJson(String),
    /// The body is larger than this many bytes: 413, and the connection is closed.
    BodyTooLarge(usize),
    /// The body did not arrive within this time: 408, and the connection is closed.
    BodyTimeout(Duration),
    /// The bodies being read hold the whole budget of this many bytes: 503 with `Retry-After`, and the connection
    /// is closed.
    OverBudget(usize),
    /// The answer could not be built: 500 with this message.
    Internal(String),
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let (status, message) = match self {
            AppError::AccountNotFound(id) => (
                StatusCode::NOT_FOUND,
                format!(
                    "Account identified by '{}' not found",
                    excerpt(&id, ECHO_CHARS)
                ),
            ),
            AppError::InvalidAccountId(id) => (
                StatusCode::BAD_REQUEST,
                format!(
                    "Account id must be a decimal number, got '{}'",
                    excerpt(&id, ECHO_CHARS)
                ),
            ),
            AppError::BadRequest(message) => (StatusCode::BAD_REQUEST, message),
            AppError::StoreFull(full) => (StatusCode::INSUFFICIENT_STORAGE, full.to_string()),
            AppError::NotJson(content_type) => {
                let message = format!(
                    "request body must be application/json, got {}",
                    excerpt(&content_type, ECHO_CHARS)
                );
                // RFC 9110 §15.5.16: Accept in a 415 names the media types that would have been accepted.
                let accept = [(ACCEPT, HeaderValue::from_static("application/json"))];
                return (StatusCode::UNSUPPORTED_MEDIA_TYPE, accept, text(message)).into_response();
            }
            AppError::BodyTooLarge(limit) => {
                let message = format!("request body is larger than the limit of {limit} bytes");
                return closing(StatusCode::PAYLOAD_TOO_LARGE, message);
            }
            AppError::BodyTimeout(timeout) => {
                let message = format!("request body not received within {timeout:?}");
                return closing(StatusCode::REQUEST_TIMEOUT, message);
            }
            AppError::OverBudget(total) => {
                let message = format!(
                    "too many request bodies are being received at once (together over {total} bytes); try again shortly"
                );
                let retry = [(RETRY_AFTER, HeaderValue::from_static("1"))];
                return (retry, closing(StatusCode::SERVICE_UNAVAILABLE, message)).into_response();
            }
            AppError::Internal(message) => (StatusCode::INTERNAL_SERVER_ERROR, message),
        };
        (status, text(message)).into_response()
    }
}

/// A message as the answer's body, followed by a newline so it reads well in a terminal.
pub(crate) fn text(mut message: String) -> String {
    message.push('\n');
    message
}

/// An answer that closes the connection: the rest of the body is not going to be read, and a client still sending
/// it would otherwise wait on a connection that never moves again (RFC 9110 §15.5.14).
fn closing(status: StatusCode, message: String) -> Response {
    let close = [(CONNECTION, HeaderValue::from_static("close"))];
    (status, close, text(message)).into_response()
}

//! `JsonBody<T>`: axum's `Json` extractor with the hyper example's rules for request bodies.
//!
//! axum's own `Json` refuses a request without `Content-Type` (415) and a body of the wrong shape (422); the hyper
//! example reads a request without `Content-Type` as JSON and answers 400 for any body it cannot use, quoting
//! serde's description of the problem. This extractor keeps the hyper example's answers, and its limits: 1 MiB a
//! body, 30 s to send it, and the memory all bodies being read hold together within the state's `BodyBudget`.
//! Handlers take it as `Result<JsonBody<T>, AppError>`, so that a refused body is answered, and counted, by the
//! handler, as the hyper example counts it.

use std::time::Duration;

use accountservice_core::body_budget::BodyBudget;
use accountservice_core::excerpt::{excerpt, MESSAGE_CHARS};
use accountservice_core::read_body::{read_within, Refusal};
use accountservice_core::requests::is_json;
use axum::extract::{FromRef, FromRequest, Request};
use http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use serde::de::DeserializeOwned;

use crate::error::AppError;

/// The largest request body accepted (413 above it): 1 MiB, as in the hyper example.
pub const BODY_LIMIT: usize = 1 << 20;

/// How long a client may take to send a body once its headers are in (408 after that), as in the hyper example.
const BODY_READ_TIMEOUT: Duration = Duration::from_secs(30);

/// A request body read as JSON into `T`.
#[derive(Debug)]
pub(crate) struct JsonBody<T>(pub(crate) T);

impl<T, S> FromRequest<S> for JsonBody<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
    BodyBudget: FromRef<S>,
{
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<JsonBody<T>, AppError> {
        if let Some(content_type) = req.headers().get(CONTENT_TYPE) {
            if !is_json(content_type.as_bytes()) {
                let content_type = String::from_utf8_lossy(content_type.as_bytes()).into_owned();
                return Err(AppError::NotJson(content_type));
            }
        }
        let declared = req
            .headers()
            .get(CONTENT_LENGTH)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.parse::<u64>().ok());
        if declared.is_some_and(|length| length > BODY_LIMIT as u64) {
            return Err(AppError::BodyTooLarge(BODY_LIMIT));
        }
        let budget = BodyBudget::from_ref(state);
        let reading = read_within(req.into_body(), BODY_LIMIT, declared, &budget);
        // The share stays held until the body is parsed and dropped, as long as the memory it stands for.
        let (bytes, _share) = match tokio::time::timeout(BODY_READ_TIMEOUT, reading).await {
            Err(_) => return Err(AppError::BodyTimeout(BODY_READ_TIMEOUT)),
            Ok(Err(Refusal::TooLarge)) => return Err(AppError::BodyTooLarge(BODY_LIMIT)),
            Ok(Err(Refusal::OverBudget)) => return Err(AppError::OverBudget(budget.total())),
            Ok(Err(Refusal::Transport(err))) => {
                return Err(AppError::BadRequest(format!(
                    "could not read the request body: {err}"
                )))
            }
            Ok(Ok(read)) => read,
        };
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Err(AppError::BadRequest(
                "request body is empty; expected a JSON object".to_owned(),
            ));
        }
        serde_json::from_slice(&bytes).map(JsonBody).map_err(|err| {
            // serde quotes the offending value, which may be most of the body.
            let description = excerpt(&err.to_string(), MESSAGE_CHARS);
            AppError::BadRequest(format!(
                "request body is not valid JSON for this route: {description}"
            ))
        })
    }
}

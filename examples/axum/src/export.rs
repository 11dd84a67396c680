//! `GET /accounts/export`: every stored account as newline-delimited JSON, one body frame per account, so that a
//! slow client or `?pace_ms=N` (a pause between frames, as a slow upstream would make) keeps the body going for as
//! long as a real export would. The router's `MeteredLayer` measures it to its last frame.

use std::convert::Infallible;
use std::time::Duration;

use accountservice_core::graphql::ServedBy;
use accountservice_core::pace;
use axum::body::Body;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::response::IntoResponse;
use axum::Extension;
use bytes::Bytes;
use futures_util::stream::{self, Stream};
use http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use http::HeaderValue;
use serde::Deserialize;

use crate::error::AppError;
use crate::state::AppState;

/// The query of the export.
#[derive(Debug, Deserialize)]
pub(crate) struct ExportQuery {
    /// The pause between frames in milliseconds, as written; checked by [`pace::from_millis`].
    pace_ms: Option<String>,
}

/// `GET /accounts/export`: every account as NDJSON, one frame per account, `?pace_ms=N` apart, with the exact
/// `Content-Length` the hyper example announces.
#[routemeter::instrumented(
    name = "ExportAccounts",
    route = "GET /accounts/export",
    namespace = "accountservice"
)]
pub(crate) async fn export_accounts(
    State(state): State<AppState>,
    Extension(served_by): Extension<ServedBy>,
    query: Result<Query<ExportQuery>, QueryRejection>,
) -> Result<impl IntoResponse, AppError> {
    // A query that does not parse (e.g. `pace_ms` given twice) is as wrong as a bad value.
    let Ok(Query(query)) = query else {
        return Err(AppError::BadRequest(pace::invalid()));
    };
    let pace = pace::from_millis(query.pace_ms.as_deref()).map_err(AppError::BadRequest)?;
    let mut lines = Vec::new();
    for record in state.store.all() {
        let mut line = serde_json::to_vec(&record.to_account(&served_by.0)).map_err(|err| {
            AppError::Internal(format!(
                "could not encode account {} as JSON: {err}",
                record.id
            ))
        })?;
        line.push(b'\n');
        lines.push(Bytes::from(line));
    }
    let length: usize = lines.iter().map(Bytes::len).sum();
    let headers = [
        (
            CONTENT_TYPE,
            HeaderValue::from_static("application/x-ndjson"),
        ),
        (CONTENT_LENGTH, HeaderValue::from(length)),
    ];
    Ok((headers, Body::from_stream(paced(lines, pace))))
}

/// `lines` one at a time, `pace` apart (none before the first).
fn paced(
    lines: Vec<Bytes>,
    pace: Duration,
) -> impl Stream<Item = Result<Bytes, Infallible>> + Send + 'static {
    stream::unfold(
        (lines.into_iter(), true),
        move |(mut lines, first)| async move {
            let line = lines.next()?;
            if !first && !pace.is_zero() {
                tokio::time::sleep(pace).await;
            }
            Some((Ok(line), (lines, false)))
        },
    )
}

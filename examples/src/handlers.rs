//! The logic of every route, without monitoring.
//!
//! The monitored routes are reached through the thin `#[routemeter::instrumented]` wrappers in
//! the `instrumented` module; with `--instrumentation off` the router calls these functions directly, so both modes
//! run the very same code and a benchmark of the two measures the monitoring alone.

use std::collections::VecDeque;
use std::sync::Arc;

use bytes::Bytes;
use http::header::{HeaderValue, LOCATION};
use http::{Request, Response, StatusCode};
use hyper::body::Incoming;

use crate::app::App;
use crate::body;
use crate::export::{self, AccountLines};
use crate::graphql::ServedBy;
use crate::model::{Created, HealthStatus};
use crate::reply::{self, Body};
use crate::requests::{AccountUpdate, NewAccount};
use crate::store::Lookup;

/// `GET /accounts/{accountId}`: the account as JSON, 404 for an unknown id, 400 for one that is not a number.
pub(crate) async fn get_account(app: &App, served_by: &str, account_id: &str) -> Response<Body> {
    match app.store.lookup(account_id) {
        Lookup::Found(record) => reply::json(StatusCode::OK, &record.to_account(served_by)),
        Lookup::Unknown => not_found(account_id),
        Lookup::Invalid => invalid_id(account_id),
    }
}

/// `POST /accounts`: stores a new account and answers `201 Created` with `{"ID":"<new id>"}` and a `Location`.
///
/// The tutorial relayed the status of its data service; 201 with `Location` is what HTTP prescribes for a created
/// resource, and the body is the tutorial's.
pub(crate) async fn store_account(app: &App, req: Request<Incoming>) -> Response<Body> {
    let input: NewAccount = match body::read_json(req, &app.body).await {
        Ok(input) => input,
        Err(response) => return response,
    };
    let name = match input.into_name() {
        Ok(name) => name,
        Err(message) => return reply::text(StatusCode::BAD_REQUEST, message),
    };
    match app.store.create(name) {
        Ok(record) => {
            let id = record.id.to_string();
            let location = HeaderValue::from_str(&format!("/accounts/{id}"));
            let response = reply::json(StatusCode::CREATED, &Created { id });
            match location {
                Ok(location) => reply::with_header(response, LOCATION, location),
                Err(_) => response,
            }
        }
        Err(full) => reply::text(StatusCode::INSUFFICIENT_STORAGE, full.to_string()),
    }
}

/// `PUT /accounts`: renames the account named by the body's `id` and answers the updated account.
pub(crate) async fn update_account(
    app: &App,
    served_by: &str,
    req: Request<Incoming>,
) -> Response<Body> {
    let input: AccountUpdate = match body::read_json(req, &app.body).await {
        Ok(input) => input,
        Err(response) => return response,
    };
    let (id, name) = match input.into_parts() {
        Ok(parts) => parts,
        Err(message) => return reply::text(StatusCode::BAD_REQUEST, message),
    };
    let record = match app.store.lookup(&id) {
        Lookup::Found(record) => record,
        Lookup::Unknown => return not_found(&id),
        Lookup::Invalid => return invalid_id(&id),
    };
    match app.store.rename(record.id, name) {
        Some(updated) => reply::json(StatusCode::OK, &updated.to_account(served_by)),
        None => not_found(&id),
    }
}

/// `POST /graphql`: runs a GraphQL request (`{"query": ..., "variables": ..., "operationName": ...}`).
///
/// GraphQL errors (an unknown field, a bad argument) are part of a 200 answer, as GraphQL over HTTP specifies for
/// `application/json`; only a body that is not a GraphQL request at all is a 400.
pub(crate) async fn graphql(app: &App, served_by: &str, req: Request<Incoming>) -> Response<Body> {
    let request: async_graphql::Request = match body::read_json(req, &app.body).await {
        Ok(request) => request,
        Err(response) => return response,
    };
    // async-graphql defaults a missing `query` to "", which would execute as a syntax error; say what is missing.
    if request.query.trim().is_empty() {
        return reply::text(
            StatusCode::BAD_REQUEST,
            "GraphQL request body is missing required field: query",
        );
    }
    let request = request.data(ServedBy(Arc::from(served_by)));
    let response = app.schema.execute(request).await;
    reply::json(StatusCode::OK, &response)
}

/// `GET /health`: `200 {"status":"UP"}` while healthy, `503 {"status":"DOWN"}` otherwise, so an orchestrator
/// can take the instance out of rotation.
pub(crate) fn health(app: &App) -> Response<Body> {
    let (status, word) = if app.is_healthy() {
        (StatusCode::OK, "UP")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "DOWN")
    };
    reply::json(
        status,
        &HealthStatus {
            status: word.to_owned(),
        },
    )
}

/// `GET /testability/healthy/{state}`: `true` or `false` sets what `/health` reports, so a test can make an
/// instance look sick; anything else is a 400. Answers like `/health` would from now on, with status 200.
pub(crate) fn testability(app: &App, state: &str) -> Response<Body> {
    let healthy = match state {
        "true" => true,
        "false" => false,
        _ => {
            return reply::text(
                StatusCode::BAD_REQUEST,
                format!(
                    "state must be true or false, got \"{}\"",
                    reply::excerpt(state, reply::ECHO_CHARS)
                ),
            )
        }
    };
    app.set_healthy(healthy);
    let word = if healthy { "UP" } else { "DOWN" };
    reply::json(
        StatusCode::OK,
        &HealthStatus {
            status: word.to_owned(),
        },
    )
}

/// `GET /accounts/export`: every account as newline-delimited JSON, one frame per account, `?pace_ms=N` apart.
pub(crate) fn export_accounts(app: &App, served_by: &str, query: Option<&str>) -> Response<Body> {
    let pace = match export::pace(query) {
        Ok(pace) => pace,
        Err(message) => return reply::text(StatusCode::BAD_REQUEST, message),
    };
    let mut lines = VecDeque::new();
    for record in app.store.all() {
        match serde_json::to_vec(&record.to_account(served_by)) {
            Ok(mut line) => {
                line.push(b'\n');
                lines.push_back(Bytes::from(line));
            }
            Err(err) => {
                let message = format!("could not encode account {} as JSON: {err}", record.id);
                return reply::text(StatusCode::INTERNAL_SERVER_ERROR, message);
            }
        }
    }
    reply::ndjson(AccountLines::new(lines, pace))
}

fn not_found(account_id: &str) -> Response<Body> {
    // The tutorial's message, word for word.
    reply::text(
        StatusCode::NOT_FOUND,
        format!(
            "Account identified by '{}' not found",
            reply::excerpt(account_id, reply::ECHO_CHARS)
        ),
    )
}

fn invalid_id(account_id: &str) -> Response<Body> {
    reply::text(
        StatusCode::BAD_REQUEST,
        format!(
            "Account id must be a decimal number, got '{}'",
            reply::excerpt(account_id, reply::ECHO_CHARS)
        ),
    )
}

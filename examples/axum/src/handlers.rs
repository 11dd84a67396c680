//! The handlers of the REST and GraphQL routes and of the health checks.
//!
//! The monitored ones carry `#[routemeter::instrumented]` with the hyper example's names and routes, and
//! `namespace = "accountservice"`: without it the namespace would be this crate's name, `accountservice_axum`.
//! Bodies come in as `Result<JsonBody<T>, AppError>`, so that a refused body is answered, and counted, by the
//! handler (the hyper example reads the body inside its handlers, and counts a bad one as their 400).

use accountservice_core::excerpt::{excerpt, ECHO_CHARS};
use accountservice_core::graphql::ServedBy;
use accountservice_core::model::{Account, Created, HealthStatus};
use accountservice_core::requests::{AccountUpdate, NewAccount};
use accountservice_core::store::{Lookup, Record, Store};
use axum::extract::{Path, State};
use axum::response::IntoResponse;
use axum::{Extension, Json};
use http::header::LOCATION;
use http::StatusCode;

use crate::error::AppError;
use crate::json_body::JsonBody;
use crate::state::AppState;

/// `GET /accounts/{accountId}`: the account, 404 for an unknown id, 400 for one that is not a number.
#[routemeter::instrumented(
    name = "GetAccount",
    route = "GET /accounts/{accountId}",
    namespace = "accountservice"
)]
pub(crate) async fn get_account(
    State(state): State<AppState>,
    Extension(served_by): Extension<ServedBy>,
    Path(account_id): Path<String>,
) -> Result<Json<Account>, AppError> {
    let record = find(&state.store, &account_id)?;
    Ok(Json(record.to_account(&served_by.0)))
}

/// The account `id` names: 404 for an unknown id, 400 for one that is not a number.
fn find(store: &Store, id: &str) -> Result<Record, AppError> {
    match store.lookup(id) {
        Lookup::Found(record) => Ok(record),
        Lookup::Unknown => Err(AppError::AccountNotFound(id.to_owned())),
        Lookup::Invalid => Err(AppError::InvalidAccountId(id.to_owned())),
    }
}

/// `POST /accounts`: stores a new account and answers `201 Created` with `{"ID":"<new id>"}` and a `Location`.
#[routemeter::instrumented(
    name = "StoreAccount",
    route = "POST /accounts",
    namespace = "accountservice"
)]
pub(crate) async fn store_account(
    State(state): State<AppState>,
    body: Result<JsonBody<NewAccount>, AppError>,
) -> Result<impl IntoResponse, AppError> {
    let JsonBody(input) = body?;
    let name = input.into_name().map_err(bad_request)?;
    let record = state.store.create(name).map_err(AppError::StoreFull)?;
    let id = record.id.to_string();
    let location = [(LOCATION, format!("/accounts/{id}"))];
    Ok((StatusCode::CREATED, location, Json(Created { id })))
}

/// `PUT /accounts`: renames the account named by the body's `id` and answers the updated account.
#[routemeter::instrumented(
    name = "UpdateAccount",
    route = "PUT /accounts",
    namespace = "accountservice"
)]
pub(crate) async fn update_account(
    State(state): State<AppState>,
    Extension(served_by): Extension<ServedBy>,
    body: Result<JsonBody<AccountUpdate>, AppError>,
) -> Result<Json<Account>, AppError> {
    let JsonBody(input) = body?;
    let (id, name) = input.into_parts().map_err(bad_request)?;
    let record = find(&state.store, &id)?;
    match state.store.rename(record.id, name) {
        Some(updated) => Ok(Json(updated.to_account(&served_by.0))),
        None => Err(AppError::AccountNotFound(id)),
    }
}

/// `POST /graphql`: runs a GraphQL request (`{"query": ..., "variables": ..., "operationName": ...}`).
///
/// GraphQL errors (an unknown field, a bad argument) are part of a 200 answer; only a body that is not a GraphQL
/// request at all is a 400.
#[routemeter::instrumented(
    name = "GraphQL",
    route = "POST /graphql",
    namespace = "accountservice"
)]
pub(crate) async fn graphql(
    State(state): State<AppState>,
    Extension(served_by): Extension<ServedBy>,
    body: Result<JsonBody<async_graphql::Request>, AppError>,
) -> Result<Json<async_graphql::Response>, AppError> {
    let JsonBody(request) = body?;
    // async-graphql defaults a missing `query` to "", which would execute as a syntax error; say what is missing.
    if request.query.trim().is_empty() {
        return Err(bad_request(
            "GraphQL request body is missing required field: query",
        ));
    }
    Ok(Json(state.schema.execute(request.data(served_by)).await))
}

/// `GET /health`: `200 {"status":"UP"}` while healthy, `503 {"status":"DOWN"}` otherwise. Not monitored.
pub(crate) async fn health(State(state): State<AppState>) -> impl IntoResponse {
    if state.is_healthy() {
        (StatusCode::OK, health_status(true))
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, health_status(false))
    }
}

/// `GET /testability/healthy/{state}`: `true` or `false` sets what `/health` reports; anything else is a 400.
/// Answers like `/health` would from now on, with status 200. Not monitored.
pub(crate) async fn testability(
    State(state): State<AppState>,
    Path(healthy): Path<String>,
) -> Result<Json<HealthStatus>, AppError> {
    let healthy = match healthy.as_str() {
        "true" => true,
        "false" => false,
        other => {
            return Err(AppError::BadRequest(format!(
                "state must be true or false, got \"{}\"",
                excerpt(other, ECHO_CHARS)
            )))
        }
    };
    state.set_healthy(healthy);
    Ok(health_status(healthy))
}

/// The body of `/health`.
fn health_status(healthy: bool) -> Json<HealthStatus> {
    let word = if healthy { "UP" } else { "DOWN" };
    Json(HealthStatus {
        status: word.to_owned(),
    })
}

fn bad_request(message: &str) -> AppError {
    AppError::BadRequest(message.to_owned())
}

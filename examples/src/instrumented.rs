//! The monitored routes: one `#[routemeter::instrumented]` wrapper per monitored route of the tutorial, around the plain logic of
//! `crate::handlers`.
//!
//! No `namespace` is written here: routemeter takes the first segment of the handler's module path, the crate
//! name `accountservice`, so these report `accountservice_GetAccount` and so on, as the tutorial did. That is also
//! why the handlers live in the library rather than in the example binary (whose crate name would be the
//! namespace otherwise).

use http::{Request, Response};
use hyper::body::Incoming;

use crate::app::App;
use crate::handlers;
use crate::reply::Body;

/// `GET /accounts/{accountId}`, reported as `accountservice_GetAccount`.
#[routemeter::instrumented(name = "GetAccount", route = "GET /accounts/{accountId}")]
pub(crate) async fn get_account(app: &App, served_by: &str, account_id: &str) -> Response<Body> {
    handlers::get_account(app, served_by, account_id).await
}

/// `POST /accounts`, reported as `accountservice_StoreAccount`.
#[routemeter::instrumented(name = "StoreAccount", route = "POST /accounts")]
pub(crate) async fn store_account(app: &App, req: Request<Incoming>) -> Response<Body> {
    handlers::store_account(app, req).await
}

/// `PUT /accounts`, reported as `accountservice_UpdateAccount`.
#[routemeter::instrumented(name = "UpdateAccount", route = "PUT /accounts")]
pub(crate) async fn update_account(
    app: &App,
    served_by: &str,
    req: Request<Incoming>,
) -> Response<Body> {
    handlers::update_account(app, served_by, req).await
}

/// `GET /accounts/export`, reported as `accountservice_ExportAccounts`: measured to the body's last line when the
/// server meters bodies (it does), else to the headers.
#[routemeter::instrumented(name = "ExportAccounts", route = "GET /accounts/export")]
pub(crate) async fn export_accounts(
    app: &App,
    served_by: &str,
    query: Option<&str>,
) -> Response<Body> {
    handlers::export_accounts(app, served_by, query)
}

/// `POST /graphql`, reported as `accountservice_GraphQL`.
#[routemeter::instrumented(name = "GraphQL", route = "POST /graphql")]
pub(crate) async fn graphql(app: &App, served_by: &str, req: Request<Incoming>) -> Response<Body> {
    handlers::graphql(app, served_by, req).await
}

// axum handlers of every common shape: any extractors, any `IntoResponse` output, still plugged into
// `Router::route(path, get(handler))`; served through routemeter's layer, each counts by its converted status.
#![deny(warnings)]

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use routemeter::instrumented;
use serde_json::{json, Value};
use tower_service::Service;

#[derive(Clone)]
struct AppState {
    greeting: &'static str,
}

struct AppError;

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        (StatusCode::IM_A_TEAPOT, "no").into_response()
    }
}

#[instrumented(name = "Opaque", route = "GET /opaque/{id}")]
async fn opaque(State(state): State<AppState>, Path(id): Path<u32>) -> impl IntoResponse {
    format!("{} {id}", state.greeting)
}

#[instrumented(name = "JsonOut", route = "GET /json")]
async fn json_out(Query(query): Query<Value>) -> Json<Value> {
    Json(json!({ "query": query }))
}

#[instrumented(name = "Created", route = "POST /created")]
async fn created(Json(body): Json<Value>) -> (StatusCode, Json<Value>) {
    (StatusCode::CREATED, Json(body))
}

#[instrumented(name = "Fallible", route = "GET /fallible/{ok}")]
async fn fallible(Path(ok): Path<bool>) -> Result<Html<&'static str>, AppError> {
    if ok {
        Ok(Html("<p>fine</p>"))
    } else {
        Err(AppError)
    }
}

#[instrumented(name = "StatusOnly", route = "GET /status")]
async fn status_only() -> StatusCode {
    StatusCode::NO_CONTENT
}

#[instrumented(name = "Whole", route = "GET /whole")]
async fn whole() -> Response {
    (StatusCode::ACCEPTED, "whole").into_response()
}

#[instrumented(name = "Generic", route = "GET /generic")]
async fn generic<S: Clone + Send + Sync + 'static>(State(_): State<S>) -> &'static str {
    "generic"
}

async fn status_of(app: &mut Router, method: &str, uri: &str, body: &'static str) -> u16 {
    let request = axum::http::Request::builder()
        .method(method)
        .uri(uri)
        .header("content-type", "application/json")
        .body(axum::body::Body::from(body))
        .unwrap_or_default();
    match app.call(request).await {
        Ok(response) => response.status().as_u16(),
        Err(never) => match never {},
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let mut app = Router::new()
        .route("/opaque/{id}", get(opaque))
        .route("/json", get(json_out))
        .route("/created", post(created))
        .route("/fallible/{ok}", get(fallible))
        .route("/status", get(status_only))
        .route("/whole", get(whole))
        .route("/generic", get(generic::<AppState>))
        .layer(routemeter::MeteredLayer::new())
        .with_state(AppState { greeting: "hello" });
    assert_eq!(status_of(&mut app, "GET", "/opaque/7", "").await, 200);
    assert_eq!(status_of(&mut app, "GET", "/json?a=1", "").await, 200);
    assert_eq!(status_of(&mut app, "POST", "/created", "{}").await, 201);
    assert_eq!(status_of(&mut app, "GET", "/fallible/true", "").await, 200);
    assert_eq!(status_of(&mut app, "GET", "/fallible/false", "").await, 418);
    assert_eq!(status_of(&mut app, "GET", "/status", "").await, 204);
    assert_eq!(status_of(&mut app, "GET", "/whole", "").await, 202);
    assert_eq!(status_of(&mut app, "GET", "/generic", "").await, 200);
}

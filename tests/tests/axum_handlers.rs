//! `#[instrumented]` on axum handlers, served by a real server on 127.0.0.1: extractors and `IntoResponse`
//! outputs of every common shape. With routemeter's layer on the router, a request counts by the status of the
//! response axum converted its output into, with the bytes sent, and is measured to the body's last byte (a paced
//! body, a client that leaves mid-body, a body that fails, over HTTP/1.1 and HTTP/2). Without the layer, outputs that are responses
//! count exactly and the others `unclassified`. A request an extractor refuses counts under the handler of its route. `/metrics` is a route of the router.
//!
//! Every handler is used by one test only (namespace `axum_handlers`), so the counts each test compares are exact.

use std::time::Duration;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use http::Method;
use routemeter::{Exporter, MeteredLayer};
use routemeter_tests::body_checks;
use routemeter_tests::paced::Paced;
use routemeter_tests::series::{ended, metrics, HandlerSeries};
use routemeter_tests::server::{axum_handler, TestServer};
use routemeter_tests::TestResult;
use serde_json::{json, Value};

const NAMESPACE: &str = "axum_handlers";

const GET_ITEM: HandlerSeries = HandlerSeries::new(NAMESPACE, "GetItem", "GET", "/items/{id}");
const CREATE_ITEM: HandlerSeries = HandlerSeries::new(NAMESPACE, "CreateItem", "POST", "/items");
const HELLO: HandlerSeries = HandlerSeries::new(NAMESPACE, "Hello", "GET", "/hello");
const BARE_JSON: HandlerSeries = HandlerSeries::new(NAMESPACE, "BareJson", "GET", "/bare/json");
const BARE_RESPONSE: HandlerSeries =
    HandlerSeries::new(NAMESPACE, "BareResponse", "GET", "/bare/response");
const PACED: HandlerSeries = HandlerSeries::new(NAMESPACE, "Paced", "GET", "/paced");
const LEFT: HandlerSeries = HandlerSeries::new(NAMESPACE, "Left", "GET", "/left");
const RENAME: HandlerSeries = HandlerSeries::new(NAMESPACE, "Rename", "PUT", "/items/{id}/name");
const STUCK: HandlerSeries = HandlerSeries::new(NAMESPACE, "Stuck", "GET", "/stuck");
const BROKEN: HandlerSeries = HandlerSeries::new(NAMESPACE, "Broken", "GET", "/broken");

/// The items a shop knows, shared with the handlers as axum state.
#[derive(Clone)]
struct Shop {
    items: &'static [&'static str],
}

/// An item that does not exist: the handlers' error, answered as a 404.
struct Missing(u32);

impl IntoResponse for Missing {
    fn into_response(self) -> Response {
        (StatusCode::NOT_FOUND, format!("no item {}", self.0)).into_response()
    }
}

#[routemeter::instrumented(
    name = "GetItem",
    route = "GET /items/{id}",
    namespace = "axum_handlers"
)]
async fn get_item(State(shop): State<Shop>, Path(id): Path<u32>) -> Result<Json<Value>, Missing> {
    let name = usize::try_from(id)
        .ok()
        .and_then(|index| shop.items.get(index))
        .ok_or(Missing(id))?;
    Ok(Json(json!({ "id": id, "name": name })))
}

#[routemeter::instrumented(
    name = "CreateItem",
    route = "POST /items",
    namespace = "axum_handlers"
)]
async fn create_item(State(shop): State<Shop>, Json(item): Json<Value>) -> impl IntoResponse {
    let id = shop.items.len();
    (
        StatusCode::CREATED,
        Json(json!({ "id": id, "name": item["name"] })),
    )
}

#[routemeter::instrumented(name = "Hello", route = "GET /hello", namespace = "axum_handlers")]
async fn hello() -> &'static str {
    "hello"
}

#[routemeter::instrumented(
    name = "BareJson",
    route = "GET /bare/json",
    namespace = "axum_handlers"
)]
async fn bare_json() -> Json<Value> {
    Json(json!({ "bare": true }))
}

#[routemeter::instrumented(
    name = "BareResponse",
    route = "GET /bare/response",
    namespace = "axum_handlers"
)]
async fn bare_response() -> Response {
    (StatusCode::ACCEPTED, "taken").into_response()
}

/// How many frames, how far apart.
#[derive(serde::Deserialize)]
struct Pace {
    frames: usize,
    pace_ms: u64,
}

fn paced_body(pace: &Pace) -> Response {
    let body = Paced::new(pace.frames, Duration::from_millis(pace.pace_ms), None);
    Response::new(axum::body::Body::new(body))
}

#[routemeter::instrumented(name = "Paced", route = "GET /paced", namespace = "axum_handlers")]
async fn paced(Query(pace): Query<Pace>) -> Response {
    paced_body(&pace)
}

#[routemeter::instrumented(name = "Left", route = "GET /left", namespace = "axum_handlers")]
async fn left(Query(pace): Query<Pace>) -> impl IntoResponse {
    paced_body(&pace)
}

#[routemeter::instrumented(name = "Broken", route = "GET /broken", namespace = "axum_handlers")]
async fn broken() -> Response {
    let body = Paced::new(10, Duration::from_millis(1), Some(2));
    Response::new(axum::body::Body::new(body))
}

#[routemeter::instrumented(
    name = "Rename",
    route = "PUT /items/{id}/name",
    namespace = "axum_handlers"
)]
async fn rename(Path(id): Path<u32>, Json(name): Json<Value>) -> Json<Value> {
    Json(json!({ "id": id, "name": name }))
}

#[routemeter::instrumented(name = "Stuck", route = "GET /stuck", namespace = "axum_handlers")]
async fn stuck() -> &'static str {
    std::future::pending::<()>().await;
    "never"
}

/// The shop's router: every handler, and `/metrics` from `exporter`.
fn router(exporter: &Exporter) -> Router {
    Router::new()
        .route("/items/{id}", get(get_item))
        .route("/items", post(create_item))
        .route("/hello", get(hello))
        .route("/bare/json", get(bare_json))
        .route("/bare/response", get(bare_response))
        .route("/paced", get(paced))
        .route("/left", get(left))
        .route("/broken", get(broken))
        .route("/stuck", get(stuck))
        .route("/items/{id}/name", axum::routing::put(rename))
        .route_service("/metrics", exporter.clone())
        .with_state(Shop {
            items: &["kettle", "teapot"],
        })
}

async fn served(layered: bool) -> TestResult<(Exporter, TestServer)> {
    let exporter = routemeter::install()?;
    let mut app = router(&exporter);
    if layered {
        app = app.layer(MeteredLayer::new());
    }
    let server = TestServer::start(axum_handler(app)).await?;
    Ok((exporter, server))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_the_layer_requests_count_by_the_converted_response() -> TestResult {
    let (exporter, server) = served(true).await?;
    let client = server.client();
    let before = metrics(&exporter)?;

    let found = client.get("/items/1").await?;
    assert_eq!(found.status, StatusCode::OK);
    assert_eq!(found.json()?, json!({ "id": 1, "name": "teapot" }));
    let after = ended(&exporter, GET_ITEM, &before, "200").await?;
    assert_eq!(
        GET_ITEM.sum(&after, "size") - GET_ITEM.sum(&before, "size"),
        found.body.len() as f64
    );

    let before = metrics(&exporter)?;
    let missing = client.get("/items/7").await?;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert_eq!(missing.text(), "no item 7");
    ended(&exporter, GET_ITEM, &before, "404").await?;

    let before = metrics(&exporter)?;
    let created = client
        .send_json(Method::POST, "/items", r#"{"name":"cup"}"#)
        .await?;
    assert_eq!(created.status, StatusCode::CREATED);
    ended(&exporter, CREATE_ITEM, &before, "201").await?;

    let before = metrics(&exporter)?;
    let hello_reply = client.get("/hello").await?;
    assert_eq!(hello_reply.text(), "hello");
    let after = ended(&exporter, HELLO, &before, "200").await?;
    assert_eq!(HELLO.sum(&after, "size") - HELLO.sum(&before, "size"), 5.0);
    for handler in [GET_ITEM, CREATE_ITEM, HELLO] {
        assert_eq!(handler.requests(&after, "unclassified"), 0.0, "{handler:?}");
    }
    server.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_the_layer_a_request_an_extractor_refuses_counts_under_its_handler() -> TestResult {
    let (exporter, server) = served(true).await?;
    let client = server.client();
    let before = metrics(&exporter)?;
    let renamed = client
        .send_json(Method::PUT, "/items/1/name", r#""mug""#)
        .await?;
    assert_eq!(renamed.status, StatusCode::OK);
    ended(&exporter, RENAME, &before, "200").await?;
    // The handler never runs for these: axum's `Json` extractor answers.
    let before = metrics(&exporter)?;
    let malformed = client.send_json(Method::PUT, "/items/1/name", "{").await?;
    assert_eq!(malformed.status, StatusCode::BAD_REQUEST);
    let after = ended(&exporter, RENAME, &before, "400").await?;
    assert_eq!(
        RENAME.sum(&after, "size") - RENAME.sum(&before, "size"),
        malformed.body.len() as f64
    );
    let before = metrics(&exporter)?;
    let untyped = client
        .request(Method::PUT, "/items/1/name", &[], r#""mug""#)
        .await?;
    assert_eq!(untyped.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    ended(&exporter, RENAME, &before, "415").await?;
    // A method the route does not serve has no handler to count under.
    let before = metrics(&exporter)?;
    let wrong_method = client.get("/items/1/name").await?;
    assert_eq!(wrong_method.status, StatusCode::METHOD_NOT_ALLOWED);
    let after = metrics(&exporter)?;
    assert_eq!(
        RENAME.requests_by_code(&after),
        RENAME.requests_by_code(&before)
    );
    server.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_the_layer_only_responses_are_read() -> TestResult {
    let (exporter, server) = served(false).await?;
    let client = server.client();
    let before = metrics(&exporter)?;
    assert_eq!(
        client.get("/bare/response").await?.status,
        StatusCode::ACCEPTED
    );
    let after = ended(&exporter, BARE_RESPONSE, &before, "202").await?;
    assert_eq!(
        BARE_RESPONSE.sum(&after, "size") - BARE_RESPONSE.sum(&before, "size"),
        5.0
    );
    // axum turns the `Json` into a response after the handler returns: nobody measured that response.
    let before = metrics(&exporter)?;
    assert_eq!(client.get("/bare/json").await?.status, StatusCode::OK);
    let wanted = BARE_JSON.requests(&before, "unclassified") + 1.0;
    routemeter_tests::process::eventually(
        "the bare Json request to count",
        Duration::from_secs(15),
        || async {
            let now = metrics(&exporter).ok()?;
            (BARE_JSON.requests(&now, "unclassified") == wanted
                && BARE_JSON.in_flight(&now) == Some(0.0))
            .then_some(())
        },
    )
    .await?;
    server.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn through_the_layer_a_paced_body_is_timed_to_its_last_frame() -> TestResult {
    let (exporter, server) = served(true).await?;
    let path = "/paced?frames=5&pace_ms=40";
    body_checks::paced_body_is_timed_to_its_last_frame(
        &exporter,
        server.addr(),
        PACED,
        path,
        5,
        Duration::from_millis(40),
    )
    .await?;
    server.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn through_the_layer_a_client_that_leaves_mid_body_is_counted_aborted() -> TestResult {
    let (exporter, server) = served(true).await?;
    body_checks::client_leaving_mid_body_is_aborted(
        &exporter,
        server.addr(),
        LEFT,
        "/left?frames=200&pace_ms=20",
        200,
    )
    .await?;
    server.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn through_the_layer_a_body_that_fails_is_counted_body_error() -> TestResult {
    let (exporter, server) = served(true).await?;
    body_checks::failing_body_is_body_error(&exporter, server.addr(), BROKEN, "/broken").await?;
    server.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn through_the_layer_a_client_that_hangs_up_mid_request_is_counted_once() -> TestResult {
    use tokio::io::AsyncWriteExt;
    const CLIENTS: u32 = 5;
    let (exporter, server) = served(true).await?;
    let before = metrics(&exporter)?;
    let mut streams = Vec::new();
    for _ in 0..CLIENTS {
        let mut stream = tokio::net::TcpStream::connect(server.addr()).await?;
        stream
            .write_all(b"GET /stuck HTTP/1.1\r\nHost: test\r\n\r\n")
            .await?;
        streams.push(stream);
    }
    let patience = Duration::from_secs(15);
    routemeter_tests::process::eventually("every request in flight", patience, || async {
        let now = metrics(&exporter).ok()?;
        (STUCK.in_flight(&now) == Some(f64::from(CLIENTS))).then_some(())
    })
    .await?;
    // Hang up without reading an answer: the handler's future is dropped while it waits.
    drop(streams);
    let after = routemeter_tests::process::eventually("the requests to end", patience, || async {
        let now = metrics(&exporter).ok()?;
        (STUCK.in_flight(&now) == Some(0.0)).then_some(now)
    })
    .await?;
    // Counted by the handler, once each: the layer's own request for the route is dropped uncounted.
    assert_eq!(
        STUCK.requests(&after, "cancelled") - STUCK.requests(&before, "cancelled"),
        f64::from(CLIENTS)
    );
    assert_eq!(
        STUCK.requests_by_code(&after).len(),
        1,
        "{:?}",
        STUCK.requests_by_code(&after)
    );
    server.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_exporter_answers_as_an_axum_route() -> TestResult {
    let (_exporter, server) = served(true).await?;
    let scraped = server.client().scrape().await?;
    // Every handler of the router is there before its first request here (at zero or with what other tests
    // counted), with its summary's HELP.
    for handler in [
        GET_ITEM,
        CREATE_ITEM,
        HELLO,
        BARE_JSON,
        BARE_RESPONSE,
        PACED,
        LEFT,
    ] {
        let family = scraped.family(&handler.summary());
        assert_eq!(
            family.and_then(|family| family.help.clone()),
            Some(format!("{} {}", handler.method, handler.route)),
            "{handler:?}"
        );
    }
    server.stop().await
}

//! The three ways to measure a service give the same metrics for the same routes: hyper handlers with the attribute
//! served through `Metered`, axum handlers with the attribute under `MeteredLayer::new()`, and plain axum handlers
//! under the route layer with the same names. Each way runs on its own real server on 127.0.0.1 and reports under
//! its own namespace; after the same requests to all three, one scrape must show, namespace aside, the same
//! families (names, HELP, TYPE), the same series (label sets, quantiles included) and the same values, except the
//! durations, which are timings.

use std::collections::BTreeMap;
use std::convert::Infallible;

use axum::extract::Path;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use http_body_util::Full;
use hyper::body::Incoming;
use routemeter::MeteredLayer;
use routemeter_tests::exposition::Exposition;
use routemeter_tests::process::eventually;
use routemeter_tests::series::{metrics, HandlerSeries};
use routemeter_tests::server::{axum_handler, TestServer};
use routemeter_tests::TestResult;
use serde_json::{json, Value};

const ITEMS: [&str; 2] = ["kettle", "teapot"];

/// The item `id` as JSON, or `None`.
fn item(id: u32) -> Option<String> {
    let name = ITEMS.get(usize::try_from(id).ok()?)?;
    Some(json!({ "id": id, "name": name }).to_string())
}

fn created() -> String {
    json!({ "id": ITEMS.len() }).to_string()
}

/// What every way answers for an item that does not exist.
const MISSING: &str = "no such item";

// The hyper way.

fn json_response(status: StatusCode, body: String) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    response.headers_mut().insert(
        "content-type",
        http::HeaderValue::from_static("application/json"),
    );
    response
}

#[routemeter::instrumented(name = "GetItem", route = "GET /items/{id}", namespace = "hyper_way")]
async fn hyper_get_item(id: u32) -> Result<Response<Full<Bytes>>, Infallible> {
    Ok(match item(id) {
        Some(body) => json_response(StatusCode::OK, body),
        None => json_response(StatusCode::NOT_FOUND, MISSING.to_owned()),
    })
}

#[routemeter::instrumented(name = "CreateItem", route = "POST /items", namespace = "hyper_way")]
async fn hyper_create_item() -> Result<Response<Full<Bytes>>, Infallible> {
    Ok(json_response(StatusCode::CREATED, created()))
}

async fn hyper_route(request: Request<Incoming>) -> Response<Full<Bytes>> {
    let path = request.uri().path().to_owned();
    let answer = match (request.method(), path.strip_prefix("/items/")) {
        (&Method::GET, Some(id)) => hyper_get_item(id.parse().unwrap_or(u32::MAX)).await,
        (&Method::POST, None) if path == "/items" => hyper_create_item().await,
        _ => Ok(json_response(StatusCode::NOT_FOUND, String::new())),
    };
    answer.unwrap_or_else(|never| match never {})
}

// The axum way, with the attribute.

/// An item that does not exist, as axum handlers answer it.
struct Missing;

impl IntoResponse for Missing {
    fn into_response(self) -> axum::response::Response {
        (
            StatusCode::NOT_FOUND,
            [("content-type", "application/json")],
            MISSING,
        )
            .into_response()
    }
}

/// A JSON body written as the hyper way writes it (axum's `Json` would write the same value).
fn json_of(body: String) -> impl IntoResponse {
    ([("content-type", "application/json")], body)
}

#[routemeter::instrumented(name = "GetItem", route = "GET /items/{id}", namespace = "axum_way")]
async fn axum_get_item(Path(id): Path<u32>) -> Result<impl IntoResponse, Missing> {
    item(id).map(json_of).ok_or(Missing)
}

#[routemeter::instrumented(name = "CreateItem", route = "POST /items", namespace = "axum_way")]
async fn axum_create_item(Json(_): Json<Value>) -> impl IntoResponse {
    (StatusCode::CREATED, json_of(created()))
}

// The layer way: the same handlers without the attribute.

async fn plain_get_item(Path(id): Path<u32>) -> Result<impl IntoResponse, Missing> {
    item(id).map(json_of).ok_or(Missing)
}

async fn plain_create_item(Json(_): Json<Value>) -> impl IntoResponse {
    (StatusCode::CREATED, json_of(created()))
}

/// A family as the contract compares it: HELP, TYPE, and each series with its value (`None` for a timing).
type FamilyContract = (
    Option<String>,
    Option<String>,
    Vec<(String, Option<String>)>,
);

/// The families of `namespace` in `metrics` by name after the namespace, with the namespace written `NS` in
/// their series; durations (timings) have no value. The route layer's one handler for unmatched requests,
/// which the other ways do not have, is left out.
fn contract(metrics: &Exposition, namespace: &str) -> BTreeMap<String, FamilyContract> {
    let prefix = format!("{namespace}_");
    metrics
        .families
        .iter()
        .filter_map(|family| {
            let name = family.name.strip_prefix(&prefix)?;
            if name == "unmatched" {
                return None;
            }
            let samples = family
                .samples
                .iter()
                .filter(|sample| !sample.has_labels(&[("handler", "unmatched")]))
                .map(|sample| {
                    let series = sample.series().replacen(&prefix, "NS_", 1);
                    let timing = sample.has_labels(&[("service", "duration")]);
                    // As text, so that the NaN of an empty window equals itself.
                    (series, (!timing).then(|| sample.value.to_string()))
                })
                .collect();
            Some((
                name.to_owned(),
                (family.help.clone(), family.kind.clone(), samples),
            ))
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_three_ways_report_the_same_metrics() -> TestResult {
    let exporter = routemeter::install()?;
    let hyper_way = TestServer::start_metered(hyper_route).await?;
    let axum_way = TestServer::start(axum_handler(
        Router::new()
            .route("/items/{id}", get(axum_get_item))
            .route("/items", post(axum_create_item))
            .layer(MeteredLayer::new()),
    ))
    .await?;
    let route_layer = MeteredLayer::by_route(&exporter)
        .namespace("layer_way")
        .version(env!("CARGO_PKG_VERSION"))
        .route("GetItem", "GET /items/{id}")
        .route("CreateItem", "POST /items")
        .build()?;
    let layer_way = TestServer::start(axum_handler(
        Router::new()
            .route("/items/{id}", get(plain_get_item))
            .route("/items", post(plain_create_item))
            .layer(route_layer),
    ))
    .await?;
    let ways = [
        ("hyper_way", hyper_way),
        ("axum_way", axum_way),
        ("layer_way", layer_way),
    ];

    // Before any request: the same series at zero.
    let before = metrics(&exporter)?;
    let zero = contract(&before, "hyper_way");
    assert!(!zero.is_empty());
    for (namespace, _) in &ways[1..] {
        assert_eq!(
            contract(&before, namespace),
            zero,
            "{namespace} before any request"
        );
    }

    for (namespace, server) in &ways {
        let client = server.client();
        for id in [0, 1, 1, 7] {
            let reply = client.get(&format!("/items/{id}")).await?;
            let (status, body) = match item(id) {
                Some(body) => (StatusCode::OK, body),
                None => (StatusCode::NOT_FOUND, MISSING.to_owned()),
            };
            assert_eq!(
                (reply.status, reply.text()),
                (status, body),
                "{namespace} /items/{id}"
            );
        }
        let reply = client.send_json(Method::POST, "/items", "{}").await?;
        assert_eq!(
            (reply.status, reply.text()),
            (StatusCode::CREATED, created()),
            "{namespace}"
        );
    }

    let after = eventually(
        "every request to be recorded",
        std::time::Duration::from_secs(15),
        || async {
            let now = metrics(&exporter).ok()?;
            ways.iter()
                .all(|&(namespace, _)| {
                    let get_item = HandlerSeries::new(namespace, "GetItem", "GET", "/items/{id}");
                    let create_item = HandlerSeries::new(namespace, "CreateItem", "POST", "/items");
                    get_item.count(&now, "size") == 4.0
                        && create_item.count(&now, "size") == 1.0
                        && get_item.in_flight(&now) == Some(0.0)
                        && create_item.in_flight(&now) == Some(0.0)
                })
                .then_some(now)
        },
    )
    .await?;
    let hyper_contract = contract(&after, "hyper_way");
    let get_item = HandlerSeries::new("hyper_way", "GetItem", "GET", "/items/{id}");
    assert_eq!(get_item.requests(&after, "200"), 3.0);
    assert_eq!(get_item.requests(&after, "404"), 1.0);
    for (namespace, _) in &ways[1..] {
        assert_eq!(
            contract(&after, namespace),
            hyper_contract,
            "{namespace} after the requests"
        );
    }
    for (_, server) in ways {
        server.stop().await?;
    }
    Ok(())
}

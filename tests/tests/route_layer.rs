//! The route layer on an axum router without the attribute, served by a real server on 127.0.0.1: named routes
//! and the unmatched handler exist at zero before any request; other routes are learnt under axum's matched
//! pattern; scanners and made-up methods all count under one unmatched series; excluded paths are not counted;
//! a route function replaces `MatchedPath`; bad names and routes are refused when the layer is built.
//!
//! Each test has an exporter and a namespace of its own, so every count it compares is exact.

use axum::http::StatusCode;
use axum::routing::get;
use axum::Router;
use http::Method;
use routemeter::{Error, Exporter, MeteredLayer};
use routemeter_tests::exposition::Exposition;
use routemeter_tests::series::{ended, metrics, HandlerSeries};
use routemeter_tests::server::{axum_handler, TestServer};
use routemeter_tests::TestResult;

fn shop() -> Router {
    Router::new()
        .route(
            "/items/{id}",
            get(|| async { "an item" }).post(|| async { StatusCode::CREATED }),
        )
        .route("/health", get(|| async { "ok" }))
}

async fn serve(app: Router, exporter: &Exporter) -> TestResult<TestServer> {
    let app = app.route_service("/metrics", exporter.clone());
    TestServer::start(axum_handler(app)).await
}

/// The families of `namespace` in `metrics`, sorted.
fn families_of(metrics: &Exposition, namespace: &str) -> Vec<String> {
    let mut families: Vec<String> = metrics
        .families
        .iter()
        .map(|family| family.name.clone())
        .filter(|name| name.starts_with(&format!("{namespace}_")))
        .collect();
    families.sort();
    families
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn named_routes_and_the_unmatched_series_exist_before_any_request() -> TestResult {
    let exporter = routemeter::install()?;
    let layer = MeteredLayer::by_route(&exporter)
        .namespace("layer_zero")
        .route("GetItem", "GET /items/{id}")
        .build()?;
    let server = serve(shop().layer(layer), &exporter).await?;
    let scraped = metrics(&exporter)?;
    let get_item = HandlerSeries::new("layer_zero", "GetItem", "GET", "/items/{id}");
    let unmatched = HandlerSeries::new("layer_zero", "unmatched", "ANY", "(unmatched)");
    for handler in [get_item, unmatched] {
        assert_eq!(handler.count(&scraped, "duration"), 0.0, "{handler:?}");
        assert_eq!(handler.in_flight(&scraped), Some(0.0), "{handler:?}");
    }
    assert_eq!(
        families_of(&scraped, "layer_zero"),
        [
            "layer_zero_GetItem",
            "layer_zero_build_info",
            "layer_zero_requests_in_flight",
            "layer_zero_requests_total",
            "layer_zero_unmatched",
        ]
    );
    let before = scraped;
    assert_eq!(server.client().get("/items/3").await?.text(), "an item");
    ended(&exporter, get_item, &before, "200").await?;
    server.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn routes_are_learnt_under_their_pattern_and_method() -> TestResult {
    let exporter = routemeter::install()?;
    let layer = MeteredLayer::by_route(&exporter)
        .namespace("layer_learnt")
        .build()?;
    let server = serve(shop().layer(layer), &exporter).await?;
    let client = server.client();
    let get_item = HandlerSeries::new("layer_learnt", "get_items_id", "GET", "/items/{id}");
    let post_item = HandlerSeries::new("layer_learnt", "post_items_id", "POST", "/items/{id}");
    let before = metrics(&exporter)?;
    assert!(before.family(&get_item.summary()).is_none());
    for id in 0..5 {
        client.get(&format!("/items/{id}")).await?;
    }
    let reply = client.request(Method::POST, "/items/9", &[], "").await?;
    assert_eq!(reply.status, StatusCode::CREATED);
    let after = ended(&exporter, post_item, &before, "201").await?;
    assert_eq!(get_item.requests(&after, "200"), 5.0);
    assert_eq!(get_item.sum(&after, "size"), 5.0 * "an item".len() as f64);
    server.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scanners_and_made_up_methods_count_under_one_series() -> TestResult {
    let exporter = routemeter::install()?;
    let layer = MeteredLayer::by_route(&exporter)
        .namespace("layer_scanned")
        .exclude("/metrics")
        .exclude("/health")
        .build()?;
    let server = serve(shop().layer(layer), &exporter).await?;
    let client = server.client();
    let unmatched = HandlerSeries::new("layer_scanned", "unmatched", "ANY", "(unmatched)");
    // The scrape handler's own series exist once it has answered.
    client.scrape().await?;
    let before = metrics(&exporter)?;
    let series_before = before.series().len();
    let probes = 200;
    for probe in 0..probes {
        let method = Method::from_bytes(format!("M{probe}").as_bytes())?;
        let (method, path) = if probe % 2 == 0 {
            (Method::GET, format!("/wp-admin/{probe}.php"))
        } else {
            (method, "/items/1".to_owned())
        };
        client.request(method, &path, &[], "").await?;
    }
    // Excluded: neither scrapes nor health checks are counted.
    client.get("/health").await?;
    client.scrape().await?;
    let wanted = f64::from(probes);
    let after = routemeter_tests::process::eventually(
        "every probe to count as unmatched",
        std::time::Duration::from_secs(15),
        || async {
            let now = metrics(&exporter).ok()?;
            let counted: f64 = unmatched.requests_by_code(&now).values().sum();
            (counted == wanted && unmatched.in_flight(&now) == Some(0.0)).then_some(now)
        },
    )
    .await?;
    // 404s for the paths, 405s for the methods: two new series for 200 probes, and nothing else new.
    let codes = unmatched.requests_by_code(&after);
    assert_eq!(
        codes.keys().collect::<Vec<_>>(),
        ["404", "405"],
        "{codes:?}"
    );
    assert_eq!(after.series().len(), series_before + 2);
    assert_eq!(
        families_of(&after, "layer_scanned"),
        [
            "layer_scanned_build_info",
            "layer_scanned_requests_in_flight",
            "layer_scanned_requests_total",
            "layer_scanned_unmatched",
        ]
    );
    server.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_route_function_names_the_route() -> TestResult {
    let exporter = routemeter::install()?;
    let layer = MeteredLayer::by_route(&exporter)
        .namespace("layer_function")
        .route("Anything", "GET /any/{rest}")
        .route_fn(|_, uri, _| {
            uri.path()
                .starts_with("/any/")
                .then(|| "/any/{rest}".to_owned())
        })
        .build()?;
    let app = Router::new()
        .fallback(|| async { "fell back" })
        .layer(layer);
    let server = serve(app, &exporter).await?;
    let anything = HandlerSeries::new("layer_function", "Anything", "GET", "/any/{rest}");
    let before = metrics(&exporter)?;
    assert_eq!(server.client().get("/any/thing").await?.text(), "fell back");
    ended(&exporter, anything, &before, "200").await?;
    server.stop().await
}

#[tokio::test]
async fn bad_names_routes_and_clashes_are_refused_when_built() -> TestResult {
    let exporter = routemeter::install()?;
    let refused = |built: Result<MeteredLayer, Error>| match built {
        Err(error) => error.to_string(),
        Ok(_) => String::new(),
    };
    let message = refused(
        MeteredLayer::by_route(&exporter)
            .namespace("layer_refused")
            .route("Get-Item", "GET /items/{id}")
            .build(),
    );
    assert!(message.contains("Get-Item"), "{message}");
    let message = refused(
        MeteredLayer::by_route(&exporter)
            .namespace("layer_refused")
            .route("GetItem", "get /items")
            .build(),
    );
    assert!(message.contains("get /items"), "{message}");
    let message = refused(
        MeteredLayer::by_route(&exporter)
            .namespace("layer_refused")
            .route("requests_total", "GET /items")
            .build(),
    );
    assert!(message.contains("`layer_refused_requests`"), "{message}");
    assert!(message.contains("GET /items"), "{message}");
    let message = refused(
        MeteredLayer::by_route(&exporter)
            .namespace("layer_refused")
            .route("Twice", "GET /a")
            .route("Twice", "GET /b")
            .build(),
    );
    assert!(message.contains("layer_refused_Twice"), "{message}");
    // The refused layers left nothing behind: the namespace is still free.
    let built = MeteredLayer::by_route(&exporter)
        .namespace("layer_refused")
        .route("Twice", "GET /a")
        .build();
    assert!(built.is_ok(), "{}", refused(built));
    Ok(())
}

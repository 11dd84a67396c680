//! The per-request cost of measuring an axum handler, side by side in one run: the same handler on the same
//! router, called with a request and its response body drained,
//! - bare;
//! - with `#[instrumented]` and `MeteredLayer::new()` on the router (measured to the body's end);
//! - with `#[instrumented]` alone (recorded when the handler returns);
//! - without the attribute, under the route layer `MeteredLayer::by_route`;
//! - without the attribute, under axum-prometheus's layer;
//! - without the attribute, under a layer that does nothing but wrap the response body in a body that passes its
//!   frames through: the floor under any layer that measures to the body's end, since axum boxes the new body.
//!
//! Run with `cargo bench -p routemeter-tests --bench axum`. The run ends by printing each overhead over the bare
//! router and its ratio to routemeter's, and writes them to `target/routemeter-axum-bench.json`.

// A benchmark that cannot set itself up should stop loudly; criterion's macros generate undocumented items.
#![allow(clippy::expect_used, clippy::panic, missing_docs)]

use std::future::Future;
use std::hint::black_box;
use std::path::PathBuf;
use std::pin::pin;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use axum::body::Body;
use axum::extract::Path;
use axum::routing::get;
use axum::Router;
use criterion::{criterion_group, Criterion};
use http::Request;
use http_body::Body as _;
use tower_service::Service;

/// What every variant answers: a short JSON text.
fn person(id: u32) -> String {
    format!("{{\"id\":\"{id}\",\"name\":\"Person_0\"}}")
}

/// The handler every variant serves: a path parameter in, a short JSON text out.
async fn plain(Path(id): Path<u32>) -> String {
    person(id)
}

#[routemeter::instrumented(
    name = "GetPerson",
    route = "GET /people/{id}",
    namespace = "bench_layered"
)]
async fn layered(Path(id): Path<u32>) -> String {
    person(id)
}

#[routemeter::instrumented(
    name = "GetPerson",
    route = "GET /people/{id}",
    namespace = "bench_alone"
)]
async fn alone(Path(id): Path<u32>) -> String {
    person(id)
}

/// Polls `future` once: every handler here answers without waiting.
fn complete<F: Future>(future: F) -> F::Output {
    match pin!(future).poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(output) => output,
        Poll::Pending => panic!("the benchmarked router never waits"),
    }
}

/// Calls `router` with `GET /people/42` and drains the response body, as a server would.
fn call(router: &mut Router) {
    let request = Request::get("/people/42")
        .body(Body::empty())
        .expect("a request");
    let Ok(response) = complete(router.call(request));
    let mut body = pin!(response.into_body());
    let mut context = Context::from_waker(Waker::noop());
    while let Poll::Ready(Some(frame)) = body.as_mut().poll_frame(&mut context) {
        black_box(frame.is_ok());
    }
}

/// A body that passes its frames through, and the layer that puts it on every response.
mod passthrough {
    use std::pin::Pin;
    use std::task::{Context, Poll};

    use axum::body::Body;
    use http::{Request, Response};
    use http_body::Frame;

    pin_project_lite::pin_project! {
        pub struct Passed {
            #[pin]
            inner: Body,
        }
    }

    impl http_body::Body for Passed {
        type Data = bytes::Bytes;
        type Error = axum::Error;

        fn poll_frame(
            self: Pin<&mut Self>,
            cx: &mut Context<'_>,
        ) -> Poll<Option<Result<Frame<bytes::Bytes>, axum::Error>>> {
            self.project().inner.poll_frame(cx)
        }

        fn is_end_stream(&self) -> bool {
            self.inner.is_end_stream()
        }

        fn size_hint(&self) -> http_body::SizeHint {
            self.inner.size_hint()
        }
    }

    #[derive(Clone)]
    pub struct Layer;

    impl<S> tower_layer::Layer<S> for Layer {
        type Service = Service<S>;

        fn layer(&self, inner: S) -> Service<S> {
            Service(inner)
        }
    }

    #[derive(Clone)]
    pub struct Service<S>(S);

    impl<S, B> tower_service::Service<Request<B>> for Service<S>
    where
        S: tower_service::Service<Request<B>, Response = Response<Body>>,
        S::Future: Send + 'static,
    {
        type Response = Response<Passed>;
        type Error = S::Error;
        type Future = std::pin::Pin<
            Box<dyn std::future::Future<Output = Result<Response<Passed>, S::Error>> + Send>,
        >;

        fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
            self.0.poll_ready(cx)
        }

        fn call(&mut self, request: Request<B>) -> Self::Future {
            let future = self.0.call(request);
            Box::pin(async move {
                let response = future.await?;
                Ok(response.map(|inner| Passed { inner }))
            })
        }
    }
}

fn routers() -> [(&'static str, Router); 6] {
    let exporter = routemeter::install().expect("install");
    let by_route = routemeter::MeteredLayer::by_route(&exporter)
        .namespace("bench_route_layer")
        .route("GetPerson", "GET /people/{id}")
        .build()
        .expect("a route layer");
    let (prometheus_layer, _handle) = axum_prometheus::PrometheusMetricLayer::pair();
    [
        ("bare", Router::new().route("/people/{id}", get(plain))),
        (
            "attribute_layer",
            Router::new()
                .route("/people/{id}", get(layered))
                .layer(routemeter::MeteredLayer::new()),
        ),
        (
            "attribute_alone",
            Router::new().route("/people/{id}", get(alone)),
        ),
        (
            "route_layer",
            Router::new()
                .route("/people/{id}", get(plain))
                .layer(by_route),
        ),
        (
            "axum_prometheus",
            Router::new()
                .route("/people/{id}", get(plain))
                .layer(prometheus_layer),
        ),
        (
            "passthrough_layer",
            Router::new()
                .route("/people/{id}", get(plain))
                .layer(passthrough::Layer),
        ),
    ]
}

fn axum_handlers(c: &mut Criterion) {
    // axum-prometheus spawns its upkeep task when its layer is made; that task never runs here (the runtime is
    // never driven), so its layer is measured without it.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a runtime");
    let _entered = runtime.enter();
    let mut group = c.benchmark_group("axum");
    for (name, router) in routers() {
        // As `axum::serve` does: every route turned into a service once, not at each request.
        let mut router = router.with_state::<()>(());
        group.bench_function(name, |b| b.iter(|| call(&mut router)));
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    targets = axum_handlers
}

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
    if let Err(err) = report() {
        eprintln!("could not write the benchmark report: {err}");
    }
}

/// The target directory: `$CARGO_TARGET_DIR`, else the one this executable was built in.
fn target_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("CARGO_TARGET_DIR") {
        return PathBuf::from(dir);
    }
    // This executable is `<target dir>/<profile>/deps/axum-<hash>`.
    std::env::current_exe()
        .ok()
        .and_then(|exe| Some(exe.parent()?.parent()?.parent()?.to_path_buf()))
        .unwrap_or_else(|| PathBuf::from("target"))
}

/// The median criterion measured for `axum/<name>`, in nanoseconds.
fn median_ns(name: &str) -> Result<f64, String> {
    let criterion = std::env::var_os("CRITERION_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| target_dir().join("criterion"));
    let path = criterion.join("axum").join(name).join("new/estimates.json");
    let text =
        std::fs::read_to_string(&path).map_err(|err| format!("{}: {err}", path.display()))?;
    let estimates: serde_json::Value =
        serde_json::from_str(&text).map_err(|err| format!("{}: {err}", path.display()))?;
    estimates["median"]["point_estimate"]
        .as_f64()
        .ok_or_else(|| format!("{}: no median", path.display()))
}

fn report() -> Result<(), String> {
    let bare = median_ns("bare")?;
    let ours = median_ns("attribute_layer")? - bare;
    println!("\naxum medians (this run): the bare router {bare:.1} ns per request");
    let mut json = serde_json::json!({ "axum_bare_ns": bare });
    for (name, what) in [
        ("attribute_layer", "#[instrumented] + MeteredLayer::new()"),
        ("attribute_alone", "#[instrumented] without a layer"),
        ("route_layer", "MeteredLayer::by_route"),
        ("axum_prometheus", "axum-prometheus"),
        ("passthrough_layer", "a layer that only wraps the body"),
    ] {
        let overhead = median_ns(name)? - bare;
        println!(
            "  {what:<40} overhead {overhead:>8.1} ns ({:.2}x routemeter's attribute with its layer)",
            overhead / ours
        );
        json[format!("axum_{name}_overhead_ns")] = overhead.into();
    }
    let path = target_dir().join("routemeter-axum-bench.json");
    let text = serde_json::to_string_pretty(&json).map_err(|err| err.to_string())?;
    std::fs::write(&path, text + "\n").map_err(|err| format!("{}: {err}", path.display()))?;
    println!("  written to {}", path.display());
    Ok(())
}

//! Every route answers as the hyper example does: the same statuses, JSON bodies, headers and messages.
//!
//! The expected JSON is made from `accountservice-core`'s store and model, which the hyper example answers with
//! too; the messages are the hyper example's, word for word. Each test serves a store of its own.

mod common;
mod in_process;

use accountservice_axum::AppState;
use accountservice_core::store::Store;
use common::{get, send, send_json, Reply, TestResult};
use http::{Method, StatusCode};
use in_process::Service;
use serde_json::{json, Value};

/// The JSON the hyper example answers for a seeded account, served from `addr`.
fn seeded_account(id: u64, served_by: &str) -> TestResult<Value> {
    let record = Store::seeded()
        .get(id)
        .ok_or_else(|| format!("account {id} is seeded"))?;
    Ok(serde_json::to_value(record.to_account(served_by))?)
}

/// A JSON answer: the status, `Content-Type: application/json` and a `Content-Length` that is the body's.
fn assert_json(reply: &Reply, status: StatusCode) {
    assert_eq!(reply.status, status, "{}", reply.text());
    assert_eq!(reply.header("content-type"), Some("application/json"));
    assert_eq!(
        reply.header("content-length"),
        Some(reply.body.len().to_string().as_str())
    );
}

/// A text answer: the status and the message, with the newline the hyper example ends it with.
fn assert_text(reply: &Reply, status: StatusCode, message: &str) {
    assert_eq!(reply.status, status, "{}", reply.text());
    assert_eq!(
        reply.header("content-type"),
        Some("text/plain; charset=utf-8")
    );
    assert_eq!(reply.text(), format!("{message}\n"));
}

#[tokio::test]
async fn get_account_answers_the_account_or_says_why_not() -> TestResult {
    let service = Service::start().await?;
    let addr = service.addr();
    let served_by = addr.to_string();

    let found = get(addr, "/accounts/10002").await?;
    assert_json(&found, StatusCode::OK);
    assert_eq!(found.json()?, seeded_account(10002, &served_by)?);
    assert_eq!(found.json()?["servedBy"], served_by.as_str());

    let unknown = get(addr, "/accounts/99").await?;
    assert_text(
        &unknown,
        StatusCode::NOT_FOUND,
        "Account identified by '99' not found",
    );
    let invalid = get(addr, "/accounts/ten").await?;
    assert_text(
        &invalid,
        StatusCode::BAD_REQUEST,
        "Account id must be a decimal number, got 'ten'",
    );
    let long = "x".repeat(100);
    let quoted = get(addr, &format!("/accounts/{long}")).await?;
    assert_text(
        &quoted,
        StatusCode::BAD_REQUEST,
        &format!(
            "Account id must be a decimal number, got '{}…'",
            &long[..64]
        ),
    );
    service.stop().await
}

#[tokio::test]
async fn store_account_creates_and_answers_201_with_location() -> TestResult {
    let service = Service::start().await?;
    let addr = service.addr();

    let created = send_json(
        addr,
        Method::POST,
        "/accounts",
        r#"{"name":"Grace","id":"ignored"}"#,
    )
    .await?;
    assert_json(&created, StatusCode::CREATED);
    let id = created.json()?["ID"]
        .as_str()
        .ok_or("the answer has the new id as a string")?
        .to_owned();
    assert_eq!(created.json()?, json!({ "ID": id }));
    let location = format!("/accounts/{id}");
    assert_eq!(created.header("location"), Some(location.as_str()));
    let stored = get(addr, &location).await?;
    assert_json(&stored, StatusCode::OK);
    assert_eq!(stored.json()?["name"], "Grace");
    assert_eq!(stored.json()?["accountEvents"][0]["eventName"], "CREATED");

    // Without a Content-Type the body is read as JSON, as the hyper example reads it.
    let untyped = send(addr, Method::POST, "/accounts", &[], r#"{"name":"Linus"}"#).await?;
    assert_eq!(untyped.status, StatusCode::CREATED, "{}", untyped.text());

    let nameless = send_json(addr, Method::POST, "/accounts", r#"{"name":"  "}"#).await?;
    assert_text(
        &nameless,
        StatusCode::BAD_REQUEST,
        "POST body is missing required field: name",
    );
    let empty = send_json(addr, Method::POST, "/accounts", " ").await?;
    assert_text(
        &empty,
        StatusCode::BAD_REQUEST,
        "request body is empty; expected a JSON object",
    );
    let broken = send_json(addr, Method::POST, "/accounts", "{\"name\":").await?;
    assert_eq!(broken.status, StatusCode::BAD_REQUEST);
    assert!(
        broken
            .text()
            .starts_with("request body is not valid JSON for this route: EOF while parsing"),
        "{}",
        broken.text()
    );
    let form = send(
        addr,
        Method::POST,
        "/accounts",
        &[("content-type", "text/plain")],
        "name=x",
    )
    .await?;
    assert_text(
        &form,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "request body must be application/json, got text/plain",
    );
    assert_eq!(form.header("accept"), Some("application/json"));
    let huge = format!(
        r#"{{"name":"{}"}}"#,
        "x".repeat(accountservice_axum::BODY_LIMIT)
    );
    let too_large = send_json(addr, Method::POST, "/accounts", &huge).await?;
    assert_text(
        &too_large,
        StatusCode::PAYLOAD_TOO_LARGE,
        &format!(
            "request body is larger than the limit of {} bytes",
            accountservice_axum::BODY_LIMIT
        ),
    );
    assert_eq!(too_large.header("connection"), Some("close"));
    service.stop().await
}

#[tokio::test]
async fn update_account_renames_or_says_what_is_missing() -> TestResult {
    let service = Service::start().await?;
    let addr = service.addr();
    let served_by = addr.to_string();

    let renamed = send_json(
        addr,
        Method::PUT,
        "/accounts",
        r#"{"id":"10050","name":"Barbara"}"#,
    )
    .await?;
    assert_json(&renamed, StatusCode::OK);
    let mut expected = seeded_account(10050, &served_by)?;
    expected["name"] = json!("Barbara");
    let events = renamed.json()?["accountEvents"].clone();
    assert_eq!(events[1]["ID"], "2");
    assert_eq!(events[1]["eventName"], "UPDATED");
    if let Some(list) = expected["accountEvents"].as_array_mut() {
        list.push(events[1].clone());
    }
    assert_eq!(renamed.json()?, expected);
    // A bare number is an id too.
    let by_number = send_json(
        addr,
        Method::PUT,
        "/accounts",
        r#"{"id":10050,"name":"Ida"}"#,
    )
    .await?;
    assert_json(&by_number, StatusCode::OK);
    assert_eq!(get(addr, "/accounts/10050").await?.json()?["name"], "Ida");

    let without_id = send_json(addr, Method::PUT, "/accounts", r#"{"name":"X"}"#).await?;
    assert_text(
        &without_id,
        StatusCode::BAD_REQUEST,
        "PUT body is missing required field: ID",
    );
    let without_name = send_json(addr, Method::PUT, "/accounts", r#"{"id":"10050"}"#).await?;
    assert_text(
        &without_name,
        StatusCode::BAD_REQUEST,
        "PUT body is missing required field: name",
    );
    let unknown = send_json(addr, Method::PUT, "/accounts", r#"{"id":"5","name":"X"}"#).await?;
    assert_text(
        &unknown,
        StatusCode::NOT_FOUND,
        "Account identified by '5' not found",
    );
    let invalid = send_json(
        addr,
        Method::PUT,
        "/accounts",
        r#"{"id":"five","name":"X"}"#,
    )
    .await?;
    assert_text(
        &invalid,
        StatusCode::BAD_REQUEST,
        "Account id must be a decimal number, got 'five'",
    );
    service.stop().await
}

#[tokio::test]
async fn graphql_answers_the_tutorial_query() -> TestResult {
    let service = Service::start().await?;
    let addr = service.addr();

    let query = r#"{"query":"{ Account(id: \"10001\") { id name servedBy quote { quote } } }"}"#;
    let answer = send_json(addr, Method::POST, "/graphql", query).await?;
    assert_json(&answer, StatusCode::OK);
    assert_eq!(
        answer.json()?,
        json!({"data": {"Account": {
            "id": "10001", "name": "Person_1", "servedBy": addr.to_string(),
            "quote": {"quote": "Better late than never."}
        }}})
    );
    let with_variables =
        r#"{"query":"query($id: String) { Account(id: $id) { id } }","variables":{"id":"10002"}}"#;
    let answer = send_json(addr, Method::POST, "/graphql", with_variables).await?;
    assert_eq!(
        answer.json()?,
        json!({"data": {"Account": {"id": "10002"}}})
    );
    // GraphQL errors are a 200.
    let bad_field = send_json(
        addr,
        Method::POST,
        "/graphql",
        r#"{"query":"{ Account(id: \"1\") { nope } }"}"#,
    )
    .await?;
    assert_json(&bad_field, StatusCode::OK);
    assert!(bad_field.json()?["errors"][0]["message"].is_string());

    let no_query = send_json(addr, Method::POST, "/graphql", r#"{"variables":{}}"#).await?;
    assert_text(
        &no_query,
        StatusCode::BAD_REQUEST,
        "GraphQL request body is missing required field: query",
    );
    service.stop().await
}

#[tokio::test]
async fn health_follows_the_testability_switch() -> TestResult {
    let service = Service::start().await?;
    let addr = service.addr();

    let healthy = get(addr, "/health").await?;
    assert_json(&healthy, StatusCode::OK);
    assert_eq!(healthy.json()?, json!({"status": "UP"}));
    let switched = get(addr, "/testability/healthy/false").await?;
    assert_json(&switched, StatusCode::OK);
    assert_eq!(switched.json()?, json!({"status": "DOWN"}));
    let sick = get(addr, "/health").await?;
    assert_json(&sick, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(sick.json()?, json!({"status": "DOWN"}));
    let nonsense = get(addr, "/testability/healthy/maybe").await?;
    assert_text(
        &nonsense,
        StatusCode::BAD_REQUEST,
        "state must be true or false, got \"maybe\"",
    );
    let back = get(addr, "/testability/healthy/true").await?;
    assert_eq!(back.json()?, json!({"status": "UP"}));
    assert_eq!(get(addr, "/health").await?.status, StatusCode::OK);
    service.stop().await
}

#[tokio::test]
async fn export_streams_every_account_as_ndjson() -> TestResult {
    let service = Service::start().await?;
    let addr = service.addr();
    let served_by = addr.to_string();

    let export = get(addr, "/accounts/export").await?;
    assert_eq!(export.status, StatusCode::OK);
    assert_eq!(export.header("content-type"), Some("application/x-ndjson"));
    assert_eq!(
        export.header("content-length"),
        Some(export.body.len().to_string().as_str())
    );
    let store = Store::seeded();
    let ids: Vec<u64> = store.all().iter().map(|record| record.id).collect();
    let lines: Vec<&str> = std::str::from_utf8(&export.body)?
        .split_terminator('\n')
        .collect();
    assert_eq!(lines.len(), ids.len());
    for (line, id) in lines.iter().zip(ids) {
        // This test's store has changed nothing: every line is a seeded account.
        assert_eq!(
            serde_json::from_str::<Value>(line)?,
            seeded_account(id, &served_by)?
        );
    }
    for bad in ["pace_ms=-1", "pace_ms=1001", "pace_ms=", "pace_ms=fast"] {
        let refused = get(addr, &format!("/accounts/export?{bad}")).await?;
        assert_text(
            &refused,
            StatusCode::BAD_REQUEST,
            "pace_ms must be a whole number of milliseconds from 0 to 1000",
        );
    }
    service.stop().await
}

#[tokio::test]
async fn unknown_paths_and_methods_are_refused_as_the_hyper_example_does() -> TestResult {
    let service = Service::start().await?;
    let addr = service.addr();

    for path in [
        "/",
        "/account",
        "/accounts/",
        "/accounts/1/2",
        "/metrics/x",
        "/HEALTH",
    ] {
        let reply = get(addr, path).await?;
        assert_text(
            &reply,
            StatusCode::NOT_FOUND,
            &format!("no route for {path}"),
        );
    }
    let wrong = send(addr, Method::GET, "/accounts", &[], "").await?;
    assert_text(
        &wrong,
        StatusCode::METHOD_NOT_ALLOWED,
        "GET is not allowed on /accounts",
    );
    // axum writes `Allow` as `POST,PUT`; the hyper example as `POST, PUT`.
    let allowed: Vec<&str> = wrong
        .header("allow")
        .ok_or("a 405 names the allowed methods")?
        .split(',')
        .map(str::trim)
        .collect();
    assert_eq!(allowed, ["POST", "PUT"]);
    let delete = send(addr, Method::DELETE, "/accounts/10001", &[], "").await?;
    assert_text(
        &delete,
        StatusCode::METHOD_NOT_ALLOWED,
        "DELETE is not allowed on /accounts/10001",
    );

    let metrics = get(addr, "/metrics").await?;
    assert_eq!(metrics.status, StatusCode::OK);
    assert_eq!(
        metrics.header("content-type"),
        Some(routemeter::TEXT_CONTENT_TYPE)
    );
    assert!(metrics
        .text()
        .contains("# TYPE accountservice_GetAccount summary\n"));
    service.stop().await
}

#[tokio::test]
async fn bodies_over_the_budget_are_refused_with_503_and_retry_after() -> TestResult {
    let budget = 16 * 1024;
    let service = Service::start_with(AppState::seeded().body_budget(budget)).await?;
    let addr = service.addr();

    let name = "x".repeat(budget);
    let over = send_json(
        addr,
        Method::POST,
        "/accounts",
        &format!(r#"{{"name":"{name}"}}"#),
    )
    .await?;
    assert_text(
        &over,
        StatusCode::SERVICE_UNAVAILABLE,
        &format!(
            "too many request bodies are being received at once (together over {budget} bytes); try again shortly"
        ),
    );
    assert_eq!(over.header("retry-after"), Some("1"));
    assert_eq!(over.header("connection"), Some("close"));
    // The refused body gave its share back: a body within the budget is read.
    let within = send_json(addr, Method::POST, "/accounts", r#"{"name":"Small"}"#).await?;
    assert_eq!(within.status, StatusCode::CREATED, "{}", within.text());
    service.stop().await
}

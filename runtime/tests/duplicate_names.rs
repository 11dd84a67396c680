//! Two handlers that would report under one name are an error at start-up, not a silent drop.

use bytes::Bytes;
use http_body_util::Empty;
use hyper::Response;

mod accounts {
    use super::*;

    #[routemeter::instrumented(name = "GetAccount", route = "GET /accounts/{id}")]
    pub async fn get() -> Response<Empty<Bytes>> {
        Response::new(Empty::new())
    }
}

mod legacy {
    use super::*;

    #[routemeter::instrumented(name = "GetAccount", route = "GET /v1/accounts/<id>")]
    pub async fn get() -> Response<Empty<Bytes>> {
        Response::new(Empty::new())
    }
}

#[test]
fn install_names_both_handlers() {
    let _ = (accounts::get, legacy::get);
    let error = routemeter::install().expect_err("two handlers share a name");
    let message = error.to_string();
    assert!(
        matches!(error, routemeter::Error::DuplicateHandler { ref metric, .. } if metric == "duplicate_names_GetAccount"),
        "{message}"
    );
    assert!(message.contains("duplicate_names.rs:"), "{message}");
    assert!(
        message.contains("another `name` or `namespace`"),
        "{message}"
    );
}

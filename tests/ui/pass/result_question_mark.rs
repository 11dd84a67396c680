// `?` inside the body converts errors into the declared error type through `From`, exactly as in
// an uninstrumented handler, and an early `return` keeps working.
#![deny(warnings)]

use std::fmt;
use std::num::ParseIntError;

use bytes::Bytes;
use http_body_util::Full;
use hyper::{Request, Response, StatusCode};
use routemeter::instrumented;

#[derive(Debug)]
enum ApiError {
    BadId(ParseIntError),
    Http(http::Error),
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ApiError::BadId(error) => write!(f, "bad account id: {error}"),
            ApiError::Http(error) => write!(f, "cannot build the response: {error}"),
        }
    }
}

impl From<ParseIntError> for ApiError {
    fn from(error: ParseIntError) -> Self {
        ApiError::BadId(error)
    }
}

impl From<http::Error> for ApiError {
    fn from(error: http::Error) -> Self {
        ApiError::Http(error)
    }
}

#[instrumented(name = "GetAccount", route = "GET /accounts/{accountId}")]
async fn get_account(req: Request<Full<Bytes>>) -> Result<Response<Full<Bytes>>, ApiError> {
    let id: u64 = req.uri().path().trim_start_matches("/accounts/").parse()?;
    if id == 0 {
        return Ok(Response::builder()
            .status(StatusCode::NOT_FOUND)
            .body(Full::default())?);
    }
    let response = Response::builder().body(Full::new(Bytes::from(id.to_string())))?;
    Ok(response)
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let get = |path: &str| get_account(Request::get(path).body(Full::default()).unwrap());
    assert_eq!(get("/accounts/7").await.unwrap().status(), 200);
    assert_eq!(get("/accounts/0").await.unwrap().status(), 404);
    let error = get("/accounts/x").await.unwrap_err();
    assert_eq!(
        error.to_string(),
        "bad account id: invalid digit found in string"
    );
}

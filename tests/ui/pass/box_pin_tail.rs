// A `fn` returning a boxed future built by `Box::pin(async move { .. })`, the shape of trait
// objects and async-trait style code: the future inside the box is observed.
#![deny(warnings)]

use std::future::Future;
use std::pin::Pin;

use bytes::Bytes;
use http_body_util::Full;
use hyper::{Request, Response, StatusCode};
use routemeter::instrumented;

struct Accounts {
    names: Vec<String>,
}

impl Accounts {
    #[instrumented(name = "CountAccounts", route = "GET /accounts/count")]
    fn count(
        &self,
        _req: Request<Full<Bytes>>,
    ) -> Pin<Box<dyn Future<Output = Response<Full<Bytes>>> + Send + '_>> {
        Box::pin(async move {
            let mut response = Response::new(Full::new(Bytes::from(self.names.len().to_string())));
            *response.status_mut() = StatusCode::OK;
            response
        })
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let accounts = Accounts {
        names: vec!["a".into(), "b".into()],
    };
    let response = accounts.count(Request::new(Full::default())).await;
    assert_eq!(response.status(), 200);
}

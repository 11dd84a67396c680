// Methods in an impl block: `&self`, and `self: Arc<Self>` for services that clone their state.
#![deny(warnings)]

use std::convert::Infallible;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::Full;
use hyper::{Request, Response};
use routemeter::instrumented;

struct AccountService {
    greeting: String,
}

impl AccountService {
    #[instrumented(name = "Greet", route = "GET /greet")]
    async fn greet(&self, _req: Request<Full<Bytes>>) -> Result<Response<Full<Bytes>>, Infallible> {
        Ok(Response::new(Full::new(Bytes::from(self.greeting.clone()))))
    }

    #[instrumented(name = "GreetShared", route = "GET /greet/shared")]
    async fn greet_shared(self: Arc<Self>, req: Request<Full<Bytes>>) -> Response<Full<Bytes>> {
        self.greet(req).await.unwrap_or_else(|never| match never {})
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let service = Arc::new(AccountService {
        greeting: "hello".into(),
    });
    let response = service.greet(Request::new(Full::default())).await.unwrap();
    assert_eq!(response.status(), 200);
    let response = service.greet_shared(Request::new(Full::default())).await;
    assert_eq!(response.status(), 200);
}

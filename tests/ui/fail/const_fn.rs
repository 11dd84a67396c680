// A `const fn` cannot be timed: the error is on `const`, and only that error, since a `const fn`
// cannot hold the `async` block any further advice would ask for.
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body_util::Full;
use hyper::{Request, Response};
use routemeter::instrumented;

struct Ready;

impl Future for Ready {
    type Output = Response<Full<Bytes>>;

    fn poll(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Self::Output> {
        Poll::Ready(Response::new(Full::default()))
    }
}

#[instrumented(name = "GetAccount", route = "GET /accounts")]
const fn handler() -> impl Future<Output = Response<Full<Bytes>>> {
    Ready
}

fn main() {
    let _ = handler;
    let _ = Request::<()>::new;
}

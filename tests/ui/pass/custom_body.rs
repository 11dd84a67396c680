// A response body type of the application's own: any `http_body::Body` is accepted.
#![deny(warnings)]

use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use hyper::{Request, Response};
use routemeter::instrumented;

/// A body that sends one chunk.
struct Once(Option<Bytes>);

impl Body for Once {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        Poll::Ready(self.0.take().map(|data| Ok(Frame::data(data))))
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.0.as_ref().map_or(0, |data| data.len() as u64))
    }
}

#[instrumented(name = "Download", route = "GET /download")]
async fn download(_req: Request<()>) -> Result<Response<Once>, std::io::Error> {
    Ok(Response::new(Once(Some(Bytes::from_static(b"payload")))))
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let response = download(Request::new(())).await.unwrap();
    assert_eq!(response.body().size_hint().exact(), Some(7));
}

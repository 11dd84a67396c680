// Generic handlers: over the request body (bounded in a where clause) and over the response body.
#![deny(warnings)]

use bytes::Bytes;
use http_body::Body;
use http_body_util::{BodyExt, Empty, Full};
use hyper::{Request, Response};
use routemeter::instrumented;

#[instrumented(name = "Echo", route = "POST /echo")]
async fn echo<B>(req: Request<B>) -> Result<Response<Full<Bytes>>, B::Error>
where
    B: Body<Data = Bytes> + Send,
{
    let bytes = req.into_body().collect().await?.to_bytes();
    Ok(Response::new(Full::new(bytes)))
}

#[instrumented(name = "Wrap", route = "GET /wrap")]
async fn wrap<T: Body + Send + 'static>(body: T) -> Response<T> {
    Response::new(body)
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let req = Request::post("/echo")
        .body(Full::new(Bytes::from("ping")))
        .unwrap();
    let response = echo(req).await.unwrap();
    assert_eq!(
        response.into_body().collect().await.unwrap().to_bytes(),
        "ping"
    );
    let response = wrap(Empty::<Bytes>::new()).await;
    assert_eq!(response.status(), 200);
}

// A handler whose output is not a response (nor, with the `axum` feature, anything axum turns into
// one): the message says what is accepted.
use routemeter::instrumented;

struct Greeting;

#[instrumented(name = "Greeting", route = "GET /greeting")]
async fn handler() -> Greeting {
    Greeting
}

fn main() {
    let _ = handler;
}

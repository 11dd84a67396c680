// A handler whose output is not a response: the runtime's `Outcome` bound explains what is accepted.
use routemeter::instrumented;

#[instrumented(name = "Greeting", route = "GET /greeting")]
async fn handler() -> String {
    "hello".to_owned()
}

fn main() {
    let _ = handler;
}

// The attribute belongs on a handler function.
use routemeter::instrumented;

#[instrumented(name = "GetAccount", route = "GET /accounts")]
struct Handler;

fn main() {
    let _ = Handler;
}

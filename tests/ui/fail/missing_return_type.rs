// An `async fn` returning `()` has no response to count.
use routemeter::instrumented;

#[instrumented(name = "Notify", route = "POST /notify")]
async fn handler() {}

fn main() {
    let _ = handler;
}

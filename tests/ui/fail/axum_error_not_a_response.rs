// An axum handler whose error type axum cannot turn into a response: the message says what is accepted.
use axum::Json;
use routemeter::instrumented;

struct LookupFailed;

#[instrumented(name = "Lookup", route = "GET /lookup")]
async fn lookup() -> Result<Json<u32>, LookupFailed> {
    Err(LookupFailed)
}

fn main() {
    let _ = lookup;
}

//! A name part unique to a test run, for everything the run creates.

use std::time::{SystemTime, UNIX_EPOCH};

/// A name part unique to this test run: the process ID and the clock, in lowercase hex.
pub fn run_id() -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.subsec_nanos());
    format!("{:x}{:05x}", std::process::id(), nanos >> 12)
}

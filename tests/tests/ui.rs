//! Compile tests of `#[instrumented]`: every handler shape it accepts (`ui/pass`, each also run) and
//! every mistake it rejects with the message in the matching `.stderr` (`ui/fail`).
//!
//! Regenerate the expected messages with `TRYBUILD=overwrite cargo test -p routemeter-tests --test ui`
//! and review the diff.

#[test]
fn ui() {
    let cases = trybuild::TestCases::new();
    cases.pass("ui/pass/*.rs");
    cases.compile_fail("ui/fail/*.rs");
}

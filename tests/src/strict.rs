//! Strict readers of an exposition, run as programs: the Python client's OpenMetrics parser.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use http::Method;
use routemeter::OPENMETRICS_CONTENT_TYPE;

use crate::client::{Client, Reply};
use crate::process::find_program;
use crate::TestResult;

/// Runs `program` with `args`, `input` on its standard input; its exit status and output.
///
/// # Errors
/// The program cannot be run.
pub fn run(program: &std::path::Path, args: &[&str], input: &[u8]) -> TestResult<(bool, String)> {
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin.write_all(input)?;
    }
    let output = child.wait_with_output()?;
    let text = String::from_utf8_lossy(&output.stdout).into_owned()
        + &String::from_utf8_lossy(&output.stderr);
    Ok((output.status.success(), text))
}

/// A Python that imports `prometheus_client`: Debian's (where `apt-get install
/// python3-prometheus-client` puts it, whatever `python3` is first on `PATH`), else the one on
/// `PATH`. Missing under CI is an error; elsewhere the test is skipped with a message.
///
/// # Errors
/// No Python with the parser, and `CI` is set.
pub fn python_with_the_parser() -> TestResult<Option<PathBuf>> {
    let candidates = [
        Some(PathBuf::from("/usr/bin/python3")),
        find_program("python3"),
    ];
    for python in candidates.into_iter().flatten() {
        if python.is_file() && run(&python, &["-c", "import prometheus_client"], b"")?.0 {
            return Ok(Some(python));
        }
    }
    let why = "no python3 imports prometheus_client: apt-get install python3-prometheus-client";
    if std::env::var_os("CI").is_some() {
        return Err(why.into());
    }
    eprintln!("skipped: {why}");
    Ok(None)
}

/// Parses OpenMetrics with the Python client's parser; prints every family, and every exemplar.
pub const PARSE: &str = "
import sys
from prometheus_client.openmetrics.parser import text_string_to_metric_families
for family in text_string_to_metric_families(sys.stdin.read()):
    print('family', family.name, family.type, family.unit or '-', len(family.samples))
    for sample in family.samples:
        if sample.exemplar:
            print('exemplar', sample.name, sample.exemplar.labels['trace_id'], sample.exemplar.value)
";

/// Asks `client`'s service for `/metrics` in OpenMetrics, checks the content type, and reads the
/// answer with [`PARSE`] in `python`: the answer, whether the parser accepted it, and its report.
///
/// # Errors
/// A transport failure, or Python cannot be run.
///
/// # Panics
/// When the answer's content type is not OpenMetrics'.
pub async fn read_openmetrics(client: &Client, python: &Path) -> TestResult<(Reply, bool, String)> {
    let openmetrics = client
        .request(
            Method::GET,
            "/metrics",
            &[("accept", "application/openmetrics-text;version=1.0.0")],
            "",
        )
        .await?;
    assert_eq!(
        openmetrics.header("content-type"),
        Some(OPENMETRICS_CONTENT_TYPE)
    );
    let (parsed, report) = run(python, &["-c", PARSE], &openmetrics.body)?;
    Ok((openmetrics, parsed, report))
}

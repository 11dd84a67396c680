//! The static builds of the example and of swarm-discovery that the images hold.

use std::path::PathBuf;
use std::process::Command;
use std::time::Instant;

use crate::process::workspace_root;
use crate::TestResult;

/// The static release builds of the example and of swarm-discovery, for images `FROM scratch`.
#[derive(Clone, Debug)]
pub struct StaticBinaries {
    /// The accountservice example.
    pub accountservice: PathBuf,
    /// The swarm-discovery program.
    pub swarm_discovery: PathBuf,
}

/// The target whose static builds the images take: explicit, so `RUSTFLAGS` reach neither build
/// scripts nor procedural macros.
const STATIC_TARGET: &str = "x86_64-unknown-linux-gnu";

/// Builds both programs statically linked (glibc included) in one cargo run; a second call finds
/// them fresh and returns at once.
///
/// # Errors
/// When the build fails.
pub fn static_binaries() -> TestResult<StaticBinaries> {
    let root = workspace_root();
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let started = Instant::now();
    let status = Command::new(cargo)
        .current_dir(&root)
        .env("RUSTFLAGS", "-C target-feature=+crt-static")
        .args(["build", "--release", "--quiet", "--target", STATIC_TARGET])
        .args(["-p", "accountservice", "--example", "accountservice"])
        .args(["-p", "swarm-discovery", "--bin", "swarm-discovery"])
        .status()?;
    if !status.success() {
        return Err(format!("the static release build failed: {status}").into());
    }
    eprintln!("static binaries ready in {:?}", started.elapsed());
    let target =
        std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), PathBuf::from);
    let release = target.join(STATIC_TARGET).join("release");
    Ok(StaticBinaries {
        accountservice: release.join("examples/accountservice"),
        swarm_discovery: release.join("swarm-discovery"),
    })
}

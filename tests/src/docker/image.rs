//! Images built offline from `deploy/static/`, removed by their tag when dropped.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::binaries::StaticBinaries;
use super::cli::{checked, Docker};
use crate::process::{find_program, required_program, workspace_root};
use crate::TestResult;

/// An image this test built; removed (by its tag) when dropped.
#[derive(Debug)]
pub struct Image {
    docker: Docker,
    tag: String,
    removed: bool,
}

impl Image {
    /// Builds `dockerfile` (relative to the workspace root) into `tag`, from a fresh context
    /// directory holding `files`: each source file copied to its path in the context.
    ///
    /// # Errors
    /// When a file cannot be copied or the build fails.
    pub fn build(
        docker: &Docker,
        dockerfile: &str,
        files: &[(&Path, &str)],
        tag: &str,
    ) -> TestResult<Image> {
        let context =
            std::env::temp_dir().join(format!("routemeter-image-{}", tag.replace([':', '/'], "-")));
        let result = build_in(docker, dockerfile, files, tag, &context);
        let _ = std::fs::remove_dir_all(&context);
        result?;
        Ok(Image {
            docker: docker.clone(),
            tag: tag.to_owned(),
            removed: false,
        })
    }

    /// The image's name and tag.
    pub fn tag(&self) -> &str {
        &self.tag
    }

    /// Removes the image now, failing when it cannot (dropping it only reports that).
    ///
    /// # Errors
    /// `docker image rm` failed, e.g. a container still uses the image.
    pub fn remove(mut self) -> TestResult {
        self.removed = true;
        self.docker.run(&["image", "rm", &self.tag]).map(drop)
    }
}

fn build_in(
    docker: &Docker,
    dockerfile: &str,
    files: &[(&Path, &str)],
    tag: &str,
    context: &Path,
) -> TestResult {
    for (source, destination) in files {
        let destination = context.join(destination);
        if let Some(parent) = destination.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::copy(source, &destination)
            .map_err(|err| format!("cannot copy {}: {err}", source.display()))?;
    }
    let dockerfile = workspace_root().join(dockerfile);
    let dockerfile = dockerfile.to_string_lossy();
    let context = context.to_string_lossy();
    // --force-rm: no intermediate container stays behind, even when a step fails.
    docker.run(&[
        "build",
        "--quiet",
        "--force-rm",
        "-f",
        &dockerfile,
        "-t",
        tag,
        &context,
    ])?;
    Ok(())
}

impl Drop for Image {
    fn drop(&mut self) {
        if self.removed {
            return;
        }
        if let Err(err) = self.docker.run(&["image", "rm", &self.tag]) {
            eprintln!("cannot remove image {}: {err}", self.tag);
        }
    }
}

/// The accountservice image, `deploy/static/accountservice.Dockerfile`, tagged `name:run`.
///
/// # Errors
/// When the build fails.
pub fn accountservice_image(
    docker: &Docker,
    binaries: &StaticBinaries,
    run: &str,
) -> TestResult<Image> {
    Image::build(
        docker,
        "deploy/static/accountservice.Dockerfile",
        &[(&binaries.accountservice, "accountservice")],
        &format!("routemeter-test-accountservice:{run}"),
    )
}

/// The swarm-discovery image, `deploy/static/swarm-discovery.Dockerfile`.
///
/// # Errors
/// When the build fails.
pub fn swarm_discovery_image(
    docker: &Docker,
    binaries: &StaticBinaries,
    run: &str,
) -> TestResult<Image> {
    Image::build(
        docker,
        "deploy/static/swarm-discovery.Dockerfile",
        &[(&binaries.swarm_discovery, "swarm-discovery")],
        &format!("routemeter-test-swarm-discovery:{run}"),
    )
}

/// A Prometheus image from Debian's binary and the libraries `ldd` lists for it,
/// `deploy/static/prometheus.Dockerfile`.
///
/// # Errors
/// Prometheus is missing (under CI), `ldd` fails, or the build fails.
pub fn prometheus_image(docker: &Docker, run: &str) -> TestResult<Option<Image>> {
    let Some(prometheus) = required_program("prometheus", "prometheus")? else {
        return Ok(None);
    };
    let ldd = find_program("ldd").ok_or("ldd is not on PATH")?;
    let listed = checked("ldd", Command::new(ldd).arg(&prometheus).output()?)?;
    // "libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x...)" and "/lib64/ld-linux-x86-64.so.2 (0x...)"
    let libraries: Vec<PathBuf> = listed
        .split_whitespace()
        .filter(|word| word.starts_with('/'))
        .map(PathBuf::from)
        .collect();
    if libraries.is_empty() {
        return Err(format!("ldd listed no library for {}", prometheus.display()).into());
    }
    let mut files: Vec<(&Path, String)> = vec![(&prometheus, "usr/bin/prometheus".to_owned())];
    for library in &libraries {
        let inside = library.to_string_lossy().trim_start_matches('/').to_owned();
        files.push((library, inside));
    }
    let files: Vec<(&Path, &str)> = files.iter().map(|(s, d)| (*s, d.as_str())).collect();
    Image::build(
        docker,
        "deploy/static/prometheus.Dockerfile",
        &files,
        &format!("routemeter-test-prometheus:{run}"),
    )
    .map(Some)
}

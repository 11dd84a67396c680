//! A compose implementation, and a project brought up and down with it.

use std::path::{Path, PathBuf};

use super::cli::{checked, Docker};
use super::leftovers::{labelled_leftovers, remove_leftovers, COMPOSE_LABEL};
use crate::process::{find_program, required_program};
use crate::TestResult;

/// A compose implementation: Debian's `docker-compose`, or the `docker compose` plugin.
#[derive(Clone, Debug)]
pub struct Compose {
    program: PathBuf,
    plugin: bool,
}

impl Compose {
    /// The compose implementation installed here; `None` when there is none and `CI` is not set.
    ///
    /// # Errors
    /// None is installed, under CI.
    pub fn find(docker: &Docker) -> TestResult<Option<Compose>> {
        if let Some(program) = find_program("docker-compose") {
            return Ok(Some(Compose {
                program,
                plugin: false,
            }));
        }
        if docker.run(&["compose", "version"]).is_ok() {
            return Ok(Some(Compose {
                program: docker.program().to_path_buf(),
                plugin: true,
            }));
        }
        Ok(
            required_program("docker-compose", "docker-compose")?.map(|program| Compose {
                program,
                plugin: false,
            }),
        )
    }
}

/// A compose project brought up from a compose file; brought down, with its volumes and
/// networks, when dropped.
#[derive(Debug)]
pub struct ComposeProject {
    docker: Docker,
    compose: Compose,
    file: PathBuf,
    name: String,
    down: bool,
}

impl ComposeProject {
    /// `compose -f file -p name up -d --no-build services...`.
    ///
    /// # Errors
    /// The project does not come up.
    pub fn up(
        docker: &Docker,
        compose: &Compose,
        file: &Path,
        name: &str,
        services: &[&str],
    ) -> TestResult<ComposeProject> {
        let project = ComposeProject {
            docker: docker.clone(),
            compose: compose.clone(),
            file: file.to_path_buf(),
            name: name.to_owned(),
            down: false,
        };
        let mut args = vec!["up", "--detach", "--no-build"];
        args.extend(services);
        project.run(&args)?;
        Ok(project)
    }

    /// Runs `compose -f file -p name args`.
    ///
    /// # Errors
    /// It fails.
    pub fn run(&self, args: &[&str]) -> TestResult<String> {
        let mut command = self.docker.command_of(&self.compose.program);
        if self.compose.plugin {
            command.arg("compose");
        }
        command
            .arg("--file")
            .arg(&self.file)
            .args(["--project-name", &self.name])
            .args(args);
        checked(&format!("compose {}", args.join(" ")), command.output()?)
    }

    /// The project's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// What of the project is still there: containers, networks and volumes carrying its label.
    ///
    /// # Errors
    /// A `docker` command failed.
    pub fn leftovers(&self) -> TestResult<Vec<String>> {
        labelled_leftovers(&self.docker, &self.label(), false)
    }

    /// `compose down --volumes`, then waits until nothing of the project is left.
    ///
    /// # Errors
    /// Something of the project is still there after a minute.
    pub fn down(&mut self) -> TestResult {
        self.down = true;
        self.run(&["down", "--volumes", "--remove-orphans", "--timeout", "5"])?;
        remove_leftovers(&self.docker, &self.label(), false)
    }

    fn label(&self) -> String {
        format!("{COMPOSE_LABEL}={}", self.name)
    }
}

impl Drop for ComposeProject {
    fn drop(&mut self) {
        if !self.down {
            if let Err(err) = self.down() {
                eprintln!("cannot bring project {} down: {err}", self.name);
            }
        }
    }
}

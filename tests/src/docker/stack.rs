//! A Swarm stack deployed with `docker stack deploy`, removed with all it created.

use std::path::Path;

use super::cli::Docker;
use super::leftovers::{labelled_leftovers, remove_leftovers, STACK_LABEL};
use crate::TestResult;

/// A deployed Swarm stack; removed, with everything it created, when dropped.
#[derive(Debug)]
pub struct Stack {
    docker: Docker,
    name: String,
    removed: bool,
}

impl Stack {
    /// `docker stack deploy -c stack_file name`, as a user deploys locally built images (no
    /// registry is asked for their digests).
    ///
    /// # Errors
    /// The deployment is refused.
    pub fn deploy(docker: &Docker, stack_file: &Path, name: &str) -> TestResult<Stack> {
        let stack = Stack {
            docker: docker.clone(),
            name: name.to_owned(),
            removed: false,
        };
        let file = stack_file.to_string_lossy();
        docker.run(&[
            "stack",
            "deploy",
            "--resolve-image",
            "never",
            "-c",
            &file,
            name,
        ])?;
        Ok(stack)
    }

    /// The stack's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The full name of one of its services or networks: `<stack>_<name>`.
    pub fn scoped(&self, name: &str) -> String {
        format!("{}_{name}", self.name)
    }

    /// What of the stack is still there: services, networks, volumes, configs, secrets and
    /// containers carrying its label.
    ///
    /// # Errors
    /// A `docker` command failed.
    pub fn leftovers(&self) -> TestResult<Vec<String>> {
        labelled_leftovers(&self.docker, &self.label(), true)
    }

    /// `docker stack rm`, then waits until its containers are gone and removes the volumes it
    /// leaves behind.
    ///
    /// # Errors
    /// Something of the stack is still there after a minute.
    pub fn remove(&mut self) -> TestResult {
        self.removed = true;
        self.docker.run(&["stack", "rm", &self.name])?;
        remove_leftovers(&self.docker, &self.label(), true)
    }

    fn label(&self) -> String {
        format!("{STACK_LABEL}={}", self.name)
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        if !self.removed {
            if let Err(err) = self.remove() {
                eprintln!("cannot remove stack {}: {err}", self.name);
            }
        }
    }
}

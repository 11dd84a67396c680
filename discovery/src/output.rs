//! The file Prometheus reads: rendering and atomic replacement.

use std::fs;
use std::io::{self, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use crate::targets::TargetGroup;
use crate::Error;

/// The path the original program wrote to, shared with Prometheus through a volume.
pub const DEFAULT_OUTPUT: &str = "/etc/swarm-endpoints/swarm-endpoints.json";

/// What [`write_if_changed`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteOutcome {
    /// The file already held this content; it was not touched.
    Unchanged,
    /// The file was replaced.
    Written {
        /// The output directory did not exist and was created first.
        created_directory: bool,
    },
}

/// Puts the content into the temporary file. [`write_if_changed`] uses [`write_all`]; a
/// test passes one that fails part-way to see how a full disk is handled.
pub type WriteContent = fn(&mut fs::File, &[u8]) -> io::Result<()>;

/// The normal [`WriteContent`]: all of it, into the file.
pub fn write_all(file: &mut fs::File, content: &[u8]) -> io::Result<()> {
    file.write_all(content)
}

/// Renders target groups as a `file_sd_configs` JSON document, pretty-printed with a final
/// newline. The same groups always give the same bytes.
pub fn render(groups: &[TargetGroup]) -> Result<String, Error> {
    let mut text = serde_json::to_string_pretty(groups).map_err(Error::Render)?;
    text.push('\n');
    Ok(text)
}

/// Replaces `path` with `content` unless it already holds exactly that.
///
/// The content goes to a temporary file in the same directory, is flushed to disk, and is
/// renamed over `path`, so a reader sees the old file or the new one, never a part. The
/// temporary name (`.swarm-discovery-*.tmp`) matches none of the `*.json`/`*.yml` patterns a
/// `file_sd_configs` entry would use. A missing directory is created. The file is made
/// readable by everyone (0644) because Prometheus usually runs as another user.
///
/// When any step fails (a full disk, a directory in the way of the file), `path` is left
/// as it was and the temporary file is removed.
pub fn write_if_changed(path: &Path, content: &str) -> Result<WriteOutcome, Error> {
    write_if_changed_with(path, content, write_all)
}

/// [`write_if_changed`], putting the content into the temporary file with `write`.
pub fn write_if_changed_with(
    path: &Path,
    content: &str,
    write: WriteContent,
) -> Result<WriteOutcome, Error> {
    // A missing or unreadable file is simply replaced.
    if fs::read(path).is_ok_and(|current| current == content.as_bytes()) {
        return Ok(WriteOutcome::Unchanged);
    }
    let directory = parent_directory(path);
    let created_directory = if directory.is_dir() {
        false
    } else {
        fs::create_dir_all(&directory).map_err(|source| Error::Output {
            action: "create directory",
            path: directory.clone(),
            source,
        })?;
        true
    };
    let failed = |action: &'static str| {
        let path = path.to_path_buf();
        move |source: io::Error| Error::Output {
            action,
            path,
            source,
        }
    };
    let mut temporary = tempfile::Builder::new()
        .prefix(".swarm-discovery-")
        .suffix(".tmp")
        .tempfile_in(&directory)
        .map_err(failed("create a temporary file for"))?;
    // Set after creation: the mode given at creation would be narrowed by the umask.
    temporary
        .as_file()
        .set_permissions(fs::Permissions::from_mode(0o644))
        .map_err(failed("set permissions on a temporary file for"))?;
    // Any early return drops `temporary`, which deletes it.
    write(temporary.as_file_mut(), content.as_bytes())
        .map_err(failed("write a temporary file for"))?;
    temporary
        .as_file()
        .sync_all()
        .map_err(failed("flush a temporary file for"))?;
    temporary
        .persist(path)
        .map_err(|error| failed("replace")(error.error))?;
    // Flush the rename itself, so a crash cannot bring the old file back.
    fs::File::open(&directory)
        .and_then(|dir| dir.sync_all())
        .map_err(|source| Error::Output {
            action: "flush directory",
            path: directory.clone(),
            source,
        })?;
    Ok(WriteOutcome::Written { created_directory })
}

// `Path::parent` is `Some("")` for a bare file name: that means the working directory.
fn parent_directory(path: &Path) -> PathBuf {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;
    use std::os::unix::fs::MetadataExt;

    fn group(target: &str, task: &str) -> TargetGroup {
        TargetGroup {
            targets: vec![target.to_string()],
            labels: BTreeMap::from([("task".to_string(), task.to_string())]),
        }
    }

    #[test]
    fn renders_the_file_sd_shape() {
        let text = render(&[group("127.0.10.2:6767", "accountservice")]).unwrap();
        let value: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(
            value,
            serde_json::json!([{"targets": ["127.0.10.2:6767"], "labels": {"task": "accountservice"}}])
        );
        assert!(text.ends_with("]\n"));
        assert_eq!(render(&[]).unwrap(), "[]\n");
    }

    #[test]
    fn writes_only_when_the_content_changes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("swarm-endpoints.json");
        assert_eq!(
            write_if_changed(&path, "a\n").unwrap(),
            WriteOutcome::Written {
                created_directory: false
            }
        );
        let inode = fs::metadata(&path).unwrap().ino();
        assert_eq!(
            write_if_changed(&path, "a\n").unwrap(),
            WriteOutcome::Unchanged
        );
        assert_eq!(fs::metadata(&path).unwrap().ino(), inode);
        write_if_changed(&path, "b\n").unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), "b\n");
        // Replaced by rename: a new inode, and no temporary file left behind.
        assert_ne!(fs::metadata(&path).unwrap().ino(), inode);
        let names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|entry| entry.unwrap().file_name())
            .collect();
        assert_eq!(names, ["swarm-endpoints.json"]);
        let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o644);
    }

    #[test]
    fn creates_a_missing_directory() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a/b/swarm-endpoints.json");
        assert_eq!(
            write_if_changed(&path, "[]\n").unwrap(),
            WriteOutcome::Written {
                created_directory: true
            }
        );
        assert_eq!(fs::read_to_string(&path).unwrap(), "[]\n");
    }

    fn names_in(dir: &Path) -> Vec<String> {
        let mut names: Vec<_> = fs::read_dir(dir)
            .unwrap()
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    // Half the content reaches the temporary file, then the disk is full: the rest goes to
    // /dev/full, so the error is the kernel's own ENOSPC.
    fn disk_full(file: &mut fs::File, content: &[u8]) -> io::Result<()> {
        let (first, rest) = content.split_at(content.len() / 2);
        file.write_all(first)?;
        fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")?
            .write_all(rest)
    }

    #[test]
    fn a_full_disk_keeps_the_old_file_and_leaves_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("swarm-endpoints.json");
        write_if_changed(&path, "old\n").unwrap();
        let inode = fs::metadata(&path).unwrap().ino();
        let error = write_if_changed_with(&path, "new content\n", disk_full).unwrap_err();
        let text = error.to_string();
        assert!(
            text.starts_with("cannot write a temporary file for "),
            "{text}"
        );
        assert!(text.contains("No space left on device"), "{text}");
        assert_eq!(fs::read(&path).unwrap(), b"old\n");
        assert_eq!(fs::metadata(&path).unwrap().ino(), inode);
        assert_eq!(names_in(dir.path()), ["swarm-endpoints.json"]);
        // Space again: the next write goes through.
        write_if_changed(&path, "new content\n").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"new content\n");
    }

    #[test]
    fn a_directory_in_place_of_the_file_fails_the_rename_and_leaves_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("swarm-endpoints.json");
        fs::create_dir(&path).unwrap();
        let error = write_if_changed(&path, "[]\n").unwrap_err().to_string();
        assert!(error.starts_with("cannot replace "), "{error}");
        assert!(error.contains("Is a directory"), "{error}");
        assert_eq!(names_in(dir.path()), ["swarm-endpoints.json"]);
        assert!(path.is_dir());
    }

    #[test]
    fn a_directory_that_cannot_be_created_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let blocker = dir.path().join("file");
        fs::write(&blocker, "").unwrap();
        let error = write_if_changed(&blocker.join("out.json"), "[]\n").unwrap_err();
        assert!(error.to_string().contains("create directory"), "{error}");
    }
}

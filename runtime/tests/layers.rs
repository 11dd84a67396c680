//! The runtime's layers import only downward: a file names no module of a layer above its own
//! (see ARCHITECTURE.md). Doc links count too, since a reader follows them the same way.

use std::path::Path;

/// The layers, bottom first; `error` sits at the bottom with the primitives.
const LAYERS: [&[&str]; 6] = [
    &["error", "primitives"],
    &["summary"],
    &["record"],
    &["expose"],
    &["middleware"],
    &["install", "bench_support"],
];

fn layer_of(module: &str) -> Option<usize> {
    LAYERS.iter().position(|layer| layer.contains(&module))
}

/// The top-level module a file under `src/` belongs to, e.g. `record` for `record/metrics.rs`.
fn module_of(relative: &Path) -> Option<String> {
    let first = relative.components().next()?.as_os_str().to_str()?;
    Some(first.trim_end_matches(".rs").to_owned())
}

fn files(dir: &Path, into: &mut Vec<std::path::PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            files(&path, into)?;
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            into.push(path);
        }
    }
    Ok(())
}

#[test]
fn every_file_names_only_its_own_layer_and_those_below() -> std::io::Result<()> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut paths = Vec::new();
    files(&src, &mut paths)?;
    let mut checked = 0;
    let mut upward = Vec::new();
    for path in paths {
        let relative = path.strip_prefix(&src).unwrap_or(&path);
        let Some(own) = module_of(relative).as_deref().and_then(layer_of) else {
            continue; // lib.rs names every layer, by design
        };
        checked += 1;
        let text = std::fs::read_to_string(&path)?;
        for named in text.split("crate::").skip(1) {
            let module: String = named
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            if layer_of(&module).is_some_and(|layer| layer > own) {
                upward.push(format!("{} names crate::{module}", relative.display()));
            }
        }
    }
    assert!(
        checked > 20,
        "only {checked} files found under {}",
        src.display()
    );
    assert!(
        upward.is_empty(),
        "imports that go up a layer:\n{}",
        upward.join("\n")
    );
    Ok(())
}

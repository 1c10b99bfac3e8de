//! Repository hygiene that review would otherwise have to remember: every Rust file opens
//! with a `//!` comment saying what it holds, every crate has a README and a line in
//! `crates/README.md`, and every library crate warns on missing docs.

use std::path::{Path, PathBuf};

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            if path.file_name().is_some_and(|n| n != "target") {
                rust_files(&path, out);
            }
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn every_rust_file_starts_with_a_module_comment() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    for dir in ["src", "tests", "crates"] {
        rust_files(&root.join(dir), &mut files);
    }
    assert!(files.len() > 30, "found only {} files", files.len());
    let missing: Vec<String> = files
        .iter()
        .filter(|f| !std::fs::read_to_string(f).is_ok_and(|t| t.starts_with("//!")))
        .map(|f| f.strip_prefix(root).unwrap_or(f).display().to_string())
        .collect();
    assert!(missing.is_empty(), "files without a leading //! comment: {missing:?}");
}

#[test]
fn every_crate_is_documented() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let index = std::fs::read_to_string(root.join("crates/README.md")).unwrap_or_default();
    let mut crates: Vec<PathBuf> = std::fs::read_dir(root.join("crates"))
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    crates.sort();
    assert!(crates.len() >= 7);
    for krate in crates {
        let name = krate.file_name().unwrap_or_default().to_string_lossy().into_owned();
        assert!(krate.join("README.md").exists(), "{name} has no README.md");
        assert!(index.contains(&format!("`{name}`")), "{name} is not listed in crates/README.md");
        let lib = std::fs::read_to_string(krate.join("src/lib.rs")).unwrap_or_default();
        assert!(lib.contains("#![warn(missing_docs)]"), "{name} does not warn on missing docs");
        let manifest = std::fs::read_to_string(krate.join("Cargo.toml")).unwrap_or_default();
        assert!(
            manifest.contains("[lints]\nworkspace = true"),
            "{name} does not use the workspace lints"
        );
        assert!(manifest.contains("publish = false"), "{name} is publishable");
    }
}

/// The crates that transform data do no file I/O: a table comes in as rows or batches and
/// goes out the same way, so where a file is written (atomically, staged, locked, scanned)
/// is folge-pipeline's alone. Code under `#[cfg(test)]` may write files to look at.
#[test]
fn stage_crates_do_no_file_io() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut offending = Vec::new();
    for krate in [
        "folge-schema",
        "folge-ingest",
        "folge-deid",
        "folge-analyze",
        "folge-report",
        "folge-stats",
        "folge-readstat",
    ] {
        let mut files = Vec::new();
        rust_files(&root.join("crates").join(krate).join("src"), &mut files);
        assert!(!files.is_empty(), "{krate} has no sources");
        for file in files {
            let text = std::fs::read_to_string(&file).unwrap_or_default();
            let code = text.split("#[cfg(test)]").next().unwrap_or_default();
            for (n, line) in code.lines().enumerate() {
                let line = line.trim_start();
                if line.starts_with("//") {
                    continue;
                }
                if ["std::fs", "File::open", "File::create", "OpenOptions"]
                    .iter()
                    .any(|needle| line.contains(needle))
                {
                    let shown = file.strip_prefix(root).unwrap_or(&file).display().to_string();
                    offending.push(format!("{shown}:{}: {line}", n + 1));
                }
            }
        }
    }
    assert!(offending.is_empty(), "file I/O outside folge-pipeline:\n{}", offending.join("\n"));
}

/// `unsafe` lives in one module: ReadStat's FFI. The workspace denies `unsafe_code`
/// rather than forbidding it so that module can allow itself; this keeps everything else
/// as if it were forbidden.
#[test]
fn unsafe_code_is_only_in_the_readstat_ffi() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let allowed = root.join("crates/folge-readstat/src/ffi.rs");
    let mut files = Vec::new();
    for dir in ["src", "tests", "crates"] {
        rust_files(&root.join(dir), &mut files);
    }
    // Spelled in pieces so that this file does not match itself.
    let needles = [" {", " fn", " impl", " extern"].map(|rest| format!("{}{rest}", "unsafe"));
    let lint = format!("({}_code", "unsafe");
    let mut offending = Vec::new();
    for file in files.iter().filter(|f| **f != allowed) {
        let text = std::fs::read_to_string(file).unwrap_or_default();
        for (n, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or_default();
            if needles.iter().any(|needle| code.contains(needle.as_str())) || code.contains(&lint) {
                let shown = file.strip_prefix(root).unwrap_or(file).display().to_string();
                offending.push(format!("{shown}:{}: {}", n + 1, line.trim()));
            }
        }
    }
    assert!(
        offending.is_empty(),
        "unsafe code outside folge-readstat's ffi.rs:\n{}",
        offending.join("\n")
    );
    let ffi = std::fs::read_to_string(&allowed).unwrap_or_default();
    assert!(ffi.contains(&format!("#![expect{lint}")), "ffi.rs says why it allows unsafe code");
    let manifest = std::fs::read_to_string(root.join("Cargo.toml")).unwrap_or_default();
    assert!(manifest.contains("unsafe_code = \"deny\""), "the workspace denies unsafe code");
}

//! The report printed to PDF, or photographed, by a headless Chromium when one is
//! installed: the page is already laid out for A4 (`@page`), so the browser's own print
//! engine gives the PDF without a second layout engine in folge.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::PipelineError;

/// Names Chromium goes by on Debian, Ubuntu, Fedora and with Google's packages.
const NAMES: [&str; 4] = ["chromium", "chromium-browser", "google-chrome", "google-chrome-stable"];

/// How to get a browser, said when none is found.
const INSTALL: &str = "install Chromium (Debian/Ubuntu: `sudo apt-get install chromium`; Fedora: `sudo dnf install chromium`) or set FOLGE_CHROMIUM to the browser's path";

/// The Chromium to use: `FOLGE_CHROMIUM`, else the first of its usual names on `PATH`.
pub fn find_chromium() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("FOLGE_CHROMIUM") {
        return Some(PathBuf::from(path));
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .flat_map(|dir| NAMES.iter().map(move |name| dir.join(name)))
        .find(|candidate| candidate.is_file())
}

/// A `file://` URL for an absolute path, with the characters a URL cannot hold as they
/// are percent-encoded (a report folder may have spaces or `#` in its name).
fn file_url(path: &Path) -> String {
    let mut url = String::from("file://");
    for byte in path.to_string_lossy().bytes() {
        if byte.is_ascii_alphanumeric() || b"/-_.~".contains(&byte) {
            url.push(char::from(byte));
        } else {
            let _ = write!(url, "%{byte:02X}");
        }
    }
    url
}

/// What to make of the page.
#[derive(Debug, Clone, Copy)]
pub enum Capture {
    /// The whole page as an A4 PDF, without the browser's header and footer.
    Pdf,
    /// The first screen (1280 × 900) as PNG.
    Screenshot,
}

/// Load `index.html` of `report_dir` in a headless Chromium (no sandbox, GPU, first-run
/// dialogs or background networking, a fresh profile) and write `out`. The file appears
/// only when the browser wrote something: it prints to a temp name and is renamed.
pub fn capture(report_dir: &Path, what: Capture, out: &Path) -> Result<PathBuf, PipelineError> {
    let page = report_dir.join("index.html");
    let page = page.canonicalize().map_err(|e| PipelineError::io(&page, e))?;
    let browser = find_chromium().ok_or_else(|| {
        PipelineError::stage(
            "report",
            format!(
                "no Chromium found to print the report with: {INSTALL}; the HTML report is at {}",
                page.display()
            ),
        )
    })?;
    let profile = tempfile::tempdir().map_err(|e| PipelineError::io(Path::new("temp dir"), e))?;
    let dir = out.parent().unwrap_or(report_dir);
    let name =
        out.file_name().map_or_else(|| "report".into(), |n| n.to_string_lossy().into_owned());
    // The browser picks the format by extension: keep it last.
    let tmp = dir.join(format!(".tmp-{}-{name}", std::process::id()));
    let mut command = Command::new(&browser);
    command.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--disable-background-networking",
        "--hide-scrollbars",
    ]);
    command.arg(format!("--user-data-dir={}", profile.path().display()));
    match what {
        Capture::Pdf => {
            command.arg("--no-pdf-header-footer");
            command.arg(format!("--print-to-pdf={}", tmp.display()));
        }
        Capture::Screenshot => {
            command.arg("--window-size=1280,900");
            command.arg(format!("--screenshot={}", tmp.display()));
        }
    }
    command.arg(file_url(&page));
    let output = command.output().map_err(|e| {
        // The cause is in the middle of the message: said, not kept (see `error.rs`).
        PipelineError::stage(
            "report",
            format!("could not start {}: {e}; {INSTALL}", browser.display()),
        )
    })?;
    let written = std::fs::metadata(&tmp).map_or(0, |m| m.len());
    if !output.status.success() || written == 0 {
        let _ = std::fs::remove_file(&tmp);
        let stderr = String::from_utf8_lossy(&output.stderr);
        let last = stderr.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("no message");
        return Err(PipelineError::stage(
            "report",
            format!(
                "{} did not write {} ({}; its last words: {last})",
                browser.display(),
                out.display(),
                output.status
            ),
        ));
    }
    std::fs::rename(&tmp, out).map_err(|e| PipelineError::io(out, e))?;
    Ok(out.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_urls_encode_what_a_url_cannot_hold() {
        assert_eq!(
            file_url(Path::new("/data/LKT rapport #2/index.html")),
            "file:///data/LKT%20rapport%20%232/index.html"
        );
        assert_eq!(file_url(Path::new("/r/ø.html")), "file:///r/%C3%B8.html");
    }
}

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
    if matches!(what, Capture::Pdf) {
        add_page_metadata(&tmp, &page);
    }
    std::fs::rename(&tmp, out).map_err(|e| PipelineError::io(out, e))?;
    Ok(out.to_owned())
}

/// The page's author(s) and description (`<meta>`), unescaped; Chromium's PDF has only
/// the page's title.
fn page_metadata(html: &str) -> Vec<(&'static str, String)> {
    let meta = |name: &str| {
        let start = format!("<meta name=\"{name}\" content=\"");
        let rest = &html[html.find(&start)? + start.len()..];
        let value = &rest[..rest.find('"')?];
        Some(
            value
                .replace("&quot;", "\"")
                .replace("&lt;", "<")
                .replace("&gt;", ">")
                .replace("&amp;", "&"),
        )
    };
    [("Author", "author"), ("Subject", "description")]
        .into_iter()
        .filter_map(|(key, name)| meta(name).map(|value| (key, value)))
        .collect()
}

/// Give the printed PDF the page's author and description as well as its title: an
/// incremental update (PDF 1.7 § 7.5.6) appended to the file, which redefines the
/// document information dictionary and leaves every byte before it as Chromium wrote
/// it. A PDF not shaped as expected (no classic trailer) is left as it is, and logged.
fn add_page_metadata(pdf: &Path, page: &Path) {
    let Ok(html) = std::fs::read_to_string(page) else { return };
    let entries = page_metadata(&html);
    if entries.is_empty() {
        return;
    }
    let Ok(bytes) = std::fs::read(pdf) else { return };
    let Some(updated) = with_info(&bytes, &entries) else {
        tracing::warn!("the PDF keeps its title only: its trailer is not one folge reads");
        return;
    };
    if let Err(e) = std::fs::write(pdf, updated) {
        tracing::warn!("the PDF keeps its title only: {e}");
    }
}

/// A PDF text string: UTF-16BE with its byte-order mark, in hex (any character, no
/// escaping).
fn pdf_text(text: &str) -> String {
    let mut out = String::from("<FEFF");
    for unit in text.encode_utf16() {
        let _ = write!(out, "{unit:04X}");
    }
    out.push('>');
    out
}

/// `pdf` with an incremental update adding `entries` to its information dictionary, or
/// `None` when its last trailer (a classic `trailer` dictionary with `/Size`, `/Root`
/// and `startxref`) cannot be read.
fn with_info(pdf: &[u8], entries: &[(&str, String)]) -> Option<Vec<u8>> {
    let text = String::from_utf8_lossy(pdf);
    let find_last = |needle: &str| text.rfind(needle);
    let number_after = |from: usize, key: &str| -> Option<u64> {
        let at = text[from..].find(key)? + from + key.len();
        let digits: String =
            text[at..].trim_start().chars().take_while(char::is_ascii_digit).collect();
        digits.parse().ok()
    };
    let startxref = find_last("startxref")?;
    let previous = number_after(startxref, "startxref")?;
    let trailer = find_last("trailer")?;
    let dict = &text[trailer..startxref];
    let size = number_after(trailer, "/Size")?;
    let root_at = dict.find("/Root")? + "/Root".len();
    let root = dict[root_at..].trim_start().split('R').next()?.trim().to_owned();
    // The information dictionary to redefine (its old entries kept), or a new object.
    let (object, old) = match dict.find("/Info") {
        Some(at) => {
            let reference: Vec<&str> =
                dict[at + "/Info".len()..].split_whitespace().take(2).collect();
            let number: u64 = reference.first()?.parse().ok()?;
            let generation: u64 = reference.get(1)?.parse().ok()?;
            let head = format!("{number} {generation} obj");
            let start = text.find(&format!("\n{head}")).map(|i| i + 1)?;
            let body = &text[start + head.len()..];
            let body = &body[..body.find("endobj")?];
            let inner = &body[body.find("<<")? + 2..body.rfind(">>")?];
            ((number, generation), inner.to_owned())
        }
        None => ((size, 0), String::new()),
    };
    let mut out = pdf.to_vec();
    if !out.ends_with(b"\n") {
        out.push(b'\n');
    }
    let offset = out.len();
    let mut info = format!("{} {} obj\n<<{old}", object.0, object.1);
    for (key, value) in entries {
        let _ = write!(info, "\n/{key} {}", pdf_text(value));
    }
    info.push_str(">>\nendobj\n");
    out.extend_from_slice(info.as_bytes());
    let xref = out.len();
    let size = size.max(object.0 + 1);
    let update = format!(
        "xref\n{} 1\n{offset:010} {:05} n \ntrailer\n<</Size {size}\n/Root {root} R\n/Info {} {} R\n/Prev {previous}>>\nstartxref\n{xref}\n%%EOF\n",
        object.0, object.1, object.0, object.1
    );
    out.extend_from_slice(update.as_bytes());
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A one-page PDF as Skia writes them: objects, a classic xref table and trailer.
    fn minimal_pdf() -> Vec<u8> {
        let objects = [
            "<</Title (Sluttrapport: sample)\n/Producer (Skia/PDF m156)>>",
            "<</Type /Catalog\n/Pages 3 0 R>>",
            "<</Type /Pages\n/Count 1\n/Kids [4 0 R]>>",
            "<</Type /Page\n/Parent 3 0 R\n/MediaBox [0 0 595 842]>>",
        ];
        let mut out = b"%PDF-1.4\n".to_vec();
        let mut offsets = Vec::new();
        for (k, object) in objects.iter().enumerate() {
            offsets.push(out.len());
            out.extend_from_slice(format!("{} 0 obj\n{object}\nendobj\n", k + 1).as_bytes());
        }
        let xref = out.len();
        out.extend_from_slice(b"xref\n0 5\n0000000000 65535 f \n");
        for offset in offsets {
            out.extend_from_slice(format!("{offset:010} 00000 n \n").as_bytes());
        }
        out.extend_from_slice(
            format!("trailer\n<</Size 5\n/Root 2 0 R\n/Info 1 0 R>>\nstartxref\n{xref}\n%%EOF")
                .as_bytes(),
        );
        out
    }

    #[test]
    fn the_pdf_gets_the_page_author_and_description_in_an_update() {
        let html = "<title>T</title>\n<meta name=\"author\" content=\"Torunn Sæbø, Eirik Lunde\">\n<meta name=\"description\" content=\"A &amp; B\">";
        let entries = page_metadata(html);
        assert_eq!(
            entries,
            [("Author", "Torunn Sæbø, Eirik Lunde".to_owned()), ("Subject", "A & B".to_owned())]
        );
        let pdf = minimal_pdf();
        let updated = with_info(&pdf, &entries).unwrap();
        assert!(updated.starts_with(&pdf), "every byte Chromium wrote stays");
        let tail = String::from_utf8(updated[pdf.len()..].to_vec()).unwrap();
        let offset = pdf.len() + 1;
        assert!(
            tail.starts_with(
                "\n1 0 obj\n<</Title (Sluttrapport: sample)\n/Producer (Skia/PDF m156)\n/Author <FEFF0054006F"
            ),
            "{tail}"
        );
        assert!(tail.contains("/Subject <FEFF00410020002600200042>"), "{tail}");
        assert!(tail.contains(&format!(
            "xref\n1 1\n{offset:010} 00000 n \ntrailer\n<</Size 5\n/Root 2 0 R\n/Info 1 0 R\n/Prev "
        )));
        assert!(tail.ends_with("%%EOF\n"));
        // The new xref is where startxref says.
        let xref: usize = tail
            .rsplit("startxref\n")
            .next()
            .unwrap()
            .trim_end_matches("\n%%EOF\n")
            .parse()
            .unwrap();
        assert!(updated[xref..].starts_with(b"xref\n1 1\n"));
        assert_eq!(with_info(b"%PDF-1.7 no trailer", &entries), None);
        if Command::new("pdfinfo").arg("-v").output().is_ok() {
            let dir = tempfile::tempdir().unwrap();
            let file = dir.path().join("r.pdf");
            std::fs::write(&file, &updated).unwrap();
            let info = Command::new("pdfinfo").arg(&file).output().unwrap();
            let info = String::from_utf8_lossy(&info.stdout);
            assert!(info.contains("Torunn Sæbø, Eirik Lunde"), "{info}");
            assert!(info.contains("Sluttrapport: sample"), "{info}");
        }
    }

    #[test]
    fn file_urls_encode_what_a_url_cannot_hold() {
        assert_eq!(
            file_url(Path::new("/data/LKT rapport #2/index.html")),
            "file:///data/LKT%20rapport%20%232/index.html"
        );
        assert_eq!(file_url(Path::new("/r/ø.html")), "file:///r/%C3%B8.html");
    }
}

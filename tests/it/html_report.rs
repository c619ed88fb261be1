//! The HTML report (`--report FILE.html`, issue 6): rendered from the manifests of real runs of
//! two example policies (research, with k-anonymity; school-supplier, without) and a real
//! `minex verify` report, then checked twice:
//!
//! * structurally, on the HTML text: no script, nothing loaded from outside, the strict CSP,
//!   both inline SVG charts with one bar per segment or bucket, every column, key id and the
//!   run id present, everything from the manifest escaped, no key or token;
//! * in a real browser: Debian's Chromium renders the page headless, saves a screenshot (kept
//!   under Cargo's target tmp dir for a human to look at) and dumps the DOM it built, which
//!   must hold the charts and their bars. Without Chromium the browser test is skipped with a
//!   loud note, or fails when `CI` or `MINEX_REQUIRE_CHROMIUM` is set.
//!
//! Registers are synthetic ([`minex::synth::RegisterBuilder`]); the key is the TEST key.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::io::Read;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use minex::io::ReadOptions;
use minex::keys::MasterKey;
use minex::pipeline::{KeySource, RunConfig};
use minex::report::Manifest;
use minex::report::html;
use minex::verify::{Check, VerifyConfig, VerifyReport};
use tempfile::TempDir;

use crate::util::{TEST_KEY_BYTES, TEST_KEY_HEX, has_hex_run, register, schema, tempdir};

/// The TEST master key. Never use it for real data.
const TEST_KEY: [u8; 32] = TEST_KEY_BYTES;

/// Rows of the synthetic registers. The research policy's k = 5 gate must stay under its
/// 5 % `max_suppression`, which needs a larger register than the supplier policy.
const ROWS: u64 = 3000;
const RESEARCH_ROWS: u64 = 30_000;

/// How long the browser may take before it is killed.
const BROWSER_TIMEOUT: Duration = Duration::from_secs(60);

/// A real run of one example policy, and `minex verify` on its extract.
struct Run {
    _dir: TempDir,
    manifest: Manifest,
    verify: VerifyReport,
}

impl Run {
    fn new(policy: &str, rows: u64) -> Run {
        let dir = tempdir();
        let input = register(dir.path(), "register.csv", rows, 6);
        let out = dir.path().join("out").join("extract.parquet");
        let policy = schema(policy);
        let cfg = RunConfig::new(
            &policy,
            vec![input.clone()],
            &out,
            KeySource::Given(MasterKey::from_bytes(TEST_KEY)),
        );
        let summary = minex::pipeline::run(&cfg).unwrap();
        let verify = minex::verify::verify(&VerifyConfig {
            policy,
            extract: out,
            inputs: vec![input],
            read: ReadOptions::default(),
            key: Some(MasterKey::from_bytes(TEST_KEY)),
            token_sample: 200,
        })
        .unwrap();
        assert!(verify.passed(), "the clean extract must verify:\n{verify}");
        Run {
            _dir: dir,
            manifest: summary.manifest,
            verify,
        }
    }
}

fn research() -> &'static Run {
    static RUN: OnceLock<Run> = OnceLock::new();
    RUN.get_or_init(|| Run::new("research.yaml", RESEARCH_ROWS))
}

fn ladders() -> &'static Run {
    static RUN: OnceLock<Run> = OnceLock::new();
    RUN.get_or_init(|| Run::new("research-ladders.yaml", 20_000))
}

fn school() -> &'static Run {
    static RUN: OnceLock<Run> = OnceLock::new();
    RUN.get_or_init(|| Run::new("school-supplier.yaml", ROWS))
}

// ---------------------------------------------------------------------------------------------
// Looking into the HTML text

/// The text of the element that starts with `open` (e.g. `<svg id="rows-chart"`), up to and
/// including its closing `close` tag.
fn element<'a>(html: &'a str, open: &str, close: &str) -> Option<&'a str> {
    let start = html.find(open)?;
    let end = html[start..].find(close)? + start + close.len();
    Some(&html[start..end])
}

/// How many `<rect class="bar` elements `svg` holds.
fn bars(svg: &str) -> usize {
    svg.matches("<rect class=\"bar").count()
}

/// The values of every `src`, `href` (also `xlink:href`), `action` and `srcset` attribute.
fn url_attributes(html: &str) -> Vec<String> {
    let lower = html.to_ascii_lowercase();
    let mut values = Vec::new();
    for name in ["src=", "href=", "action=", "srcset=", "poster=", "data="] {
        let mut from = 0;
        while let Some(i) = lower[from..].find(name) {
            let at = from + i;
            from = at + name.len();
            let before = lower[..at].chars().next_back().unwrap_or(' ');
            if !(before.is_whitespace() || before == ':') {
                continue;
            }
            let rest = &html[from..];
            let value = match rest.chars().next() {
                Some(q @ ('"' | '\'')) => rest[1..].split(q).next().unwrap_or(""),
                _ => rest.split([' ', '>']).next().unwrap_or(""),
            };
            values.push(value.to_string());
        }
    }
    values
}

/// Every run of at least 16 hex digits in `text`.
fn hex_runs(text: &str) -> BTreeSet<String> {
    let mut runs = BTreeSet::new();
    let mut cur = String::new();
    for c in text.chars().chain(std::iter::once(' ')) {
        if c.is_ascii_hexdigit() {
            cur.push(c);
        } else {
            if cur.len() >= 16 {
                runs.insert(cur.to_ascii_lowercase());
            }
            cur.clear();
        }
    }
    runs
}

fn nonzero_row_segments(m: &Manifest) -> usize {
    [
        m.rows.out,
        m.rows.filtered,
        m.rows.rejected,
        m.rows.suppressed,
    ]
    .iter()
    .filter(|n| **n > 0)
    .count()
}

/// Every structural promise of the page, for one manifest and verify report.
fn check_structure(m: &Manifest, v: &VerifyReport) -> String {
    let page = html::render(m, Some(v));
    let lower = page.to_ascii_lowercase();
    assert!(page.starts_with("<!DOCTYPE html>"), "not an HTML5 document");
    assert!(lower.contains("</html>"));

    // Nothing that runs, nothing loaded from outside.
    assert!(!lower.contains("<script"), "the page holds a script");
    assert!(!lower.contains("javascript:"));
    assert!(!lower.contains("@import") && !lower.contains("url("));
    for tag in ["<link", "<img", "<iframe", "<object", "<embed", "<base"] {
        assert!(!lower.contains(tag), "the page holds {tag}");
    }
    for value in url_attributes(&page) {
        let v = value.trim().to_ascii_lowercase();
        assert!(
            !v.starts_with("http://") && !v.starts_with("https://") && !v.starts_with("//"),
            "external URL in an attribute: {value}"
        );
    }
    assert!(
        page.contains(
            "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; \
             style-src 'unsafe-inline'; img-src data:\">"
        ),
        "the strict CSP meta is missing"
    );
    assert_eq!(page.matches("<style>").count(), 1, "one inline stylesheet");
    assert!(lower.contains("@media print") && lower.contains("size: a4"));

    // Title, run and policy.
    assert!(page.contains(&format!("<h1 id=\"policy-name\">{}</h1>", m.policy.name)));
    assert!(page.contains(&format!("<code id=\"run-id\">{}</code>", m.run_id)));
    for needle in [
        &m.domain,
        &m.policy.path,
        &m.policy.sha256,
        &m.started,
        &m.finished,
        &m.reference_date,
        &m.tool.version,
    ] {
        assert!(page.contains(needle.as_str()), "`{needle}` missing");
    }

    // Every column, its type and action; dropped ones marked.
    for c in &m.columns {
        assert!(
            page.contains(&format!("<code>{}</code>", c.name)),
            "column `{}` missing",
            c.name
        );
        assert!(page.contains(&c.action), "action `{}` missing", c.action);
        if let Some(t) = &c.output_type {
            assert!(page.contains(t.as_str()), "output type `{t}` missing");
        }
    }
    let dropped = m.columns.iter().filter(|c| c.output.is_none()).count();
    assert!(dropped > 0);
    assert_eq!(page.matches("<tr class=\"dropped\">").count(), dropped);
    for d in &m.derived {
        assert!(page.contains(&format!("<code>{}</code>", d.name)));
    }

    // Row accounting: table and stacked bar.
    assert!(m.rows.adds_up());
    assert!(page.contains("adds up"));
    for rule in m.rows.filtered_by_rule.keys() {
        assert!(page.contains(&format!("rule <code>{rule}</code>")));
    }
    for reason in m.rows.rejected_by_reason.keys() {
        assert!(page.contains(&format!("reason <code>{reason}</code>")));
    }
    let chart = element(&page, "<svg id=\"rows-chart\"", "</svg>").expect("rows chart");
    assert_eq!(bars(chart), nonzero_row_segments(m), "{chart}");

    // k-anonymity: figures and histogram, only when the policy has the gate.
    match &m.k_anonymity {
        Some(k) => {
            let hist = element(&page, "<svg id=\"class-histogram\"", "</svg>").expect("histogram");
            assert!(!k.class_size_histogram.is_empty());
            assert_eq!(bars(hist), k.class_size_histogram.len(), "{hist}");
            for bucket in k.class_size_histogram.keys() {
                assert!(hist.contains(&format!(">{}</text>", bucket.trim())));
            }
            for q in &k.quasi_identifiers {
                assert!(page.contains(&format!("<code>{q}</code>")));
            }
            assert!(page.contains("id=\"k-figures\""));
            assert!(page.contains("k reached"));
        }
        None => {
            assert!(!page.contains("class-histogram"));
            assert!(!page.contains("k-figures"));
        }
    }

    // Key ids (never keys), files.
    assert!(!m.key_ids.is_empty());
    for (space, id) in &m.key_ids {
        assert!(page.contains(&format!("<code>{space}</code>")));
        assert!(page.contains(&format!("<code class=\"key-id\">{id}</code>")));
    }
    for f in &m.inputs {
        assert!(page.contains(&f.sha256) && page.contains(&f.path));
    }
    for f in &m.outputs {
        assert!(page.contains(&f.sha256) && page.contains(&f.path));
    }

    // Verification: one badge row per check, and the verdict.
    assert_eq!(
        page.matches("<tr class=\"check-").count(),
        v.checks.len(),
        "one row per check"
    );
    assert!(page.contains("<p class=\"verdict pass\" id=\"verdict\">"));

    // No key and no token: every long hex run is a digest, a key id or the run id.
    assert!(!page.contains(TEST_KEY_HEX));
    let mut known: BTreeSet<String> = m.key_ids.values().cloned().collect();
    known.insert(m.policy.sha256.clone());
    known.insert(m.run_id.clone());
    known.extend(m.inputs.iter().map(|f| f.sha256.clone()));
    known.extend(m.outputs.iter().map(|f| f.sha256.clone()));
    for run in hex_runs(&page) {
        assert!(
            known.iter().any(|k| k.to_ascii_lowercase().contains(&run)),
            "a hex run that is no digest, key id or run id: {run}"
        );
    }
    page
}

#[test]
fn research_report_has_everything_and_nothing_more() {
    let r = research();
    assert!(r.manifest.k_anonymity.is_some());
    check_structure(&r.manifest, &r.verify);
}

#[test]
fn ladders_report_draws_the_lattice_with_the_chosen_node() {
    let r = ladders();
    let k = r.manifest.k_anonymity.as_ref().unwrap();
    let s = k.search.as_ref().unwrap();
    assert_eq!(s.nodes, 9);
    assert_eq!(s.lattice.len(), 9);
    let h = check_structure(&r.manifest, &r.verify);
    let lattice = element(&h, "<table class=\"lattice\"", "</table>").unwrap();
    // One row per height (0 to 4), one box per node, exactly one chosen.
    assert_eq!(lattice.matches("<tr>").count(), 5, "{lattice}");
    assert_eq!(lattice.matches("class=\"node ").count(), 9, "{lattice}");
    assert_eq!(lattice.matches("class=\"node chosen\"").count(), 1);
    let passing = s.lattice.iter().filter(|n| n.passes == Some(true)).count();
    assert_eq!(passing as u64, s.nodes_passing);
    assert_eq!(
        lattice.matches("class=\"node pass\"").count() + 1,
        passing,
        "every passing node but the chosen one is drawn as passing"
    );
    // The chosen node's levels, as the policy spells them, in the section's text.
    for (q, level) in &s.chosen {
        assert!(h.contains(&format!("{q} {level}")), "{q} {level}");
    }
}

#[test]
fn school_supplier_report_has_no_k_anonymity_section() {
    let r = school();
    assert!(r.manifest.k_anonymity.is_none());
    assert!(
        r.manifest.rows.rejected > 0,
        "the register holds malformed numbers"
    );
    check_structure(&r.manifest, &r.verify);
}

#[test]
fn everything_from_the_manifest_is_escaped() {
    let mut m = school().manifest.clone();
    m.policy.name = "<script>alert('x')</script>".into();
    m.domain = "\"><img src=x onerror=alert(1)>".into();
    m.columns[0].name = "</td><script>bad()</script>".into();
    m.rows
        .filtered_by_rule
        .insert("<b>rule</b> & 'q'".into(), 0);
    let v = VerifyReport {
        checks: vec![Check {
            check: "leak".into(),
            column: Some("<svg onload=alert(1)>".into()),
            status: "fail",
            detail: "1 hit <script>".into(),
        }],
    };
    let page = html::render(&m, Some(&v));
    let lower = page.to_ascii_lowercase();
    assert!(!lower.contains("<script"), "unescaped script");
    assert!(!lower.contains("<img"), "unescaped img");
    assert!(
        !lower.contains("<b>rule"),
        "unescaped markup in a rule name"
    );
    assert!(!lower.contains("<svg onload"), "unescaped svg in a column");
    assert!(page.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"));
    assert!(page.contains("<title>minex extract report: &lt;script&gt;"));
    assert!(page.contains("&quot;&gt;&lt;img src=x onerror=alert(1)&gt;"));
    assert!(page.contains("&lt;/td&gt;&lt;script&gt;bad()&lt;/script&gt;"));
    assert!(page.contains("&lt;b&gt;rule&lt;/b&gt; &amp; &#39;q&#39;"));
    // A failed check turns the verdict.
    assert!(page.contains("<p class=\"verdict fail\" id=\"verdict\">"));
    assert!(page.contains("<span class=\"badge fail\">FAIL</span>"));
}

#[test]
fn without_verify_there_is_no_verdict() {
    let page = html::render(&research().manifest, None);
    assert!(!page.contains("id=\"verify\""));
    assert!(!page.contains("class=\"verdict"));
    assert!(page.contains("<svg id=\"class-histogram\""));
}

#[test]
fn write_is_atomic_and_leaves_only_the_page() {
    let dir = tempdir();
    let path = dir.path().join("reports").join("run.html");
    let r = school();
    html::write(&path, &r.manifest, Some(&r.verify)).unwrap();
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        html::render(&r.manifest, Some(&r.verify))
    );
    // Overwriting an earlier report leaves one file and no temporary file.
    html::write(&path, &r.manifest, None).unwrap();
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        html::render(&r.manifest, None)
    );
    assert_eq!(
        crate::util::list_dir(path.parent().unwrap()),
        vec!["run.html"]
    );
    // A path that cannot be written is an error, not a panic.
    let blocker = dir.path().join("file");
    std::fs::write(&blocker, "x").unwrap();
    assert!(html::write(&blocker.join("run.html"), &r.manifest, None).is_err());
}

// ---------------------------------------------------------------------------------------------
// The browser

/// Debian's Chromium, or `None` (after the loud note) when it is missing and not required.
fn chromium() -> Option<PathBuf> {
    let candidates = [
        std::env::var_os("MINEX_CHROMIUM").map(PathBuf::from),
        Some(PathBuf::from("/usr/bin/chromium")),
    ];
    if let Some(p) = candidates.into_iter().flatten().find(|p| p.is_file()) {
        return Some(p);
    }
    let required = ["CI", "MINEX_REQUIRE_CHROMIUM"]
        .iter()
        .any(|v| std::env::var_os(v).is_some_and(|s| !s.is_empty()));
    let msg = "Chromium is not installed (/usr/bin/chromium): the HTML report cannot be tested \
               in a browser. The README's test command installs it (Debian: \
               `apt-get update && apt-get install -y chromium`); set MINEX_CHROMIUM to use \
               another binary.";
    assert!(
        !required,
        "{msg} (required because CI or MINEX_REQUIRE_CHROMIUM is set)"
    );
    eprintln!("\n{bar}\n!!! SKIPPED: {msg}\n{bar}\n", bar = "!".repeat(78));
    None
}

/// What a headless browser run left.
struct BrowserRun {
    stdout: String,
    stderr: String,
}

/// Runs Chromium headless with `args` and a fresh profile, killing it (and every process it
/// started) after [`BROWSER_TIMEOUT`].
fn run_browser(chromium: &Path, args: &[String]) -> BrowserRun {
    let profile = tempdir();
    let logs = tempdir();
    let out_path = logs.path().join("stdout");
    let err_path = logs.path().join("stderr");
    let mut child = Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--no-default-browser-check",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-extensions",
            "--disable-dev-shm-usage",
            "--hide-scrollbars",
            "--enable-logging=stderr",
            "--v=0",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(args)
        .env("HOME", profile.path())
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out_path).unwrap())
        .stderr(std::fs::File::create(&err_path).unwrap())
        .process_group(0)
        .spawn()
        .unwrap();
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        if start.elapsed() > BROWSER_TIMEOUT {
            break None;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    // The browser's helpers (zygote, renderer) share its process group: end them all.
    let _ = Command::new("kill")
        .args(["-KILL", "--", &format!("-{}", child.id())])
        .stderr(Stdio::null())
        .status();
    let _ = child.wait();
    let read = |p: &Path| {
        let mut s = Vec::new();
        std::fs::File::open(p).unwrap().read_to_end(&mut s).unwrap();
        String::from_utf8_lossy(&s).into_owned()
    };
    let run = BrowserRun {
        stdout: read(&out_path),
        stderr: read(&err_path),
    };
    let Some(status) = status else {
        panic!(
            "Chromium did not finish within {BROWSER_TIMEOUT:?} and was killed\n--- stderr\n{}",
            run.stderr
        );
    };
    assert!(
        status.success(),
        "Chromium failed ({status})\n--- stderr\n{}",
        run.stderr
    );
    run
}

/// Width and height from a PNG's IHDR chunk, after checking the signature.
fn png_size(bytes: &[u8]) -> (u32, u32) {
    assert!(bytes.len() > 24, "too short for a PNG");
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "no PNG signature");
    assert_eq!(&bytes[12..16], b"IHDR");
    let be = |b: &[u8]| u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
    (be(&bytes[16..20]), be(&bytes[20..24]))
}

#[test]
fn report_renders_in_headless_chromium() {
    let Some(chromium) = chromium() else {
        return;
    };
    let r = research();
    // Kept after the test, for a human to look at.
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("html_report");
    std::fs::create_dir_all(&dir).unwrap();
    let page = dir.join("report.html");
    let png = dir.join("report.png");
    let full = dir.join("report-full.png");
    let pdf = dir.join("report.pdf");
    for p in [&page, &png, &full, &pdf] {
        let _ = std::fs::remove_file(p);
    }
    html::write(&page, &r.manifest, Some(&r.verify)).unwrap();
    let url = format!("file://{}", page.canonicalize().unwrap().display());

    // The screenshot: a real PNG of the requested size, with something drawn on it.
    let shot = run_browser(
        &chromium,
        &[
            format!("--screenshot={}", png.display()),
            "--window-size=1200,2400".into(),
            url.clone(),
        ],
    );
    let bytes = std::fs::read(&png).unwrap_or_else(|e| {
        panic!(
            "no screenshot at {}: {e}\n--- stderr\n{}",
            png.display(),
            shot.stderr
        )
    });
    assert_eq!(png_size(&bytes), (1200, 2400), "screenshot size");
    assert!(
        bytes.len() > 30 * 1024,
        "the screenshot is only {} bytes: a blank page?",
        bytes.len()
    );

    // The whole page (the histogram is below the first 2400 pixels), for a human to look at.
    run_browser(
        &chromium,
        &[
            format!("--screenshot={}", full.display()),
            "--window-size=1200,5200".into(),
            url.clone(),
        ],
    );
    assert_eq!(png_size(&std::fs::read(&full).unwrap()), (1200, 5200));

    // The DOM the browser built: the page loaded and both charts are there with their bars.
    let dom = run_browser(&chromium, &["--dump-dom".into(), url.clone()]);
    let k = r.manifest.k_anonymity.as_ref().unwrap();
    let rows_chart = element(&dom.stdout, "<svg id=\"rows-chart\"", "</svg>")
        .unwrap_or_else(|| panic!("no rows chart in the DOM:\n{}", dom.stdout));
    assert_eq!(bars(rows_chart), nonzero_row_segments(&r.manifest));
    let hist = element(&dom.stdout, "<svg id=\"class-histogram\"", "</svg>")
        .unwrap_or_else(|| panic!("no histogram in the DOM:\n{}", dom.stdout));
    assert_eq!(bars(hist), k.class_size_histogram.len());
    assert!(dom.stdout.contains(&r.manifest.run_id));
    assert!(dom.stdout.contains("id=\"verdict\""));
    // Nothing was blocked by the CSP and nothing reached the console (Chromium logs every
    // console message, CSP violations included, as `INFO:CONSOLE` with `--enable-logging`).
    for log in [&shot.stderr, &dom.stderr] {
        for bad in [
            ":CONSOLE",
            "Content Security Policy",
            "Refused to",
            "Uncaught",
            "ERR_",
        ] {
            assert!(!log.contains(bad), "browser log mentions `{bad}`:\n{log}");
        }
    }

    // Printing: the A4 layout produces a PDF.
    run_browser(
        &chromium,
        &[
            format!("--print-to-pdf={}", pdf.display()),
            "--no-pdf-header-footer".into(),
            url,
        ],
    );
    let pdf_bytes = std::fs::read(&pdf).unwrap();
    assert!(pdf_bytes.starts_with(b"%PDF-"), "not a PDF");
    assert!(pdf_bytes.len() > 10 * 1024);
    eprintln!(
        "html_report: page {}, screenshots {} and {}, PDF {}",
        page.display(),
        png.display(),
        full.display(),
        pdf.display()
    );
}

#[test]
fn hex_run_helper_finds_tokens() {
    // The no-token check above relies on this helper seeing long hex runs.
    assert!(has_hex_run(TEST_KEY_HEX, 32));
    assert_eq!(hex_runs("x 0123456789abcdef0 y ab").len(), 1);
}

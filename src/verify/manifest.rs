//! The manifest beside the extract, checked against fresh digests and the extract's own counts.

use std::collections::HashMap;
use std::path::Path;

use crate::report::Manifest;

use super::*;

/// Checks the manifest beside the extract: present, readable, consistent, and matching this
/// policy, the extract (run id, digest, rows) and the given inputs.
pub(super) fn verify_manifest(
    cfg: &VerifyConfig,
    meta: &HashMap<String, String>,
    policy_sha: &str,
    rows: u64,
    counted_classes: Option<(u64, u64)>,
    report: &mut VerifyReport,
) {
    let path = crate::io::output::OutputPaths::beside(&cfg.extract).manifest;
    // A run renames the extract first and the manifest last: an extract without its
    // manifest, or beside another run's, is the trace of an interrupted commit.
    if !path.exists() {
        report.fail(
            "manifest",
            None,
            format!(
                "no manifest: the run that wrote this extract did not finish its commit, or the manifest was removed (expected `{}`)",
                path.display()
            ),
        );
        return;
    }
    let m: Manifest = match Manifest::read(&path) {
        Some(m) => m,
        None => {
            report.fail(
                "manifest",
                None,
                format!("`{}` is not a readable minex manifest", path.display()),
            );
            return;
        }
    };
    report.check(
        m.rows.adds_up(),
        "manifest.rows",
        None,
        format!(
            "in {} = out {} + filtered {} + rejected {} + suppressed {}",
            m.rows.input, m.rows.out, m.rows.filtered, m.rows.rejected, m.rows.suppressed
        ),
    );
    report.check(
        m.policy.sha256 == policy_sha,
        "manifest.policy",
        None,
        "the manifest names this policy's SHA-256",
    );
    match meta.get("minex.run_id") {
        Some(id) if *id == m.run_id => report.pass(
            "manifest.run_id",
            None,
            "the manifest and the extract carry the same run id",
        ),
        Some(_) => report.fail(
            "manifest.run_id",
            None,
            "the manifest belongs to another run: an interrupted commit or files from different runs (its `run_id` differs from the extract's `minex.run_id`)",
        ),
        None => report.fail(
            "manifest.run_id",
            None,
            "the extract carries no `minex.run_id` metadata to match the manifest's `run_id`",
        ),
    }
    check_outputs(cfg, &m, rows, report);
    check_inputs(cfg, &m, report);
    match (&m.k_anonymity, counted_classes) {
        (Some(k), Some((classes, smallest))) => report.check(
            k.classes == classes && k.smallest_class == smallest && k.suppressed == m.rows.suppressed,
            "manifest.k_anonymity",
            None,
            format!(
                "manifest: {} classes, smallest {}, {} suppressed; counted on the extract: {classes} classes, smallest {smallest}; rows.suppressed {}",
                k.classes, k.smallest_class, k.suppressed, m.rows.suppressed
            ),
        ),
        (None, Some(_)) => report.fail(
            "manifest.k_anonymity",
            None,
            "the policy asks for k-anonymity but the manifest has no `k_anonymity` figures",
        ),
        _ => {}
    }
}

/// The manifest's outputs: the extract's digest, size and rows, and the rejects files'
/// digests.
fn check_outputs(cfg: &VerifyConfig, m: &Manifest, rows: u64, report: &mut VerifyReport) {
    match m.outputs.first() {
        Some(o) => {
            let digest = crate::io::output::sha256_file(&cfg.extract);
            match digest {
                Ok((sha, bytes)) => {
                    report.check(
                        o.sha256 == sha && o.bytes == bytes,
                        "manifest.sha256",
                        None,
                        "the extract's digest and size match the manifest",
                    );
                }
                Err(_) => report.fail(
                    "manifest.sha256",
                    None,
                    "the extract cannot be read to digest it",
                ),
            }
            report.check(
                o.rows == rows && m.rows.out == rows,
                "manifest.out_rows",
                None,
                format!("extract rows {rows}, manifest says {}", o.rows),
            );
            for other in &m.outputs[1..] {
                let p = cfg
                    .extract
                    .with_file_name(Path::new(&other.path).file_name().unwrap_or_default());
                let ok = crate::io::output::sha256_file(&p)
                    .is_ok_and(|(sha, bytes)| sha == other.sha256 && bytes == other.bytes);
                report.check(
                    ok,
                    "manifest.rejects_sha256",
                    None,
                    format!("`{}` matches its digest", p.display()),
                );
            }
        }
        None => report.fail("manifest.outputs", None, "the manifest lists no output"),
    }
}

/// The manifest's inputs: their rows add up, and the given inputs match their digests.
fn check_inputs(cfg: &VerifyConfig, m: &Manifest, report: &mut VerifyReport) {
    let listed: u64 = m.inputs.iter().map(|i| i.rows).sum();
    report.check(
        listed == m.rows.input,
        "manifest.input_rows",
        None,
        format!(
            "the inputs' rows add up to {listed}, `rows.in` is {}",
            m.rows.input
        ),
    );
    if !cfg.inputs.is_empty() {
        let mut unmatched = 0;
        for p in &cfg.inputs {
            let ok = crate::io::output::sha256_file(p).is_ok_and(|(sha, bytes)| {
                m.inputs.iter().any(|i| i.sha256 == sha && i.bytes == bytes)
            });
            if !ok {
                unmatched += 1;
            }
        }
        report.check(
            unmatched == 0 && cfg.inputs.len() == m.inputs.len(),
            "manifest.input_sha256",
            None,
            format!(
                "{} of {} given inputs match a digest in the manifest, which lists {}",
                cfg.inputs.len() - unmatched,
                cfg.inputs.len(),
                m.inputs.len()
            ),
        );
    }
}

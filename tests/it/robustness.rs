//! Nothing half-written, ever (issue 10): the registry of staged files and the commit order,
//! signals, fault injection (SIGKILL and SIGTERM at many points of a run), the file-size
//! limit, and the inputs left untouched throughout.
//!
//! Synthetic data only (`minex::synth`); the TEST key from `tests/util`.
#![allow(clippy::unwrap_used)]

use std::io::Read;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::util::*;
use minex::io::output::{Staged, commit, staged_paths, write_all};

/// The tests that time or signal a run of the binary take turns: two runs at once would
/// change each other's timing.
static TURN: Mutex<()> = Mutex::new(());

fn turn() -> std::sync::MutexGuard<'static, ()> {
    TURN.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Rows of the register used for the runs that are interrupted: about a second of the debug
/// build's run.
const ROWS: u64 = 200_000;

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

/// A register, key and policy shared by a test's runs; outputs go to other directories.
struct Setup {
    _dir: tempfile::TempDir,
    input: PathBuf,
    key: PathBuf,
    policy: PathBuf,
    input_sha: String,
}

impl Setup {
    fn new(rows: u64) -> Setup {
        let dir = tempdir();
        let input = register(dir.path(), "register.csv", rows, 7);
        let key = write_key_file(dir.path());
        let policy = schema("school-supplier.yaml");
        let input_sha = sha256_file(&input).0;
        Setup {
            _dir: dir,
            input,
            key,
            policy,
            input_sha,
        }
    }

    fn command(&self, out: &Path) -> Command {
        let mut c = minex_cmd();
        c.arg("run")
            .arg("--policy")
            .arg(&self.policy)
            .arg("--input")
            .arg(&self.input)
            .arg("--out")
            .arg(out)
            .arg("--key-file")
            .arg(&self.key)
            .arg("--quiet");
        c
    }

    fn spawn(&self, out: &Path) -> Child {
        self.command(out)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    }

    /// A run to its end; panics unless it exits 0.
    fn run_ok(&self, out: &Path) -> Duration {
        let start = Instant::now();
        let o = run_cmd(&mut self.command(out));
        o.expect_code(0);
        start.elapsed()
    }

    #[track_caller]
    fn assert_input_unchanged(&self) {
        assert_eq!(
            sha256_file(&self.input).0,
            self.input_sha,
            "the input file changed"
        );
    }
}

/// Sends `signal` (a name such as `TERM`) to a child with `kill(1)`.
fn signal(child: &Child, signal: &str) {
    let status = Command::new("kill")
        .arg(format!("-{signal}"))
        .arg(child.id().to_string())
        .status()
        .unwrap();
    assert!(status.success(), "kill -{signal} failed");
}

/// Waits for a child and returns its status and standard error.
fn finish(mut child: Child) -> (ExitStatus, String) {
    let mut err = String::new();
    if let Some(mut e) = child.stderr.take() {
        e.read_to_string(&mut err).unwrap();
    }
    (child.wait().unwrap(), err)
}

fn is_staged_name(name: &str) -> bool {
    name.starts_with('.') && name.ends_with(".tmp")
}

/// What a directory holds after a run of `NAME.parquet`, checked for consistency.
#[derive(Debug, PartialEq, Eq)]
enum SetState {
    /// No output file (staged files aside).
    Empty,
    /// A manifest, whose digests match the extract (and rejects report) beside it, and no
    /// output file the manifest does not list.
    Sealed,
    /// An extract and perhaps a rejects report, but no manifest: an interrupted commit.
    Unsealed,
}

/// Checks the output set `name` in `dir`: never a manifest that does not match the files
/// beside it, never a file that is not part of the set (staged files aside; they are
/// returned).
#[track_caller]
fn check_set(dir: &Path, name: &str) -> (SetState, Vec<String>) {
    let extract = format!("{name}.parquet");
    let manifest = format!("{name}.manifest.json");
    let rejects = format!("{name}.rejects.csv");
    let mut staged = Vec::new();
    let mut present = Vec::new();
    for entry in list_dir(dir) {
        if is_staged_name(&entry) {
            staged.push(entry);
        } else {
            assert!(
                [&extract, &manifest, &rejects].contains(&&entry),
                "unexpected file `{entry}` in the output directory"
            );
            present.push(entry);
        }
    }
    if present.is_empty() {
        return (SetState::Empty, staged);
    }
    if !present.contains(&manifest) {
        assert!(
            present.contains(&extract),
            "a rejects report without its extract: {present:?}"
        );
        return (SetState::Unsealed, staged);
    }
    let m = read_json(&dir.join(&manifest));
    let outputs = m["outputs"].as_array().expect("manifest outputs");
    let mut listed: Vec<String> = Vec::new();
    for o in outputs {
        let file = Path::new(o["path"].as_str().unwrap())
            .file_name()
            .unwrap()
            .to_string_lossy()
            .into_owned();
        let path = dir.join(&file);
        assert!(
            path.exists(),
            "the manifest lists `{file}`, which is missing"
        );
        let (sha, bytes) = sha256_file(&path);
        assert_eq!(
            sha,
            o["sha256"].as_str().unwrap(),
            "`{file}` does not match its manifest: a mixed output set"
        );
        assert_eq!(bytes, o["bytes"].as_u64().unwrap(), "`{file}`: size");
        listed.push(file);
    }
    assert!(
        listed.contains(&extract),
        "the manifest does not list the extract"
    );
    for p in &present {
        assert!(
            p == &manifest || listed.contains(p),
            "`{p}` is not listed by the manifest beside it: a mixed output set"
        );
    }
    (SetState::Sealed, staged)
}

/// Polls until a staged file appears in `dir` (the run is writing), or the child ended.
fn wait_for_staged(dir: &Path, child: &mut Child) -> bool {
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        if list_dir(dir).iter().any(|n| is_staged_name(n)) {
            return true;
        }
        if child.try_wait().unwrap().is_some() {
            return false;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    false
}

// ---------------------------------------------------------------------------------------------
// (a) The registry and the commit, in-process
// ---------------------------------------------------------------------------------------------

fn staged_in(dir: &Path) -> Vec<PathBuf> {
    staged_paths()
        .into_iter()
        .filter(|p| p.starts_with(dir))
        .collect()
}

#[test]
fn staged_files_are_registered_and_leave_nothing_when_dropped() {
    let dir = tempdir();
    let target = dir.path().join("a.parquet");
    let s = Staged::new(&target).unwrap();
    write_all(&s, b"partial").unwrap();
    let name = s
        .tmp_path()
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    let prefix = format!(".a.parquet.{}.", std::process::id());
    assert!(
        name.starts_with(&prefix) && name.ends_with(".tmp"),
        "staged name `{name}`"
    );
    assert_eq!(staged_in(dir.path()), vec![s.tmp_path().to_path_buf()]);
    drop(s);
    assert!(staged_in(dir.path()).is_empty());
    assert!(
        list_dir(dir.path()).is_empty(),
        "{:?}",
        list_dir(dir.path())
    );
}

#[test]
fn commit_renames_all_unregisters_them_and_removes_the_stale_report() {
    let dir = tempdir();
    let d = dir.path();
    write(d, "x.parquet", "old extract");
    write(d, "x.rejects.csv", "old rejects");
    write(d, "x.manifest.json", "old manifest");
    let e = Staged::new(&d.join("x.parquet")).unwrap();
    write_all(&e, b"E").unwrap();
    let m = Staged::new(&d.join("x.manifest.json")).unwrap();
    write_all(&m, b"M").unwrap();
    assert_eq!(staged_in(d).len(), 2);
    commit(vec![e, m], &[d.join("x.rejects.csv")]).unwrap();
    assert!(staged_in(d).is_empty());
    assert_eq!(list_dir(d), ["x.manifest.json", "x.parquet"]);
    assert_eq!(std::fs::read(d.join("x.parquet")).unwrap(), b"E");
    assert_eq!(std::fs::read(d.join("x.manifest.json")).unwrap(), b"M");
}

#[test]
fn the_old_seal_is_removed_before_anything_is_renamed() {
    let dir = tempdir();
    let d = dir.path();
    write(d, "x.manifest.json", "old manifest");
    // The extract's target is a directory that is not empty: its rename fails, after the
    // old manifest was removed and before the new one could be renamed.
    write(d, "x.parquet/blocker", "");
    let e = Staged::new(&d.join("x.parquet")).unwrap();
    write_all(&e, b"E").unwrap();
    let m = Staged::new(&d.join("x.manifest.json")).unwrap();
    write_all(&m, b"M").unwrap();
    let err = commit(vec![e, m], &[]).unwrap_err();
    assert_eq!(err.category().exit_code(), 5);
    assert!(staged_in(d).is_empty());
    assert_eq!(
        list_dir(d),
        ["x.parquet"],
        "the old manifest must be gone and no staged file left"
    );
}

#[test]
fn a_failed_commit_removes_what_it_had_renamed() {
    let dir = tempdir();
    let d = dir.path();
    // The seal's target is a non-empty directory: it cannot be removed, nothing is renamed.
    write(d, "x.manifest.json/blocker", "");
    let e = Staged::new(&d.join("x.parquet")).unwrap();
    let r = Staged::new(&d.join("x.rejects.csv")).unwrap();
    let m = Staged::new(&d.join("x.manifest.json")).unwrap();
    assert!(commit(vec![e, r, m], &[]).is_err());
    assert!(staged_in(d).is_empty());
    assert_eq!(list_dir(d), ["x.manifest.json"]);
}

#[test]
fn staged_files_of_dead_processes_are_removed_and_those_of_live_ones_kept() {
    let dir = tempdir();
    let d = dir.path();
    let mut dead = Command::new("true").spawn().unwrap();
    let dead_pid = dead.id();
    dead.wait().unwrap();
    let mut live = Command::new("sleep").arg("60").spawn().unwrap();
    let live_pid = live.id();
    let dead_file = format!(".x.parquet.{dead_pid}.AbC123.tmp");
    let live_file = format!(".x.parquet.{live_pid}.AbC123.tmp");
    let other_target = format!(".y.parquet.{dead_pid}.AbC123.tmp");
    let not_staged = format!(".x.parquet.{dead_pid}.notes");
    for f in [&dead_file, &live_file, &other_target, &not_staged] {
        write(d, f, "left over");
    }
    let s = Staged::new(&d.join("x.parquet")).unwrap();
    let names = list_dir(d);
    live.kill().unwrap();
    live.wait().unwrap();
    assert!(!names.contains(&dead_file), "{names:?}");
    assert!(
        names.contains(&live_file),
        "a live run's staged file was removed"
    );
    assert!(
        names.contains(&other_target),
        "another target's file was removed"
    );
    assert!(names.contains(&not_staged));
    drop(s);
}

// ---------------------------------------------------------------------------------------------
// (b) Signals end a run cleanly
// ---------------------------------------------------------------------------------------------

#[test]
fn sigterm_sigint_and_sighup_remove_every_staged_file_and_exit_with_128_plus_the_signal() {
    let _turn = turn();
    let setup = Setup::new(ROWS);
    for (sig, code) in [("TERM", 143), ("INT", 130), ("HUP", 129)] {
        let out_dir = tempdir();
        let out = out_dir.path().join("school.parquet");
        let mut child = setup.spawn(&out);
        assert!(
            wait_for_staged(out_dir.path(), &mut child),
            "SIG{sig}: the run ended before it staged a file"
        );
        std::thread::sleep(Duration::from_millis(100));
        signal(&child, sig);
        let (status, stderr) = finish(child);
        assert_eq!(status.code(), Some(code), "SIG{sig}: {status:?}\n{stderr}");
        assert!(stderr.contains(&format!("SIG{sig}")), "{stderr}");
        assert!(!has_hex_run(&stderr, 32), "{stderr}");
        assert!(
            list_dir(out_dir.path()).is_empty(),
            "SIG{sig} left {:?}",
            list_dir(out_dir.path())
        );
        setup.assert_input_unchanged();
    }
}

// ---------------------------------------------------------------------------------------------
// (c) Fault injection: SIGKILL and SIGTERM at many points of a run
// ---------------------------------------------------------------------------------------------

/// The delays at which a run is interrupted: 10, spread evenly over its measured time.
fn delays(setup: &Setup) -> Vec<Duration> {
    let scratch = tempdir();
    // The first run warms the page cache; the second is measured.
    setup.run_ok(&scratch.path().join("warm.parquet"));
    let t = setup.run_ok(&scratch.path().join("timed.parquet"));
    (0..10)
        .map(|i| t.mul_f64((f64::from(i) + 0.5) / 10.0))
        .collect()
}

#[test]
fn sigkill_at_any_point_never_leaves_a_mixed_set_and_the_next_run_cleans_up() {
    let _turn = turn();
    let setup = Setup::new(ROWS);
    let delays = delays(&setup);
    // An earlier run's complete set, copied into each directory before the killed run.
    let earlier = tempdir();
    setup.run_ok(&earlier.path().join("school.parquet"));
    let mut seen = Vec::new();
    for (i, delay) in delays.iter().enumerate() {
        let out_dir = tempdir();
        for name in list_dir(earlier.path()) {
            std::fs::copy(earlier.path().join(&name), out_dir.path().join(&name)).unwrap();
        }
        assert_eq!(check_set(out_dir.path(), "school").0, SetState::Sealed);
        let out = out_dir.path().join("school.parquet");
        let child = setup.spawn(&out);
        std::thread::sleep(*delay);
        signal(&child, "KILL");
        let (status, stderr) = finish(child);
        assert!(
            status.code() == Some(0) || status.signal() == Some(9),
            "kill {i} after {delay:?}: {status:?}\n{stderr}"
        );
        let (state, staged) = check_set(out_dir.path(), "school");
        seen.push((state, staged.len()));
        setup.assert_input_unchanged();

        // The next run succeeds, leaves a sealed set and no staged file at all.
        setup.run_ok(&out);
        let (state, staged) = check_set(out_dir.path(), "school");
        assert_eq!(state, SetState::Sealed, "kill {i}: after the next run");
        assert!(
            staged.is_empty(),
            "kill {i}: staged files left after the next run: {staged:?}"
        );
    }
    // The kills must have hit the run while it was writing, not only before or after.
    assert!(
        seen.iter().any(|(_, n)| *n > 0),
        "no kill caught a staged file: {seen:?}"
    );
    setup.assert_input_unchanged();
}

#[test]
fn sigterm_at_any_point_leaves_nothing_or_a_complete_set() {
    let _turn = turn();
    let setup = Setup::new(ROWS);
    let delays = delays(&setup);
    let mut codes = Vec::new();
    for (i, delay) in delays.iter().enumerate() {
        let out_dir = tempdir();
        let out = out_dir.path().join("school.parquet");
        let child = setup.spawn(&out);
        std::thread::sleep(*delay);
        signal(&child, "TERM");
        let (status, stderr) = finish(child);
        let (state, staged) = check_set(out_dir.path(), "school");
        assert!(
            staged.is_empty(),
            "term {i} after {delay:?}: staged files left: {staged:?}\n{stderr}"
        );
        match status.code() {
            // Finished before the signal, or the signal came after the commit.
            Some(0) | Some(143) if state == SetState::Sealed => {}
            Some(143) => assert_eq!(state, SetState::Empty, "term {i}: {stderr}"),
            _ => panic!("term {i} after {delay:?}: {status:?} ({state:?})\n{stderr}"),
        }
        codes.push(status.code());
        setup.assert_input_unchanged();
    }
    assert!(
        codes.contains(&Some(143)),
        "no signal reached a running run: {codes:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// (d) The file-size limit
// ---------------------------------------------------------------------------------------------

#[test]
fn a_file_size_limit_is_an_io_error_and_leaves_nothing() {
    let _turn = turn();
    let setup = Setup::new(50_000);
    let out_dir = tempdir();
    let out = out_dir.path().join("school.parquet");
    let mut c = Command::new("sh");
    c.arg("-c")
        .arg("ulimit -f 64; exec \"$0\" \"$@\"")
        .arg(env!("CARGO_BIN_EXE_minex"))
        .args(setup.command(&out).get_args())
        .env_remove("MINEX_KEY");
    let o = run_cmd(&mut c);
    o.expect_code(5);
    assert!(!has_hex_run(&o.stderr, 32), "{}", o.stderr);
    assert!(
        list_dir(out_dir.path()).is_empty(),
        "{:?}",
        list_dir(out_dir.path())
    );
    setup.assert_input_unchanged();
}

// ---------------------------------------------------------------------------------------------
// Path collisions (needs `check_no_collision` wired into `minex run` and `verify --report`)
// ---------------------------------------------------------------------------------------------

/// Runs `minex ARGS` and checks: exit 2, the message names the path, and every file in
/// `kept` has the SHA-256 it had before.
#[track_caller]
fn refused(args: &[&std::ffi::OsStr], kept: &[&Path], names: &str) {
    let before: Vec<String> = kept.iter().map(|p| sha256_file(p).0).collect();
    let o = minex(args);
    o.expect_code(2);
    assert!(o.stderr.contains(names), "{}", o.stderr);
    assert!(!has_hex_run(&o.stderr, 32), "{}", o.stderr);
    let after: Vec<String> = kept.iter().map(|p| sha256_file(p).0).collect();
    assert_eq!(before, after, "a file read by the command changed");
}

#[test]
fn outputs_that_are_inputs_are_refused_before_anything_is_written() {
    let dir = tempdir();
    let d = dir.path();
    let input = register(d, "register.csv", 200, 3);
    let key = write_key_file(d);
    std::fs::create_dir(d.join("sub")).unwrap();
    // The policy saved under the name the manifest would take.
    let policy = write(d, "x.manifest.json", schema_text("school-supplier.yaml"));
    let os = |p: &Path| p.as_os_str().to_owned();
    let run = |out: &Path, extra: &[&Path]| {
        let mut v = vec![
            "run".into(),
            "--policy".into(),
            os(&policy),
            "--input".into(),
            os(&input),
            "--key-file".into(),
            os(&key),
            "--out".into(),
            os(out),
        ];
        if let Some(r) = extra.first() {
            v.push("--report".into());
            v.push(os(r));
        }
        v
    };
    let kept = [input.as_path(), policy.as_path(), key.as_path()];

    // The manifest of `--out x.parquet` would replace the policy.
    let args = run(&d.join("x.parquet"), &[]);
    let refs: Vec<&std::ffi::OsStr> = args.iter().map(|a| a.as_os_str()).collect();
    refused(&refs, &kept, "x.manifest.json");
    // `--report` over the input, spelled through `sub/..`.
    let args = run(&d.join("y.parquet"), &[&d.join("sub/../register.csv")]);
    let refs: Vec<&std::ffi::OsStr> = args.iter().map(|a| a.as_os_str()).collect();
    refused(&refs, &kept, "register.csv");
    // `--report` over the key file.
    let args = run(&d.join("y.parquet"), &[&key]);
    let refs: Vec<&std::ffi::OsStr> = args.iter().map(|a| a.as_os_str()).collect();
    refused(&refs, &kept, "test.key");
    // `--report` on the extract's own manifest: two outputs the same file.
    let args = run(&d.join("y.parquet"), &[&d.join("./y.manifest.json")]);
    let refs: Vec<&std::ffi::OsStr> = args.iter().map(|a| a.as_os_str()).collect();
    refused(&refs, &kept, "y.manifest.json");
    assert_eq!(
        list_dir(d),
        ["register.csv", "sub", "test.key", "x.manifest.json"],
        "nothing may have been written"
    );
}

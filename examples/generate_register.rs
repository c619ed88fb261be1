//! Writes a synthetic Swedish citizen register as CSV (no real person in it).
//!
//! ```text
//! cargo run --release --example generate_register -- --rows 1500000 --seed 42 --out register.csv
//! ```
//!
//! Options: `--rows N` (default 1,000), `--seed N` (default 42), `--reference YYYY-MM-DD`
//! (default 2026-01-01), `--out PATH` (default: standard output). Rows, bytes and seconds
//! go to standard error.

use std::io::{self, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use minex::synth::RegisterBuilder;

const USAGE: &str = "usage: generate_register [--rows N] [--seed N] \
                     [--reference YYYY-MM-DD] [--out PATH]";

struct Args {
    rows: u64,
    seed: u64,
    reference: Option<(i32, u32, u32)>,
    out: Option<PathBuf>,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        rows: 1000,
        seed: 42,
        reference: None,
        out: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        if flag == "-h" || flag == "--help" {
            return Err(String::new());
        }
        let (name, inline) = match flag.split_once('=') {
            Some((n, v)) => (n.to_owned(), Some(v.to_owned())),
            None => (flag.clone(), None),
        };
        let mut value = || {
            inline
                .clone()
                .or_else(|| it.next())
                .ok_or_else(|| format!("`{name}` needs a value"))
        };
        match name.as_str() {
            "--rows" => {
                let v = value()?;
                args.rows = v
                    .replace('_', "")
                    .parse()
                    .map_err(|_| format!("`--rows` wants a whole number, got `{v}`"))?;
            }
            "--seed" => {
                let v = value()?;
                args.seed = v
                    .parse()
                    .map_err(|_| format!("`--seed` wants a whole number, got `{v}`"))?;
            }
            "--reference" => {
                let v = value()?;
                args.reference = Some(parse_date(&v).ok_or_else(|| {
                    format!("`--reference` wants a date like 2026-01-01, got `{v}`")
                })?);
            }
            "--out" => args.out = Some(PathBuf::from(value()?)),
            _ => return Err(format!("unknown argument `{flag}`")),
        }
    }
    Ok(args)
}

fn parse_date(s: &str) -> Option<(i32, u32, u32)> {
    let mut parts = s.splitn(3, '-');
    let y = parts.next()?.parse().ok()?;
    let m = parts.next()?.parse().ok()?;
    let d = parts.next()?.parse().ok()?;
    Some((y, m, d))
}

/// Counts the bytes passed through to the inner writer.
struct Counting<W> {
    inner: W,
    bytes: u64,
}

impl<W: Write> Write for Counting<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.bytes += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

fn run(args: &Args) -> io::Result<(u64, u64)> {
    let mut builder = RegisterBuilder::new(args.rows).with_seed(args.seed);
    if let Some((y, m, d)) = args.reference {
        builder = builder.with_reference_date(y, m, d);
    }
    // `write_csv` hands over whole chunks of rows, so no `BufWriter` is needed.
    let inner: Box<dyn Write> = match &args.out {
        Some(path) => Box::new(std::fs::File::create(path)?),
        None => Box::new(io::stdout().lock()),
    };
    let mut out = Counting { inner, bytes: 0 };
    let rows = builder.write_csv(&mut out)?;
    Ok((rows, out.bytes))
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(args) => args,
        Err(message) if message.is_empty() => {
            eprintln!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(message) => {
            eprintln!("error: {message}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let start = Instant::now();
    match run(&args) {
        Ok((rows, bytes)) => {
            let seconds = start.elapsed().as_secs_f64();
            eprintln!(
                "rows: {rows}, bytes: {bytes} ({:.1} MiB), seconds: {seconds:.2} ({:.0} MiB/s)",
                bytes as f64 / (1024.0 * 1024.0),
                bytes as f64 / (1024.0 * 1024.0) / seconds.max(1e-9),
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

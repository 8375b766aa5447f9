//! Reads a data file with the default column mapping and prints each row as one JSON line on
//! stdout and each bad row on stderr, then the counts and the process's peak RSS (Linux).
//! A manual check against files written by other tools (pandas, pyarrow), and a memory probe:
//! `cargo run --release --example dump_rows -- big.csv > /dev/null`.

use std::io::Write;
use std::path::PathBuf;

use judgeflow_datafiles::{ColumnMapping, open};

fn main() {
    // Display, not the Debug that returning the error from `main` would print.
    if let Err(error) = run() {
        eprintln!("{error}");
        std::process::exit(2);
    }
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    let path: PathBuf = std::env::args_os()
        .nth(1)
        .ok_or("usage: dump_rows FILE")?
        .into();
    let mut stdout = std::io::BufWriter::new(std::io::stdout().lock());
    let (mut good, mut bad) = (0u64, 0u64);
    for row in open(&path, None, &ColumnMapping::default())? {
        match row {
            Ok(row) => {
                serde_json::to_writer(&mut stdout, &row)?;
                writeln!(stdout)?;
                good += 1;
            }
            Err(error) => {
                eprintln!("{error}");
                bad += 1;
            }
        }
    }
    stdout.flush()?;
    let peak = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find(|line| line.starts_with("VmHWM:"))
                .map(|line| line["VmHWM:".len()..].trim().to_owned())
        })
        .unwrap_or_else(|| "unknown".to_owned());
    eprintln!("{good} rows, {bad} bad rows, peak RSS {peak}");
    Ok(())
}

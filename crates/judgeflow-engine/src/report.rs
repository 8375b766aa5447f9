//! A run's report as text: the terminal table, `--json`, `JUnit` XML and a Markdown summary
//! that fits a GitHub step summary.

use std::fmt::Write as _;

use serde_json::{Value, json};

use crate::summary::RunReport;

fn fmt_opt(value: Option<f64>) -> String {
    value.map_or_else(|| "-".to_owned(), |v| format!("{v:.3}"))
}

fn verdict(report: &RunReport) -> &'static str {
    match report.exit_code() {
        0 => "PASSED",
        1 => "GATE FAILED",
        _ => "RUN FAILED",
    }
}

/// The machine-readable report.
#[must_use]
pub fn to_json(report: &RunReport) -> Value {
    let summary = &report.summary;
    json!({
        "run_id": report.run_id,
        "experiment_id": report.experiment_id,
        "suite": report.suite,
        "status": report.status.as_str(),
        "exit_code": report.exit_code(),
        "error": report.fatal,
        "rows": summary.rows(),
        "resumed_rows": report.resumed_rows,
        "error_rows": summary.error_rows(),
        "cache_hits": summary.cache_hits,
        "wall_seconds": summary.wall.as_secs_f64(),
        "latency_ms": {"p50": summary.latency_ms(0.5), "p95": summary.latency_ms(0.95)},
        "scorers": summary.scorers.iter().map(|s| json!({
            "name": s.name, "mean": s.mean(), "pass_rate": s.pass_rate(), "errors": s.errors,
        })).collect::<Vec<_>>(),
        "cost": {
            "target": {"prompt_tokens": summary.ledger.target.prompt_tokens,
                "completion_tokens": summary.ledger.target.completion_tokens,
                "usd": summary.ledger.target.usd, "calls": summary.ledger.target.calls,
                "cached_calls": summary.ledger.target.cached_calls},
            "judges": {"prompt_tokens": summary.ledger.judges.prompt_tokens,
                "completion_tokens": summary.ledger.judges.completion_tokens,
                "usd": summary.ledger.judges.usd, "calls": summary.ledger.judges.calls,
                "cached_calls": summary.ledger.judges.cached_calls},
        },
        "gate": {"passed": report.gate_passed(), "checks": report.gate},
    })
}

/// The terminal summary: one line per scorer, then the gate.
#[must_use]
pub fn to_table(report: &RunReport) -> String {
    let summary = &report.summary;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "suite {}  run {}  {}  rows {} ({} resumed)  errors {}  cache hits {}",
        report.suite,
        report.run_id,
        report.status.as_str(),
        summary.rows(),
        report.resumed_rows,
        summary.error_rows(),
        summary.cache_hits
    );
    let _ = writeln!(
        out,
        "{:<28} {:>8} {:>10} {:>7}",
        "scorer", "mean", "pass rate", "errors"
    );
    for s in &summary.scorers {
        let _ = writeln!(
            out,
            "{:<28} {:>8} {:>10} {:>7}",
            s.name,
            fmt_opt(s.mean()),
            fmt_opt(s.pass_rate()),
            s.errors
        );
    }
    let _ = writeln!(
        out,
        "latency p50 {} ms, p95 {} ms; spend: target ${:.4} ({} + {} tokens), judges ${:.4} ({} + {} tokens)",
        fmt_opt(summary.latency_ms(0.5)),
        fmt_opt(summary.latency_ms(0.95)),
        summary.ledger.target.usd,
        summary.ledger.target.prompt_tokens,
        summary.ledger.target.completion_tokens,
        summary.ledger.judges.usd,
        summary.ledger.judges.prompt_tokens,
        summary.ledger.judges.completion_tokens,
    );
    for check in &report.gate {
        let _ = writeln!(
            out,
            "gate {} {} >= {}: {} ({})",
            check.scorer,
            check.check,
            check.threshold,
            fmt_opt(check.actual),
            if check.passed { "ok" } else { "FAILED" }
        );
    }
    if let Some(error) = &report.fatal {
        let _ = writeln!(out, "error: {error}");
    }
    let _ = writeln!(out, "{}", verdict(report));
    out
}

fn xml(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // XML 1.0 forbids most control characters even escaped.
            c if (c as u32) < 0x20 && !matches!(c, '\n' | '\r' | '\t') => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// `JUnit` XML: one test case per row × scorer (a failure when the score failed its threshold,
/// an error when it could not be computed), plus one per gate check.
#[must_use]
pub fn to_junit(report: &RunReport) -> String {
    let summary = &report.summary;
    let mut cases = String::new();
    let (mut tests, mut failures, mut errors) = (0, 0, 0);
    let mut rows = summary.rows_table.clone();
    rows.sort_by_key(|r| r.index);
    for row in &rows {
        for (stats, cell) in summary.scorers.iter().zip(&row.cells) {
            tests += 1;
            let value = cell
                .value
                .as_ref()
                .map_or_else(|| "none".to_owned(), ToString::to_string);
            let _ = write!(
                cases,
                "    <testcase classname=\"{}.{}\" name=\"row {}\">",
                xml(&report.suite),
                xml(&stats.name),
                row.index
            );
            if let Some(error) = &cell.error {
                errors += 1;
                let _ = write!(cases, "<error message=\"{}\"/>", xml(error));
            } else if cell.passed == Some(false) {
                failures += 1;
                let _ = write!(
                    cases,
                    "<failure message=\"{} = {}\">trace {}</failure>",
                    xml(&stats.name),
                    xml(&value),
                    xml(&row.trace_id)
                );
            }
            cases.push_str("</testcase>\n");
        }
    }
    for check in &report.gate {
        tests += 1;
        let _ = write!(
            cases,
            "    <testcase classname=\"{}.gate\" name=\"{} {} &gt;= {}\">",
            xml(&report.suite),
            xml(&check.scorer),
            check.check,
            check.threshold
        );
        if !check.passed {
            failures += 1;
            let _ = write!(
                cases,
                "<failure message=\"{} {} is {}, below {}\"/>",
                xml(&check.scorer),
                check.check,
                fmt_opt(check.actual),
                check.threshold
            );
        }
        cases.push_str("</testcase>\n");
    }
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites>\n  <testsuite name=\"{}\" tests=\"{tests}\" failures=\"{failures}\" errors=\"{errors}\" time=\"{:.3}\">\n{cases}  </testsuite>\n</testsuites>\n",
        xml(&report.suite),
        summary.wall.as_secs_f64()
    )
}

fn md(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

/// A Markdown summary for a pull request: verdict, scorer table, gate, and the first failing
/// rows.
#[must_use]
pub fn to_markdown(report: &RunReport) -> String {
    let summary = &report.summary;
    let mut out = String::new();
    let icon = if report.exit_code() == 0 {
        "✅"
    } else {
        "❌"
    };
    let _ = writeln!(
        out,
        "### {icon} Evaluation `{}`: {}\n",
        md(&report.suite),
        verdict(report)
    );
    let _ = writeln!(
        out,
        "Run `{}` · {} rows · {} with errors · {} cache hits · spend ${:.4} target, ${:.4} judges\n",
        report.run_id,
        summary.rows(),
        summary.error_rows(),
        summary.cache_hits,
        summary.ledger.target.usd,
        summary.ledger.judges.usd
    );
    out.push_str("| scorer | mean | pass rate | errors |\n|---|---:|---:|---:|\n");
    for s in &summary.scorers {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} |",
            md(&s.name),
            fmt_opt(s.mean()),
            fmt_opt(s.pass_rate()),
            s.errors
        );
    }
    if !report.gate.is_empty() {
        out.push_str("\n| gate | threshold | actual | |\n|---|---:|---:|---|\n");
        for check in &report.gate {
            let _ = writeln!(
                out,
                "| {} {} | {} | {} | {} |",
                md(&check.scorer),
                check.check,
                check.threshold,
                fmt_opt(check.actual),
                if check.passed { "✅" } else { "❌" }
            );
        }
    }
    let mut failing: Vec<_> = summary
        .rows_table
        .iter()
        .filter(|r| {
            r.error.is_some()
                || r.cells
                    .iter()
                    .any(|c| c.error.is_some() || c.passed == Some(false))
        })
        .collect();
    failing.sort_by_key(|r| r.index);
    if !failing.is_empty() {
        let _ = writeln!(
            out,
            "\n<details><summary>{} rows failed a scorer</summary>\n",
            failing.len()
        );
        out.push_str("| row | trace | failed |\n|---:|---|---|\n");
        for row in failing.iter().take(50) {
            let failed: Vec<String> = summary
                .scorers
                .iter()
                .zip(&row.cells)
                .filter(|(_, c)| c.error.is_some() || c.passed == Some(false))
                .map(|(s, c)| match &c.error {
                    Some(e) => format!(
                        "{} (error: {})",
                        s.name,
                        e.chars().take(80).collect::<String>()
                    ),
                    None => s.name.clone(),
                })
                .collect();
            let _ = writeln!(
                out,
                "| {} | `{}` | {} |",
                row.index,
                row.trace_id,
                md(&failed.join(", "))
            );
        }
        out.push_str("\n</details>\n");
    }
    out
}

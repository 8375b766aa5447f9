//! Aggregates over a run's rows: per-scorer means and pass rates, latency percentiles, error
//! and cache counts, the cost ledger; the run metrics made of them; and the run's report.

use std::collections::BTreeMap;
use std::time::Duration;

use judgeflow_domain::RunStatus;
use serde_json::Value;

use crate::gate::GateCheck;
use crate::ledger::Ledger;
use crate::outcome::RowResult;
use crate::sink::PriorRow;
use crate::suite::PriceSpec;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct ScorerStats {
    pub name: String,
    /// Rows with a numeric value.
    pub count: u64,
    pub sum: f64,
    /// Rows with a pass/fail verdict, and how many passed.
    pub judged: u64,
    pub passes: u64,
    pub errors: u64,
}

impl ScorerStats {
    #[must_use]
    pub fn mean(&self) -> Option<f64> {
        (self.count > 0).then(|| self.sum / self.count as f64)
    }

    /// Passing rows over judged rows plus errors: a row the scorer could not judge did not pass.
    #[must_use]
    pub fn pass_rate(&self) -> Option<f64> {
        let total = self.judged + self.errors;
        (total > 0 && self.judged > 0).then(|| self.passes as f64 / total as f64)
    }
}

/// One row × scorer outcome, kept for the `JUnit` and Markdown reports.
#[derive(Debug, Clone, PartialEq)]
pub struct Cell {
    pub value: Option<Value>,
    pub passed: Option<bool>,
    pub error: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RowCells {
    pub index: u64,
    pub trace_id: String,
    pub error: Option<String>,
    pub cells: Vec<Cell>,
}

#[derive(Debug, Clone)]
pub struct Summary {
    pub scorers: Vec<ScorerStats>,
    rows: u64,
    target_errors: u64,
    error_rows: u64,
    latencies_ms: Vec<f64>,
    pub ledger: Ledger,
    pub cache_hits: u64,
    pub wall: Duration,
    /// Every row's cells, for the `JUnit` and Markdown reports; kept only when one is asked for
    /// (see [`Summary::keep_rows`]), so that a run's memory does not grow with its rows.
    pub rows_table: Vec<RowCells>,
    keep_rows: bool,
}

fn numeric(value: &Value) -> Option<f64> {
    match value {
        Value::Bool(b) => Some(f64::from(u8::from(*b))),
        Value::Number(n) => n.as_f64(),
        _ => None,
    }
}

/// The `q`-quantile (0..=1) by linear interpolation, as numpy's default.
fn quantile(sorted: &[f64], q: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let position = q * (sorted.len() - 1) as f64;
    let (low, high) = (position.floor() as usize, position.ceil() as usize);
    Some(sorted[low] + (sorted[high] - sorted[low]) * (position - low as f64))
}

impl Summary {
    #[must_use]
    pub fn new(scorers: &[String], prices: &BTreeMap<String, PriceSpec>) -> Self {
        Self {
            scorers: scorers
                .iter()
                .map(|name| ScorerStats {
                    name: name.clone(),
                    ..ScorerStats::default()
                })
                .collect(),
            rows: 0,
            target_errors: 0,
            error_rows: 0,
            latencies_ms: Vec::new(),
            ledger: Ledger::new(prices),
            cache_hits: 0,
            wall: Duration::ZERO,
            rows_table: Vec::new(),
            keep_rows: false,
        }
    }

    /// Keeps every row's cells in `rows_table` (for per-row reports).
    #[must_use]
    pub fn keep_rows(mut self, keep: bool) -> Self {
        self.keep_rows = keep;
        self
    }

    #[must_use]
    pub fn rows(&self) -> u64 {
        self.rows
    }

    #[must_use]
    pub fn target_errors(&self) -> u64 {
        self.target_errors
    }

    /// Rows whose target or any scorer failed.
    #[must_use]
    pub fn error_rows(&self) -> u64 {
        self.error_rows
    }

    #[must_use]
    pub fn scorer(&self, name: &str) -> Option<&ScorerStats> {
        self.scorers.iter().find(|s| s.name == name)
    }

    fn add_cells(
        &mut self,
        index: u64,
        trace_id: &str,
        error: Option<&String>,
        latency_ms: Option<f64>,
        cells: &[(String, Cell)],
    ) {
        self.rows += 1;
        if error.is_some() {
            self.target_errors += 1;
        }
        if error.is_some() || cells.iter().any(|(_, c)| c.error.is_some()) {
            self.error_rows += 1;
        }
        if let Some(ms) = latency_ms {
            self.latencies_ms.push(ms);
        }
        let mut ordered = Vec::with_capacity(self.scorers.len());
        for stats in &mut self.scorers {
            let cell = cells
                .iter()
                .find(|(name, _)| *name == stats.name)
                .map_or_else(
                    || Cell {
                        value: None,
                        passed: None,
                        error: Some("no assessment".into()),
                    },
                    |(_, c)| c.clone(),
                );
            if cell.error.is_some() {
                stats.errors += 1;
            }
            if let Some(n) = cell.value.as_ref().and_then(numeric) {
                stats.count += 1;
                stats.sum += n;
            }
            if let Some(passed) = cell.passed {
                stats.judged += 1;
                stats.passes += u64::from(passed);
            }
            ordered.push(cell);
        }
        if self.keep_rows {
            self.rows_table.push(RowCells {
                index,
                trace_id: trace_id.to_owned(),
                error: error.cloned(),
                cells: ordered,
            });
        }
    }

    pub fn add(&mut self, row: &RowResult) {
        for call in row
            .target_calls
            .iter()
            .chain(row.scores.iter().flat_map(|s| s.calls.iter()))
        {
            self.ledger.add(call);
        }
        let cells: Vec<(String, Cell)> = row
            .scores
            .iter()
            .map(|s| {
                (
                    s.scorer.clone(),
                    Cell {
                        value: s.value.clone(),
                        passed: s.passed,
                        error: s.error.clone(),
                    },
                )
            })
            .collect();
        self.add_cells(
            row.index,
            &row.trace_id,
            row.error.as_ref(),
            Some(row.latency_ms()),
            &cells,
        );
    }

    /// A row finished by an earlier attempt: its scores count, its spend does not (it was
    /// paid then).
    pub fn add_prior(&mut self, row: &PriorRow) {
        let cells: Vec<(String, Cell)> = row
            .scores
            .iter()
            .map(|s| {
                let passed = s
                    .passed
                    .or_else(|| s.value.as_ref().and_then(Value::as_bool));
                (
                    s.scorer.clone(),
                    Cell {
                        value: s.value.clone(),
                        passed,
                        error: s.error.clone(),
                    },
                )
            })
            .collect();
        self.add_cells(
            row.index,
            &row.trace_id,
            row.error.as_ref(),
            row.latency_ms,
            &cells,
        );
    }

    #[must_use]
    pub fn latency_ms(&self, q: f64) -> Option<f64> {
        let mut sorted = self.latencies_ms.clone();
        sorted.sort_by(f64::total_cmp);
        quantile(&sorted, q)
    }

    /// The run metrics, in MLflow's `<scorer>/mean` naming.
    #[must_use]
    pub fn metrics(&self) -> Vec<(String, f64)> {
        let mut metrics = Vec::new();
        for stats in &self.scorers {
            if let Some(mean) = stats.mean() {
                metrics.push((format!("{}/mean", stats.name), mean));
            }
            if let Some(rate) = stats.pass_rate() {
                metrics.push((format!("{}/pass_rate", stats.name), rate));
            }
            metrics.push((format!("{}/errors", stats.name), stats.errors as f64));
        }
        if let Some(p50) = self.latency_ms(0.5) {
            metrics.push(("latency/p50".into(), p50));
        }
        if let Some(p95) = self.latency_ms(0.95) {
            metrics.push(("latency/p95".into(), p95));
        }
        let ledger = &self.ledger;
        metrics.extend([
            ("rows".into(), self.rows as f64),
            ("errors".into(), self.error_rows as f64),
            ("cache_hits".into(), self.cache_hits as f64),
            (
                "tokens/target_prompt".into(),
                ledger.target.prompt_tokens as f64,
            ),
            (
                "tokens/target_completion".into(),
                ledger.target.completion_tokens as f64,
            ),
            (
                "tokens/judge_prompt".into(),
                ledger.judges.prompt_tokens as f64,
            ),
            (
                "tokens/judge_completion".into(),
                ledger.judges.completion_tokens as f64,
            ),
            ("cost/target_usd".into(), ledger.target.usd),
            ("cost/judge_usd".into(), ledger.judges.usd),
            (
                "cost/total_usd".into(),
                ledger.target.usd + ledger.judges.usd,
            ),
        ]);
        metrics
    }
}

/// What a run did, for the terminal, `--json`, `JUnit` and Markdown.
#[derive(Debug, Clone)]
pub struct RunReport {
    pub run_id: String,
    pub experiment_id: String,
    pub suite: String,
    pub status: RunStatus,
    /// Why the run stopped early (a bad row, the store failing).
    pub fatal: Option<String>,
    /// Every row's target failed: nothing was evaluated.
    pub all_rows_failed: bool,
    pub interrupted: bool,
    pub resumed_rows: u64,
    pub summary: Summary,
    pub gate: Vec<GateCheck>,
}

impl RunReport {
    #[must_use]
    pub fn gate_passed(&self) -> bool {
        self.gate.iter().all(|c| c.passed)
    }

    /// 0: the gate passed; 1: it failed; 2: the run itself failed or was stopped.
    #[must_use]
    pub fn exit_code(&self) -> u8 {
        if self.fatal.is_some() || self.all_rows_failed || self.interrupted {
            2
        } else {
            u8::from(!self.gate_passed())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_interpolate() {
        assert_eq!(quantile(&[], 0.5), None);
        assert_eq!(quantile(&[1.0, 2.0, 3.0, 4.0], 0.5), Some(2.5));
        assert_eq!(quantile(&[10.0], 0.95), Some(10.0));
    }
}

//! The gate: per-scorer thresholds that decide the exit code.

use std::collections::BTreeMap;

use crate::suite::GateSpec;
use crate::summary::Summary;

/// One threshold and how the run did against it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct GateCheck {
    pub scorer: String,
    /// `mean`, `pass_rate` or `errors`.
    pub check: &'static str,
    pub threshold: f64,
    /// `None` when the scorer had no value to judge by (every row an error).
    pub actual: Option<f64>,
    pub passed: bool,
}

pub fn evaluate(gate: &BTreeMap<String, GateSpec>, summary: &Summary) -> Vec<GateCheck> {
    let mut checks = Vec::new();
    for (scorer, spec) in gate {
        let Some(stats) = summary.scorer(scorer) else {
            continue;
        };
        if let Some(min) = spec.min_mean {
            let actual = stats.mean();
            checks.push(GateCheck {
                scorer: scorer.clone(),
                check: "mean",
                threshold: min,
                actual,
                passed: actual.is_some_and(|a| a >= min),
            });
        }
        if let Some(min) = spec.min_pass_rate {
            let actual = stats.pass_rate();
            checks.push(GateCheck {
                scorer: scorer.clone(),
                check: "pass_rate",
                threshold: min,
                actual,
                passed: actual.is_some_and(|a| a >= min),
            });
        }
        if let Some(max) = spec.max_errors {
            checks.push(GateCheck {
                scorer: scorer.clone(),
                check: "errors",
                threshold: max as f64,
                actual: Some(stats.errors as f64),
                passed: stats.errors <= max,
            });
        }
    }
    checks
}

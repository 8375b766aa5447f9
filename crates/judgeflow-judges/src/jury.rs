//! Several judges on one row, their verdicts combined.

use futures::future::join_all;
use serde_json::Value;

use crate::call::CallStats;
use crate::{Judge, JudgeError, JudgeInput, Verdict};

/// How a jury combines its members' values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Aggregate {
    /// The majority of yes/no (a tie is "no"), or the most common category or score.
    Vote,
    /// The mean of numeric values; yes/no count as 1/0, so the mean is the fraction of yeses.
    Mean,
}

/// One member's result, kept whether or not it succeeded.
#[derive(Debug)]
pub struct MemberVerdict {
    pub judge: String,
    pub model: String,
    pub result: Result<Verdict, JudgeError>,
}

/// The jury's combined verdict and every member's own.
#[derive(Debug)]
pub struct JuryVerdict {
    pub verdict: Verdict,
    pub members: Vec<MemberVerdict>,
}

/// Several judges asked the same question, usually of different models.
#[derive(Debug, Clone)]
pub struct Jury {
    name: String,
    judges: Vec<Judge>,
    aggregate: Aggregate,
}

impl Jury {
    #[must_use]
    pub fn new(name: impl Into<String>, judges: Vec<Judge>, aggregate: Aggregate) -> Self {
        Self {
            name: name.into(),
            judges,
            aggregate,
        }
    }

    #[must_use]
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Rejects a jury that cannot give a verdict whatever the models answer: no members, a
    /// misconfigured member, or the mean of categories.
    pub fn validate(&self) -> Result<(), JudgeError> {
        if self.judges.is_empty() {
            return Err(JudgeError::Config(format!(
                "jury {:?} has no members",
                self.name
            )));
        }
        let output = self.judges[0].output();
        for judge in &self.judges {
            judge.validate()?;
            // Members answer the same question on the same scale, or a vote or mean is
            // meaningless (a 4 of 5 and a 4 of 10 are not the same verdict).
            if judge.output() != output {
                return Err(JudgeError::Config(format!(
                    "jury {:?}: member {:?} answers on another scale than the first member",
                    self.name,
                    judge.name()
                )));
            }
            if self.aggregate == Aggregate::Mean
                && matches!(judge.output(), crate::OutputKind::Category(_))
            {
                return Err(JudgeError::Config(format!(
                    "jury {:?}: member {:?} answers with categories, which have no mean; use a vote",
                    self.name,
                    judge.name()
                )));
            }
        }
        Ok(())
    }

    /// Runs every member at once and combines the values of those that succeeded. Failed
    /// members stay in [`JuryVerdict::members`]; only when all fail is the first error returned.
    pub async fn judge(&self, input: &JudgeInput<'_>) -> Result<JuryVerdict, JudgeError> {
        self.validate()?;
        let results = join_all(self.judges.iter().map(|judge| judge.judge(input))).await;
        let members: Vec<MemberVerdict> = self
            .judges
            .iter()
            .zip(results)
            .map(|(judge, result)| MemberVerdict {
                judge: judge.name().to_owned(),
                model: judge.model().to_owned(),
                result,
            })
            .collect();
        let succeeded: Vec<&Verdict> = members
            .iter()
            .filter_map(|m| m.result.as_ref().ok())
            .collect();
        if succeeded.is_empty() {
            let first = members.into_iter().find_map(|m| m.result.err());
            return Err(first.unwrap_or_else(|| {
                JudgeError::Config(format!("jury {:?} has no members", self.name))
            }));
        }
        let values: Vec<&Value> = succeeded.iter().map(|v| &v.value).collect();
        let value = match self.aggregate {
            Aggregate::Vote => vote(&values),
            Aggregate::Mean => mean(&values)?,
        };
        let failed = members.len() - succeeded.len();
        let mut rationale: Vec<String> = members
            .iter()
            .map(|m| match &m.result {
                Ok(v) => format!(
                    "{} ({}): {} because {}",
                    m.judge, m.model, v.value, v.rationale
                ),
                Err(e) => format!("{} ({}): failed: {e}", m.judge, m.model),
            })
            .collect();
        if failed > 0 {
            rationale.insert(
                0,
                format!(
                    "{failed} of {} members failed and were left out",
                    members.len()
                ),
            );
        }
        let stats: Vec<CallStats> = succeeded
            .iter()
            .map(|v| CallStats {
                model: v.model.clone(),
                usage: v.usage,
                attempts: v.attempts,
                calls: v.calls,
                cached: v.cached,
                latency: v.latency,
            })
            .collect();
        let stats = CallStats::concurrent(&stats);
        let mut models: Vec<&str> = Vec::new();
        for verdict in &succeeded {
            if !models.contains(&verdict.model.as_str()) {
                models.push(&verdict.model);
            }
        }
        let verdict = Verdict {
            value,
            rationale: rationale.join("\n"),
            model: models.join(","),
            usage: stats.usage,
            attempts: stats.attempts,
            calls: stats.calls,
            cached: stats.cached,
            latency: stats.latency,
        };
        Ok(JuryVerdict { verdict, members })
    }
}

/// The most common value, earliest member first among equals; yes/no ties are "no", so a
/// split jury does not pass a row.
fn vote(values: &[&Value]) -> Value {
    if values.iter().all(|v| v.is_boolean()) {
        let yes = values.iter().filter(|v| ***v == Value::Bool(true)).count();
        return Value::Bool(yes * 2 > values.len());
    }
    let mut best: (&Value, usize) = (values[0], 0);
    for candidate in values {
        let count = values.iter().filter(|v| **v == *candidate).count();
        if count > best.1 {
            best = (candidate, count);
        }
    }
    best.0.clone()
}

/// The mean of numbers, yes counting 1 and no 0. Categories have no mean.
fn mean(values: &[&Value]) -> Result<Value, JudgeError> {
    let mut sum = 0.0;
    for value in values {
        sum += match value {
            Value::Bool(yes) => f64::from(u8::from(*yes)),
            Value::Number(n) => n.as_f64().unwrap_or_default(),
            other => {
                return Err(JudgeError::Config(format!(
                    "the mean needs numbers or yes/no, a member answered {other}"
                )));
            }
        };
    }
    // `values` is never empty here and every term is finite, so this is never NaN.
    Ok(Value::from(sum / values.len() as f64))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn values(all: &[Value]) -> Vec<&Value> {
        all.iter().collect()
    }

    #[test]
    fn vote_majority_and_ties() {
        let vote_of = |all: &[Value]| vote(&values(all));
        assert_eq!(
            vote_of(&[json!(true), json!(true), json!(false)]),
            json!(true)
        );
        // A split jury does not pass the row.
        assert_eq!(vote_of(&[json!(true), json!(false)]), json!(false));
        assert_eq!(vote_of(&[json!("b"), json!("a"), json!("a")]), json!("a"));
        // Equal counts: the earliest member's label.
        assert_eq!(vote_of(&[json!("b"), json!("a")]), json!("b"));
        assert_eq!(vote_of(&[json!(3), json!(4), json!(4)]), json!(4));
    }

    #[test]
    fn mean_of_numbers_and_yes_no_but_not_labels() {
        let mean_of = |all: &[Value]| mean(&values(all)).map(|v| v.as_f64());
        assert_eq!(mean_of(&[json!(2), json!(5)]).unwrap(), Some(3.5));
        assert_eq!(
            mean_of(&[json!(true), json!(false), json!(true), json!(true)]).unwrap(),
            Some(0.75)
        );
        assert!(matches!(
            mean(&values(&[json!("a")])),
            Err(JudgeError::Config(_))
        ));
    }
}

//! LLM judge scorers: a `judgeflow-judges` [`Judge`] or [`Jury`] bound to the shared client of
//! its judge model, turned into a [`Score`] with a span per judge call.

use std::collections::BTreeMap;

use judgeflow_judges::{Aggregate, Judge, JudgeError, JudgeInput, JudgeKind, Jury, OutputKind};
use judgeflow_llm::LlmClient;
use serde_json::{Value, json};

use crate::error::EngineError;
use crate::outcome::{CallRecord, Payer, Score, SourceKind, now_ns};
use crate::scorer::ScoreInput;
use crate::suite::ScorerSpec;

enum Panel {
    One(Box<Judge>),
    Jury(Jury),
}

pub struct JudgeScorer {
    panel: Panel,
    /// What passes: a yes, or a score at or above this.
    threshold: Option<f64>,
    source_id: String,
}

fn builtin_kind(kind: &str, guidelines: &[String]) -> Option<JudgeKind> {
    Some(match kind {
        "correctness" => JudgeKind::Correctness,
        "relevance_to_query" => JudgeKind::RelevanceToQuery,
        "retrieval_groundedness" => JudgeKind::RetrievalGroundedness,
        "retrieval_relevance" => JudgeKind::RetrievalRelevance,
        "retrieval_sufficiency" => JudgeKind::RetrievalSufficiency,
        "safety" => JudgeKind::Safety,
        "guidelines" => JudgeKind::Guidelines {
            guidelines: guidelines.to_vec(),
        },
        _ => return None,
    })
}

impl JudgeScorer {
    /// The judge scorer for `spec`, or `None` for a deterministic kind.
    pub fn build(
        spec: &ScorerSpec,
        clients: &BTreeMap<String, LlmClient>,
    ) -> Result<Option<Self>, EngineError> {
        let name = spec.name();
        let client = |judge: &str| {
            clients.get(judge).cloned().ok_or_else(|| {
                EngineError::Config(format!("scorer '{name}': no judge model '{judge}'"))
            })
        };
        let scorer = match spec {
            ScorerSpec::Correctness(s)
            | ScorerSpec::RelevanceToQuery(s)
            | ScorerSpec::RetrievalGroundedness(s)
            | ScorerSpec::RetrievalRelevance(s)
            | ScorerSpec::RetrievalSufficiency(s)
            | ScorerSpec::Safety(s)
            | ScorerSpec::Guidelines(s) => {
                let kind = builtin_kind(spec.kind(), &s.guidelines).ok_or_else(|| {
                    EngineError::Config(format!("unknown judge kind {}", spec.kind()))
                })?;
                let client = client(&s.judge)?;
                let source_id = client.config().model.clone();
                Self {
                    panel: Panel::One(Box::new(Judge::new(kind, client).with_name(name))),
                    threshold: None,
                    source_id,
                }
            }
            ScorerSpec::Custom(s) => {
                let output = match s.output.as_deref().unwrap_or("yes_no") {
                    "yes_no" => OutputKind::YesNo,
                    "score" => OutputKind::Score {
                        min: s.min.unwrap_or(1),
                        max: s.max.unwrap_or(5),
                    },
                    "category" if !s.categories.is_empty() => {
                        OutputKind::Category(s.categories.clone())
                    }
                    "category" => {
                        return Err(EngineError::Config(format!(
                            "scorer '{name}': a category judge needs `categories`"
                        )));
                    }
                    other => {
                        return Err(EngineError::Config(format!(
                            "scorer '{name}': output '{other}' is not yes_no, score or category"
                        )));
                    }
                };
                let threshold = match output {
                    OutputKind::Score { min, max } => {
                        Some(s.threshold.unwrap_or((min + max) as f64 / 2.0))
                    }
                    _ => s.threshold,
                };
                let kind = JudgeKind::Custom {
                    name: name.clone(),
                    template: s.template.clone(),
                    output,
                };
                let client = client(&s.judge)?;
                let source_id = client.config().model.clone();
                Self {
                    panel: Panel::One(Box::new(Judge::new(kind, client).with_name(name))),
                    threshold,
                    source_id,
                }
            }
            ScorerSpec::Jury(s) => {
                let kind = builtin_kind(&s.of, &[]).ok_or_else(|| {
                    EngineError::Config(format!(
                        "scorer '{name}': `of: {}` is not a judge kind",
                        s.of
                    ))
                })?;
                let judges = s
                    .judges
                    .iter()
                    .map(|judge| {
                        Ok(Judge::new(kind.clone(), client(judge)?).with_name(judge.clone()))
                    })
                    .collect::<Result<Vec<_>, EngineError>>()?;
                let aggregate = match s.aggregate.as_deref().unwrap_or("vote") {
                    "vote" => Aggregate::Vote,
                    "mean" => Aggregate::Mean,
                    other => {
                        return Err(EngineError::Config(format!(
                            "scorer '{name}': aggregate '{other}' is not vote or mean"
                        )));
                    }
                };
                let source_id = format!("jury:{}", s.judges.join(","));
                Self {
                    panel: Panel::Jury(Jury::new(name, judges, aggregate)),
                    threshold: (aggregate == Aggregate::Mean).then_some(0.5),
                    source_id,
                }
            }
            _ => return Ok(None),
        };
        // A bad custom template or jury fails the suite now, not every row later.
        let checked = match &scorer.panel {
            Panel::One(judge) => judge.validate(),
            Panel::Jury(jury) => jury.validate(),
        };
        checked.map_err(|e| EngineError::Config(format!("scorer '{}': {e}", spec.name())))?;
        Ok(Some(scorer))
    }

    pub async fn score(&self, name: &str, input: &ScoreInput<'_>) -> Score {
        let inputs = Value::Object(input.row.inputs.clone());
        let expectations = Value::Object(input.row.expectations.clone());
        let row_guidelines: Option<Vec<String>> = input
            .row
            .expectations
            .get("guidelines")
            .and_then(crate::rows::passages);
        let judge_input = JudgeInput {
            inputs: &inputs,
            outputs: input.outputs,
            expectations: &expectations,
            retrieved_context: input.retrieved_context,
            row_guidelines: row_guidelines.as_deref(),
        };
        let start_ns = now_ns();
        let (result, members) = match &self.panel {
            Panel::One(judge) => (judge.judge(&judge_input).await, Vec::new()),
            Panel::Jury(jury) => match jury.judge(&judge_input).await {
                Ok(verdict) => (Ok(verdict.verdict), verdict.members),
                Err(error) => (Err(error), Vec::new()),
            },
        };
        let end_ns = now_ns();
        let mut calls = Vec::new();
        let span_inputs = json!({"judge": name, "outputs": input.outputs});
        match &result {
            Ok(verdict) => calls.push(CallRecord {
                name: format!("judge/{name}"),
                span_type: "LLM",
                inputs: span_inputs,
                outputs: json!({"value": verdict.value, "rationale": verdict.rationale,
                    "jurors": members.iter().map(|m| json!({
                        "judge": m.judge, "model": m.model,
                        "value": m.result.as_ref().ok().map(|v| v.value.clone()),
                        "error": m.result.as_ref().err().map(ToString::to_string),
                    })).collect::<Vec<_>>()}),
                start_ns,
                end_ns,
                model: Some(verdict.model.clone()),
                usage: verdict.usage,
                cached: verdict.cached,
                payer: Payer::Judge,
                error: None,
            }),
            Err(error) => calls.push(CallRecord {
                name: format!("judge/{name}"),
                span_type: "LLM",
                inputs: span_inputs,
                outputs: Value::Null,
                start_ns,
                end_ns,
                model: Some(self.source_id.clone()),
                usage: None,
                cached: false,
                payer: Payer::Judge,
                error: Some(error.to_string()),
            }),
        }
        match result {
            Ok(verdict) => {
                let (numeric, passed) = match &verdict.value {
                    Value::Bool(b) => (Some(f64::from(u8::from(*b))), Some(*b)),
                    Value::Number(n) => {
                        let n = n.as_f64();
                        (n, n.zip(self.threshold).map(|(n, t)| n >= t))
                    }
                    _ => (None, None),
                };
                Score {
                    scorer: name.to_owned(),
                    value: Some(verdict.value),
                    rationale: Some(verdict.rationale),
                    error: None,
                    source: SourceKind::LlmJudge,
                    source_id: self.source_id.clone(),
                    numeric,
                    passed,
                    calls,
                }
            }
            Err(error) => {
                let message = match &error {
                    JudgeError::Malformed { .. } => format!("malformed judge answer: {error}"),
                    _ => error.to_string(),
                };
                let mut score = Score::failed(name, SourceKind::LlmJudge, &self.source_id, message);
                score.calls = calls;
                score
            }
        }
    }
}

//! Scorers built from the suite: deterministic kernels from `judgeflow-scorers` and LLM
//! judges. Each gives exactly one [`Score`] per row — a value, or an error with its reason.

use judgeflow_scorers::{
    CaseSensitivity, ExactMatchOptions, JsonSchema, RegexMatcher, SchemaCheck, Whitespace,
};
use serde_json::{Value, json};

use crate::error::EngineError;
use crate::judge::JudgeScorer;
use crate::outcome::{Score, SourceKind};
use crate::rows::EvalRow;
use crate::suite::{ReferenceScorerSpec, ScorerSpec, TextScorerSpec};
use crate::template::text_of;

/// What a scorer sees of a row.
pub struct ScoreInput<'a> {
    pub row: &'a EvalRow,
    pub outputs: &'a Value,
    pub retrieved_context: Option<&'a [String]>,
    pub latency_ms: f64,
}

#[derive(Debug, Clone, Copy)]
enum Reference {
    ExactMatch(ExactMatchOptions),
    TokenF1,
    EditSimilarity,
    Rouge1,
    Rouge2,
    RougeL,
    Bleu,
    Chrf,
}

#[derive(Debug)]
enum Check {
    Contains {
        needle: Option<String>,
        expected: String,
    },
    ContainsAny(Vec<String>),
    ContainsAll(Vec<String>),
    StartsWith(String),
    Regex(RegexMatcher),
    JsonValid,
    JsonSchema(Box<JsonSchema>),
}

enum Kind {
    Reference {
        kind: Reference,
        expected: String,
        threshold: f64,
    },
    Check {
        check: Check,
        case: CaseSensitivity,
    },
    Latency {
        max_ms: Option<f64>,
    },
    Judge(Box<JudgeScorer>),
}

/// A scorer ready to run.
pub struct Scorer {
    pub name: String,
    kind: Kind,
}

fn case(ignore_case: bool) -> CaseSensitivity {
    if ignore_case {
        CaseSensitivity::Insensitive
    } else {
        CaseSensitivity::Sensitive
    }
}

impl Scorer {
    /// Builds a deterministic scorer; LLM judge kinds go through [`Scorer::judge`].
    pub fn deterministic(spec: &ScorerSpec) -> Result<Option<Self>, EngineError> {
        let name = spec.name();
        let config = |message: String| EngineError::Config(format!("scorer '{name}': {message}"));
        let reference = |kind: Reference, spec: &ReferenceScorerSpec| Kind::Reference {
            kind,
            expected: spec
                .expected
                .clone()
                .unwrap_or_else(|| "expected_response".into()),
            threshold: spec.threshold.unwrap_or(0.5),
        };
        let check = |check: Check, spec: &TextScorerSpec| Kind::Check {
            check,
            case: case(spec.ignore_case),
        };
        let kind = match spec {
            ScorerSpec::ExactMatch(s) => {
                let whitespace = match s.whitespace.as_deref() {
                    None | Some("exact") => Whitespace::Exact,
                    Some("trim") => Whitespace::Trim,
                    Some("collapse") => Whitespace::Collapse,
                    Some(other) => {
                        return Err(config(format!(
                            "whitespace '{other}' is not exact, trim or collapse"
                        )));
                    }
                };
                let options = ExactMatchOptions {
                    case: case(s.ignore_case),
                    whitespace,
                };
                reference(Reference::ExactMatch(options), s)
            }
            ScorerSpec::TokenF1(s) => reference(Reference::TokenF1, s),
            ScorerSpec::EditSimilarity(s) => reference(Reference::EditSimilarity, s),
            ScorerSpec::Rouge1(s) => reference(Reference::Rouge1, s),
            ScorerSpec::Rouge2(s) => reference(Reference::Rouge2, s),
            ScorerSpec::RougeL(s) => reference(Reference::RougeL, s),
            ScorerSpec::Bleu(s) => reference(Reference::Bleu, s),
            ScorerSpec::Chrf(s) => reference(Reference::Chrf, s),
            ScorerSpec::Contains(s) => check(
                Check::Contains {
                    needle: s.value.clone(),
                    expected: s
                        .expected
                        .clone()
                        .unwrap_or_else(|| "expected_response".into()),
                },
                s,
            ),
            ScorerSpec::ContainsAny(s) => check(Check::ContainsAny(s.values.clone()), s),
            ScorerSpec::ContainsAll(s) => check(Check::ContainsAll(s.values.clone()), s),
            ScorerSpec::StartsWith(s) => {
                let prefix = s
                    .value
                    .clone()
                    .ok_or_else(|| config("set `value`".into()))?;
                check(Check::StartsWith(prefix), s)
            }
            ScorerSpec::Regex(s) => {
                let pattern = s
                    .value
                    .as_deref()
                    .ok_or_else(|| config("set `value`".into()))?;
                let pattern = if s.ignore_case {
                    format!("(?i){pattern}")
                } else {
                    pattern.to_owned()
                };
                let matcher = RegexMatcher::new(&pattern).map_err(|e| config(e.to_string()))?;
                check(Check::Regex(matcher), s)
            }
            ScorerSpec::JsonValid(_) => Kind::Check {
                check: Check::JsonValid,
                case: CaseSensitivity::Sensitive,
            },
            ScorerSpec::JsonSchema(s) => {
                let schema = s
                    .schema
                    .as_ref()
                    .ok_or_else(|| config("set `schema`".into()))?;
                let schema = JsonSchema::new(schema).map_err(|e| config(e.to_string()))?;
                Kind::Check {
                    check: Check::JsonSchema(Box::new(schema)),
                    case: CaseSensitivity::Sensitive,
                }
            }
            ScorerSpec::Latency(s) => Kind::Latency { max_ms: s.max_ms },
            _ => return Ok(None),
        };
        Ok(Some(Self { name, kind }))
    }

    #[must_use]
    pub fn judge(name: String, judge: JudgeScorer) -> Self {
        Self {
            name,
            kind: Kind::Judge(Box::new(judge)),
        }
    }

    /// Scores one row. Never panics and never returns nothing: a failure is an error score.
    pub async fn score(&self, input: &ScoreInput<'_>) -> Score {
        match &self.kind {
            Kind::Judge(judge) => judge.score(&self.name, input).await,
            Kind::Reference {
                kind,
                expected,
                threshold,
            } => self.reference(*kind, expected, *threshold, input),
            Kind::Check { check, case } => self.check(check, *case, input),
            Kind::Latency { max_ms } => {
                let ms = input.latency_ms;
                self.code_score(json!(ms), Some(ms), max_ms.map(|max| ms <= max), None)
            }
        }
    }

    fn code_score(
        &self,
        value: Value,
        numeric: Option<f64>,
        passed: Option<bool>,
        rationale: Option<String>,
    ) -> Score {
        Score {
            scorer: self.name.clone(),
            value: Some(value),
            rationale,
            error: None,
            source: SourceKind::Code,
            source_id: self.name.clone(),
            numeric,
            passed,
            calls: Vec::new(),
        }
    }

    fn boolean(&self, value: bool, rationale: Option<String>) -> Score {
        self.code_score(
            Value::Bool(value),
            Some(f64::from(u8::from(value))),
            Some(value),
            rationale,
        )
    }

    fn failed(&self, error: impl Into<String>) -> Score {
        Score::failed(&self.name, SourceKind::Code, &self.name, error)
    }

    fn expected<'a>(input: &'a ScoreInput<'_>, key: &str) -> Result<&'a Value, String> {
        input
            .row
            .expectations
            .get(key)
            .filter(|v| !v.is_null())
            .ok_or_else(|| format!("the row has no expectation '{key}'"))
    }

    fn reference(
        &self,
        kind: Reference,
        key: &str,
        threshold: f64,
        input: &ScoreInput<'_>,
    ) -> Score {
        let expected = match Self::expected(input, key) {
            Ok(expected) => expected,
            Err(message) => return self.failed(message),
        };
        let output = text_of(input.outputs);
        // A list of references is allowed where the metric takes several (BLEU, chrF).
        let references: Vec<String> = match expected {
            Value::Array(items) => items.iter().map(text_of).collect(),
            other => vec![text_of(other)],
        };
        let first = references.first().cloned().unwrap_or_default();
        let numeric =
            |value: f64| self.code_score(json!(value), Some(value), Some(value >= threshold), None);
        match kind {
            Reference::ExactMatch(options) => {
                let hit = references
                    .iter()
                    .any(|r| judgeflow_scorers::exact_match(&output, r, options));
                self.boolean(hit, None)
            }
            Reference::TokenF1 => numeric(
                references
                    .iter()
                    .map(|r| judgeflow_scorers::token_f1(&output, r))
                    .fold(0.0, f64::max),
            ),
            Reference::EditSimilarity => {
                numeric(judgeflow_scorers::edit_similarity(&output, &first))
            }
            Reference::Rouge1 => numeric(judgeflow_scorers::rouge_n(1, &first, &output).fmeasure),
            Reference::Rouge2 => numeric(judgeflow_scorers::rouge_n(2, &first, &output).fmeasure),
            Reference::RougeL => numeric(judgeflow_scorers::rouge_l(&first, &output).fmeasure),
            Reference::Bleu => match judgeflow_scorers::sentence_bleu(&output, &references) {
                Ok(score) => numeric(score.score),
                Err(e) => self.failed(e.to_string()),
            },
            Reference::Chrf => match judgeflow_scorers::sentence_chrf(&output, &references) {
                Ok(score) => numeric(score.score),
                Err(e) => self.failed(e.to_string()),
            },
        }
    }

    fn check(&self, check: &Check, case: CaseSensitivity, input: &ScoreInput<'_>) -> Score {
        let output = text_of(input.outputs);
        match check {
            Check::Contains { needle, expected } => {
                let needle = match needle {
                    Some(needle) => needle.clone(),
                    None => match Self::expected(input, expected) {
                        Ok(value) => text_of(value),
                        Err(message) => return self.failed(message),
                    },
                };
                self.boolean(judgeflow_scorers::contains(&output, &needle, case), None)
            }
            Check::ContainsAny(needles) => self.boolean(
                judgeflow_scorers::contains_any(&output, needles, case),
                None,
            ),
            Check::ContainsAll(needles) => self.boolean(
                judgeflow_scorers::contains_all(&output, needles, case),
                None,
            ),
            Check::StartsWith(prefix) => {
                self.boolean(judgeflow_scorers::starts_with(&output, prefix, case), None)
            }
            Check::Regex(matcher) => self.boolean(matcher.is_match(&output), None),
            Check::JsonValid => {
                let valid = input.outputs.is_object()
                    || input.outputs.is_array()
                    || judgeflow_scorers::json_valid(&output);
                self.boolean(valid, None)
            }
            Check::JsonSchema(schema) => {
                let check = match input.outputs {
                    Value::String(text) => schema.check(text),
                    other => schema.check_value(other),
                };
                match check {
                    SchemaCheck::Valid => self.boolean(true, None),
                    SchemaCheck::NotJson { message } => {
                        self.boolean(false, Some(format!("not JSON: {message}")))
                    }
                    SchemaCheck::Invalid(violation) => self.boolean(
                        false,
                        Some(format!(
                            "at '{}': {}",
                            violation.instance_path, violation.message
                        )),
                    ),
                }
            }
        }
    }

    /// Whether this scorer calls an LLM.
    #[must_use]
    pub fn is_judge(&self) -> bool {
        matches!(self.kind, Kind::Judge(_))
    }
}

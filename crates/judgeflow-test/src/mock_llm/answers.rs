//! The stand-in's deterministic answers, written so tests can predict them.
//!
//! - **Target calls** (no JSON `response_format`): the answer set with
//!   [`super::MockState::set_answer`] for the last user message (trimmed), else that message
//!   echoed unchanged.
//! - **Judge calls** (`response_format` of type `json_object` or `json_schema`): a JSON object
//!   `{"rationale": "...", "result": ...}` (field names from [`JudgeRule`]), decided on the text
//!   of all messages joined by newlines:
//!   1. the first verdict set with [`super::MockState::set_verdict`] whose needle occurs in the
//!      text gives `result` (any JSON value: `"yes"`, `4`, `"B"`…);
//!   2. else `"yes"` when the text holds an expected section (`<expected>…</expected>`) and an
//!      output section (`<output>…</output>`) and the output contains the expected text,
//!      compared lowercased with whitespace runs collapsed; `"no"` when it does not. The last
//!      opening marker in the text starts each section, so instructions that mention a marker
//!      before the data do not confuse it;
//!   3. else `"no"`, with a rationale saying the sections were missing.
//! - **Rubric judge calls** (a message holding a `<Rubric>…</Rubric>` section, as promptfoo's
//!   `llm-rubric` grader sends, with or without a JSON `response_format`): a JSON object
//!   `{"reason": "...", "pass": true|false, "score": 1.0|0.0}` in the message text, decided by
//!   the same rules with the output read from promptfoo's `<Output>…</Output>` section: a set
//!   verdict's `"yes"` or `true` passes; else the output must contain the rubric's
//!   `<expected>…</expected>` text; a rubric without one fails, with a reason saying so.
//! - **Tokens**: a text of `c` characters counts `ceil(c / 4)` tokens; prompt tokens sum the
//!   messages. A `max_tokens` smaller than the answer cuts it to `max_tokens * 4` characters
//!   with `finish_reason: "length"`.

use serde_json::{Map, Value, json};

/// Where the judge finds the expected and the actual output, and how it names its fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JudgeRule {
    pub expected_open: String,
    pub expected_close: String,
    pub output_open: String,
    pub output_close: String,
    pub result_field: String,
    pub rationale_field: String,
}

impl Default for JudgeRule {
    fn default() -> Self {
        Self {
            expected_open: "<expected>".into(),
            expected_close: "</expected>".into(),
            output_open: "<output>".into(),
            output_close: "</output>".into(),
            result_field: "result".into(),
            rationale_field: "rationale".into(),
        }
    }
}

impl JudgeRule {
    /// The verdict object for a judge prompt, per the rules in the module docs.
    #[must_use]
    pub fn verdict(&self, prompt: &str, verdicts: &[(String, Value)]) -> Value {
        let (result, rationale) = if let Some((needle, result)) = verdicts
            .iter()
            .find(|(needle, _)| prompt.contains(needle.as_str()))
        {
            (
                result.clone(),
                format!("stand-in judge: the prompt contains {needle:?}, whose verdict was set"),
            )
        } else {
            let expected = section(prompt, &self.expected_open, &self.expected_close);
            let output = section(prompt, &self.output_open, &self.output_close);
            match (expected, output) {
                (Some(expected), Some(output))
                    if normalize(output).contains(&normalize(expected)) =>
                {
                    (
                        json!("yes"),
                        "stand-in judge: the output contains the expected text".to_owned(),
                    )
                }
                (Some(_), Some(_)) => (
                    json!("no"),
                    "stand-in judge: the output does not contain the expected text".to_owned(),
                ),
                _ => (
                    json!("no"),
                    format!(
                        "stand-in judge: no {}…{} and {}…{} sections in the prompt",
                        self.expected_open,
                        self.expected_close,
                        self.output_open,
                        self.output_close
                    ),
                ),
            }
        };
        let mut object = Map::new();
        object.insert(self.rationale_field.clone(), Value::String(rationale));
        object.insert(self.result_field.clone(), result);
        Value::Object(object)
    }
}

/// The marker that makes a request a rubric judge call (promptfoo's `llm-rubric` template).
const RUBRIC_OPEN: &str = "<Rubric>";
const RUBRIC_CLOSE: &str = "</Rubric>";

/// Whether `prompt` (all messages joined) is a rubric judge call.
#[must_use]
pub fn is_rubric_prompt(prompt: &str) -> bool {
    section(prompt, RUBRIC_OPEN, RUBRIC_CLOSE).is_some()
}

/// The `{"reason", "pass", "score"}` verdict for a rubric judge prompt, per the module docs.
#[must_use]
pub fn rubric_verdict(prompt: &str, verdicts: &[(String, Value)]) -> Value {
    let rule = JudgeRule {
        output_open: "<Output>".into(),
        output_close: "</Output>".into(),
        ..JudgeRule::default()
    };
    let verdict = rule.verdict(prompt, verdicts);
    let pass = matches!(&verdict[&rule.result_field], Value::Bool(true))
        || verdict[&rule.result_field].as_str() == Some("yes");
    json!({
        "reason": verdict[&rule.rationale_field],
        "pass": pass,
        "score": if pass { 1.0 } else { 0.0 },
    })
}

/// Text between the last `open` and the first `close` after it.
fn section<'a>(text: &'a str, open: &str, close: &str) -> Option<&'a str> {
    let start = text.rfind(open)? + open.len();
    let len = text[start..].find(close)?;
    Some(&text[start..start + len])
}

fn normalize(text: &str) -> String {
    text.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

/// `ceil(chars / 4)`: the stand-in's token count.
#[must_use]
pub fn token_count(text: &str) -> u64 {
    text.chars().count().div_ceil(4) as u64
}

/// `answer` cut to `max_tokens`, and the finish reason that goes with it.
pub(crate) fn truncate(answer: String, max_tokens: Option<u64>) -> (String, &'static str) {
    match max_tokens {
        Some(max) if token_count(&answer) > max => {
            (answer.chars().take((max * 4) as usize).collect(), "length")
        }
        _ => (answer, "stop"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn verdict(prompt: &str) -> Value {
        JudgeRule::default().verdict(prompt, &[])
    }

    #[test]
    fn yes_when_the_output_contains_the_expected_text() {
        let prompt =
            "Is it right?\n<expected>Paris</expected>\n<output>The capital is  PARIS.</output>";
        assert_eq!(verdict(prompt)["result"], "yes");
        let prompt = "<expected>Rome</expected><output>The capital is Paris.</output>";
        assert_eq!(verdict(prompt)["result"], "no");
    }

    #[test]
    fn the_last_opening_marker_starts_the_section() {
        let prompt =
            "Put the answer in <output> tags.\n<expected>a b</expected>\n<output>x A  B y</output>";
        assert_eq!(verdict(prompt)["result"], "yes");
    }

    #[test]
    fn missing_sections_are_a_no_with_a_reason() {
        let answer = verdict("no markers here");
        assert_eq!(answer["result"], "no");
        assert!(
            answer["rationale"]
                .as_str()
                .unwrap()
                .contains("no <expected>")
        );
    }

    #[test]
    fn a_set_verdict_wins_and_field_names_follow_the_rule() {
        let rule = JudgeRule {
            result_field: "score".into(),
            ..JudgeRule::default()
        };
        let verdicts = [("row-7".to_owned(), json!(4))];
        let answer = rule.verdict("<expected>a</expected><output>a</output> row-7", &verdicts);
        assert_eq!(answer["score"], 4);
        assert!(answer.get("result").is_none());
    }

    #[test]
    fn rubric_prompts_get_reason_pass_and_score() {
        let prompt = "You are grading output...\n<Output>\nIt is question 3.\n</Output>\n\
                      <Rubric>\nRestates <expected>question 3</expected>\n</Rubric>";
        assert!(is_rubric_prompt(prompt));
        let answer = rubric_verdict(prompt, &[]);
        assert_eq!(
            (&answer["pass"], &answer["score"]),
            (&json!(true), &json!(1.0))
        );
        assert!(answer["reason"].as_str().unwrap().contains("contains"));

        let answer = rubric_verdict("<Output>x</Output><Rubric>Is safe</Rubric>", &[]);
        assert_eq!(
            (&answer["pass"], &answer["score"]),
            (&json!(false), &json!(0.0))
        );
        let verdicts = [("Is safe".to_owned(), json!("yes"))];
        let answer = rubric_verdict("<Output>x</Output><Rubric>Is safe</Rubric>", &verdicts);
        assert_eq!(answer["pass"], true);
        assert!(!is_rubric_prompt(
            "<expected>a</expected><output>a</output>"
        ));
    }

    #[test]
    fn tokens_and_truncation() {
        assert_eq!(token_count(""), 0);
        assert_eq!(token_count("abcde"), 2);
        assert_eq!(
            truncate("abcdefghij".into(), Some(2)),
            ("abcdefgh".into(), "length")
        );
        assert_eq!(truncate("abcd".into(), Some(1)), ("abcd".into(), "stop"));
    }
}

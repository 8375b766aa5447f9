//! The suite file: what to evaluate, on which rows, with which scorers, and what passes.
//!
//! A suite is YAML. `${VAR}` and `${VAR:-default}` are replaced in the text before it is
//! parsed (`$${` writes a literal `${`), with values from a lookup the caller passes in: this
//! crate reads no environment itself. Unknown fields are errors, so a typo never silently
//! turns a check off. Every error is one line naming the file, the line and the field.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::Value;
use sha2::{Digest, Sha256};

/// A parsed suite, with where it came from.
#[derive(Debug, Clone)]
pub struct LoadedSuite {
    pub path: PathBuf,
    /// The file's folder: relative dataset and script paths are resolved against it.
    pub base_dir: PathBuf,
    /// SHA-256 of the interpolated text (secrets are never interpolated into it: keys are
    /// named by environment variable, not written).
    pub digest: String,
    pub suite: Suite,
    /// The lines of the fields that can turn out wrong only at run time (an unknown dataset
    /// name). Not the text itself: a header may hold an interpolated secret.
    field_lines: BTreeMap<&'static str, usize>,
}

/// Fields checked against the store when the run opens its dataset.
const RUNTIME_FIELDS: [&str; 4] = [
    "dataset.evaluation_dataset",
    "dataset.evaluation_dataset_id",
    "dataset.traces.experiment",
    "dataset.traces.filter",
];

impl LoadedSuite {
    /// The suite's name: its `name`, else the file's stem.
    #[must_use]
    pub fn name(&self) -> String {
        self.suite.name.clone().unwrap_or_else(|| {
            self.path
                .file_stem()
                .map_or_else(|| "suite".to_owned(), |s| s.to_string_lossy().into_owned())
        })
    }

    /// An error in `field` (a dotted path) found after loading, shaped like a load error:
    /// `file:line: field: message`.
    #[must_use]
    pub fn field_error(&self, field: &str, message: &str) -> SuiteError {
        SuiteError {
            path: self.path.clone(),
            line: self.field_lines.get(field).copied(),
            column: None,
            message: format!("{field}: {message}"),
        }
    }

    /// `path` taken relative to the suite file's folder unless absolute.
    #[must_use]
    pub fn resolve(&self, path: &str) -> PathBuf {
        let path = Path::new(path);
        if path.is_absolute() {
            path.to_owned()
        } else {
            self.base_dir.join(path)
        }
    }
}

/// A suite file's error, displayed as `file:line:column: message`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SuiteError {
    pub path: PathBuf,
    pub line: Option<usize>,
    pub column: Option<usize>,
    pub message: String,
}

impl fmt::Display for SuiteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.path.display())?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
            if let Some(column) = self.column {
                write!(f, ":{column}")?;
            }
        }
        write!(f, ": {}", self.message)
    }
}

impl std::error::Error for SuiteError {}

/// Reads, interpolates, parses and checks a suite file.
pub fn load(path: &Path, env: &dyn Fn(&str) -> Option<String>) -> Result<LoadedSuite, SuiteError> {
    let error = |line: Option<usize>, message: String| SuiteError {
        path: path.to_owned(),
        line,
        column: None,
        message,
    };
    let text = std::fs::read_to_string(path)
        .map_err(|e| error(None, format!("cannot read the suite file: {e}")))?;
    let text = interpolate(&text, env).map_err(|(line, message)| error(Some(line), message))?;
    let suite = parse(&text).map_err(|mut e| {
        path.clone_into(&mut e.path);
        e
    })?;
    let digest = hex(&Sha256::digest(text.as_bytes()));
    let base_dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .map_or_else(|| PathBuf::from("."), Path::to_owned);
    Ok(LoadedSuite {
        path: path.to_owned(),
        base_dir,
        digest,
        suite,
        field_lines: RUNTIME_FIELDS
            .into_iter()
            .filter_map(|field| Some((field, line_of(&text, field)?)))
            .collect(),
    })
}

/// Bytes as lowercase hex.
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut hex, byte| {
            use std::fmt::Write as _;
            let _ = write!(hex, "{byte:02x}");
            hex
        })
}

/// Parses interpolated suite text and checks what serde cannot (names, references).
pub fn parse(text: &str) -> Result<Suite, SuiteError> {
    let suite: Suite = serde_norway::from_str(text).map_err(|e| {
        let location = e.location();
        // The library appends " at line L column C"; the location goes in front instead.
        let mut message = e.to_string();
        if let Some(at) = message.find(" at line ") {
            message.truncate(at);
        }
        SuiteError {
            path: PathBuf::new(),
            line: location.as_ref().map(serde_norway::Location::line),
            column: location.as_ref().map(serde_norway::Location::column),
            message,
        }
    })?;
    suite.check().map_err(|(field, message)| SuiteError {
        path: PathBuf::new(),
        line: line_of(text, &field),
        column: None,
        message: format!("{field}: {message}"),
    })?;
    Ok(suite)
}

/// The line of a dotted field path (`scorers[0].judge`, `dataset.traces.filter`), for
/// semantic errors found after parsing: each key's first occurrence at or after the line of
/// the key before it, written as a block key or inside a flow mapping (`{path: a, …}`). A
/// best effort: lists are not counted.
fn line_of(text: &str, field: &str) -> Option<usize> {
    let lines: Vec<&str> = text.lines().collect();
    let mut from = 0;
    for key in field.split('.') {
        let key = key.split('[').next()?;
        let written = format!("{key}:");
        let at_start = |line: &&str| {
            let trimmed = line.trim_start().trim_start_matches("- ");
            trimmed.starts_with(&written)
        };
        let in_flow = |line: &&str| {
            line.match_indices(&written).any(|(at, _)| {
                line[..at]
                    .chars()
                    .next_back()
                    .is_some_and(|c| c == '{' || c == ',' || c == ' ')
            })
        };
        let rest = &lines[from..];
        from += rest
            .iter()
            .position(at_start)
            .or_else(|| rest.iter().position(in_flow))?;
    }
    Some(from + 1)
}

/// Replaces `${VAR}` and `${VAR:-default}`; `$${` stays a literal `${`. An unset variable
/// without a default is an error naming its line.
pub fn interpolate(
    text: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<String, (usize, String)> {
    let mut out = String::with_capacity(text.len());
    for (index, line) in text.split_inclusive('\n').enumerate() {
        let mut rest = line;
        while let Some(at) = rest.find("${") {
            if at > 0 && rest.as_bytes()[at - 1] == b'$' {
                out.push_str(&rest[..at - 1]);
                out.push_str("${");
                rest = &rest[at + 2..];
                continue;
            }
            out.push_str(&rest[..at]);
            let Some(end) = rest[at..].find('}') else {
                return Err((index + 1, "unclosed ${ in the suite".to_owned()));
            };
            let expression = &rest[at + 2..at + end];
            let (name, default) = match expression.split_once(":-") {
                Some((name, default)) => (name, Some(default)),
                None => (expression, None),
            };
            let valid =
                !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
            if !valid {
                return Err((
                    index + 1,
                    format!("invalid variable name in ${{{expression}}}"),
                ));
            }
            match (env(name).filter(|v| !v.is_empty()), default) {
                (Some(value), _) => out.push_str(&value),
                (None, Some(default)) => out.push_str(default),
                (None, None) => {
                    return Err((
                        index + 1,
                        format!(
                            "environment variable {name} is not set (write ${{{name}:-default}} for a default)"
                        ),
                    ));
                }
            }
            rest = &rest[at + end + 1..];
        }
        out.push_str(rest);
    }
    Ok(out)
}

/// The JSON Schema of a suite file, for editors and `docs/eval-suite.schema.json`.
#[must_use]
pub fn json_schema() -> Value {
    let schema = schemars::schema_for!(Suite);
    serde_json::to_value(schema).unwrap_or(Value::Null)
}

fn default_concurrency() -> usize {
    8
}

fn yes() -> bool {
    true
}

/// An evaluation suite.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Suite {
    /// The suite's name (tag `judgeflow.suite.name`); defaults to the file's stem.
    #[serde(default)]
    pub name: Option<String>,
    /// The MLflow experiment the run goes into (created when missing).
    pub experiment: String,
    /// The rows to evaluate.
    pub dataset: DatasetSpec,
    /// What produces each row's output.
    pub target: TargetSpec,
    /// Named judge models that LLM scorers refer to with `judge: <name>`.
    #[serde(default)]
    pub judges: BTreeMap<String, EndpointSpec>,
    /// The scorers, each giving one assessment per row.
    pub scorers: Vec<ScorerSpec>,
    /// Thresholds per scorer name; the run fails the gate when any is missed.
    #[serde(default)]
    pub gate: BTreeMap<String, GateSpec>,
    /// Rows in flight at once.
    #[serde(default = "default_concurrency")]
    pub concurrency: usize,
    /// The call cache of model and judge answers.
    #[serde(default)]
    pub cache: CacheSpec,
    /// Prices per model in US dollars per million tokens, over the built-in table.
    #[serde(default)]
    pub prices: BTreeMap<String, PriceSpec>,
}

/// Where the rows come from: exactly one of `path`, `evaluation_dataset`,
/// `evaluation_dataset_id` and `traces`.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DatasetSpec {
    /// A CSV, JSONL or Parquet file, relative to the suite file.
    #[serde(default)]
    pub path: Option<String>,
    /// `csv`, `jsonl` or `parquet`; by default from the file's extension (`path` only).
    #[serde(default)]
    pub format: Option<DataFormat>,
    /// Which columns become inputs, expectations and recorded outputs (`path` only).
    #[serde(default)]
    pub columns: ColumnsSpec,
    /// A stored MLflow evaluation dataset (`mlflow.genai.datasets.create_dataset`), by name:
    /// its records' inputs, expectations, outputs and tags, in the store's record order.
    #[serde(default)]
    pub evaluation_dataset: Option<String>,
    /// A stored MLflow evaluation dataset by id (`d-…`).
    #[serde(default)]
    pub evaluation_dataset_id: Option<String>,
    /// Stored traces selected by an MLflow trace filter, oldest first: each trace's request
    /// becomes `inputs`, its response recorded `outputs`, its expectation assessments
    /// `expectations`.
    #[serde(default)]
    pub traces: Option<TracesSpec>,
}

/// Traces as rows, as `mlflow.genai.evaluate(data=mlflow.search_traces(...))` takes them.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TracesSpec {
    /// The experiment whose traces are read.
    pub experiment: String,
    /// An MLflow trace search filter, e.g. `"trace.status = 'OK' AND tags.env = 'prod'"`
    /// (default: every trace).
    #[serde(default)]
    pub filter: Option<String>,
    /// At most this many traces (the oldest that match).
    #[serde(default)]
    pub max_rows: Option<usize>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum DataFormat {
    Csv,
    Jsonl,
    Parquet,
}

impl From<DataFormat> for judgeflow_datafiles::Format {
    fn from(format: DataFormat) -> Self {
        match format {
            DataFormat::Csv => Self::Csv,
            DataFormat::Jsonl => Self::Jsonl,
            DataFormat::Parquet => Self::Parquet,
        }
    }
}

impl From<&ColumnsSpec> for judgeflow_datafiles::ColumnMapping {
    fn from(columns: &ColumnsSpec) -> Self {
        Self {
            inputs: columns.inputs.clone(),
            expectations: columns.expectations.clone(),
            outputs: columns.outputs.clone(),
            tags: columns.tags.clone(),
            id: columns.id.clone(),
            context: columns.context.clone(),
        }
    }
}

/// The column mapping. With none given, columns named `inputs`, `expectations`, `outputs`
/// (objects or JSON text) are used as they are, as in MLflow's evaluation datasets.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ColumnsSpec {
    /// Columns that become `inputs.<column>`.
    #[serde(default)]
    pub inputs: Vec<String>,
    /// Columns that become `expectations.<column>` (`expected_response`, `expected_facts`,
    /// `guidelines`, …).
    #[serde(default)]
    pub expectations: Vec<String>,
    /// The column holding a recorded output (for `target: {kind: recorded}`).
    #[serde(default)]
    pub outputs: Option<String>,
    /// A column with a stable row id.
    #[serde(default)]
    pub id: Option<String>,
    /// A column with retrieved context (a list of passages or one text).
    #[serde(default)]
    pub context: Option<String>,
    /// Columns that become trace tags.
    #[serde(default)]
    pub tags: Vec<String>,
}

/// What produces a row's output.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum TargetSpec {
    /// An OpenAI-compatible chat endpoint (OpenAI, Azure, Databricks serving, vLLM, Ollama).
    Openai(OpenAiTargetSpec),
    /// Any HTTP endpoint: a templated JSON body, the answer found by a JSON path.
    Http(HttpTargetSpec),
    /// A long-lived local process speaking JSON lines on stdin and stdout.
    Command(CommandTargetSpec),
    /// The dataset's recorded outputs: no call at all.
    Recorded(RecordedTargetSpec),
}

#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RecordedTargetSpec {}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OpenAiTargetSpec {
    /// The API root, e.g. `https://api.openai.com/v1`.
    pub base_url: String,
    pub model: String,
    /// The environment variable holding the API key (never the key itself).
    #[serde(default)]
    pub api_key_env: Option<String>,
    #[serde(default)]
    pub params: BTreeMap<String, Value>,
    #[serde(default)]
    pub limits: LimitsSpec,
    #[serde(default)]
    pub timeout_s: Option<f64>,
    #[serde(default)]
    pub max_attempts: Option<u32>,
    /// The messages sent, with `{{inputs.x}}` placeholders. Default: one user message of
    /// `{{inputs}}` (the only input's text, or the inputs as JSON).
    #[serde(default)]
    pub messages: Vec<MessageSpec>,
}

impl OpenAiTargetSpec {
    /// The endpoint part, shaped like a judge model's.
    #[must_use]
    pub fn endpoint(&self) -> EndpointSpec {
        EndpointSpec {
            base_url: self.base_url.clone(),
            model: self.model.clone(),
            api_key_env: self.api_key_env.clone(),
            params: self.params.clone(),
            limits: self.limits.clone(),
            timeout_s: self.timeout_s,
            max_attempts: self.max_attempts,
        }
    }
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MessageSpec {
    /// `system`, `user`, `assistant` or `developer`.
    pub role: String,
    pub content: String,
}

/// One OpenAI-compatible endpoint: a target or a judge model.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EndpointSpec {
    /// The API root, e.g. `https://api.openai.com/v1`; calls go to `{base_url}/chat/completions`.
    pub base_url: String,
    pub model: String,
    /// The environment variable holding the API key (never the key itself).
    #[serde(default)]
    pub api_key_env: Option<String>,
    /// Request parameters (`temperature`, `max_tokens`, `seed`, …).
    #[serde(default)]
    pub params: BTreeMap<String, Value>,
    /// How hard to push this endpoint.
    #[serde(default)]
    pub limits: LimitsSpec,
    /// Seconds for one HTTP attempt.
    #[serde(default)]
    pub timeout_s: Option<f64>,
    /// Attempts per call, the first included.
    #[serde(default)]
    pub max_attempts: Option<u32>,
}

/// Per-endpoint limits.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LimitsSpec {
    /// Requests in flight at once (default 8, lowered adaptively on 429).
    #[serde(default)]
    pub max_concurrency: Option<usize>,
    /// Requests per minute.
    #[serde(default)]
    pub rpm: Option<u32>,
    /// Tokens per minute.
    #[serde(default)]
    pub tpm: Option<u32>,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HttpTargetSpec {
    pub url: String,
    /// Default `POST`.
    #[serde(default)]
    pub method: Option<String>,
    /// Header values may use `${VAR}` for secrets.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// The JSON body; strings in it may hold `{{inputs.x}}` placeholders.
    #[serde(default)]
    pub body: Option<Value>,
    /// A JSON path to the answer in the response, e.g. `$.choices[0].message.content`
    /// (default: the whole body).
    #[serde(default)]
    pub answer: Option<String>,
    /// A JSON path to the retrieved context in the response.
    #[serde(default)]
    pub context: Option<String>,
    #[serde(default)]
    pub timeout_s: Option<f64>,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CommandTargetSpec {
    /// The program and its arguments, started once. It reads one JSON object per line on
    /// stdin (`{"id": …, "inputs": {…}}`) and answers one per line on stdout
    /// (`{"id": …, "outputs": …, "retrieved_context": …}` or `{"id": …, "error": "…"}`).
    pub argv: Vec<String>,
    #[serde(default)]
    pub timeout_s: Option<f64>,
}

/// Deterministic options shared by reference-based scorers.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReferenceScorerSpec {
    /// The assessment name (default: the kind).
    #[serde(default)]
    pub name: Option<String>,
    /// The expectation compared against (default `expected_response`).
    #[serde(default)]
    pub expected: Option<String>,
    /// A numeric score at or above this passes (default 0.5).
    #[serde(default)]
    pub threshold: Option<f64>,
    #[serde(default)]
    pub ignore_case: bool,
    /// Exact match only: `exact`, `trim` or `collapse`.
    #[serde(default)]
    pub whitespace: Option<String>,
}

/// A check of the output alone, against values given in the suite.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TextScorerSpec {
    #[serde(default)]
    pub name: Option<String>,
    /// The needle (`contains`, `starts_with`) or pattern (`regex`); for `contains` without
    /// it, the row's `expected` expectation.
    #[serde(default)]
    pub value: Option<String>,
    /// The needles of `contains_any` / `contains_all`.
    #[serde(default)]
    pub values: Vec<String>,
    /// For `contains` without `value`: the expectation holding the needle.
    #[serde(default)]
    pub expected: Option<String>,
    #[serde(default)]
    pub ignore_case: bool,
}

#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct JsonScorerSpec {
    #[serde(default)]
    pub name: Option<String>,
    /// `json_schema` only: the schema the output must match.
    #[serde(default)]
    pub schema: Option<Value>,
}

#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LatencyScorerSpec {
    #[serde(default)]
    pub name: Option<String>,
    /// A row at or under this many milliseconds passes.
    #[serde(default)]
    pub max_ms: Option<f64>,
}

/// An LLM judge scorer.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct JudgeScorerSpec {
    #[serde(default)]
    pub name: Option<String>,
    /// The judge model's name under `judges`.
    pub judge: String,
    /// `guidelines` only: rules every answer must follow (rows may add their own in the
    /// `guidelines` expectation).
    #[serde(default)]
    pub guidelines: Vec<String>,
}

/// A custom judge from a prompt template.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CustomJudgeSpec {
    pub name: String,
    pub judge: String,
    /// The prompt, with `{{inputs}}`, `{{outputs}}`, `{{expectations}}` (or `{{inputs.x}}`).
    pub template: String,
    /// `yes_no` (default), `score` (with `min`/`max`) or `category` (with `categories`).
    #[serde(default)]
    pub output: Option<String>,
    #[serde(default)]
    pub min: Option<i64>,
    #[serde(default)]
    pub max: Option<i64>,
    #[serde(default)]
    pub categories: Vec<String>,
    /// A numeric score at or above this passes (default: the middle of the range).
    #[serde(default)]
    pub threshold: Option<f64>,
}

/// Several judge models asked the same question.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct JurySpec {
    pub name: String,
    /// Judge model names under `judges`.
    pub judges: Vec<String>,
    /// The question each juror answers: a built-in judge kind (`correctness`, `safety`, …).
    pub of: String,
    /// `vote` (majority, default) or `mean`.
    #[serde(default)]
    pub aggregate: Option<String>,
}

/// A scorer: one assessment per row.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ScorerSpec {
    ExactMatch(ReferenceScorerSpec),
    TokenF1(ReferenceScorerSpec),
    EditSimilarity(ReferenceScorerSpec),
    Rouge1(ReferenceScorerSpec),
    Rouge2(ReferenceScorerSpec),
    #[serde(rename = "rougeL")]
    RougeL(ReferenceScorerSpec),
    Bleu(ReferenceScorerSpec),
    Chrf(ReferenceScorerSpec),
    Contains(TextScorerSpec),
    ContainsAny(TextScorerSpec),
    ContainsAll(TextScorerSpec),
    StartsWith(TextScorerSpec),
    Regex(TextScorerSpec),
    JsonValid(JsonScorerSpec),
    JsonSchema(JsonScorerSpec),
    Latency(LatencyScorerSpec),
    Correctness(JudgeScorerSpec),
    RelevanceToQuery(JudgeScorerSpec),
    RetrievalGroundedness(JudgeScorerSpec),
    RetrievalRelevance(JudgeScorerSpec),
    RetrievalSufficiency(JudgeScorerSpec),
    Safety(JudgeScorerSpec),
    Guidelines(JudgeScorerSpec),
    Custom(CustomJudgeSpec),
    Jury(JurySpec),
}

impl ScorerSpec {
    /// The kind as written in the suite.
    #[must_use]
    pub fn kind(&self) -> &'static str {
        match self {
            Self::ExactMatch(_) => "exact_match",
            Self::TokenF1(_) => "token_f1",
            Self::EditSimilarity(_) => "edit_similarity",
            Self::Rouge1(_) => "rouge1",
            Self::Rouge2(_) => "rouge2",
            Self::RougeL(_) => "rougeL",
            Self::Bleu(_) => "bleu",
            Self::Chrf(_) => "chrf",
            Self::Contains(_) => "contains",
            Self::ContainsAny(_) => "contains_any",
            Self::ContainsAll(_) => "contains_all",
            Self::StartsWith(_) => "starts_with",
            Self::Regex(_) => "regex",
            Self::JsonValid(_) => "json_valid",
            Self::JsonSchema(_) => "json_schema",
            Self::Latency(_) => "latency",
            Self::Correctness(_) => "correctness",
            Self::RelevanceToQuery(_) => "relevance_to_query",
            Self::RetrievalGroundedness(_) => "retrieval_groundedness",
            Self::RetrievalRelevance(_) => "retrieval_relevance",
            Self::RetrievalSufficiency(_) => "retrieval_sufficiency",
            Self::Safety(_) => "safety",
            Self::Guidelines(_) => "guidelines",
            Self::Custom(_) => "custom",
            Self::Jury(_) => "jury",
        }
    }

    /// The assessment name: the scorer's `name`, else its kind.
    #[must_use]
    pub fn name(&self) -> String {
        let explicit = match self {
            Self::ExactMatch(s)
            | Self::TokenF1(s)
            | Self::EditSimilarity(s)
            | Self::Rouge1(s)
            | Self::Rouge2(s)
            | Self::RougeL(s)
            | Self::Bleu(s)
            | Self::Chrf(s) => s.name.clone(),
            Self::Contains(s)
            | Self::ContainsAny(s)
            | Self::ContainsAll(s)
            | Self::StartsWith(s)
            | Self::Regex(s) => s.name.clone(),
            Self::JsonValid(s) | Self::JsonSchema(s) => s.name.clone(),
            Self::Latency(s) => s.name.clone(),
            Self::Correctness(s)
            | Self::RelevanceToQuery(s)
            | Self::RetrievalGroundedness(s)
            | Self::RetrievalRelevance(s)
            | Self::RetrievalSufficiency(s)
            | Self::Safety(s)
            | Self::Guidelines(s) => s.name.clone(),
            Self::Custom(s) => Some(s.name.clone()),
            Self::Jury(s) => Some(s.name.clone()),
        };
        explicit.unwrap_or_else(|| self.kind().to_owned())
    }

    /// The judge models this scorer calls.
    #[must_use]
    pub fn judge_names(&self) -> Vec<&str> {
        match self {
            Self::Correctness(s)
            | Self::RelevanceToQuery(s)
            | Self::RetrievalGroundedness(s)
            | Self::RetrievalRelevance(s)
            | Self::RetrievalSufficiency(s)
            | Self::Safety(s)
            | Self::Guidelines(s) => vec![s.judge.as_str()],
            Self::Custom(s) => vec![s.judge.as_str()],
            Self::Jury(s) => s.judges.iter().map(String::as_str).collect(),
            _ => Vec::new(),
        }
    }
}

/// Thresholds for one scorer.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GateSpec {
    /// The lowest acceptable mean of the scorer's values.
    #[serde(default)]
    pub min_mean: Option<f64>,
    /// The lowest acceptable share of rows that pass, in `[0, 1]`.
    #[serde(default)]
    pub min_pass_rate: Option<f64>,
    /// The most rows allowed to have this scorer fail with an error (default: any).
    #[serde(default)]
    pub max_errors: Option<u64>,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CacheSpec {
    /// Answer repeated model and judge calls from the store (default on).
    #[serde(default = "yes")]
    pub enabled: bool,
    /// Seconds an entry stays valid (default: forever).
    #[serde(default)]
    pub ttl_s: Option<u64>,
}

impl Default for CacheSpec {
    fn default() -> Self {
        Self {
            enabled: true,
            ttl_s: None,
        }
    }
}

/// US dollars per million tokens.
#[derive(Debug, Clone, Copy, Deserialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PriceSpec {
    pub input: f64,
    pub output: f64,
}

impl DatasetSpec {
    /// Exactly one source; file options only with a file.
    fn check(&self) -> Result<(), (String, String)> {
        let sources = [
            ("path", self.path.is_some()),
            ("evaluation_dataset", self.evaluation_dataset.is_some()),
            (
                "evaluation_dataset_id",
                self.evaluation_dataset_id.is_some(),
            ),
            ("traces", self.traces.is_some()),
        ];
        let named: Vec<&str> = sources
            .iter()
            .filter(|(_, on)| *on)
            .map(|(n, _)| *n)
            .collect();
        match named.as_slice() {
            [] => {
                return Err((
                    "dataset".into(),
                    "name one source: path, evaluation_dataset, evaluation_dataset_id or traces"
                        .into(),
                ));
            }
            [_] => {}
            [_, second, ..] => {
                return Err((
                    format!("dataset.{second}"),
                    format!("one source per suite, not {}", named.join(" and ")),
                ));
            }
        }
        if self.path.is_none() {
            let columns = &self.columns;
            let mapped = !columns.inputs.is_empty()
                || !columns.expectations.is_empty()
                || !columns.tags.is_empty()
                || columns.outputs.is_some()
                || columns.id.is_some()
                || columns.context.is_some();
            if self.format.is_some() {
                return Err(("dataset.format".into(), "applies to `path` only".into()));
            }
            if mapped {
                return Err(("dataset.columns".into(), "applies to `path` only".into()));
            }
        }
        if let Some(traces) = &self.traces
            && traces.max_rows == Some(0)
        {
            return Err(("dataset.max_rows".into(), "must be at least 1".into()));
        }
        Ok(())
    }
}

impl Suite {
    /// Checks references and values that the types alone cannot: (field path, message).
    fn check(&self) -> Result<(), (String, String)> {
        if self.concurrency == 0 {
            return Err(("concurrency".into(), "must be at least 1".into()));
        }
        if self.scorers.is_empty() {
            return Err(("scorers".into(), "name at least one scorer".into()));
        }
        let mut names = std::collections::BTreeSet::new();
        for (i, scorer) in self.scorers.iter().enumerate() {
            let name = scorer.name();
            if !names.insert(name.clone()) {
                return Err((
                    format!("scorers[{i}].name"),
                    format!("two scorers are named '{name}'; give one a `name`"),
                ));
            }
            for judge in scorer.judge_names() {
                if !self.judges.contains_key(judge) {
                    return Err((
                        format!("scorers[{i}].judge"),
                        format!("no judge model named '{judge}' under `judges`"),
                    ));
                }
            }
        }
        for name in self.gate.keys() {
            if !names.contains(name) {
                return Err((format!("gate.{name}"), format!("no scorer named '{name}'")));
            }
        }
        self.dataset.check()?;
        if let TargetSpec::Command(command) = &self.target
            && command.argv.is_empty()
        {
            return Err(("target.argv".into(), "name the program to run".into()));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(name: &str) -> Option<String> {
        (name == "HOST").then(|| "example.org".to_owned())
    }

    #[test]
    fn interpolation_with_defaults_and_escapes() {
        let text = "a: ${HOST}\nb: ${PORT:-8080}\nc: $${HOST}\n";
        assert_eq!(
            interpolate(text, &env).unwrap(),
            "a: example.org\nb: 8080\nc: ${HOST}\n"
        );
        let (line, message) = interpolate("a: 1\nb: ${MISSING}\n", &env).unwrap_err();
        assert_eq!(line, 2);
        assert!(message.contains("MISSING"), "{message}");
    }

    #[test]
    fn a_typo_names_line_and_field() {
        let text = "experiment: e\ndataset: {path: d.jsonl}\ntarget: {kind: recorded}\nscorers:\n  - kind: exact_match\n    treshold: 0.5\n";
        let error = parse(text).unwrap_err();
        assert!(error.message.contains("treshold"), "{}", error.message);
        assert!(error.line.is_some());
    }

    #[test]
    fn exactly_one_dataset_source() {
        let suite = |dataset: &str| {
            format!(
                "experiment: e\ndataset: {dataset}\ntarget: {{kind: recorded}}\nscorers:\n  - kind: exact_match\n"
            )
        };
        let parsed = parse(&suite("{evaluation_dataset: qa}")).unwrap();
        assert_eq!(parsed.dataset.evaluation_dataset.as_deref(), Some("qa"));
        let parsed = parse(&suite(
            "{traces: {experiment: prod, filter: \"trace.status = 'OK'\", max_rows: 5}}",
        ))
        .unwrap();
        assert_eq!(parsed.dataset.traces.unwrap().max_rows, Some(5));
        let error = parse(&suite("{path: d.jsonl, evaluation_dataset: qa}")).unwrap_err();
        assert_eq!(error.line, Some(2));
        assert_eq!(
            error.message,
            "dataset.evaluation_dataset: one source per suite, not path and evaluation_dataset"
        );
        let error = parse(&suite("{}")).unwrap_err();
        assert!(
            error.message.starts_with("dataset: name one source"),
            "{}",
            error.message
        );
        let error = parse(&suite("{evaluation_dataset: qa, format: csv}")).unwrap_err();
        assert_eq!(error.message, "dataset.format: applies to `path` only");
        let error = parse(&suite("{traces: {experimnt: prod}}")).unwrap_err();
        assert!(error.message.contains("experimnt"), "{}", error.message);
    }

    #[test]
    fn field_lines_follow_the_path() {
        let text = "experiment: e\nname: n\ndataset:\n  traces: {experiment: prod, filter: x}\n";
        assert_eq!(line_of(text, "experiment"), Some(1));
        assert_eq!(line_of(text, "dataset.traces.experiment"), Some(4));
        assert_eq!(line_of(text, "dataset.traces.filter"), Some(4));
        assert_eq!(line_of(text, "dataset.evaluation_dataset"), None);
    }

    #[test]
    fn references_are_checked() {
        let text = "experiment: e\ndataset: {path: d.jsonl}\ntarget: {kind: recorded}\nscorers:\n  - kind: correctness\n    judge: nobody\n";
        let error = parse(text).unwrap_err();
        assert_eq!(error.line, Some(6));
        assert!(
            error.message.contains("scorers[0].judge"),
            "{}",
            error.message
        );
    }
}

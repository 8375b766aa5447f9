//! MLflow's search grammar: a conjunction of comparisons (`metrics.loss < 1 AND
//! tags.`mlflow.user` = 'ana'`) and order-by clauses (`metrics.loss DESC`).
//!
//! One parser serves every searchable entity. [`parse_filter`] turns the text into
//! [`Comparison`]s; a [`Grammar`] then says which entity types, keys, operators and value kinds
//! are legal for runs, experiments or logged models, so each store only sees validated input.

mod lexer;

use lexer::{Token, TokenKind, tokenize};
use std::fmt;

/// A filter or order-by string that does not follow the grammar. `position` is the byte offset
/// of the offending token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchError {
    pub message: String,
    pub position: usize,
    pub input: String,
}

impl SearchError {
    fn new(input: &str, position: usize, message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            position,
            input: input.to_owned(),
        }
    }
}

impl fmt::Display for SearchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} (at position {} in '{}')",
            self.message, self.position, self.input
        )
    }
}

impl std::error::Error for SearchError {}

/// What a comparison's left side names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EntityType {
    Metric,
    Param,
    Tag,
    Attribute,
    Dataset,
    /// Trace metadata (`metadata.` / `request_metadata.`).
    Metadata,
    /// A span of a trace: `span.name`, `span.type`, `span.status`, `span.content`.
    Span,
    /// A trace's valid feedback of that name.
    Feedback,
    /// A trace's valid expectation of that name.
    Expectation,
}

impl EntityType {
    fn from_prefix(prefix: &str) -> Option<Self> {
        match prefix.to_ascii_lowercase().as_str() {
            "metric" | "metrics" => Some(Self::Metric),
            "param" | "params" | "parameter" | "parameters" => Some(Self::Param),
            "tag" | "tags" => Some(Self::Tag),
            "attribute" | "attributes" | "attr" | "run" | "trace" => Some(Self::Attribute),
            "dataset" | "datasets" => Some(Self::Dataset),
            "metadata" | "request_metadata" => Some(Self::Metadata),
            "span" => Some(Self::Span),
            "feedback" => Some(Self::Feedback),
            "expectation" => Some(Self::Expectation),
            _ => None,
        }
    }

    fn noun(self) -> &'static str {
        match self {
            Self::Metric => "metric",
            Self::Param => "param",
            Self::Tag => "tag",
            Self::Attribute => "attribute",
            Self::Dataset => "dataset",
            Self::Metadata => "metadata",
            Self::Span => "span",
            Self::Feedback => "feedback",
            Self::Expectation => "expectation",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CompareOp {
    Eq,
    Ne,
    Gt,
    Ge,
    Lt,
    Le,
    Like,
    ILike,
    /// A regular expression match (traces only).
    RLike,
    In,
    NotIn,
    IsNull,
    IsNotNull,
}

impl CompareOp {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Eq => "=",
            Self::Ne => "!=",
            Self::Gt => ">",
            Self::Ge => ">=",
            Self::Lt => "<",
            Self::Le => "<=",
            Self::Like => "LIKE",
            Self::ILike => "ILIKE",
            Self::RLike => "RLIKE",
            Self::In => "IN",
            Self::NotIn => "NOT IN",
            Self::IsNull => "IS NULL",
            Self::IsNotNull => "IS NOT NULL",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    String(String),
    Number(f64),
    List(Vec<String>),
    /// The right side of `IS NULL` / `IS NOT NULL`.
    Null,
}

impl Literal {
    #[must_use]
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Self::String(s) => Some(s),
            _ => None,
        }
    }
}

/// One validated `<type>.<key> <op> <value>` clause.
#[derive(Debug, Clone, PartialEq)]
pub struct Comparison {
    pub entity: EntityType,
    pub key: String,
    pub op: CompareOp,
    pub value: Literal,
}

/// One validated order-by clause.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderBy {
    pub entity: EntityType,
    pub key: String,
    pub ascending: bool,
}

/// The kind of value a key compares against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueKind {
    String,
    Number,
    /// Assessments: a number for `<`, `<=`, `>`, `>=`, a quoted string otherwise.
    StringOrNumber,
}

/// The rules of one searchable entity: which types exist, their operators and attribute keys.
pub struct Grammar {
    pub name: &'static str,
    /// Entity types allowed, with the operators each takes and the kind of its values.
    pub types: &'static [(EntityType, &'static [CompareOp], ValueKind)],
    /// Attribute keys (after alias resolution) and their value kinds.
    pub attributes: &'static [(&'static str, ValueKind)],
    /// Aliases of attribute keys, such as `"run name"` → `run_name`.
    pub attribute_aliases: &'static [(&'static str, &'static str)],
    /// Keys of the `dataset` type, if the grammar has one.
    pub dataset_keys: &'static [&'static str],
    /// Keys of the `span` type, with their operators, if the grammar has one.
    pub span_keys: &'static [(&'static str, &'static [CompareOp])],
}

const NUMERIC_OPS: &[CompareOp] = &[
    CompareOp::Eq,
    CompareOp::Ne,
    CompareOp::Gt,
    CompareOp::Ge,
    CompareOp::Lt,
    CompareOp::Le,
];
const STRING_OPS: &[CompareOp] = &[
    CompareOp::Eq,
    CompareOp::Ne,
    CompareOp::Like,
    CompareOp::ILike,
    CompareOp::IsNull,
    CompareOp::IsNotNull,
];
const STRING_ATTRIBUTE_OPS: &[CompareOp] = &[
    CompareOp::Eq,
    CompareOp::Ne,
    CompareOp::Like,
    CompareOp::ILike,
    CompareOp::In,
    CompareOp::NotIn,
];

/// Runs: `metrics.`, `params.`, `tags.`, `attributes.` and `datasets.`.
pub const RUNS: Grammar = Grammar {
    name: "runs",
    types: &[
        (EntityType::Metric, NUMERIC_OPS, ValueKind::Number),
        (EntityType::Param, STRING_OPS, ValueKind::String),
        (EntityType::Tag, STRING_OPS, ValueKind::String),
        (
            EntityType::Attribute,
            STRING_ATTRIBUTE_OPS,
            ValueKind::String,
        ),
        (EntityType::Dataset, STRING_ATTRIBUTE_OPS, ValueKind::String),
    ],
    attributes: &[
        ("run_id", ValueKind::String),
        ("run_name", ValueKind::String),
        ("status", ValueKind::String),
        ("user_id", ValueKind::String),
        ("artifact_uri", ValueKind::String),
        ("lifecycle_stage", ValueKind::String),
        ("start_time", ValueKind::Number),
        ("end_time", ValueKind::Number),
    ],
    attribute_aliases: &[
        ("run name", "run_name"),
        ("created", "start_time"),
        ("Created", "start_time"),
    ],
    dataset_keys: &["name", "digest", "context"],
    span_keys: &[],
};

/// Experiments: attributes and `tags.`.
pub const EXPERIMENTS: Grammar = Grammar {
    name: "experiments",
    types: &[
        (EntityType::Tag, STRING_OPS, ValueKind::String),
        (
            EntityType::Attribute,
            STRING_ATTRIBUTE_OPS,
            ValueKind::String,
        ),
    ],
    attributes: &[
        ("name", ValueKind::String),
        ("experiment_id", ValueKind::String),
        ("creation_time", ValueKind::Number),
        ("last_update_time", ValueKind::Number),
    ],
    attribute_aliases: &[],
    dataset_keys: &[],
    span_keys: &[],
};

/// Logged models: attributes, `tags.`, `params.` and `metrics.`.
pub const LOGGED_MODELS: Grammar = Grammar {
    name: "logged models",
    types: &[
        (EntityType::Metric, NUMERIC_OPS, ValueKind::Number),
        (EntityType::Param, STRING_OPS, ValueKind::String),
        (EntityType::Tag, STRING_OPS, ValueKind::String),
        (
            EntityType::Attribute,
            STRING_ATTRIBUTE_OPS,
            ValueKind::String,
        ),
    ],
    attributes: &[
        ("name", ValueKind::String),
        ("model_id", ValueKind::String),
        ("model_type", ValueKind::String),
        ("status", ValueKind::String),
        ("source_run_id", ValueKind::String),
        ("creation_timestamp", ValueKind::Number),
        ("last_updated_timestamp", ValueKind::Number),
    ],
    attribute_aliases: &[
        ("creation_time", "creation_timestamp"),
        ("last_updated_time", "last_updated_timestamp"),
    ],
    dataset_keys: &[],
    span_keys: &[],
};

/// Registry tags take no IS NULL: MLflow's registry grammar has only these four.
const REGISTRY_TAG_OPS: &[CompareOp] = &[
    CompareOp::Eq,
    CompareOp::Ne,
    CompareOp::Like,
    CompareOp::ILike,
];

/// Registered models: `name` and `tags.`. The timestamps are order-by keys; `timestamp` means
/// the last update, as in MLflow's SQL store.
pub const REGISTERED_MODELS: Grammar = Grammar {
    name: "registered models",
    types: &[
        (EntityType::Tag, REGISTRY_TAG_OPS, ValueKind::String),
        (
            EntityType::Attribute,
            STRING_ATTRIBUTE_OPS,
            ValueKind::String,
        ),
    ],
    attributes: &[
        ("name", ValueKind::String),
        ("creation_timestamp", ValueKind::Number),
        ("last_updated_timestamp", ValueKind::Number),
    ],
    attribute_aliases: &[("timestamp", "last_updated_timestamp")],
    dataset_keys: &[],
    span_keys: &[],
};

/// Model versions: `name`, `version_number`, `run_id`, `source_path` and `tags.`.
pub const MODEL_VERSIONS: Grammar = Grammar {
    name: "model versions",
    types: &[
        (EntityType::Tag, REGISTRY_TAG_OPS, ValueKind::String),
        (
            EntityType::Attribute,
            STRING_ATTRIBUTE_OPS,
            ValueKind::String,
        ),
    ],
    attributes: &[
        ("name", ValueKind::String),
        ("version_number", ValueKind::Number),
        ("run_id", ValueKind::String),
        ("source_path", ValueKind::String),
        ("creation_timestamp", ValueKind::Number),
        ("last_updated_timestamp", ValueKind::Number),
    ],
    attribute_aliases: &[],
    dataset_keys: &[],
    span_keys: &[],
};

const TRACE_TAG_OPS: &[CompareOp] = &[
    CompareOp::Eq,
    CompareOp::Ne,
    CompareOp::Like,
    CompareOp::ILike,
    CompareOp::RLike,
    CompareOp::IsNull,
    CompareOp::IsNotNull,
];
const TRACE_ATTRIBUTE_OPS: &[CompareOp] = &[
    CompareOp::Eq,
    CompareOp::Ne,
    CompareOp::Like,
    CompareOp::ILike,
    CompareOp::RLike,
    CompareOp::In,
    CompareOp::NotIn,
];
const ASSESSMENT_OPS: &[CompareOp] = &[
    CompareOp::Eq,
    CompareOp::Ne,
    CompareOp::Gt,
    CompareOp::Ge,
    CompareOp::Lt,
    CompareOp::Le,
    CompareOp::Like,
    CompareOp::ILike,
    CompareOp::RLike,
    CompareOp::IsNull,
    CompareOp::IsNotNull,
];

/// Traces: attributes (`trace.` is an alias of `attributes.`), `tags.`, `metadata.`, `span.`,
/// `feedback.` and `expectation.`. `name` is the `mlflow.traceName` tag, `run_id` the source or
/// linked run, `text` any span's content.
pub const TRACES: Grammar = Grammar {
    name: "traces",
    types: &[
        (EntityType::Tag, TRACE_TAG_OPS, ValueKind::String),
        (EntityType::Metadata, TRACE_TAG_OPS, ValueKind::String),
        (
            EntityType::Attribute,
            TRACE_ATTRIBUTE_OPS,
            ValueKind::String,
        ),
        (EntityType::Span, TRACE_ATTRIBUTE_OPS, ValueKind::String),
        (
            EntityType::Feedback,
            ASSESSMENT_OPS,
            ValueKind::StringOrNumber,
        ),
        (
            EntityType::Expectation,
            ASSESSMENT_OPS,
            ValueKind::StringOrNumber,
        ),
    ],
    attributes: &[
        ("request_id", ValueKind::String),
        ("client_request_id", ValueKind::String),
        ("status", ValueKind::String),
        ("name", ValueKind::String),
        ("run_id", ValueKind::String),
        ("prompt", ValueKind::String),
        ("text", ValueKind::String),
        ("experiment_id", ValueKind::String),
        ("timestamp_ms", ValueKind::Number),
        ("execution_time_ms", ValueKind::Number),
        ("end_time_ms", ValueKind::Number),
    ],
    attribute_aliases: &[
        ("timestamp", "timestamp_ms"),
        ("execution_time", "execution_time_ms"),
        ("end_time", "end_time_ms"),
        ("trace_id", "request_id"),
        ("state", "status"),
    ],
    dataset_keys: &[],
    span_keys: &[
        ("name", TRACE_ATTRIBUTE_OPS),
        ("type", TRACE_ATTRIBUTE_OPS),
        ("status", TRACE_ATTRIBUTE_OPS),
        ("content", &[CompareOp::Like, CompareOp::ILike]),
    ],
};

/// Evaluation datasets: `name`, the two timestamps, `created_by`, `last_updated_by` and
/// `tags.` (no IS NULL on tags, as in MLflow's dataset search). `IN` is legal only on `name`
/// and only the first three attributes order; [`crate::evaluation_datasets`] checks both.
pub const EVALUATION_DATASETS: Grammar = Grammar {
    name: "evaluation datasets",
    types: &[
        (EntityType::Tag, REGISTRY_TAG_OPS, ValueKind::String),
        (
            EntityType::Attribute,
            STRING_ATTRIBUTE_OPS,
            ValueKind::String,
        ),
    ],
    attributes: &[
        ("name", ValueKind::String),
        ("created_time", ValueKind::Number),
        ("last_update_time", ValueKind::Number),
        ("created_by", ValueKind::String),
        ("last_updated_by", ValueKind::String),
    ],
    attribute_aliases: &[],
    dataset_keys: &[],
    span_keys: &[],
};

impl Grammar {
    fn resolve_attribute(&self, key: &str) -> Option<(&'static str, ValueKind)> {
        let key = self
            .attribute_aliases
            .iter()
            .find(|(alias, _)| *alias == key)
            .map_or(key, |(_, target)| target);
        self.attributes
            .iter()
            .find(|(name, _)| *name == key)
            .copied()
    }

    fn attribute_names(&self) -> String {
        self.attributes
            .iter()
            .map(|(name, _)| *name)
            .collect::<Vec<_>>()
            .join(", ")
    }
}

struct Cursor<'a> {
    input: &'a str,
    tokens: Vec<Token>,
    index: usize,
}

impl<'a> Cursor<'a> {
    fn new(input: &'a str) -> Result<Self, SearchError> {
        Ok(Self {
            input,
            tokens: tokenize(input)?,
            index: 0,
        })
    }

    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.index)
    }

    fn next(&mut self) -> Option<Token> {
        let token = self.tokens.get(self.index).cloned();
        self.index += 1;
        token
    }

    fn error_at(&self, token: Option<&Token>, message: impl Into<String>) -> SearchError {
        let position = token.map_or(self.input.len(), |t| t.start);
        SearchError::new(self.input, position, message)
    }

    fn end_error(&self, expected: &str) -> SearchError {
        SearchError::new(
            self.input,
            self.input.len(),
            format!("Expected {expected}, but the string ended"),
        )
    }

    fn peek_word(&self, word: &str) -> bool {
        matches!(self.peek(), Some(Token { kind: TokenKind::Word(w), .. }) if w.eq_ignore_ascii_case(word))
    }

    /// `<type>.<key>` or a bare attribute name. Returns (type prefix, key, start token).
    fn identifier(&mut self) -> Result<(Option<String>, String, Token), SearchError> {
        let first = self.next().ok_or_else(|| self.end_error("an identifier"))?;
        let head = match &first.kind {
            TokenKind::Word(w) => w.clone(),
            TokenKind::Backquoted(w) | TokenKind::DoubleQuoted(w) => {
                return Ok((None, w.clone(), first));
            }
            _ => {
                return Err(self.error_at(
                    Some(&first),
                    format!(
                        "Expected an identifier such as 'metrics.<key>', found '{}'",
                        first.text(self.input)
                    ),
                ));
            }
        };
        if !matches!(
            self.peek(),
            Some(Token {
                kind: TokenKind::Dot,
                ..
            })
        ) {
            return Ok((None, head, first));
        }
        self.next();
        let mut key = String::new();
        loop {
            let part = self
                .next()
                .ok_or_else(|| self.end_error("a key after '.'"))?;
            match &part.kind {
                TokenKind::Word(w) | TokenKind::Backquoted(w) | TokenKind::DoubleQuoted(w) => {
                    key.push_str(w);
                }
                TokenKind::Number(_) => key.push_str(part.text(self.input)),
                _ => {
                    return Err(self.error_at(
                        Some(&part),
                        format!(
                            "Expected a key after '{head}.', found '{}'",
                            part.text(self.input)
                        ),
                    ));
                }
            }
            if matches!(
                self.peek(),
                Some(Token {
                    kind: TokenKind::Dot,
                    ..
                })
            ) {
                self.next();
                key.push('.');
            } else {
                break;
            }
        }
        Ok((Some(head), key, first))
    }

    fn operator(&mut self) -> Result<(CompareOp, Token), SearchError> {
        let token = self
            .next()
            .ok_or_else(|| self.end_error("a comparison operator"))?;
        let invalid = |cursor: &Self, token: &Token| {
            cursor.error_at(
                Some(token),
                format!(
                    "Invalid comparator '{}' not one of '=', '!=', '>', '>=', '<', '<=', 'LIKE', \
                     'ILIKE', 'IN', 'NOT IN', 'IS NULL', 'IS NOT NULL'",
                    token.text(cursor.input)
                ),
            )
        };
        let op = match &token.kind {
            TokenKind::Operator(op) => match op.as_str() {
                "=" => CompareOp::Eq,
                "!=" => CompareOp::Ne,
                ">" => CompareOp::Gt,
                ">=" => CompareOp::Ge,
                "<" => CompareOp::Lt,
                "<=" => CompareOp::Le,
                _ => return Err(invalid(self, &token)),
            },
            TokenKind::Word(w) => match w.to_ascii_uppercase().as_str() {
                "LIKE" => CompareOp::Like,
                "ILIKE" => CompareOp::ILike,
                "RLIKE" => CompareOp::RLike,
                "IN" => CompareOp::In,
                "NOT" if self.peek_word("IN") => {
                    self.next();
                    CompareOp::NotIn
                }
                "IS" => {
                    let negated = self.peek_word("NOT");
                    if negated {
                        self.next();
                    }
                    if !self.peek_word("NULL") {
                        let next = self.peek().cloned();
                        return Err(self.error_at(next.as_ref(), "Expected NULL after IS / IS NOT"));
                    }
                    self.next();
                    if negated {
                        CompareOp::IsNotNull
                    } else {
                        CompareOp::IsNull
                    }
                }
                _ => return Err(invalid(self, &token)),
            },
            _ => return Err(invalid(self, &token)),
        };
        Ok((op, token))
    }

    fn value(&mut self, op: CompareOp) -> Result<(Literal, Option<Token>), SearchError> {
        if matches!(op, CompareOp::IsNull | CompareOp::IsNotNull) {
            return Ok((Literal::Null, None));
        }
        let token = self.next().ok_or_else(|| self.end_error("a value"))?;
        let literal = match (&token.kind, op) {
            (TokenKind::LeftParen, CompareOp::In | CompareOp::NotIn) => {
                let mut items = Vec::new();
                loop {
                    let item = self
                        .next()
                        .ok_or_else(|| self.end_error("a value or ')'"))?;
                    match &item.kind {
                        TokenKind::SingleQuoted(s) | TokenKind::DoubleQuoted(s) => {
                            items.push(s.clone());
                        }
                        TokenKind::Number(_) => items.push(item.text(self.input).to_owned()),
                        TokenKind::RightParen if items.is_empty() => break,
                        _ => {
                            return Err(self.error_at(
                                Some(&item),
                                format!(
                                    "Expected a quoted string in the list, found '{}'",
                                    item.text(self.input)
                                ),
                            ));
                        }
                    }
                    let separator = self.next().ok_or_else(|| self.end_error("',' or ')'"))?;
                    match separator.kind {
                        TokenKind::Comma => {}
                        TokenKind::RightParen => break,
                        _ => {
                            return Err(self.error_at(
                                Some(&separator),
                                format!(
                                    "Expected ',' or ')', found '{}'",
                                    separator.text(self.input)
                                ),
                            ));
                        }
                    }
                }
                if items.is_empty() {
                    return Err(self.error_at(Some(&token), "The list after IN must not be empty"));
                }
                Literal::List(items)
            }
            (_, CompareOp::In | CompareOp::NotIn) => {
                return Err(self.error_at(
                    Some(&token),
                    format!(
                        "Expected a parenthesized list after IN, found '{}'",
                        token.text(self.input)
                    ),
                ));
            }
            (TokenKind::SingleQuoted(s) | TokenKind::DoubleQuoted(s), _) => {
                Literal::String(s.clone())
            }
            (TokenKind::Number(n), _) => Literal::Number(*n),
            _ => {
                return Err(self.error_at(
                    Some(&token),
                    format!(
                        "Expected a quoted string or a number, found '{}'",
                        token.text(self.input)
                    ),
                ));
            }
        };
        Ok((literal, Some(token)))
    }
}

/// Parse and validate a filter string against a grammar. An empty filter is an empty list.
pub fn parse_filter(input: &str, grammar: &Grammar) -> Result<Vec<Comparison>, SearchError> {
    let mut cursor = Cursor::new(input)?;
    let mut comparisons = Vec::new();
    if cursor.peek().is_none() {
        return Ok(comparisons);
    }
    loop {
        let (prefix, key, first) = cursor.identifier()?;
        let (op, op_token) = cursor.operator()?;
        let (value, value_token) = cursor.value(op)?;
        comparisons.push(validate(
            &cursor,
            grammar,
            prefix,
            key,
            &first,
            op,
            &op_token,
            value,
            value_token.as_ref(),
        )?);
        match cursor.next() {
            None => break,
            Some(token) if matches!(&token.kind, TokenKind::Word(w) if w.eq_ignore_ascii_case("AND")) => {
                if cursor.peek().is_none() {
                    return Err(cursor.end_error("a comparison after AND"));
                }
            }
            Some(token) => {
                let text = token.text(input);
                let message = if text.eq_ignore_ascii_case("OR") {
                    "Invalid clause(s) in filter string: 'OR'. Only AND is supported".to_owned()
                } else {
                    format!("Expected AND between comparisons, found '{text}'")
                };
                return Err(cursor.error_at(Some(&token), message));
            }
        }
    }
    Ok(comparisons)
}

#[expect(
    clippy::too_many_arguments,
    reason = "one call site; the tokens are only for error positions"
)]
fn validate(
    cursor: &Cursor<'_>,
    grammar: &Grammar,
    prefix: Option<String>,
    key: String,
    first: &Token,
    op: CompareOp,
    op_token: &Token,
    value: Literal,
    value_token: Option<&Token>,
) -> Result<Comparison, SearchError> {
    let (entity, key) = resolve_identifier(cursor, grammar, prefix, key, first)?;
    let &(_, ops, default_kind) = grammar
        .types
        .iter()
        .find(|(t, _, _)| *t == entity)
        .expect("resolved type is in grammar");
    let (key, kind, ops) = match entity {
        EntityType::Attribute => {
            let (name, kind) = grammar
                .resolve_attribute(&key)
                .expect("checked in resolve_identifier");
            let ops = if kind == ValueKind::Number {
                NUMERIC_OPS
            } else {
                ops
            };
            (name.to_owned(), kind, ops)
        }
        EntityType::Span => {
            let &(_, ops) = grammar
                .span_keys
                .iter()
                .find(|(name, _)| *name == key)
                .expect("checked in resolve_identifier");
            (key, ValueKind::String, ops)
        }
        _ => (key, default_kind, ops),
    };
    let kind = match kind {
        ValueKind::StringOrNumber
            if matches!(
                op,
                CompareOp::Gt | CompareOp::Ge | CompareOp::Lt | CompareOp::Le
            ) =>
        {
            ValueKind::Number
        }
        ValueKind::StringOrNumber => ValueKind::String,
        kind => kind,
    };
    if !ops.contains(&op) {
        let allowed: Vec<_> = ops.iter().map(|o| format!("'{}'", o.as_str())).collect();
        return Err(cursor.error_at(
            Some(op_token),
            format!(
                "Invalid comparator '{}' for {} '{key}' not one of {}",
                op.as_str(),
                entity.noun(),
                allowed.join(", ")
            ),
        ));
    }
    match (&value, kind) {
        (Literal::String(_) | Literal::List(_), ValueKind::String)
        | (Literal::Null, _)
        | (Literal::Number(_), ValueKind::Number) => {}
        (_, ValueKind::Number | ValueKind::StringOrNumber) => {
            return Err(cursor.error_at(
                value_token,
                format!(
                    "Expected numeric value type for {} '{key}'. Found {}",
                    entity.noun(),
                    value_token.map_or("", |t| t.text(cursor.input))
                ),
            ));
        }
        (_, ValueKind::String) => {
            return Err(cursor.error_at(
                value_token,
                format!(
                    "Value for {} '{key}' must be a quoted string. Found {}",
                    entity.noun(),
                    value_token.map_or("", |t| t.text(cursor.input))
                ),
            ));
        }
    }
    Ok(Comparison {
        entity,
        key,
        op,
        value,
    })
}

fn resolve_identifier(
    cursor: &Cursor<'_>,
    grammar: &Grammar,
    prefix: Option<String>,
    key: String,
    first: &Token,
) -> Result<(EntityType, String), SearchError> {
    let (entity, key) = match prefix {
        None => (EntityType::Attribute, key),
        Some(prefix) => {
            let entity = EntityType::from_prefix(&prefix)
                .filter(|e| grammar.types.iter().any(|(t, _, _)| t == e))
                .ok_or_else(|| {
                    let types: Vec<_> = grammar
                        .types
                        .iter()
                        .map(|(t, _, _)| format!("'{}'", t.noun()))
                        .collect();
                    cursor.error_at(
                        Some(first),
                        format!(
                            "Invalid entity type '{prefix}'. Valid types for {} are {}",
                            grammar.name,
                            types.join(", ")
                        ),
                    )
                })?;
            (entity, key)
        }
    };
    match entity {
        EntityType::Attribute if grammar.resolve_attribute(&key).is_none() => Err(cursor.error_at(
            Some(first),
            format!(
                "Invalid attribute key '{key}' specified. Valid keys are {}",
                grammar.attribute_names()
            ),
        )),
        EntityType::Dataset if !grammar.dataset_keys.contains(&key.as_str()) => Err(cursor
            .error_at(
                Some(first),
                format!(
                    "Invalid dataset key '{key}' specified. Valid keys are {}",
                    grammar.dataset_keys.join(", ")
                ),
            )),
        EntityType::Span if !grammar.span_keys.iter().any(|(name, _)| *name == key) => {
            let names: Vec<_> = grammar.span_keys.iter().map(|(name, _)| *name).collect();
            Err(cursor.error_at(
                Some(first),
                format!(
                    "Invalid span attribute '{key}'. Supported attributes: {}",
                    names.join(", ")
                ),
            ))
        }
        EntityType::Feedback | EntityType::Expectation if key.is_empty() => {
            Err(cursor.error_at(Some(first), "Assessment field name cannot be empty"))
        }
        _ => Ok((entity, key)),
    }
}

/// Parse one order-by clause: `<identifier> [ASC|DESC]`.
pub fn parse_order_by(input: &str, grammar: &Grammar) -> Result<OrderBy, SearchError> {
    let mut cursor = Cursor::new(input)?;
    if cursor.peek().is_none() {
        return Err(cursor.end_error("an order_by clause"));
    }
    let (prefix, key, first) = cursor.identifier()?;
    let (entity, key) = resolve_identifier(&cursor, grammar, prefix, key, &first)?;
    if !matches!(
        entity,
        EntityType::Attribute | EntityType::Metric | EntityType::Param | EntityType::Tag
    ) {
        return Err(cursor.error_at(
            Some(&first),
            format!("Ordering by {} fields is not supported", entity.noun()),
        ));
    }
    let key = match entity {
        EntityType::Attribute => grammar
            .resolve_attribute(&key)
            .expect("checked")
            .0
            .to_owned(),
        _ => key,
    };
    let ascending = match cursor.next() {
        None => true,
        Some(token) => match &token.kind {
            TokenKind::Word(w) if w.eq_ignore_ascii_case("ASC") => true,
            TokenKind::Word(w) if w.eq_ignore_ascii_case("DESC") => false,
            _ => {
                return Err(cursor.error_at(
                    Some(&token),
                    format!(
                        "Invalid ordering key '{}': expected ASC or DESC",
                        token.text(input)
                    ),
                ));
            }
        },
    };
    if let Some(extra) = cursor.next() {
        return Err(cursor.error_at(
            Some(&extra),
            format!(
                "Unexpected '{}' after the order direction",
                extra.text(input)
            ),
        ));
    }
    Ok(OrderBy {
        entity,
        key,
        ascending,
    })
}

#[cfg(test)]
mod tests;

//! Which columns of a data file become which parts of an [`EvalRow`](crate::EvalRow).
//!
//! A [`ColumnMapping`] is what the suite file says; [`ColumnMapping::resolve`] checks it against
//! the file's columns once, up front, and turns it into a list of (column index, target) pairs,
//! so the per-row work is a walk over that list with no name look-ups.

use serde::{Deserialize, Serialize};

/// Which columns become what.
///
/// Every field left empty takes its default, so `ColumnMapping::default()` reads files laid out
/// the way `mlflow.genai.evaluate` expects:
///
/// - `inputs`: empty means a column named `inputs` holding a JSON object (or JSON text of one)
///   is the inputs. Listed names map each column `c` to `inputs.c`; the name `inputs` in the
///   list means the whole-object column again, merged with the others.
/// - `expectations`: empty means a column `expectations` (an object), plus the columns
///   `expected_response`, `expected_facts` and `guidelines`, each where present. Listed names
///   map to `expectations.<name>`, as for `inputs`.
/// - `outputs`: `None` means a column named `outputs` where present (recorded outputs: the
///   target is not called).
/// - `tags`: empty means a column `tags` (an object) where present; listed names map to
///   `tags.<name>`.
/// - `id`: `None` means a column named `id` where present.
/// - `context`: `None` means a column named `retrieved_context` where present; the column holds
///   a list of strings (a JSON array in text formats).
///
/// A column named explicitly must exist; a default column is used only where present, except
/// `inputs`, without which no row has anything to send to the target.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ColumnMapping {
    pub inputs: Vec<String>,
    pub expectations: Vec<String>,
    pub outputs: Option<String>,
    pub tags: Vec<String>,
    pub id: Option<String>,
    pub context: Option<String>,
}

/// The columns `expectations` takes by default, where present.
pub(crate) const DEFAULT_EXPECTATION_COLUMNS: [&str; 3] =
    ["expected_response", "expected_facts", "guidelines"];

/// Where one column's value goes in an [`EvalRow`](crate::EvalRow).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Target {
    /// The column holds the whole `inputs` object.
    InputsObject,
    Input(String),
    ExpectationsObject,
    Expectation(String),
    TagsObject,
    Tag(String),
    Outputs,
    Id,
    Context,
}

/// One mapped column: its position in the file and where its value goes.
#[derive(Debug, Clone)]
pub(crate) struct MappedColumn {
    pub index: usize,
    pub name: String,
    pub target: Target,
    /// Another mapped column reads the same file column (one column as both input and id,
    /// say), so a reader that moves values out of a record must copy this one instead.
    pub shared: bool,
}

/// A mapping checked against a file's columns.
#[derive(Debug, Clone)]
pub(crate) struct ResolvedMapping {
    pub columns: Vec<MappedColumn>,
    /// The names of the columns that feed `inputs`, for the "row has no inputs" message.
    pub input_columns: Vec<String>,
}

impl ColumnMapping {
    /// Checks the mapping against the file's columns: `find` gives a column's position. On a
    /// missing column, returns its name.
    ///
    /// With `keep_absent_defaults`, default columns are kept even where `find` does not see them
    /// (at position `usize::MAX`): JSONL records may each have different keys, so the first
    /// record alone cannot say that no later one has an `expected_response`.
    pub(crate) fn resolve(
        &self,
        find: impl Fn(&str) -> Option<usize>,
        keep_absent_defaults: bool,
    ) -> Result<ResolvedMapping, String> {
        let mut columns = Vec::new();
        let mut push_required = |name: &str, target: Target| -> Result<(), String> {
            let index = find(name).ok_or_else(|| name.to_owned())?;
            columns.push(MappedColumn {
                index,
                name: name.to_owned(),
                target,
                shared: false,
            });
            Ok(())
        };

        if self.inputs.is_empty() {
            push_required("inputs", Target::InputsObject)?;
        } else {
            for name in &self.inputs {
                let target = if name == "inputs" {
                    Target::InputsObject
                } else {
                    Target::Input(name.clone())
                };
                push_required(name, target)?;
            }
        }
        for name in &self.expectations {
            let target = if name == "expectations" {
                Target::ExpectationsObject
            } else {
                Target::Expectation(name.clone())
            };
            push_required(name, target)?;
        }
        for name in &self.tags {
            let target = if name == "tags" {
                Target::TagsObject
            } else {
                Target::Tag(name.clone())
            };
            push_required(name, target)?;
        }
        if let Some(name) = &self.outputs {
            push_required(name, Target::Outputs)?;
        }
        if let Some(name) = &self.id {
            push_required(name, Target::Id)?;
        }
        if let Some(name) = &self.context {
            push_required(name, Target::Context)?;
        }

        let mut push_optional = |name: &str, target: Target| {
            let found = find(name).or(keep_absent_defaults.then_some(usize::MAX));
            if let Some(index) = found {
                columns.push(MappedColumn {
                    index,
                    name: name.to_owned(),
                    target,
                    shared: false,
                });
            }
        };
        if self.expectations.is_empty() {
            push_optional("expectations", Target::ExpectationsObject);
            for name in DEFAULT_EXPECTATION_COLUMNS {
                push_optional(name, Target::Expectation(name.to_owned()));
            }
        }
        if self.tags.is_empty() {
            push_optional("tags", Target::TagsObject);
        }
        if self.outputs.is_none() {
            push_optional("outputs", Target::Outputs);
        }
        if self.id.is_none() {
            push_optional("id", Target::Id);
        }
        if self.context.is_none() {
            push_optional("retrieved_context", Target::Context);
        }

        // Whole objects first, so a named column (`inputs.question`) overrides the same key
        // inside an `inputs` object rather than the other way round.
        columns.sort_by_key(|c| {
            !matches!(
                c.target,
                Target::InputsObject | Target::ExpectationsObject | Target::TagsObject
            )
        });
        for i in 0..columns.len() {
            columns[i].shared = columns.iter().filter(|c| c.name == columns[i].name).count() > 1;
        }
        let input_columns = columns
            .iter()
            .filter(|c| matches!(c.target, Target::InputsObject | Target::Input(_)))
            .map(|c| c.name.clone())
            .collect();
        Ok(ResolvedMapping {
            columns,
            input_columns,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    fn targets(mapping: &ColumnMapping, columns: &[&str]) -> Result<Vec<(String, Target)>, String> {
        let columns = names(columns);
        mapping
            .resolve(|name| columns.iter().position(|c| c == name), false)
            .map(|r| r.columns.into_iter().map(|c| (c.name, c.target)).collect())
    }

    #[test]
    fn defaults_take_only_columns_that_exist() {
        let got = targets(
            &ColumnMapping::default(),
            &["guidelines", "inputs", "other", "outputs", "id"],
        )
        .unwrap();
        assert_eq!(
            got,
            [
                ("inputs".into(), Target::InputsObject),
                (
                    "guidelines".into(),
                    Target::Expectation("guidelines".into())
                ),
                ("outputs".into(), Target::Outputs),
                ("id".into(), Target::Id),
            ]
        );
    }

    #[test]
    fn default_inputs_column_is_required() {
        assert_eq!(
            targets(&ColumnMapping::default(), &["question"]),
            Err("inputs".into())
        );
    }

    #[test]
    fn explicit_columns_replace_defaults_and_are_required() {
        let mapping = ColumnMapping {
            inputs: names(&["question"]),
            expectations: names(&["answer"]),
            ..ColumnMapping::default()
        };
        // `expected_response` is no longer taken once expectations are named.
        let got = targets(&mapping, &["question", "answer", "expected_response"]).unwrap();
        assert_eq!(
            got,
            [
                ("question".into(), Target::Input("question".into())),
                ("answer".into(), Target::Expectation("answer".into())),
            ]
        );
        assert_eq!(targets(&mapping, &["question"]), Err("answer".into()));
    }

    #[test]
    fn a_column_used_twice_is_marked_shared() {
        let mapping = ColumnMapping {
            inputs: names(&["q"]),
            id: Some("q".into()),
            ..ColumnMapping::default()
        };
        let columns = names(&["q"]);
        let resolved = mapping
            .resolve(|name| columns.iter().position(|c| c == name), false)
            .unwrap();
        assert!(resolved.columns.iter().all(|c| c.shared));
    }

    #[test]
    fn mapping_reads_from_suite_json() {
        let mapping: ColumnMapping =
            serde_json::from_str(r#"{"inputs": ["question"], "context": "docs"}"#).unwrap();
        assert_eq!(mapping.inputs, names(&["question"]));
        assert_eq!(mapping.context.as_deref(), Some("docs"));
        assert!(serde_json::from_str::<ColumnMapping>(r#"{"input": []}"#).is_err());
    }
}

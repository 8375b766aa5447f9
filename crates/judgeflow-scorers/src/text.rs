//! String checks: exact match, substring, prefix and regex. Each answers a `bool`.
//!
//! Case-insensitive comparisons lowercase both sides with Unicode's lowercase mapping
//! (`char::to_lowercase`), so `"STRASSE"` equals `"strasse"` but not `"straße"`: full case
//! folding is not in the standard library, and lowercasing is what users of Python's
//! `str.lower()` expect.

use std::borrow::Cow;

use regex::Regex;

use crate::error::ScorerError;
use crate::unicode::{is_py_whitespace, py_split};

/// Whether letter case matters in a comparison.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum CaseSensitivity {
    #[default]
    Sensitive,
    Insensitive,
}

/// How whitespace is treated before an exact comparison.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Whitespace {
    /// Compare the texts as given.
    #[default]
    Exact,
    /// Ignore leading and trailing whitespace.
    Trim,
    /// Trim, and treat every run of whitespace inside as one space.
    Collapse,
}

/// Options of [`exact_match`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ExactMatchOptions {
    pub case: CaseSensitivity,
    pub whitespace: Whitespace,
}

/// Whether `output` equals `expected` under `options`.
#[must_use]
pub fn exact_match(output: &str, expected: &str, options: ExactMatchOptions) -> bool {
    // The common default needs no allocation at all.
    if options == ExactMatchOptions::default() {
        return output == expected;
    }
    normalize(output, options) == normalize(expected, options)
}

fn normalize(text: &str, options: ExactMatchOptions) -> Cow<'_, str> {
    let text: Cow<'_, str> = match options.whitespace {
        Whitespace::Exact => text.into(),
        Whitespace::Trim => text.trim_matches(is_py_whitespace).into(),
        Whitespace::Collapse => py_split(text).collect::<Vec<_>>().join(" ").into(),
    };
    match options.case {
        CaseSensitivity::Sensitive => text,
        CaseSensitivity::Insensitive => text.to_lowercase().into(),
    }
}

fn fold(text: &str, case: CaseSensitivity) -> Cow<'_, str> {
    match case {
        CaseSensitivity::Sensitive => text.into(),
        CaseSensitivity::Insensitive => text.to_lowercase().into(),
    }
}

/// Whether `output` contains `needle`. An empty needle is contained in every text.
#[must_use]
pub fn contains(output: &str, needle: &str, case: CaseSensitivity) -> bool {
    fold(output, case).contains(fold(needle, case).as_ref())
}

/// Whether `output` contains at least one of `needles`; `false` when there are none.
#[must_use]
pub fn contains_any<S: AsRef<str>>(output: &str, needles: &[S], case: CaseSensitivity) -> bool {
    let output = fold(output, case);
    needles
        .iter()
        .any(|needle| output.contains(fold(needle.as_ref(), case).as_ref()))
}

/// Whether `output` contains every one of `needles`; `true` when there are none.
#[must_use]
pub fn contains_all<S: AsRef<str>>(output: &str, needles: &[S], case: CaseSensitivity) -> bool {
    let output = fold(output, case);
    needles
        .iter()
        .all(|needle| output.contains(fold(needle.as_ref(), case).as_ref()))
}

/// Whether `output` starts with `prefix`.
#[must_use]
pub fn starts_with(output: &str, prefix: &str, case: CaseSensitivity) -> bool {
    fold(output, case).starts_with(fold(prefix, case).as_ref())
}

/// A compiled regular expression (the `regex` crate's syntax: no look-around or
/// back-references, linear time in the text, so a hostile pattern cannot stall a run).
///
/// It matches anywhere in the text, like Python's `re.search`; anchor with `^…$` (or
/// `\A…\z`) for a whole-text match. Compile once per scorer and reuse it for every row.
#[derive(Debug, Clone)]
pub struct RegexMatcher {
    regex: Regex,
}

impl RegexMatcher {
    pub fn new(pattern: &str) -> Result<Self, ScorerError> {
        Regex::new(pattern)
            .map(|regex| Self { regex })
            .map_err(|source| ScorerError::InvalidRegex {
                pattern: pattern.to_owned(),
                source: Box::new(source),
            })
    }

    #[must_use]
    pub fn is_match(&self, output: &str) -> bool {
        self.regex.is_match(output)
    }

    #[must_use]
    pub fn pattern(&self) -> &str {
        self.regex.as_str()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const INSENSITIVE: CaseSensitivity = CaseSensitivity::Insensitive;
    const SENSITIVE: CaseSensitivity = CaseSensitivity::Sensitive;

    #[test]
    fn exact_match_options() {
        let default = ExactMatchOptions::default();
        assert!(exact_match("Paris", "Paris", default));
        assert!(!exact_match("Paris", "paris", default));
        assert!(!exact_match(" Paris", "Paris", default));
        assert!(exact_match("", "", default));

        let caseless = ExactMatchOptions {
            case: INSENSITIVE,
            ..default
        };
        assert!(exact_match("PARIS", "paris", caseless));
        assert!(exact_match("ÉCOLE", "école", caseless));

        let trim = ExactMatchOptions {
            whitespace: Whitespace::Trim,
            ..default
        };
        assert!(exact_match("  Paris\n", "Paris", trim));
        assert!(!exact_match("New  York", "New York", trim));

        let collapse = ExactMatchOptions {
            whitespace: Whitespace::Collapse,
            case: INSENSITIVE,
        };
        assert!(exact_match(" new \t YORK\u{a0}", "New York", collapse));
        assert!(exact_match(" \n ", "", collapse));
    }

    #[test]
    fn contains_family() {
        assert!(contains("The answer is 42.", "42", SENSITIVE));
        assert!(!contains("The answer", "ANSWER", SENSITIVE));
        assert!(contains("The answer", "ANSWER", INSENSITIVE));
        assert!(contains("anything", "", SENSITIVE));
        assert!(contains("", "", SENSITIVE));
        assert!(!contains("", "a", SENSITIVE));
        assert!(contains("naïve café", "CAFÉ", INSENSITIVE));

        assert!(contains_any("red green", &["blue", "green"], SENSITIVE));
        assert!(!contains_any("red green", &["blue"], SENSITIVE));
        assert!(!contains_any::<&str>("red", &[], SENSITIVE));
        assert!(contains_all("Red Green", &["red", "green"], INSENSITIVE));
        assert!(!contains_all("red", &["red", "green"], SENSITIVE));
        assert!(contains_all::<String>("red", &[], SENSITIVE));
    }

    #[test]
    fn starts_with_case() {
        assert!(starts_with("Yes, because", "Yes", SENSITIVE));
        assert!(!starts_with("yes, because", "Yes", SENSITIVE));
        assert!(starts_with("yes, because", "YES", INSENSITIVE));
        assert!(starts_with("", "", SENSITIVE));
        assert!(!starts_with("", "a", SENSITIVE));
    }

    #[test]
    fn regex_searches_anywhere_and_reports_bad_patterns() {
        let matcher = RegexMatcher::new(r"\d{3}-\d{4}").unwrap();
        assert!(matcher.is_match("call 555-1234 now"));
        assert!(!matcher.is_match("call me"));
        let anchored = RegexMatcher::new(r"^\p{Lu}\w+$").unwrap();
        assert!(anchored.is_match("Émile"));
        assert!(!anchored.is_match("émile"));

        let err = RegexMatcher::new("(unclosed").unwrap_err();
        assert!(
            matches!(&err, ScorerError::InvalidRegex { pattern, .. } if pattern == "(unclosed")
        );
        assert!(err.to_string().contains("(unclosed"));
    }
}

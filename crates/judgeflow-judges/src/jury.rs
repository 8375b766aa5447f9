//! Several judges on one row, their verdicts combined.

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

    pub async fn judge(&self, input: &JudgeInput<'_>) -> Result<JuryVerdict, JudgeError> {
        let _ = (input, &self.judges, self.aggregate);
        todo!()
    }
}

//! Faults the stand-in injects, and when.

use std::time::Duration;

/// What goes wrong with a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// HTTP 429 with the given wait header. Answered at once, without the configured latency,
    /// as real rate limiters do.
    RateLimit { retry_after: RetryAfter },
    /// HTTP `status` (500, 502, 503…) after the configured latency.
    ServerError { status: u16 },
    /// Sleep this long before answering normally: longer than the client's timeout, a timeout.
    Hang(Duration),
    /// For judge calls only (requests with a JSON `response_format`): a 200 whose content is
    /// not JSON.
    MalformedJudge,
}

/// The wait a 429 asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryAfter {
    None,
    /// `Retry-After: <n>`.
    Seconds(u64),
    /// `Retry-After: <HTTP-date n seconds from now>`.
    HttpDate(u64),
    /// `retry-after-ms: <n>` only (OpenAI's millisecond header): fast tests of honouring a wait.
    Millis(u64),
}

/// Which of the requests a rule applies to it fires on, counted per rule from 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Schedule {
    /// The first `n`.
    First(u64),
    /// Every `k`-th: the k-th, 2k-th, …
    Every(u64),
    Always,
}

impl Schedule {
    pub(crate) fn fires(self, seen: u64) -> bool {
        match self {
            Self::First(n) => seen <= n,
            Self::Every(k) => k > 0 && seen % k == 0,
            Self::Always => true,
        }
    }
}

/// A fault, its schedule, and optionally the one model it applies to.
///
/// Every rule counts every request it applies to (its model, and for
/// [`Fault::MalformedJudge`] judge calls only), whether or not an earlier rule fired on that
/// request; the first rule in order that fires decides the response. So "429 on the first 2
/// calls" then "500 on every 5th" gives 429, 429, ok, ok, 500, ….
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FaultRule {
    pub fault: Fault,
    pub schedule: Schedule,
    pub model: Option<String>,
}

impl FaultRule {
    #[must_use]
    pub fn first(n: u64, fault: Fault) -> Self {
        Self {
            fault,
            schedule: Schedule::First(n),
            model: None,
        }
    }

    #[must_use]
    pub fn every(k: u64, fault: Fault) -> Self {
        Self {
            fault,
            schedule: Schedule::Every(k),
            model: None,
        }
    }

    #[must_use]
    pub fn always(fault: Fault) -> Self {
        Self {
            fault,
            schedule: Schedule::Always,
            model: None,
        }
    }

    /// This rule restricted to requests for `model`.
    #[must_use]
    pub fn for_model(mut self, model: impl Into<String>) -> Self {
        self.model = Some(model.into());
        self
    }

    pub(crate) fn applies(&self, model: &str, is_judge: bool) -> bool {
        self.model.as_deref().is_none_or(|m| m == model)
            && (is_judge || self.fault != Fault::MalformedJudge)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedules_fire_on_the_documented_requests() {
        let fired = |schedule: Schedule| -> Vec<u64> {
            (1..=10).filter(|&seen| schedule.fires(seen)).collect()
        };
        assert_eq!(fired(Schedule::First(3)), [1, 2, 3]);
        assert_eq!(fired(Schedule::Every(4)), [4, 8]);
        assert_eq!(fired(Schedule::Every(0)), [] as [u64; 0]);
        assert_eq!(fired(Schedule::Always).len(), 10);
    }

    #[test]
    fn malformed_judge_applies_to_judge_calls_only() {
        let rule = FaultRule::first(1, Fault::MalformedJudge).for_model("j");
        assert!(rule.applies("j", true));
        assert!(!rule.applies("j", false));
        assert!(!rule.applies("t", true));
    }
}

//! One structured judge call with its single corrective retry, and the bookkeeping (tokens,
//! attempts, cache, latency) every verdict reports.

use std::time::Duration;

use judgeflow_llm::{
    CacheMode, ChatParams, ChatRequest, ChatResponse, LlmClient, Message, ResponseFormat, Usage,
};

use crate::parse::{self, Parsed};
use crate::{JudgeError, OutputKind, prompts};

/// The bad answer echoed back in the retry is cut to this many characters: it is there to show
/// the model its mistake, not to pay for a runaway answer twice.
const ECHO_LIMIT: usize = 2000;

/// What the calls behind one verdict cost and how they were answered.
#[derive(Debug, Clone, Default)]
pub(crate) struct CallStats {
    pub model: String,
    pub usage: Option<Usage>,
    pub attempts: u32,
    pub calls: u32,
    /// Every call came from the cache (false until a call is recorded).
    pub cached: bool,
    pub latency: Duration,
}

impl CallStats {
    fn record(&mut self, response: &ChatResponse) {
        self.cached = if self.calls == 0 {
            response.cached
        } else {
            self.cached && response.cached
        };
        self.calls += 1;
        self.attempts += response.attempts;
        self.latency += response.latency;
        self.usage = add_usage(self.usage, response.usage);
        self.model.clone_from(&response.model);
    }

    /// Stats of calls made at the same time: costs add up, the wait is the longest one's.
    pub fn concurrent(all: &[CallStats]) -> CallStats {
        let mut merged = CallStats {
            cached: !all.is_empty(),
            ..CallStats::default()
        };
        for stats in all {
            merged.usage = add_usage(merged.usage, stats.usage);
            merged.attempts += stats.attempts;
            merged.calls += stats.calls;
            merged.cached &= stats.cached;
            merged.latency = merged.latency.max(stats.latency);
            if merged.model.is_empty() {
                merged.model.clone_from(&stats.model);
            }
        }
        merged
    }
}

fn add_usage(a: Option<Usage>, b: Option<Usage>) -> Option<Usage> {
    match (a, b) {
        (Some(a), Some(b)) => Some(Usage {
            prompt_tokens: a.prompt_tokens + b.prompt_tokens,
            completion_tokens: a.completion_tokens + b.completion_tokens,
            total_tokens: a.total_tokens + b.total_tokens,
        }),
        (a, b) => a.or(b),
    }
}

/// Asks `user` (under our system prompt) for a verdict of type `output`. A malformed answer is
/// asked again once, with the answer and a correction appended and [`CacheMode::Refresh`] so a
/// cached bad answer cannot come back; a second malformed answer is [`JudgeError::Malformed`].
pub(crate) async fn ask(
    client: &LlmClient,
    params: &ChatParams,
    user: String,
    output: &OutputKind,
) -> Result<(Parsed, CallStats), JudgeError> {
    let mut messages = vec![Message::system(prompts::SYSTEM), Message::user(user)];
    let format = ResponseFormat::json_schema("judge_verdict", parse::schema(output));
    let request = ChatRequest::new(messages.clone())
        .with_params(params.clone())
        .with_response_format(format.clone());
    let mut stats = CallStats::default();
    let first = client.chat(&request).await?;
    stats.record(&first);
    let reason = match parse::parse(&first.content, output) {
        Ok(parsed) => return Ok((parsed, stats)),
        Err(reason) => reason,
    };
    tracing::debug!(%reason, "malformed judge answer, asking once more");
    messages.push(Message::assistant(
        first.content.chars().take(ECHO_LIMIT).collect::<String>(),
    ));
    messages.push(Message::user(prompts::correction(&reason, output)));
    let retry = ChatRequest::new(messages)
        .with_params(params.clone())
        .with_response_format(format)
        .with_cache_mode(CacheMode::Refresh);
    let second = client.chat(&retry).await?;
    stats.record(&second);
    match parse::parse(&second.content, output) {
        Ok(parsed) => Ok((parsed, stats)),
        Err(reason) => Err(JudgeError::Malformed {
            raw: second.content,
            reason,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stats(tokens: Option<u64>, cached: bool, latency_ms: u64) -> CallStats {
        CallStats {
            model: "m".into(),
            usage: tokens.map(|t| Usage {
                prompt_tokens: t,
                completion_tokens: 1,
                total_tokens: t + 1,
            }),
            attempts: u32::from(!cached),
            calls: 1,
            cached,
            latency: Duration::from_millis(latency_ms),
        }
    }

    #[test]
    fn concurrent_calls_add_costs_and_take_the_longest_wait() {
        let merged = CallStats::concurrent(&[
            stats(Some(10), true, 5),
            stats(None, false, 9),
            stats(Some(4), true, 1),
        ]);
        assert_eq!(merged.usage.map(|u| u.total_tokens), Some(16));
        assert_eq!(
            (merged.attempts, merged.calls, merged.cached),
            (1, 3, false)
        );
        assert_eq!(merged.latency, Duration::from_millis(9));
        assert!(CallStats::concurrent(&[stats(None, true, 0)]).cached);
        assert!(!CallStats::concurrent(&[]).cached);
    }
}

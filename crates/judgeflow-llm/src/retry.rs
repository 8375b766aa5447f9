//! Backoff delays and reading the server's `Retry-After`.

use std::time::{Duration, SystemTime};

use rand::Rng;
use reqwest::header::HeaderMap;

use crate::config::RetryPolicy;

impl RetryPolicy {
    /// The sleep before retry number `retry` (1 for the first retry): full jitter over the
    /// exponential ceiling, floored by the server's requested wait when the policy honours it.
    #[must_use]
    pub fn delay(&self, retry: u32, retry_after: Option<Duration>) -> Duration {
        let ceiling = self
            .base_delay
            .saturating_mul(2u32.saturating_pow(retry.saturating_sub(1)))
            .min(self.max_delay);
        let jittered = if ceiling.is_zero() {
            Duration::ZERO
        } else {
            ceiling.mul_f64(rand::rng().random::<f64>())
        };
        match retry_after {
            Some(wait) if self.honor_retry_after => jittered.max(wait.min(self.max_retry_after)),
            _ => jittered,
        }
    }
}

/// The wait a 429/503 asks for. `retry-after-ms` (OpenAI and Azure send it, with millisecond
/// precision) wins over `Retry-After`, which is either delay-seconds or an HTTP-date (RFC 9110
/// §10.2.3). A date in the past means "now"; anything unreadable is ignored.
#[must_use]
pub fn retry_after(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    let header = |name: &str| headers.get(name)?.to_str().ok().map(str::trim);
    if let Some(ms) = header("retry-after-ms").and_then(|v| v.parse::<f64>().ok()) {
        if ms.is_finite() && ms >= 0.0 {
            return Some(Duration::from_secs_f64(ms / 1000.0));
        }
    }
    let value = header("retry-after")?;
    if let Ok(seconds) = value.parse::<f64>() {
        return (seconds.is_finite() && seconds >= 0.0).then(|| Duration::from_secs_f64(seconds));
    }
    let date = httpdate::parse_http_date(value).ok()?;
    Some(date.duration_since(now).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use reqwest::header::HeaderValue;

    use super::*;

    /// Response headers, and the wait they should yield.
    type Case<'a> = (&'a [(&'static str, &'a str)], Option<Duration>);

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, HeaderValue::from_str(value).unwrap());
        }
        map
    }

    #[test]
    fn retry_after_reads_seconds_dates_and_milliseconds() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let in_90s = httpdate::fmt_http_date(now + Duration::from_secs(90));
        let past = httpdate::fmt_http_date(now - Duration::from_secs(5));

        let cases: [Case; 7] = [
            (&[("retry-after", "3")], Some(Duration::from_secs(3))),
            (&[("retry-after", "0.5")], Some(Duration::from_millis(500))),
            (&[("retry-after", &in_90s)], Some(Duration::from_secs(90))),
            (&[("retry-after", &past)], Some(Duration::ZERO)),
            (&[("retry-after", "soon")], None),
            (
                &[("retry-after", "20"), ("retry-after-ms", "250")],
                Some(Duration::from_millis(250)),
            ),
            (&[], None),
        ];
        for (pairs, expected) in cases {
            assert_eq!(retry_after(&headers(pairs), now), expected, "{pairs:?}");
        }
    }

    #[test]
    fn delay_is_jittered_under_an_exponential_ceiling() {
        let policy = RetryPolicy {
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(700),
            ..RetryPolicy::default()
        };
        for retry in 1..=6 {
            let ceiling =
                (Duration::from_millis(100) * 2u32.pow(retry - 1)).min(Duration::from_millis(700));
            for _ in 0..50 {
                assert!(policy.delay(retry, None) <= ceiling);
            }
        }
    }

    #[test]
    fn retry_after_is_a_floor_capped_by_the_policy() {
        let policy = RetryPolicy {
            base_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(1),
            max_retry_after: Duration::from_secs(10),
            ..RetryPolicy::default()
        };
        assert!(policy.delay(1, Some(Duration::from_secs(2))) >= Duration::from_secs(2));
        assert_eq!(
            policy.delay(1, Some(Duration::from_secs(3600))),
            Duration::from_secs(10)
        );
        let instant = RetryPolicy::without_delays(3);
        assert_eq!(
            instant.delay(4, Some(Duration::from_secs(5))),
            Duration::ZERO
        );
    }
}

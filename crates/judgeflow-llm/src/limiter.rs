//! The per-endpoint gates every attempt passes: an adaptive concurrency limit and token buckets
//! for requests and tokens per minute. One set lives in each client and is shared by all its
//! callers, so limits hold for the endpoint, not per task.

use std::sync::Mutex;
use std::time::Duration;

use tokio::sync::Notify;
// tokio's clock, so tests can run the buckets on paused time.
use tokio::time::Instant;

/// A concurrency limit that adapts to the endpoint (AIMD, as TCP's congestion window): a 429
/// halves it, and each limit's worth of successes grows it by one, back up to the maximum.
pub(crate) struct AdaptiveConcurrency {
    state: Mutex<ConcurrencyState>,
    slot_freed: Notify,
    min: usize,
    max: usize,
    adaptive: bool,
}

struct ConcurrencyState {
    limit: usize,
    in_flight: usize,
    successes: usize,
    /// Bumped on every decrease. A 429 from a request admitted before the last decrease is part
    /// of the same overload, so it does not halve the limit again: fifty requests rejected
    /// together mean "too many", once, not fifty halvings down to the floor.
    generation: u64,
}

pub(crate) struct ConcurrencyPermit<'a> {
    owner: &'a AdaptiveConcurrency,
    generation: u64,
}

impl AdaptiveConcurrency {
    pub(crate) fn new(min: usize, max: usize, adaptive: bool) -> Self {
        let max = max.max(1);
        Self {
            state: Mutex::new(ConcurrencyState {
                limit: max,
                in_flight: 0,
                successes: 0,
                generation: 0,
            }),
            slot_freed: Notify::new(),
            min: min.clamp(1, max),
            max,
            adaptive,
        }
    }

    pub(crate) async fn acquire(&self) -> ConcurrencyPermit<'_> {
        loop {
            // Register for a wake-up before looking, so a release between the look and the
            // wait is not missed. A waiter dropped after being woken passes the wake-up on.
            let freed = self.slot_freed.notified();
            tokio::pin!(freed);
            freed.as_mut().enable();
            {
                let mut state = self.state.lock().unwrap();
                if state.in_flight < state.limit {
                    state.in_flight += 1;
                    return ConcurrencyPermit {
                        owner: self,
                        generation: state.generation,
                    };
                }
            }
            freed.await;
        }
    }

    pub(crate) fn limit(&self) -> usize {
        self.state.lock().unwrap().limit
    }

    pub(crate) fn in_flight(&self) -> usize {
        self.state.lock().unwrap().in_flight
    }
}

impl ConcurrencyPermit<'_> {
    pub(crate) fn succeeded(&self) {
        let owner = self.owner;
        if !owner.adaptive {
            return;
        }
        let mut state = owner.state.lock().unwrap();
        if state.limit >= owner.max {
            return;
        }
        state.successes += 1;
        if state.successes >= state.limit {
            state.successes = 0;
            state.limit += 1;
            drop(state);
            owner.slot_freed.notify_one();
        }
    }

    pub(crate) fn overloaded(&self) {
        let owner = self.owner;
        if !owner.adaptive {
            return;
        }
        let mut state = owner.state.lock().unwrap();
        if self.generation == state.generation {
            state.limit = (state.limit / 2).max(owner.min);
            state.successes = 0;
            state.generation += 1;
            tracing::debug!(
                limit = state.limit,
                "rate limited: concurrency limit lowered"
            );
        }
    }
}

impl Drop for ConcurrencyPermit<'_> {
    fn drop(&mut self) {
        let mut state = self.owner.state.lock().unwrap();
        state.in_flight -= 1;
        let free = state.in_flight < state.limit;
        drop(state);
        if free {
            self.owner.slot_freed.notify_one();
        }
    }
}

/// A token bucket refilled continuously at `per_minute / 60` per second, holding at most one
/// second's worth. Providers enforce per-minute limits in shorter windows (OpenAI documents
/// 60,000 RPM possibly enforced as 1,000 per second), so a full minute's burst would draw 429s.
///
/// A cost larger than the bucket is admitted once the bucket is full and drives it negative:
/// the debt is paid by the next callers' waits, so the long-run rate still holds.
pub(crate) struct TokenBucket {
    per_second: f64,
    capacity: f64,
    level: Mutex<(f64, Instant)>,
    /// Waiters queue here (tokio's mutex is FIFO) so a large request is not starved by a stream
    /// of small ones racing for each refill.
    queue: tokio::sync::Mutex<()>,
}

impl TokenBucket {
    pub(crate) fn per_minute(per_minute: u32) -> Self {
        let per_second = f64::from(per_minute.max(1)) / 60.0;
        let capacity = per_second.max(1.0);
        Self {
            per_second,
            capacity,
            level: Mutex::new((capacity, Instant::now())),
            queue: tokio::sync::Mutex::new(()),
        }
    }

    pub(crate) async fn acquire(&self, cost: f64) {
        let _turn = self.queue.lock().await;
        let needed = cost.min(self.capacity);
        loop {
            let wait = {
                let mut level = self.level.lock().unwrap();
                self.refill(&mut level);
                if level.0 >= needed {
                    level.0 -= cost;
                    return;
                }
                (needed - level.0) / self.per_second
            };
            tokio::time::sleep(Duration::from_secs_f64(wait)).await;
        }
    }

    /// Gives back (or, negative, charges) the difference between an estimate and the real cost.
    pub(crate) fn adjust(&self, amount: f64) {
        let mut level = self.level.lock().unwrap();
        self.refill(&mut level);
        level.0 = (level.0 + amount).min(self.capacity);
    }

    fn refill(&self, level: &mut (f64, Instant)) {
        let now = Instant::now();
        let earned = now.duration_since(level.1).as_secs_f64() * self.per_second;
        level.0 = (level.0 + earned).min(self.capacity);
        level.1 = now;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn limit_halves_once_per_overload_and_regrows_additively() {
        let limiter = AdaptiveConcurrency::new(1, 8, true);
        let permits: Vec<_> = acquire_n(&limiter, 8).await;
        // All eight were admitted at generation 0 and all see a 429: one halving, not eight.
        for permit in &permits {
            permit.overloaded();
        }
        assert_eq!(limiter.limit(), 4);
        drop(permits);

        // Four successes at limit 4 grow it to 5.
        for _ in 0..4 {
            limiter.acquire().await.succeeded();
        }
        assert_eq!(limiter.limit(), 5);
    }

    #[tokio::test]
    async fn limit_never_drops_below_the_floor_or_grows_past_the_maximum() {
        let limiter = AdaptiveConcurrency::new(2, 4, true);
        for _ in 0..5 {
            limiter.acquire().await.overloaded();
        }
        assert_eq!(limiter.limit(), 2);
        for _ in 0..100 {
            limiter.acquire().await.succeeded();
        }
        assert_eq!(limiter.limit(), 4);
    }

    #[tokio::test]
    async fn a_fixed_limit_ignores_overload() {
        let limiter = AdaptiveConcurrency::new(1, 3, false);
        limiter.acquire().await.overloaded();
        assert_eq!(limiter.limit(), 3);
    }

    #[tokio::test]
    async fn a_waiter_gets_the_slot_a_permit_frees() {
        let limiter = std::sync::Arc::new(AdaptiveConcurrency::new(1, 1, false));
        let first = limiter.acquire().await;
        let waiter = {
            let limiter = limiter.clone();
            tokio::spawn(async move {
                let _permit = limiter.acquire().await;
            })
        };
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(!waiter.is_finished());
        drop(first);
        tokio::time::timeout(Duration::from_secs(1), waiter)
            .await
            .expect("the waiter was not woken")
            .unwrap();
        assert_eq!(limiter.in_flight(), 0);
    }

    #[tokio::test(start_paused = true)]
    async fn bucket_admits_a_burst_then_the_refill_rate() {
        let bucket = TokenBucket::per_minute(600); // 10 per second, burst 10
        let start = tokio::time::Instant::now();
        for _ in 0..30 {
            bucket.acquire(1.0).await;
        }
        let elapsed = start.elapsed();
        // 10 at once, then 20 more at 10/s.
        assert!(elapsed >= Duration::from_millis(1_900), "{elapsed:?}");
        assert!(elapsed <= Duration::from_millis(2_200), "{elapsed:?}");
    }

    async fn acquire_n(limiter: &AdaptiveConcurrency, n: usize) -> Vec<ConcurrencyPermit<'_>> {
        let mut permits = Vec::new();
        for _ in 0..n {
            permits.push(limiter.acquire().await);
        }
        permits
    }
}

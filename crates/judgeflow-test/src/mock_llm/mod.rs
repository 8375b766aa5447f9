//! The stand-in OpenAI-compatible chat server.
//!
//! [`MockLlm::start_with`] binds `127.0.0.1:0` and serves [`router`] in the background until the
//! handle is dropped; [`MockLlm::base_url`] is what a client's base URL should be. Behaviour is
//! set at start with [`MockLlmConfig`] and changed at run time through the handle (it derefs to
//! [`MockState`]): latency overall and per model, [`FaultRule`]s, target answers, judge verdicts.
//! [`MockState::counters`] reports what the server saw, including the most requests it ever had
//! in flight at once. The answer rules are in [`answers`](self::answers) so tests can predict them.

pub mod answers;
mod faults;
mod routes;

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::net::SocketAddr;
use std::ops::Deref;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

pub use answers::JudgeRule;
pub use faults::{Fault, FaultRule, RetryAfter, Schedule};
pub use routes::router;

/// Bodies kept for [`MockState::requests`]; later ones are counted but not kept, so a
/// benchmark's hundred thousand calls do not grow the server without bound.
const KEPT_REQUESTS: usize = 10_000;

/// How the stand-in behaves when it starts.
#[derive(Debug, Clone, Default)]
pub struct MockLlmConfig {
    /// Added to every response except 429s.
    pub latency: Duration,
    /// Replaces `latency` for requests naming these models.
    pub model_latency: HashMap<String, Duration>,
    pub faults: Vec<FaultRule>,
    /// Target answers by last user message (trimmed).
    pub answers: HashMap<String, String>,
    /// Judge verdicts by a needle in the prompt, first match wins.
    pub verdicts: Vec<(String, Value)>,
    pub judge: JudgeRule,
    /// Listed by `GET /v1/models`, along with every model requested so far.
    pub models: Vec<String>,
}

impl MockLlmConfig {
    #[must_use]
    pub fn latency(mut self, latency: Duration) -> Self {
        self.latency = latency;
        self
    }

    #[must_use]
    pub fn fault(mut self, rule: FaultRule) -> Self {
        self.faults.push(rule);
        self
    }
}

/// What the stand-in has seen since it started or [`MockState::reset_counters`]; also served
/// as JSON by `GET /mock/counters`.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct MockCounters {
    /// Well-formed chat requests, however they were answered.
    pub calls: u64,
    pub target_calls: u64,
    /// Judge calls of either kind: a JSON `response_format`, or a rubric prompt.
    pub judge_calls: u64,
    /// The judge calls that were rubric prompts (promptfoo's `llm-rubric`).
    pub rubric_calls: u64,
    pub calls_per_model: BTreeMap<String, u64>,
    pub in_flight: u64,
    /// The most chat requests in progress at one moment.
    pub max_in_flight: u64,
    pub rate_limited: u64,
    pub server_errors: u64,
    pub hangs: u64,
    pub malformed: u64,
    /// Requests refused as malformed (not JSON, no model or messages, `stream: true`).
    pub bad_requests: u64,
}

/// The stand-in's shared state: behaviour and counters. Cheap to clone.
#[derive(Clone, Default)]
pub struct MockState {
    inner: Arc<Inner>,
}

#[derive(Default)]
struct Inner {
    behaviour: Mutex<Behaviour>,
    counters: Mutex<MockCounters>,
    requests: Mutex<Vec<Value>>,
    in_flight: AtomicU64,
    next_id: AtomicU64,
}

#[derive(Default)]
struct Behaviour {
    config: MockLlmConfig,
    /// Requests each fault rule has applied to, index for index with `config.faults`.
    fault_seen: Vec<u64>,
}

impl MockState {
    #[must_use]
    pub fn new(config: MockLlmConfig) -> Self {
        let state = Self::default();
        state.inner.behaviour.lock().unwrap().fault_seen = vec![0; config.faults.len()];
        state.inner.behaviour.lock().unwrap().config = config;
        state
    }

    pub fn set_latency(&self, latency: Duration) {
        self.behaviour().config.latency = latency;
    }

    pub fn set_model_latency(&self, model: impl Into<String>, latency: Duration) {
        self.behaviour()
            .config
            .model_latency
            .insert(model.into(), latency);
    }

    /// Adds a rule after the existing ones, its count starting at zero.
    pub fn add_fault(&self, rule: FaultRule) {
        let mut behaviour = self.behaviour();
        behaviour.config.faults.push(rule);
        behaviour.fault_seen.push(0);
    }

    pub fn clear_faults(&self) {
        let mut behaviour = self.behaviour();
        behaviour.config.faults.clear();
        behaviour.fault_seen.clear();
    }

    /// Target calls whose last user message is `prompt` (trimmed) answer `answer`.
    pub fn set_answer(&self, prompt: impl Into<String>, answer: impl Into<String>) {
        let prompt = prompt.into().trim().to_owned();
        self.behaviour()
            .config
            .answers
            .insert(prompt, answer.into());
    }

    /// Judge calls whose prompt contains `needle` answer `result` (unless an earlier needle matches).
    pub fn set_verdict(&self, needle: impl Into<String>, result: Value) {
        self.behaviour()
            .config
            .verdicts
            .push((needle.into(), result));
    }

    pub fn set_judge_rule(&self, rule: JudgeRule) {
        self.behaviour().config.judge = rule;
    }

    #[must_use]
    pub fn counters(&self) -> MockCounters {
        let mut counters = self.inner.counters.lock().unwrap().clone();
        counters.in_flight = self.inner.in_flight.load(Ordering::SeqCst);
        counters
    }

    /// Zeroes the counters (fault rules keep their own counts).
    pub fn reset_counters(&self) {
        *self.inner.counters.lock().unwrap() = MockCounters::default();
        self.inner.requests.lock().unwrap().clear();
    }

    /// The chat request bodies received, oldest first (the first 10,000 only).
    #[must_use]
    pub fn requests(&self) -> Vec<Value> {
        self.inner.requests.lock().unwrap().clone()
    }

    fn behaviour(&self) -> std::sync::MutexGuard<'_, Behaviour> {
        self.inner.behaviour.lock().unwrap()
    }

    fn count(&self, update: impl FnOnce(&mut MockCounters)) {
        update(&mut self.inner.counters.lock().unwrap());
    }
}

/// Serves the stand-in on `listener` until `shutdown` resolves.
pub async fn serve(
    listener: TcpListener,
    state: MockState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown)
        .await
}

/// A stand-in running on `127.0.0.1` in the background, stopped when dropped.
pub struct MockLlm {
    state: MockState,
    addr: SocketAddr,
    shutdown: Option<oneshot::Sender<()>>,
}

impl MockLlm {
    /// A stand-in with no latency, no faults and the default answer rules.
    pub async fn start() -> Self {
        Self::start_with(MockLlmConfig::default()).await
    }

    /// Panics if it cannot bind: a test harness has no better answer.
    pub async fn start_with(config: MockLlmConfig) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the stand-in LLM on 127.0.0.1:0");
        let addr = listener.local_addr().expect("the stand-in's address");
        let state = MockState::new(config);
        let (shutdown, stopped) = oneshot::channel::<()>();
        tokio::spawn(serve(listener, state.clone(), async move {
            let _ = stopped.await;
        }));
        Self {
            state,
            addr,
            shutdown: Some(shutdown),
        }
    }

    /// `http://127.0.0.1:<port>/v1`: a client's base URL (it appends `/chat/completions`).
    #[must_use]
    pub fn base_url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    #[must_use]
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    #[must_use]
    pub fn state(&self) -> &MockState {
        &self.state
    }
}

impl Deref for MockLlm {
    type Target = MockState;

    fn deref(&self) -> &MockState {
        &self.state
    }
}

impl Drop for MockLlm {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
    }
}

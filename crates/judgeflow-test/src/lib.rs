//! Judgeflow's test harness. For now it holds [`mock_llm`]: a stand-in OpenAI-compatible chat
//! server on real HTTP (`127.0.0.1:0`) with configurable latency, injected faults and
//! deterministic answers and judge verdicts, so the LLM client and the evaluation engine are
//! tested end to end without a model. The `judgeflow-mock-llm` binary serves the same thing to
//! Python tests and benchmark scripts.

pub mod mock_llm;

pub use mock_llm::{
    Fault, FaultRule, JudgeRule, MockCounters, MockLlm, MockLlmConfig, MockState, RetryAfter,
    Schedule,
};

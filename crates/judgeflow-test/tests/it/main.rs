//! The stand-in over real HTTP: OpenAI response shape, fault schedules and counters.

mod mock_llm;

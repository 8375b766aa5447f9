//! HTTP handlers: `POST /v1/chat/completions` (also `/chat/completions`) and `GET /v1/models`,
//! plus the stand-in's own `GET /mock/counters` and `POST /mock/reset` (outside `/v1`, so no
//! OpenAI path can collide with them).

use std::collections::BTreeSet;
use std::sync::atomic::Ordering;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};

use super::answers::{is_rubric_prompt, rubric_verdict, token_count, truncate};
use super::{Fault, KEPT_REQUESTS, MockState, RetryAfter};

/// The stand-in's routes over `state`.
pub fn router(state: MockState) -> Router {
    Router::new()
        .route("/v1/chat/completions", post(chat_completions))
        .route("/chat/completions", post(chat_completions))
        .route("/v1/models", get(models))
        .route("/models", get(models))
        .route("/mock/counters", get(counters))
        .route("/mock/reset", post(reset))
        .with_state(state)
}

/// Counts a request in flight for as long as its handler runs, including when the client
/// disconnects and the handler is dropped mid-sleep.
struct InFlight<'a>(&'a MockState);

impl<'a> InFlight<'a> {
    fn enter(state: &'a MockState) -> Self {
        let now = state.inner.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        state.count(|c| c.max_in_flight = c.max_in_flight.max(now));
        Self(state)
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.inner.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

/// What a chat request asks for, which decides the shape of its answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CallKind {
    Target,
    /// A JSON `response_format`: answered `{"rationale", "result"}`.
    Judge,
    /// A `<Rubric>` section (promptfoo's `llm-rubric`): answered `{"reason", "pass", "score"}`,
    /// whatever the `response_format`.
    Rubric,
}

/// What one request gets, decided under the behaviour lock and acted on after it.
struct Plan {
    fault: Option<Fault>,
    latency: Duration,
    answer: String,
}

async fn chat_completions(State(state): State<MockState>, body: Bytes) -> Response {
    let _in_flight = InFlight::enter(&state);
    let request: Value = match serde_json::from_slice(&body) {
        Ok(request) => request,
        Err(e) => return bad_request(&state, &format!("body is not JSON: {e}")),
    };
    let Some(model) = request
        .get("model")
        .and_then(Value::as_str)
        .map(str::to_owned)
    else {
        return bad_request(&state, "`model` is required");
    };
    let Some(messages) = request.get("messages").and_then(Value::as_array) else {
        return bad_request(&state, "`messages` must be an array");
    };
    if request.get("stream").and_then(Value::as_bool) == Some(true) {
        return bad_request(&state, "the stand-in does not stream");
    }
    let texts: Vec<(String, String)> = messages
        .iter()
        .map(|m| {
            let role = m.get("role").and_then(Value::as_str).unwrap_or_default();
            (role.to_owned(), message_text(m.get("content")))
        })
        .collect();
    let prompt = texts
        .iter()
        .map(|(_, text)| text.as_str())
        .collect::<Vec<_>>()
        .join("\n");
    let kind = if is_rubric_prompt(&prompt) {
        CallKind::Rubric
    } else if matches!(
        request
            .pointer("/response_format/type")
            .and_then(Value::as_str),
        Some("json_object" | "json_schema")
    ) {
        CallKind::Judge
    } else {
        CallKind::Target
    };
    let is_judge = kind != CallKind::Target;

    let plan = plan(&state, &model, &texts, &prompt, kind);
    state.count(|c| {
        c.calls += 1;
        if is_judge {
            c.judge_calls += 1;
            if kind == CallKind::Rubric {
                c.rubric_calls += 1;
            }
        } else {
            c.target_calls += 1;
        }
        *c.calls_per_model.entry(model.clone()).or_default() += 1;
    });
    {
        let mut kept = state.inner.requests.lock().unwrap();
        if kept.len() < KEPT_REQUESTS {
            kept.push(request.clone());
        }
    }

    match plan.fault {
        Some(Fault::RateLimit { retry_after }) => {
            state.count(|c| c.rate_limited += 1);
            return rate_limited(retry_after);
        }
        Some(Fault::ServerError { status }) => {
            state.count(|c| c.server_errors += 1);
            tokio::time::sleep(plan.latency).await;
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            return error(
                status,
                "server_error",
                "the stand-in was told to fail this request",
            );
        }
        Some(Fault::Hang(duration)) => {
            state.count(|c| c.hangs += 1);
            tokio::time::sleep(duration).await;
        }
        Some(Fault::MalformedJudge) => state.count(|c| c.malformed += 1),
        None => {}
    }
    tokio::time::sleep(plan.latency).await;

    let max_tokens = request
        .get("max_completion_tokens")
        .or_else(|| request.get("max_tokens"))
        .and_then(Value::as_u64);
    let (content, finish_reason) = truncate(plan.answer, max_tokens);
    let prompt_tokens: u64 = texts.iter().map(|(_, text)| token_count(text)).sum();
    let completion_tokens = token_count(&content);
    let id = state.inner.next_id.fetch_add(1, Ordering::Relaxed);
    let created = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    axum::Json(json!({
        "id": format!("chatcmpl-mock-{id}"),
        "object": "chat.completion",
        "created": created,
        "model": model,
        "system_fingerprint": "judgeflow-mock",
        "choices": [{
            "index": 0,
            "message": {"role": "assistant", "content": content, "refusal": null},
            "logprobs": null,
            "finish_reason": finish_reason,
        }],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
    }))
    .into_response()
}

fn plan(
    state: &MockState,
    model: &str,
    texts: &[(String, String)],
    prompt: &str,
    kind: CallKind,
) -> Plan {
    let is_judge = kind != CallKind::Target;
    let mut behaviour = state.behaviour();
    let behaviour = &mut *behaviour;
    let config = &behaviour.config;
    let mut fault = None;
    for (rule, seen) in config.faults.iter().zip(behaviour.fault_seen.iter_mut()) {
        if rule.applies(model, is_judge) {
            *seen += 1;
            if fault.is_none() && rule.schedule.fires(*seen) {
                fault = Some(rule.fault.clone());
            }
        }
    }
    let latency = config
        .model_latency
        .get(model)
        .copied()
        .unwrap_or(config.latency);
    let answer = if fault == Some(Fault::MalformedJudge) {
        "Verdict: yes (the stand-in was told to answer without JSON)".to_owned()
    } else if kind == CallKind::Rubric {
        rubric_verdict(prompt, &config.verdicts).to_string()
    } else if is_judge {
        config.judge.verdict(prompt, &config.verdicts).to_string()
    } else {
        let last_user = texts
            .iter()
            .rev()
            .find(|(role, _)| role == "user")
            .map_or("", |(_, text)| text.as_str());
        config
            .answers
            .get(last_user.trim())
            .cloned()
            .unwrap_or_else(|| last_user.to_owned())
    };
    Plan {
        fault,
        latency,
        answer,
    }
}

/// A message's text: a string, or the `text` parts of a content array joined.
fn message_text(content: Option<&Value>) -> String {
    match content {
        Some(Value::String(text)) => text.clone(),
        Some(Value::Array(parts)) => parts
            .iter()
            .filter_map(|part| part.get("text").and_then(Value::as_str))
            .collect::<Vec<_>>()
            .join(""),
        _ => String::new(),
    }
}

async fn models(State(state): State<MockState>) -> Response {
    let mut ids: BTreeSet<String> = state.behaviour().config.models.iter().cloned().collect();
    ids.extend(state.counters().calls_per_model.into_keys());
    let data: Vec<Value> = ids
        .into_iter()
        .map(|id| json!({"id": id, "object": "model", "created": 0, "owned_by": "judgeflow-mock"}))
        .collect();
    axum::Json(json!({"object": "list", "data": data})).into_response()
}

/// `GET /mock/counters`: [`MockCounters`](super::MockCounters) as JSON, for scripts that run
/// the stand-in as a process and report what it saw.
async fn counters(State(state): State<MockState>) -> Response {
    axum::Json(state.counters()).into_response()
}

/// `POST /mock/reset`: zeroes the counters, as [`MockState::reset_counters`] does.
async fn reset(State(state): State<MockState>) -> Response {
    state.reset_counters();
    StatusCode::NO_CONTENT.into_response()
}

fn rate_limited(retry_after: RetryAfter) -> Response {
    let mut headers = HeaderMap::new();
    let header = match retry_after {
        RetryAfter::None => None,
        RetryAfter::Seconds(secs) => Some(("retry-after", secs.to_string())),
        RetryAfter::HttpDate(secs) => Some((
            "retry-after",
            httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(secs)),
        )),
        RetryAfter::Millis(ms) => Some(("retry-after-ms", ms.to_string())),
    };
    if let Some((name, value)) = header {
        headers.insert(
            name,
            HeaderValue::from_str(&value).expect("a valid header value"),
        );
    }
    let mut response = error(
        StatusCode::TOO_MANY_REQUESTS,
        "rate_limit_exceeded",
        "Rate limit reached (the stand-in was told to refuse this request)",
    );
    response.headers_mut().extend(headers);
    response
}

fn bad_request(state: &MockState, message: &str) -> Response {
    state.count(|c| c.bad_requests += 1);
    error(StatusCode::BAD_REQUEST, "invalid_request_error", message)
}

/// OpenAI's error shape.
fn error(status: StatusCode, kind: &str, message: &str) -> Response {
    let body = json!({"error": {"message": message, "type": kind, "param": null, "code": kind}});
    (status, axum::Json(body)).into_response()
}

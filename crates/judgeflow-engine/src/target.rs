//! Targets: what produces a row's output. One instance per run, shared by every row task: an
//! OpenAI-compatible endpoint (one [`LlmClient`], so its limits hold across rows), any HTTP
//! endpoint, a long-lived local command, or the dataset's recorded outputs.

use std::collections::HashMap;
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use judgeflow_llm::{ChatParams, ChatRequest, LlmClient, Message, Role};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt as _, AsyncWriteExt as _, BufReader};
use tokio::sync::{Mutex, oneshot};

use crate::error::EngineError;
use crate::outcome::{CallRecord, Payer, TargetOutput, now_ns};
use crate::rows::EvalRow;
use crate::suite::{CommandTargetSpec, HttpTargetSpec, MessageSpec};
use crate::template::{Scope, json_path, render, render_json};

pub enum Target {
    Recorded,
    OpenAi {
        client: LlmClient,
        messages: Vec<MessageSpec>,
    },
    Http {
        http: reqwest::Client,
        spec: HttpTargetSpec,
    },
    Command(CommandTarget),
}

fn scope(row: &EvalRow) -> Scope<'_> {
    Scope {
        inputs: &row.inputs,
        outputs: row.outputs.as_ref(),
        expectations: &row.expectations,
    }
}

fn role(name: &str) -> Result<Role, String> {
    Ok(match name {
        "system" => Role::System,
        "developer" => Role::Developer,
        "user" => Role::User,
        "assistant" => Role::Assistant,
        other => return Err(format!("unknown message role '{other}'")),
    })
}

impl Target {
    /// An HTTP target; its client is built once so connections are reused across rows.
    pub fn http(spec: HttpTargetSpec) -> Result<Self, EngineError> {
        let timeout = Duration::from_secs_f64(spec.timeout_s.unwrap_or(60.0));
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .build()
            .map_err(|e| EngineError::Config(format!("target: {e}")))?;
        Ok(Self::Http { http, spec })
    }

    /// Produces the row's output, or the reason there is none.
    pub async fn call(&self, row: &EvalRow) -> Result<TargetOutput, (String, Vec<CallRecord>)> {
        match self {
            Self::Recorded => match &row.outputs {
                Some(outputs) => Ok(TargetOutput {
                    outputs: outputs.clone(),
                    retrieved_context: row.retrieved_context.clone(),
                    calls: Vec::new(),
                }),
                None => Err(("the row has no recorded output".to_owned(), Vec::new())),
            },
            Self::OpenAi { client, messages } => openai(client, messages, row).await,
            Self::Http { http, spec } => http_call(http, spec, row).await,
            Self::Command(command) => command.call(row).await,
        }
    }

    /// Stops a command target's process.
    pub async fn close(&self) {
        if let Self::Command(command) = self {
            command.close().await;
        }
    }
}

async fn openai(
    client: &LlmClient,
    messages: &[MessageSpec],
    row: &EvalRow,
) -> Result<TargetOutput, (String, Vec<CallRecord>)> {
    let scope = scope(row);
    let rendered: Result<Vec<Message>, String> = if messages.is_empty() {
        render("{{inputs}}", &scope).map(|text| vec![Message::user(text)])
    } else {
        messages
            .iter()
            .map(|m| {
                Ok(Message {
                    role: role(&m.role)?,
                    content: render(&m.content, &scope)?,
                })
            })
            .collect()
    };
    let messages = rendered.map_err(|e| (format!("target messages: {e}"), Vec::new()))?;
    let request = ChatRequest::new(messages.clone()).with_params(ChatParams::default());
    let start_ns = now_ns();
    let result = client.chat(&request).await;
    let end_ns = now_ns();
    let inputs = json!({"messages": messages, "model": client.config().model});
    match result {
        Ok(response) => {
            let call = CallRecord {
                name: "target".into(),
                span_type: "CHAT_MODEL",
                inputs,
                outputs: json!({"content": response.content, "finish_reason": response.finish_reason}),
                start_ns,
                end_ns,
                model: Some(response.model.clone()),
                usage: response.usage,
                cached: response.cached,
                payer: Payer::Target,
                error: None,
            };
            Ok(TargetOutput {
                outputs: Value::String(response.content),
                retrieved_context: row.retrieved_context.clone(),
                calls: vec![call],
            })
        }
        Err(error) => {
            let message = format!("target call failed: {error}");
            let call = CallRecord {
                name: "target".into(),
                span_type: "CHAT_MODEL",
                inputs,
                outputs: Value::Null,
                start_ns,
                end_ns,
                model: Some(client.config().model.clone()),
                usage: None,
                cached: false,
                payer: Payer::Target,
                error: Some(message.clone()),
            };
            Err((message, vec![call]))
        }
    }
}

async fn http_call(
    http: &reqwest::Client,
    spec: &HttpTargetSpec,
    row: &EvalRow,
) -> Result<TargetOutput, (String, Vec<CallRecord>)> {
    let scope = scope(row);
    let fail = |message: String| (message, Vec::new());
    let url = render(&spec.url, &scope).map_err(|e| fail(format!("target url: {e}")))?;
    let body = match &spec.body {
        Some(template) => {
            render_json(template, &scope).map_err(|e| fail(format!("target body: {e}")))?
        }
        None => Value::Object(row.inputs.clone()),
    };
    let method = spec.method.as_deref().unwrap_or("POST").to_uppercase();
    let method = reqwest::Method::from_bytes(method.as_bytes())
        .map_err(|_| fail(format!("target method '{method}' is not an HTTP method")))?;
    let mut request = http.request(method.clone(), &url);
    for (name, value) in &spec.headers {
        request = request.header(name, value);
    }
    if method != reqwest::Method::GET {
        request = request.json(&body);
    }
    let start_ns = now_ns();
    let outcome: Result<Value, String> = async {
        let response = request
            .send()
            .await
            .map_err(|e| format!("target request failed: {e}"))?;
        let status = response.status();
        let text = response
            .text()
            .await
            .map_err(|e| format!("target response: {e}"))?;
        if !status.is_success() {
            let snippet: String = text.chars().take(200).collect();
            return Err(format!("target answered HTTP {status}: {snippet}"));
        }
        serde_json::from_str(&text).map_err(|e| format!("target answer is not JSON: {e}"))
    }
    .await;
    let end_ns = now_ns();
    let record = |outputs: Value, error: Option<String>| CallRecord {
        name: "target".into(),
        span_type: "TOOL",
        inputs: json!({"url": url, "body": body}),
        outputs,
        start_ns,
        end_ns,
        model: None,
        usage: None,
        cached: false,
        payer: Payer::Target,
        error,
    };
    let answer = match outcome {
        Ok(answer) => answer,
        Err(message) => return Err((message.clone(), vec![record(Value::Null, Some(message))])),
    };
    let outputs = match &spec.answer {
        Some(path) => {
            let Some(value) = json_path(&answer, path) else {
                let message = format!("the target's answer has nothing at {path}");
                return Err((message.clone(), vec![record(answer, Some(message))]));
            };
            value.clone()
        }
        None => answer.clone(),
    };
    let retrieved_context = spec
        .context
        .as_ref()
        .and_then(|path| json_path(&answer, path))
        .and_then(crate::rows::passages)
        .or_else(|| row.retrieved_context.clone());
    Ok(TargetOutput {
        outputs,
        retrieved_context,
        calls: vec![record(answer, None)],
    })
}

type Pending = Arc<std::sync::Mutex<HashMap<u64, oneshot::Sender<Value>>>>;

/// A local process answering JSON lines. Requests carry an id, so many rows may be in flight
/// at once and answers may come back in any order.
pub struct CommandTarget {
    stdin: Mutex<Option<tokio::process::ChildStdin>>,
    child: Mutex<tokio::process::Child>,
    pending: Pending,
    next_id: AtomicU64,
    timeout: Duration,
    argv: Vec<String>,
}

impl CommandTarget {
    /// Starts the process in `cwd` (the suite's folder).
    pub fn start(spec: &CommandTargetSpec, cwd: &std::path::Path) -> Result<Self, EngineError> {
        let (program, args) = spec
            .argv
            .split_first()
            .ok_or_else(|| EngineError::Config("target.argv is empty".into()))?;
        let mut child = tokio::process::Command::new(program)
            .args(args)
            .current_dir(cwd)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| {
                EngineError::Config(format!("cannot start target command {program}: {e}"))
            })?;
        let stdin = child.stdin.take();
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| EngineError::Config("no stdout".into()))?;
        let pending: Pending = Arc::default();
        let readers = pending.clone();
        tokio::spawn(async move {
            let mut lines = BufReader::new(stdout).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                let Ok(value) = serde_json::from_str::<Value>(&line) else {
                    tracing::warn!("target command wrote a line that is not JSON; ignored");
                    continue;
                };
                let id = value.get("id").and_then(Value::as_u64);
                if let Some(sender) = id.and_then(|id| readers.lock().unwrap().remove(&id)) {
                    let _ = sender.send(value);
                }
            }
            // The process is gone: every waiting row hears so instead of hanging.
            readers.lock().unwrap().clear();
        });
        Ok(Self {
            stdin: Mutex::new(stdin),
            child: Mutex::new(child),
            pending,
            next_id: AtomicU64::new(1),
            timeout: Duration::from_secs_f64(spec.timeout_s.unwrap_or(60.0)),
            argv: spec.argv.clone(),
        })
    }

    async fn call(&self, row: &EvalRow) -> Result<TargetOutput, (String, Vec<CallRecord>)> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let request = json!({"id": id, "inputs": row.inputs, "row_index": row.index});
        let (sender, receiver) = oneshot::channel();
        self.pending.lock().unwrap().insert(id, sender);
        let start_ns = now_ns();
        let sent = {
            let mut stdin = self.stdin.lock().await;
            match stdin.as_mut() {
                Some(stdin) => {
                    let mut line = request.to_string();
                    line.push('\n');
                    match stdin.write_all(line.as_bytes()).await {
                        Ok(()) => stdin.flush().await.map_err(|e| e.to_string()),
                        Err(e) => Err(e.to_string()),
                    }
                }
                None => Err("stdin closed".to_owned()),
            }
        };
        let answer = match sent {
            Err(e) => Err(format!(
                "target command {:?} is not accepting input: {e}",
                self.argv[0]
            )),
            Ok(()) => match tokio::time::timeout(self.timeout, receiver).await {
                Ok(Ok(answer)) => Ok(answer),
                Ok(Err(_)) => Err(format!("target command {:?} exited", self.argv[0])),
                Err(_) => Err(format!(
                    "target command gave no answer in {:?}",
                    self.timeout
                )),
            },
        };
        self.pending.lock().unwrap().remove(&id);
        let end_ns = now_ns();
        let record = |outputs: Value, error: Option<String>| CallRecord {
            name: "target".into(),
            span_type: "TOOL",
            inputs: request.clone(),
            outputs,
            start_ns,
            end_ns,
            model: None,
            usage: None,
            cached: false,
            payer: Payer::Target,
            error,
        };
        match answer {
            Ok(answer) => {
                if let Some(error) = answer.get("error").filter(|e| !e.is_null()) {
                    let message = format!("target command: {}", crate::template::text_of(error));
                    return Err((message.clone(), vec![record(answer, Some(message))]));
                }
                let outputs = answer.get("outputs").cloned().unwrap_or(Value::Null);
                let retrieved_context = answer
                    .get("retrieved_context")
                    .and_then(crate::rows::passages)
                    .or_else(|| row.retrieved_context.clone());
                Ok(TargetOutput {
                    outputs,
                    retrieved_context,
                    calls: vec![record(answer, None)],
                })
            }
            Err(message) => Err((message.clone(), vec![record(Value::Null, Some(message))])),
        }
    }

    async fn close(&self) {
        // Closing stdin asks the process to end; a short grace period, then it is killed.
        self.stdin.lock().await.take();
        let mut child = self.child.lock().await;
        if tokio::time::timeout(Duration::from_secs(2), child.wait())
            .await
            .is_err()
        {
            let _ = child.kill().await;
        }
    }
}

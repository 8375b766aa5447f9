//! The MLflow REST transport under [`crate::RestSink`]: one pooled `reqwest` client shared by
//! every row, auth as the `mlflow` client sends it, transient failures retried with jittered
//! backoff that honours `Retry-After`, and a server's error turned into one line naming the
//! endpoint and MLflow's `error_code`.

use std::fmt::{self, Write as _};
use std::path::Path;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use judgeflow_llm::{ApiKey, RetryPolicy};
use reqwest::header::{AUTHORIZATION, CONTENT_LENGTH, CONTENT_TYPE, HeaderValue};
use reqwest::{Method, StatusCode, Url};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use tokio_util::io::ReaderStream;

/// Credentials, as the `mlflow` client reads them from `MLFLOW_TRACKING_USERNAME` and
/// `MLFLOW_TRACKING_PASSWORD` (Basic, preferred when both are set) or `MLFLOW_TRACKING_TOKEN`
/// (Bearer). `Debug` never shows a secret.
#[derive(Clone)]
pub enum RestAuth {
    Basic { username: String, password: ApiKey },
    Bearer(ApiKey),
}

impl fmt::Debug for RestAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Basic { username, .. } => write!(f, "Basic({username}, <redacted>)"),
            Self::Bearer(_) => f.write_str("Bearer(<redacted>)"),
        }
    }
}

/// How to reach a tracking server, resolved by the caller.
#[derive(Debug, Clone)]
pub struct RestOptions {
    /// `http(s)://host[:port][/prefix]`, as given to `--tracking-uri`.
    pub tracking_uri: String,
    pub auth: Option<RestAuth>,
    /// Retries of connection failures, timeouts, 408, 429, 500, 502, 503 and 504.
    pub retry: RetryPolicy,
    /// One attempt's time limit.
    pub timeout: Duration,
    /// `user_id` and `mlflow.user` of the runs created.
    pub user: String,
}

/// A failed call: which server and endpoint, MLflow's `error_code` when the server answered,
/// and what went wrong, on one line.
#[derive(Debug, Clone, thiserror::Error)]
#[error("tracking server {server}: {endpoint}: {detail}")]
pub struct RestError {
    server: String,
    endpoint: String,
    code: Option<String>,
    detail: String,
}

impl RestError {
    /// MLflow's `error_code` (`RESOURCE_DOES_NOT_EXIST`…), when the server answered.
    #[must_use]
    pub fn code(&self) -> Option<&str> {
        self.code.as_deref()
    }
}

/// A request body: bytes in memory, or a file streamed from disk (opened again on a retry).
pub(crate) enum Payload<'a> {
    Bytes(Bytes),
    File(&'a Path),
}

/// What one request carries besides its path.
pub(crate) struct Call<'a> {
    pub method: Method,
    pub path: &'a str,
    pub query: &'a [(&'a str, String)],
    pub body: Option<(Payload<'a>, &'static str)>,
    pub headers: &'a [(&'static str, String)],
}

impl<'a> Call<'a> {
    pub fn new(method: Method, path: &'a str) -> Self {
        Self {
            method,
            path,
            query: &[],
            body: None,
            headers: &[],
        }
    }
}

/// The client. Cloning shares the connection pool.
#[derive(Clone)]
pub(crate) struct MlflowRest {
    http: reqwest::Client,
    /// The tracking URI without a trailing slash or credentials.
    base: String,
    auth: Option<HeaderValue>,
    retry: RetryPolicy,
}

const RETRYABLE: [StatusCode; 6] = [
    StatusCode::REQUEST_TIMEOUT,
    StatusCode::TOO_MANY_REQUESTS,
    StatusCode::INTERNAL_SERVER_ERROR,
    StatusCode::BAD_GATEWAY,
    StatusCode::SERVICE_UNAVAILABLE,
    StatusCode::GATEWAY_TIMEOUT,
];

/// MLflow's status → code table, for error bodies that are not MLflow JSON.
fn code_for_status(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 => "BAD_REQUEST",
        401 => "UNAUTHENTICATED",
        403 => "PERMISSION_DENIED",
        404 => "ENDPOINT_NOT_FOUND",
        409 => "RESOURCE_CONFLICT",
        429 => "REQUEST_LIMIT_EXCEEDED",
        501 => "NOT_IMPLEMENTED",
        503 => "TEMPORARILY_UNAVAILABLE",
        _ => "INTERNAL_ERROR",
    }
}

/// The file and its length, for a streamed body with a `Content-Length`.
async fn open_for_upload(path: &Path) -> std::io::Result<(tokio::fs::File, u64)> {
    let file = tokio::fs::File::open(path).await?;
    let len = file.metadata().await?.len();
    Ok((file, len))
}

/// One line of at most `max` characters.
fn one_line(text: &str, max: usize) -> String {
    let line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if line.chars().count() > max {
        let mut cut: String = line.chars().take(max).collect();
        cut.push('…');
        cut
    } else {
        line
    }
}

/// The error of a non-2xx answer: MLflow's `{"error_code", "message"}`, `FastAPI`'s
/// `{"detail"}` (MLflow's OTLP route), or just the status.
fn status_detail(status: StatusCode, body: &[u8]) -> (String, String) {
    let json: Option<Value> = serde_json::from_slice(body).ok();
    let field = |name: &str| {
        json.as_ref()
            .and_then(|j| j.get(name))
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    let code = field("error_code").unwrap_or_else(|| code_for_status(status).to_owned());
    let message = field("message").or_else(|| field("detail"));
    let detail = match message {
        Some(message) => format!("{} {code}: {}", status.as_u16(), one_line(&message, 400)),
        None => format!("{} {code}", status.as_u16()),
    };
    (code, detail)
}

/// A transport error with its causes, without the URL (the endpoint is named already).
fn transport_detail(error: reqwest::Error) -> String {
    let kind = if error.is_connect() {
        "could not connect"
    } else if error.is_timeout() {
        "timed out"
    } else {
        "request failed"
    };
    let error = error.without_url();
    let mut causes = Vec::new();
    let mut source: Option<&dyn std::error::Error> = std::error::Error::source(&error);
    while let Some(cause) = source {
        causes.push(cause.to_string());
        source = cause.source();
    }
    let cause = causes.last().cloned().unwrap_or_else(|| error.to_string());
    format!("{kind}: {}", one_line(&cause, 300))
}

/// Percent-encodes one path segment.
pub(crate) fn encode_segment(segment: &str) -> String {
    let mut out = String::with_capacity(segment.len());
    for byte in segment.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(byte as char);
        } else {
            let _ = write!(out, "%{byte:02X}");
        }
    }
    out
}

impl MlflowRest {
    pub fn new(options: &RestOptions) -> Result<Self, String> {
        let mut url = Url::parse(&options.tracking_uri)
            .map_err(|e| format!("tracking URI '{}': {e}", options.tracking_uri))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(format!(
                "tracking URI '{}': expected http:// or https://",
                options.tracking_uri
            ));
        }
        // `http://user:pass@host` works as Basic auth, as `requests` treats it; the credentials
        // then leave the URL so that no message shows them.
        let mut auth = options.auth.clone();
        if !url.username().is_empty() {
            if auth.is_none() {
                auth = Some(RestAuth::Basic {
                    username: url.username().to_owned(),
                    password: ApiKey::new(url.password().unwrap_or_default()),
                });
            }
            let _ = url.set_username("");
            let _ = url.set_password(None);
        }
        url.set_query(None);
        url.set_fragment(None);
        let base = url.as_str().trim_end_matches('/').to_owned();
        let auth = auth
            .map(|auth| {
                let text = match auth {
                    RestAuth::Bearer(token) => format!("Bearer {}", token.expose()),
                    RestAuth::Basic { username, password } => {
                        use base64::Engine as _;
                        let pair = format!("{username}:{}", password.expose());
                        format!(
                            "Basic {}",
                            base64::engine::general_purpose::STANDARD.encode(pair)
                        )
                    }
                };
                let mut value = HeaderValue::from_str(&text)
                    .map_err(|_| "the tracking credentials contain invalid characters")?;
                value.set_sensitive(true);
                Ok::<_, String>(value)
            })
            .transpose()?;
        let http = reqwest::Client::builder()
            .user_agent(concat!("judgeflow/", env!("CARGO_PKG_VERSION")))
            .timeout(options.timeout)
            .connect_timeout(options.timeout.min(Duration::from_secs(10)))
            .build()
            .map_err(|e| format!("HTTP client: {e}"))?;
        Ok(Self {
            http,
            base,
            auth,
            retry: options.retry.clone(),
        })
    }

    /// The server as messages name it (never with credentials).
    pub fn server(&self) -> &str {
        &self.base
    }

    fn error(&self, call: &Call<'_>, code: Option<String>, detail: String) -> RestError {
        RestError {
            server: self.base.clone(),
            endpoint: format!("{} {}", call.method, call.path),
            code,
            detail,
        }
    }

    /// Sends `call`, retrying transient failures; the body of the 2xx answer.
    pub async fn send(&self, call: &Call<'_>) -> Result<Bytes, RestError> {
        let url = format!("{}{}", self.base, call.path);
        let mut attempt = 0;
        loop {
            attempt += 1;
            let mut request = self.http.request(call.method.clone(), &url);
            if !call.query.is_empty() {
                request = request.query(call.query);
            }
            if let Some(auth) = &self.auth {
                request = request.header(AUTHORIZATION, auth.clone());
            }
            for (name, value) in call.headers {
                request = request.header(*name, value);
            }
            match &call.body {
                Some((Payload::Bytes(body), content_type)) => {
                    request = request
                        .header(CONTENT_TYPE, *content_type)
                        .body(body.clone());
                }
                Some((Payload::File(path), content_type)) => {
                    let (file, len) = open_for_upload(path)
                        .await
                        .map_err(|e| self.error(call, None, format!("{}: {e}", path.display())))?;
                    request = request
                        .header(CONTENT_TYPE, *content_type)
                        .header(CONTENT_LENGTH, len)
                        .body(reqwest::Body::wrap_stream(ReaderStream::new(file)));
                }
                None => {}
            }
            let (retry_after, failure) = match request.send().await {
                Ok(response) if response.status().is_success() => match response.bytes().await {
                    Ok(body) => return Ok(body),
                    Err(e) => (None, self.error(call, None, transport_detail(e))),
                },
                Ok(response) => {
                    let status = response.status();
                    let wait = judgeflow_llm::retry_after(response.headers(), SystemTime::now());
                    let body = response.bytes().await.unwrap_or_default();
                    let (code, detail) = status_detail(status, &body);
                    let error = self.error(call, Some(code), detail);
                    if !RETRYABLE.contains(&status) {
                        return Err(error);
                    }
                    (wait, error)
                }
                Err(e) => (None, self.error(call, None, transport_detail(e))),
            };
            if attempt >= self.retry.max_attempts.max(1) {
                let mut failure = failure;
                if attempt > 1 {
                    failure.detail = format!("{} (after {attempt} attempts)", failure.detail);
                }
                return Err(failure);
            }
            let delay = self.retry.delay(attempt, retry_after);
            tracing::debug!(endpoint = %failure.endpoint, attempt, ?delay, "retrying: {}", failure.detail);
            tokio::time::sleep(delay).await;
        }
    }

    fn parse<T: DeserializeOwned>(&self, call: &Call<'_>, body: &[u8]) -> Result<T, RestError> {
        let body = if body.iter().all(u8::is_ascii_whitespace) {
            b"{}".as_slice()
        } else {
            body
        };
        serde_json::from_slice(body).map_err(|e| {
            self.error(
                call,
                None,
                format!("the answer is not the expected MLflow JSON: {e}"),
            )
        })
    }

    /// A JSON request (POST, PATCH) and its JSON answer.
    pub async fn json<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: &impl Serialize,
    ) -> Result<T, RestError> {
        let bytes = serde_json::to_vec(body).unwrap_or_default();
        let call = Call {
            body: Some((Payload::Bytes(Bytes::from(bytes)), "application/json")),
            ..Call::new(method, path)
        };
        let answer = self.send(&call).await?;
        self.parse(&call, &answer)
    }

    /// A GET with its parameters in the query string, and its JSON answer.
    pub async fn get<T: DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&str, String)],
    ) -> Result<T, RestError> {
        let call = Call {
            query,
            ..Call::new(Method::GET, path)
        };
        let answer = self.send(&call).await?;
        self.parse(&call, &answer)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

    use super::*;

    /// A raw HTTP/1.1 server answering each connection with the next canned response (the
    /// last one repeats), and keeping every request's head.
    async fn canned(responses: Vec<String>) -> (String, Arc<Mutex<Vec<String>>>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let seen = requests.clone();
        tokio::spawn(async move {
            loop {
                let Ok((mut socket, _)) = listener.accept().await else {
                    return;
                };
                let mut buffer = vec![0_u8; 64 * 1024];
                let n = socket.read(&mut buffer).await.unwrap_or(0);
                let count = {
                    let mut seen = seen.lock().unwrap();
                    seen.push(String::from_utf8_lossy(&buffer[..n]).into_owned());
                    seen.len()
                };
                let response = &responses[(count - 1).min(responses.len() - 1)];
                let _ = socket.write_all(response.as_bytes()).await;
                let _ = socket.shutdown().await;
            }
        });
        (format!("http://{address}"), requests)
    }

    fn response(status: &str, headers: &str, body: &str) -> String {
        format!(
            "HTTP/1.1 {status}\r\n{headers}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
    }

    fn rest(uri: &str, attempts: u32) -> MlflowRest {
        MlflowRest::new(&RestOptions {
            tracking_uri: uri.to_owned(),
            auth: Some(RestAuth::Bearer(ApiKey::new("secret-token"))),
            retry: RetryPolicy::without_delays(attempts),
            timeout: Duration::from_secs(5),
            user: "test".into(),
        })
        .unwrap()
    }

    fn unavailable() -> String {
        response("503 Service Unavailable", "Retry-After: 0\r\n", "")
    }

    #[tokio::test]
    async fn transient_failures_are_retried_until_an_answer() {
        let (uri, requests) = canned(vec![
            unavailable(),
            response("429 Too Many Requests", "", ""),
            response(
                "200 OK",
                "Content-Type: application/json\r\n",
                r#"{"ok":true}"#,
            ),
        ])
        .await;
        let answer: Value = rest(&uri, 5).get("/api/x", &[]).await.unwrap();
        assert_eq!(answer["ok"], true);
        let requests = requests.lock().unwrap();
        assert_eq!(requests.len(), 3);
        assert!(
            requests[0]
                .to_ascii_lowercase()
                .contains("authorization: bearer secret-token"),
            "{}",
            requests[0]
        );
    }

    #[tokio::test]
    async fn an_mlflow_error_is_one_line_with_endpoint_and_code_and_is_not_retried() {
        let body =
            r#"{"error_code":"RESOURCE_DOES_NOT_EXIST","message":"Run with id=x\nnot found"}"#;
        let (uri, requests) = canned(vec![response("404 Not Found", "", body)]).await;
        let error = rest(&uri, 5)
            .get::<Value>("/api/2.0/mlflow/runs/get", &[("run_id", "x".into())])
            .await
            .unwrap_err();
        assert_eq!(error.code(), Some("RESOURCE_DOES_NOT_EXIST"));
        assert_eq!(
            error.to_string(),
            format!(
                "tracking server {uri}: GET /api/2.0/mlflow/runs/get: 404 \
                 RESOURCE_DOES_NOT_EXIST: Run with id=x not found"
            )
        );
        assert_eq!(requests.lock().unwrap().len(), 1);
    }

    #[tokio::test]
    async fn giving_up_says_how_often_it_tried() {
        let (uri, requests) = canned(vec![unavailable()]).await;
        let error = rest(&uri, 3).get::<Value>("/x", &[]).await.unwrap_err();
        assert_eq!(requests.lock().unwrap().len(), 3);
        assert!(
            error
                .to_string()
                .ends_with("503 TEMPORARILY_UNAVAILABLE (after 3 attempts)"),
            "{error}"
        );
    }

    #[tokio::test]
    async fn basic_auth_is_sent_as_the_mlflow_client_sends_it() {
        let (uri, requests) = canned(vec![response("200 OK", "", "")]).await;
        let rest = MlflowRest::new(&RestOptions {
            tracking_uri: uri,
            auth: Some(RestAuth::Basic {
                username: "ada".into(),
                password: ApiKey::new("pw"),
            }),
            retry: RetryPolicy::without_delays(1),
            timeout: Duration::from_secs(5),
            user: "test".into(),
        })
        .unwrap();
        let _: Value = rest.get("/x", &[]).await.unwrap();
        // base64("ada:pw")
        assert!(
            requests.lock().unwrap()[0]
                .to_ascii_lowercase()
                .contains("authorization: basic ywrhonb3")
        );
    }

    #[test]
    fn credentials_never_show() {
        let rest = rest("http://ada:pw@127.0.0.1:1/prefix/", 1);
        assert_eq!(rest.server(), "http://127.0.0.1:1/prefix");
        let shown = format!(
            "{:?}",
            RestAuth::Basic {
                username: "ada".into(),
                password: ApiKey::new("pw")
            }
        );
        assert!(!shown.contains("pw"), "{shown}");
        assert!(!format!("{:?}", rest.auth).contains("secret-token"));
    }
}

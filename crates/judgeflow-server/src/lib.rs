//! Judgeflow's HTTP server: MLflow's REST API (under `/api` and `/ajax-api`) including the
//! model registry and evaluation datasets, the proxied artifact API, and health endpoints, over a [`TrackingStore`]
//! and an [`ArtifactStore`].
//!
//! [`router`] builds the application for a state; [`serve`] runs it on a bound listener until
//! the shutdown future resolves, finishing in-flight requests first. Each resource has its own
//! module and router under `routes/`.

mod error;
mod extract;
mod routes;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::Request;
use axum::response::Response;
use axum::serve::ListenerExt;
use judgeflow_artifacts::ArtifactStore;
use judgeflow_store::TrackingStore;
use tokio::net::TcpListener;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::trace::TraceLayer;
use tracing::Span;

pub use error::{ApiError, ApiResult};
pub use routes::meta::MLFLOW_API_VERSION;

/// Limits and identity the server needs at run time.
#[derive(Debug, Clone)]
pub struct ServerSettings {
    /// Largest JSON request body, in bytes.
    pub max_json_body: usize,
    /// Largest single artifact upload, in bytes.
    pub max_artifact_upload: u64,
    /// How long one API request may take; artifact transfers are bounded by size instead.
    pub request_timeout: Duration,
}

impl Default for ServerSettings {
    fn default() -> Self {
        Self {
            max_json_body: 16 * 1024 * 1024,
            max_artifact_upload: 5 * 1024 * 1024 * 1024,
            request_timeout: Duration::from_secs(120),
        }
    }
}

/// Shared by every handler.
#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn TrackingStore>,
    pub artifacts: ArtifactStore,
    pub settings: Arc<ServerSettings>,
}

impl AppState {
    pub fn new(
        store: Arc<dyn TrackingStore>,
        artifacts: ArtifactStore,
        settings: ServerSettings,
    ) -> Self {
        Self {
            store,
            artifacts,
            settings: Arc::new(settings),
        }
    }
}

/// The whole application.
pub fn router(state: AppState) -> Router {
    let json_limit = state.settings.max_json_body;
    let api = routes::api_router(state.settings.request_timeout);
    Router::new()
        .merge(routes::meta::router())
        .nest("/api", api.clone())
        .nest("/ajax-api", api)
        .merge(routes::artifacts::router())
        .merge(routes::otlp::router())
        .fallback(routes::not_found)
        .with_state(state)
        .layer(CatchPanicLayer::custom(routes::panic_response))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(|request: &Request<_>| {
                    tracing::info_span!("http", method = %request.method(), path = %request.uri().path())
                })
                .on_request(())
                .on_response(|response: &Response, latency: Duration, _span: &Span| {
                    tracing::info!(status = response.status().as_u16(), latency_us = latency.as_micros() as u64, "request");
                })
                .on_failure(()),
        )
        .layer(DefaultBodyLimit::max(json_limit))
}

/// Serves `router(state)` on `listener` until `shutdown` resolves, then drains in-flight
/// requests.
pub async fn serve<F>(state: AppState, listener: TcpListener, shutdown: F) -> std::io::Result<()>
where
    F: std::future::Future<Output = ()> + Send + 'static,
{
    // TCP_NODELAY on every connection: a streamed answer (`traces/get`, `batchGet`) leaves in
    // several writes, and with Nagle's algorithm each write after the first waited for the
    // client's delayed ACK, up to 40 ms per response.
    let listener = listener.tap_io(|tcp| {
        if let Err(error) = tcp.set_nodelay(true) {
            tracing::debug!(%error, "could not set TCP_NODELAY on a connection");
        }
    });
    axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown)
        .await
}

//! Prometheus metrics on their own HTTP port: jobs by state (asked of the runner at
//! scrape time), RPC latency histograms, RPC errors and plugin call errors.

use std::{sync::Arc, time::Duration};

use prometheus_client::{
    encoding::{EncodeLabelSet, text::encode},
    metrics::{counter::Counter, family::Family, gauge::Gauge, histogram::Histogram},
    registry::Registry,
};

use crate::runner::RunnerHandle;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct MethodLabel {
    method: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ErrorLabels {
    method: &'static str,
    code: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StateLabel {
    state: String,
}

pub struct Metrics {
    registry: Registry,
    rpc_seconds: Family<MethodLabel, Histogram>,
    rpc_errors: Family<ErrorLabels, Counter>,
    plugin_errors: Family<ErrorLabels, Counter>,
    jobs: Family<StateLabel, Gauge>,
}

/// Buckets from 50 µs to ~13 s: Fetch is sub-millisecond, long-polls last seconds.
fn latency_buckets() -> impl Iterator<Item = f64> {
    prometheus_client::metrics::histogram::exponential_buckets(0.00005, 2.0, 19)
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("sqlflow");
        let rpc_seconds = Family::<MethodLabel, Histogram>::new_with_constructor(|| {
            Histogram::new(latency_buckets())
        });
        let rpc_errors = Family::<ErrorLabels, Counter>::default();
        let plugin_errors = Family::<ErrorLabels, Counter>::default();
        let jobs = Family::<StateLabel, Gauge>::default();
        registry.register(
            "rpc_duration_seconds",
            "Time to answer each SQLFlow RPC (long-polls included)",
            rpc_seconds.clone(),
        );
        registry.register(
            "rpc_errors",
            "SQLFlow RPCs answered with an error, by gRPC code",
            rpc_errors.clone(),
        );
        registry.register(
            "plugin_call_errors",
            "Runner plugin calls that failed (errors, panics, time-outs), by gRPC code",
            plugin_errors.clone(),
        );
        registry.register("jobs", "Jobs the runner knows, by state", jobs.clone());
        Self {
            registry,
            rpc_seconds,
            rpc_errors,
            plugin_errors,
            jobs,
        }
    }
}

impl Metrics {
    pub fn observe_rpc(&self, method: &'static str, took: Duration, error: Option<tonic::Code>) {
        self.rpc_seconds
            .get_or_create(&MethodLabel { method })
            .observe(took.as_secs_f64());
        if let Some(code) = error {
            self.rpc_errors
                .get_or_create(&ErrorLabels {
                    method,
                    code: format!("{code:?}"),
                })
                .inc();
        }
    }

    pub fn plugin_error(&self, call: &'static str, code: tonic::Code) {
        self.plugin_errors
            .get_or_create(&ErrorLabels {
                method: call,
                code: format!("{code:?}"),
            })
            .inc();
    }

    /// The text exposition, with job counts fresh from the runner.
    pub async fn render(&self, runner: &RunnerHandle) -> String {
        if let Ok(stats) = runner.stats().await {
            for state in ["PENDING", "RUNNING", "SUCCEEDED", "FAILED", "CANCELLED"] {
                let n = stats.jobs_by_state.get(state).copied().unwrap_or(0);
                self.jobs
                    .get_or_create(&StateLabel {
                        state: state.to_string(),
                    })
                    .set(n as i64);
            }
        }
        let mut out = String::new();
        if encode(&mut out, &self.registry).is_err() {
            out.clear();
        }
        out
    }
}

/// Serves `GET /metrics` on `addr` until the process ends.
pub async fn serve(
    listener: tokio::net::TcpListener,
    metrics: Arc<Metrics>,
    runner: RunnerHandle,
) -> std::io::Result<()> {
    use axum::{Router, http::header, response::IntoResponse, routing::get};
    let app = Router::new().route(
        "/metrics",
        get(move || {
            let metrics = metrics.clone();
            let runner = runner.clone();
            async move {
                (
                    [(
                        header::CONTENT_TYPE,
                        "text/plain; version=0.0.4; charset=utf-8",
                    )],
                    metrics.render(&runner).await,
                )
                    .into_response()
            }
        }),
    );
    axum::serve(listener, app).await
}

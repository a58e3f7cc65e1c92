//! Start-up: load the configured runner plugin, then serve until SIGTERM or Ctrl+C.

use std::{net::SocketAddr, path::PathBuf, sync::Arc, time::Duration};

use figment::Figment;
use sqlflow_grpc::raw::server::sql_flow_server::SqlFlowServer;
use sqlflow_plugin_api::library_file_name;
use sqlflow_plugin_host as loader;
use tonic::codegen::{Context, Future, Pin, Poll, Service as TowerService, http};
use tonic::transport::{Identity, Server, ServerTlsConfig, server::TcpIncoming};

use crate::{
    auth::Authenticator,
    config::{self, Config},
    metrics::Metrics,
    policy::DatasourcePolicy,
    runner::RunnerHandle,
    service::{Service, Settings},
};

/// How long in-flight requests may finish after SIGTERM (long-polls are capped lower).
const SHUTDOWN_GRACE: Duration = Duration::from_secs(3);

/// Why the server could not start. Each maps to an exit status.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// Bad configuration (of the server or of the runner): exit 78 (EX_CONFIG).
    #[error("{0}")]
    Config(String),
    /// Could not bind or serve: exit 1.
    #[error("{0}")]
    Serve(String),
}

/// Loads the plugin and creates the runner, or explains why not.
pub fn start_runner(
    cfg: &Config,
    figment: &Figment,
    metrics: Arc<Metrics>,
) -> Result<RunnerHandle, StartError> {
    let path = cfg.plugin_dir().join(library_file_name(&cfg.job_runner));
    let plugin = loader::load(&path).map_err(|e| {
        let hint = if matches!(e, loader::LoadError::Open { .. }) {
            format!(
                "\n(job_runner = '{}' from {}; plugin_dir = {} from {})",
                cfg.job_runner,
                config::origin_of(figment, "job_runner"),
                cfg.plugin_dir().display(),
                config::origin_of(figment, "plugin_dir"),
            )
        } else {
            String::new()
        };
        StartError::Config(format!("{e}{hint}"))
    })?;
    if plugin.name != cfg.job_runner {
        return Err(StartError::Config(format!(
            "{} is the '{}' runner, but job_runner = '{}' (from {})",
            path.display(),
            plugin.name,
            cfg.job_runner,
            config::origin_of(figment, "job_runner")
        )));
    }
    let json = cfg.runner_json().map_err(|e| StartError::Config(e.0))?;
    let timeout = Duration::from_millis(cfg.plugin_call_timeout_ms);
    RunnerHandle::create(&plugin, &json, timeout, metrics)
        .map_err(|e| StartError::Config(config::runner_error(cfg, figment, &e)))
}

fn config_error(figment: &Figment, key: &str, what: impl std::fmt::Display) -> StartError {
    StartError::Config(format!(
        "invalid configuration: {what} for key '{key}' (from {})",
        config::origin_of(figment, key)
    ))
}

pub async fn serve(cfg: Config, figment: Figment) -> Result<(), StartError> {
    let data_dir = cfg.data_dir.canonicalize().map_err(|e| {
        config_error(
            &figment,
            "data_dir",
            format!("{}: {e}", cfg.data_dir.display()),
        )
    })?;
    let addr: SocketAddr = cfg.listen.parse().map_err(|e| {
        config_error(
            &figment,
            "listen",
            format!(
                "'{}' is not an address like 127.0.0.1:50051 ({e})",
                cfg.listen
            ),
        )
    })?;
    let auth = Authenticator::new(&cfg.auth)
        .map_err(|e| StartError::Config(format!("invalid configuration: {e}")))?;
    if !auth.enabled() {
        if !addr.ip().is_loopback() && !cfg.auth.allow_unauthenticated {
            return Err(config_error(
                &figment,
                "listen",
                format!(
                    "{addr} is reachable from other machines but no users are configured; \
                     add [auth] users (sqlflow-server gen-token NAME), or set \
                     auth.allow_unauthenticated = true to serve it open"
                ),
            ));
        }
        tracing::warn!(
            "no users configured ([auth]): the server is open to anyone who can reach {addr}, \
             and all clients share one anonymous identity"
        );
    } else {
        tracing::info!("authentication on: {} user(s)", auth.users());
    }
    let read_pem = |key: &str, path: &std::path::Path| {
        std::fs::read(path)
            .map_err(|e| config_error(&figment, key, format!("{}: {e}", path.display())))
    };
    let tls = match &cfg.tls {
        Some(t) => {
            let cert = read_pem("tls.cert_file", &t.cert_file)?;
            let key = read_pem("tls.key_file", &t.key_file)?;
            Some(ServerTlsConfig::new().identity(Identity::from_pem(cert, key)))
        }
        None => None,
    };
    let metrics = Arc::new(Metrics::default());
    let runner = start_runner(&cfg, &figment, metrics.clone())?;
    let incoming = TcpIncoming::bind(addr)
        .map_err(|e| StartError::Serve(format!("cannot listen on {addr}: {e}")))?
        .with_nodelay(Some(true));
    let local = incoming.local_addr().unwrap_or(addr);

    if let Some(m) = &cfg.metrics_listen {
        let listener = tokio::net::TcpListener::bind(m)
            .await
            .map_err(|e| StartError::Serve(format!("cannot listen on {m} for metrics: {e}")))?;
        let maddr = listener
            .local_addr()
            .map_err(|e| StartError::Serve(e.to_string()))?;
        let (metrics, runner) = (metrics.clone(), runner.clone());
        tokio::spawn(async move {
            if let Err(e) = crate::metrics::serve(listener, metrics, runner).await {
                tracing::error!("the metrics endpoint stopped: {e}");
            }
        });
        tracing::info!("metrics on http://{maddr}/metrics");
        println!("metrics on {maddr}");
    }

    let (health, health_service) = tonic_health::server::health_reporter();
    health.set_serving::<SqlFlowServer<Service>>().await;
    let reflection = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(sqlflow_proto::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1()
        .map_err(|e| StartError::Serve(format!("cannot build the reflection service: {e}")))?;

    let checker = runner.clone();
    let interval = Duration::from_millis(cfg.health_check_interval_ms.max(100));
    tokio::spawn(async move {
        let mut serving = true;
        loop {
            tokio::time::sleep(interval).await;
            let ok = checker.health().await;
            match (&ok, serving) {
                (Ok(()), false) => {
                    tracing::info!("runner is healthy again");
                    health.set_serving::<SqlFlowServer<Service>>().await;
                }
                (Err(e), true) => {
                    tracing::error!("runner is unhealthy: {}", e.message());
                    health.set_not_serving::<SqlFlowServer<Service>>().await;
                }
                _ => {}
            }
            serving = ok.is_ok();
        }
    });

    let service = Service::new(
        runner.clone(),
        Settings {
            default_datasource: cfg.datasource.clone(),
            default_timeout_seconds: cfg.default_timeout_seconds,
            max_wait: Duration::from_millis(cfg.max_wait_ms.into()),
            max_program_bytes: cfg.max_program_bytes,
        },
        auth,
        DatasourcePolicy {
            data_dir,
            allowed_db_hosts: cfg.allowed_db_hosts.clone(),
        },
        metrics,
    );
    let max_message = cfg.max_program_bytes.saturating_add(64 * 1024).max(4 << 20);
    tracing::info!(
        "sqlflow-server {} listening on {local}{} with the '{}' runner",
        env!("CARGO_PKG_VERSION"),
        if tls.is_some() { " (TLS)" } else { "" },
        runner.name()
    );
    let mut builder = Server::builder();
    if let Some(tls) = tls {
        builder = builder.tls_config(tls).map_err(|e| {
            config_error(&figment, "tls", format!("cannot use the certificate: {e}"))
        })?;
    }
    // Tests and scripts wait for this line.
    println!("listening on {local}");
    let (stopping_tx, stopping) = tokio::sync::oneshot::channel::<()>();
    let serve = builder
        .add_service(health_service)
        .add_service(reflection)
        .add_service(OversizeIsInvalid(
            SqlFlowServer::new(service).max_decoding_message_size(max_message),
        ))
        .serve_with_incoming_shutdown(incoming, async {
            shutdown_signal().await;
            let _ = stopping_tx.send(());
        });
    // Graceful shutdown waits for open connections; an idle client must not keep the
    // server alive, so in-flight requests get a grace period and no more.
    let grace = async {
        if stopping.await.is_ok() {
            tokio::time::sleep(SHUTDOWN_GRACE).await;
        } else {
            std::future::pending::<()>().await;
        }
    };
    tokio::select! {
        r = serve => r.map_err(|e| StartError::Serve(format!("server failed: {e}")))?,
        _ = grace => tracing::warn!("connections still open after {SHUTDOWN_GRACE:?}; closing them"),
    }
    tracing::info!("shut down");
    Ok(())
}

/// tonic refuses a request over `max_decoding_message_size` with `OUT_OF_RANGE` before
/// any handler runs. Every other bad request to the SQLFlow service is
/// `INVALID_ARGUMENT`, and the service itself never answers `OUT_OF_RANGE`, so this
/// wrapper turns the one into the other: one code for "your request is wrong".
#[derive(Clone)]
struct OversizeIsInvalid<S>(S);

impl<S: tonic::server::NamedService> tonic::server::NamedService for OversizeIsInvalid<S> {
    const NAME: &'static str = S::NAME;
}

impl<S, B> TowerService<http::Request<B>> for OversizeIsInvalid<S>
where
    S: TowerService<http::Request<B>, Response = http::Response<tonic::body::Body>>,
    S::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.0.poll_ready(cx)
    }

    fn call(&mut self, req: http::Request<B>) -> Self::Future {
        let reply = self.0.call(req);
        Box::pin(async move {
            let mut resp = reply.await?;
            // A refusal before the handler is a trailers-only reply: the status is in
            // the headers.
            let out_of_range = tonic::Code::OutOfRange as i32;
            if resp
                .headers()
                .get("grpc-status")
                .is_some_and(|v| v.as_bytes() == out_of_range.to_string().as_bytes())
            {
                let invalid = (tonic::Code::InvalidArgument as i32).to_string();
                if let Ok(v) = http::HeaderValue::from_str(&invalid) {
                    resp.headers_mut().insert("grpc-status", v);
                }
            }
            Ok(resp)
        })
    }
}

async fn shutdown_signal() {
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    tokio::select! {
        _ = term => tracing::info!("SIGTERM: finishing in-flight requests"),
        _ = tokio::signal::ctrl_c() => tracing::info!("interrupted: finishing in-flight requests"),
    }
}

/// The configuration file to read: `--config`, else `./sqlflow.toml` (which may be absent).
pub fn config_path(explicit: Option<PathBuf>) -> Result<PathBuf, StartError> {
    match explicit {
        Some(p) if !p.is_file() => Err(StartError::Config(format!(
            "configuration file {} does not exist",
            p.display()
        ))),
        Some(p) => Ok(p),
        None => Ok(PathBuf::from("sqlflow.toml")),
    }
}

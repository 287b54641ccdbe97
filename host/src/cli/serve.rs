//! `stepwasm serve`: open the store in the data directory, set up the admin key, resume
//! every RUNNING execution, and serve the HTTP API until SIGTERM or Ctrl-C (then stop
//! accepting, finish in-flight requests, and let queued step commits reach the disk).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;

use crate::api::ServeOptions;
use crate::engine::limits::Limits;
use crate::engine::ports::TaskRunner;
use crate::engine::time_scale::TimeScale;
use crate::sandbox::{SandboxConfig, SandboxRunner};
use crate::service::{
    AdminBootstrap, EngineRuntime, Keyring, MockConfig, MockTasks, SandboxInspector, Service,
    StoreComponentSource,
};
use crate::store::Store;

/// Arguments of `stepwasm serve`.
#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// Address to listen on (port 0 picks a free port; the chosen address is printed).
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Directory holding the database file (created if missing).
    #[arg(long, default_value = "./data")]
    pub data_dir: PathBuf,
    /// redb page cache in MiB: pages of the database kept in memory (reads and the pages
    /// group commits rewrite). Executions waiting on a timer hold none of it themselves.
    #[arg(long, default_value_t = crate::store::DEFAULT_CACHE_BYTES / (1024 * 1024))]
    pub cache_mb: usize,
    /// Largest history of a STANDARD execution, in events (AWS: 25000; 0: unlimited). An
    /// execution that reaches it fails with `States.Runtime`. EXPRESS executions have none.
    #[arg(long, default_value_t = crate::engine::limits::DEFAULT_MAX_HISTORY_EVENTS)]
    pub max_history_events: u64,
    /// Seconds a client has to send a request's line and headers; a connection idle this
    /// long between requests is closed too.
    #[arg(long, default_value_t = ServeOptions::default().header_timeout.as_secs(),
          value_parser = clap::value_parser!(u64).range(1..))]
    pub header_timeout_secs: u64,
    /// Seconds a client has to send a request body, counted from its headers (then 408).
    #[arg(long, default_value_t = ServeOptions::default().body_timeout.as_secs(),
          value_parser = clap::value_parser!(u64).range(1..))]
    pub body_timeout_secs: u64,
    /// Open connections one client address may hold; past it a connection gets 429 and is
    /// closed (0: no limit).
    #[arg(long, default_value_t = ServeOptions::default().max_connections_per_client)]
    pub max_connections_per_client: usize,
    /// AWS region: in every ARN, and the region SigV4 requests must be signed for. A data
    /// directory keeps the region it was first served with (ARNs are stored).
    #[arg(long, default_value = crate::service::DEFAULT_REGION)]
    pub region: String,
    /// TEST ONLY: Wait states and Retry backoffs last F times as long (0.000001 to 1000;
    /// e.g. 0.0005 turns a one-hour Wait into 1.8 s). The history shows the real times.
    #[arg(long, value_name = "F", value_parser = super::parse_time_scale)]
    pub wait_time_scale: Option<TimeScale>,
    /// TEST ONLY: Step Functions Local's mock configuration file; an execution started as
    /// `NAME#TestCase` answers the Task states its test case names from the file.
    #[arg(long, value_name = "FILE")]
    pub mock_config: Option<PathBuf>,
}

impl ServeArgs {
    /// The connection limits these flags set.
    fn serve_options(&self) -> ServeOptions {
        ServeOptions {
            header_timeout: Duration::from_secs(self.header_timeout_secs),
            body_timeout: Duration::from_secs(self.body_timeout_secs),
            max_connections_per_client: self.max_connections_per_client,
        }
    }
}

/// Environment variable that sets the admin key.
pub const ADMIN_KEY_ENV: &str = "STEPWASM_ADMIN_KEY";

/// `stepwasm serve`: runs the server; returns the exit code.
pub fn main(args: ServeArgs) -> i32 {
    match run(args) {
        Ok(()) => super::EXIT_OK,
        Err(e) => {
            eprintln!("stepwasm: {e:#}");
            super::EXIT_INVALID
        }
    }
}

/// Runs the server until a shutdown signal.
pub fn run(args: ServeArgs) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let result = runtime.block_on(serve(args));
    // Drivers still waiting are dropped here; their committed steps are already durable.
    runtime.shutdown_timeout(Duration::from_secs(5));
    result
}

async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    crate::service::set_region(&args.region)?;
    let store =
        Store::open_dir_with_cache(&args.data_dir, args.cache_mb.saturating_mul(1024 * 1024))
            .with_context(|| format!("cannot open the store in {}", args.data_dir.display()))?;
    let source = Arc::new(StoreComponentSource::new(store.clone()));
    // Artifacts live in the store beside the bytes, so no separate cache directory.
    let config = SandboxConfig {
        cache_dir: None,
        scratch_root: args.data_dir.join("scratch"),
        ..SandboxConfig::default()
    };
    let runner = Arc::new(SandboxRunner::new(source, config)?);
    let mocks = match &args.mock_config {
        None => None,
        Some(path) => {
            let config = MockConfig::load(path)?;
            eprintln!(
                "stepwasm: warning: --mock-config {} is a test-only setting: executions started as NAME#TestCase answer mocked Task states from it",
                path.display()
            );
            Some(Arc::new(MockTasks::new(config, Some(runner.clone()))))
        }
    };
    let tasks: Arc<dyn TaskRunner> = match &mocks {
        Some(m) => m.clone(),
        None => runner.clone(),
    };
    let service = Service::new(
        store,
        Arc::new(EngineRuntime::new(Some(tasks)).with_limits(Limits {
            max_history_events: (args.max_history_events > 0).then_some(args.max_history_events),
            time_scale: super::time_scale_or_default(args.wait_time_scale),
            ..Limits::default()
        })),
        Arc::new(SandboxInspector::new(runner)),
    )?;
    let service = match mocks {
        Some(m) => service.with_mocks(m),
        None => service,
    };
    service.apply_all_limits()?;
    let env_key = std::env::var(ADMIN_KEY_ENV).ok();
    match service.bootstrap_admin(env_key.as_deref()).await? {
        AdminBootstrap::Generated(key) => {
            println!("admin key (shown once, store it now): {key}");
        }
        AdminBootstrap::FromEnvironment => println!("admin key: from {ADMIN_KEY_ENV}"),
        AdminBootstrap::Existing => println!("admin key: as set on an earlier start"),
    }
    let keyring = Keyring::load(&args.data_dir).map_err(anyhow::Error::msg)?;
    let resealed = service.install_keyring(keyring).await?;
    if resealed > 0 {
        println!("resealed {resealed} AWS secret(s) under the current server key");
    }
    let resumed = service.resume_running()?;
    println!("resumed {resumed} running execution(s)");
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    let addr = listener.local_addr()?;
    println!("stepwasm listening on http://{addr}");
    crate::api::serve(listener, service, args.serve_options(), shutdown_signal()).await?;
    println!("stepwasm: shut down");
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}

//! `stepwasm run DEFINITION.json [--input FILE|-] [--json] [--history]`: one execution,
//! in-process. With `--json`, exactly one JSON object on stdout.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::SystemTime;

use clap::Args;
use serde_json::{Value, json};

use super::{
    EXIT_FAILED, EXIT_INVALID, EXIT_OK, load_definition, machine_name, parse_input,
    read_input_text, report_load_error,
};
use crate::engine::context::ExecutionInfo;
use crate::engine::driver::{self, Finished, Runtime, SystemClock};
use crate::engine::execution::Execution;
use crate::engine::limits::Limits;
use crate::engine::ports::{ExecutionStatus, TaskRunner};
use crate::engine::time_scale::TimeScale;
use crate::service::{MockConfig, MockTasks};

/// Arguments of `run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// The state machine definition (ASL JSON).
    pub definition: PathBuf,
    /// The execution input: a JSON file, or `-` for stdin (default `{}`).
    #[arg(long)]
    pub input: Option<PathBuf>,
    /// Print one JSON object: {"status":"SUCCEEDED","output":...} or
    /// {"status":"FAILED","error":...,"cause":...}.
    #[arg(long)]
    pub json: bool,
    /// Also print the execution's event history (applies the history limit).
    #[arg(long)]
    pub history: bool,
    /// Largest history in events when recording it (AWS Standard: 25000; 0: unlimited).
    #[arg(long, default_value_t = crate::engine::limits::DEFAULT_MAX_HISTORY_EVENTS)]
    pub max_history_events: u64,
    /// Largest payload in bytes (AWS: 262144; 0: unlimited).
    #[arg(long, default_value_t = crate::engine::limits::DEFAULT_MAX_PAYLOAD_BYTES)]
    pub max_payload_bytes: usize,
    /// Serve Task `Resource` `wasm:NAME` (or `wasm:NAME:VERSION`) from a component file;
    /// repeatable.
    #[arg(long = "module", value_name = "NAME=PATH")]
    pub modules: Vec<String>,
    /// TEST ONLY: Wait states and Retry backoffs last F times as long (0.000001 to 1000;
    /// e.g. 0.0005 turns a one-hour Wait into 1.8 s). The history shows the real times.
    #[arg(long, value_name = "F", value_parser = super::parse_time_scale)]
    pub wait_time_scale: Option<TimeScale>,
    /// TEST ONLY: Step Functions Local's mock configuration file (with `--test-case`).
    #[arg(long, value_name = "FILE", requires = "test_case")]
    pub mock_config: Option<PathBuf>,
    /// The mock configuration's test case to run under (looked up under the state machine
    /// named like the definition file, else the one machine that has it).
    #[arg(long, value_name = "NAME", requires = "mock_config")]
    pub test_case: Option<String>,
}

/// Runs `run`.
pub fn main(args: RunArgs) -> i32 {
    let model = match load_definition(&args.definition) {
        Ok(m) => m,
        Err(e) => return report_load_error(&e),
    };
    let input = match read_input_text(args.input.as_deref()).and_then(|t| parse_input(&t, "")) {
        Ok(v) => v,
        Err(e) => {
            eprintln!("stepwasm: {e}");
            return EXIT_INVALID;
        }
    };
    let limits = Limits {
        max_payload_bytes: (args.max_payload_bytes > 0).then_some(args.max_payload_bytes),
        max_history_events: (args.max_history_events > 0).then_some(args.max_history_events),
        time_scale: super::time_scale_or_default(args.wait_time_scale),
    };
    if let Err(e) = limits.check_payload(&input, "execution input") {
        eprintln!("stepwasm: {}: {}", e.name, e.cause);
        return EXIT_INVALID;
    }
    let tasks = match crate::sandbox::runner_from_module_flags(&args.modules) {
        Ok(runner) => runner.map(|r| Arc::new(r) as Arc<dyn crate::engine::ports::TaskRunner>),
        Err(e) => {
            eprintln!("stepwasm: {e}");
            return EXIT_INVALID;
        }
    };
    let now = SystemTime::now();
    let name = uuid::Uuid::new_v4().to_string();
    let info = ExecutionInfo::local(&name, &machine_name(&args.definition), Arc::new(input), now);
    let tasks = match mocked(&args, tasks, &info) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("stepwasm: {e}");
            return EXIT_INVALID;
        }
    };
    let runtime = Runtime {
        activities: None,
        clock: Arc::new(SystemClock),
        tasks,
        journal: None,
        limits: limits.clone(),
        record_history: args.history,
    };
    let mut exec = Execution::new(model, Arc::new(info), limits, args.history, now);
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("stepwasm: cannot start the async runtime: {e}");
            return EXIT_INVALID;
        }
    };
    let finished = match rt.block_on(driver::run(&mut exec, &runtime)) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("stepwasm: {e}");
            return EXIT_FAILED;
        }
    };
    report(&finished, args.json, args.history)
}

/// The task runner behind `--mock-config`/`--test-case`, if given.
fn mocked(
    args: &RunArgs,
    tasks: Option<Arc<dyn TaskRunner>>,
    info: &ExecutionInfo,
) -> Result<Option<Arc<dyn TaskRunner>>, crate::service::MockConfigError> {
    let (Some(path), Some(case)) = (&args.mock_config, &args.test_case) else {
        return Ok(tasks);
    };
    let config = MockConfig::load(path)?;
    let machine = config.machine_with_case(&info.state_machine_name, case)?;
    eprintln!(
        "stepwasm: warning: --mock-config is a test-only setting: running test case {case} of {machine}"
    );
    let mocks = MockTasks::new(config, tasks);
    mocks.register(&info.id, &machine, case)?;
    Ok(Some(Arc::new(mocks)))
}

fn report(finished: &Finished, json_out: bool, history: bool) -> i32 {
    let end = &finished.end;
    let succeeded = end.status == ExecutionStatus::Succeeded;
    if json_out {
        let mut obj = if succeeded {
            json!({"status": "SUCCEEDED", "output": end.output.clone().unwrap_or(Value::Null)})
        } else {
            // The command's contract has two outcomes; a timed-out execution is FAILED with
            // error States.Timeout.
            // error/cause a Fail state left out are absent, as in AWS's DescribeExecution.
            let mut failed = json!({"status": "FAILED"});
            if let Some(error) = &end.error {
                failed["error"] = json!(error);
            }
            if let Some(cause) = &end.cause {
                failed["cause"] = json!(cause);
            }
            failed
        };
        if history {
            obj["history"] = serde_json::to_value(&finished.history).unwrap_or(Value::Null);
        }
        println!("{obj}");
    } else {
        if history {
            for e in &finished.history {
                println!("{}", serde_json::to_string(e).unwrap_or_default());
            }
        }
        if succeeded {
            println!("SUCCEEDED");
            let output = end.output.clone().unwrap_or(Value::Null);
            println!(
                "{}",
                serde_json::to_string_pretty(&output).unwrap_or_default()
            );
        } else {
            let status = match end.status {
                ExecutionStatus::TimedOut => "TIMED_OUT",
                ExecutionStatus::Aborted => "ABORTED",
                _ => "FAILED",
            };
            println!("{status}");
            println!("error: {}", end.error.as_deref().unwrap_or(""));
            println!("cause: {}", end.cause.as_deref().unwrap_or(""));
        }
    }
    if succeeded { EXIT_OK } else { EXIT_FAILED }
}

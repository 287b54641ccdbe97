//! The service layer: every tenant-scoped operation on components, state machines and
//! executions, with its rules (names, quotas, idempotent starts, isolation). The HTTP API
//! (`api`) and any later wire protocol are thin adapters over this one place.
//!
//! A tenant only ever names its own things: every lookup is keyed by the caller's tenant,
//! so another tenant's names are simply not found.

mod activities;
mod aliases;
mod auth;
mod callbacks;
mod components;
mod credentials;
mod driving;
mod engine_runtime;
mod error;
mod executions;
mod express;
mod limits;
mod machines;
mod mock_tasks;
mod names;
mod paging;
mod pinned_tasks;
mod redrive;
#[cfg(test)]
mod robust_tests;
mod runtime;
mod sandbox_wiring;
mod start_sync;
mod tags;
mod test_state;
mod timefmt;
mod timers;
mod versions;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

pub use activities::{MAX_WORKER_NAME_CHARS, POLL_SECS};
pub use aliases::{Route, check_routing};
pub use auth::{AdminBootstrap, KEY_PREFIX, Principal, generate_key, hash_key};
pub use components::{BasicInspector, ComponentInfo, ComponentInspector};
pub use credentials::{
    AwsCredentials, Keyring, PREVIOUS_SECRET_KEYS_ENV, SECRET_KEY_ENV, SECRET_KEY_FILE,
    derive_signing_key, hmac_sha256,
};
pub use engine_runtime::EngineRuntime;
pub use error::{ErrorClass, Resource, ServiceError};
pub use executions::{HistoryQuery, ListExecutionsQuery, Started, StopRequest};
pub use machines::{
    DefinitionReport, NewStateMachine, ReportedDiagnostic, StateMachineUpdate, Written,
};
pub use mock_tasks::{MockConfig, MockConfigError, MockTasks, MockedResponse, split_test_case};
pub use names::{
    ArnTarget, DEFAULT_REGION, ExecutionRef, MachineRef, Qualifier, activity_arn, execution_arn,
    parse_activity_arn, parse_arn, region, role_arn, set_region, state_machine_alias_arn,
    state_machine_arn, state_machine_version_arn,
};
pub use paging::{Damaged, Page};
pub use redrive::{MAX_REDRIVES, REDRIVE_WINDOW_MS, redrive_status};
pub use runtime::{Driven, ExpressRun, Launch, NoRuntime, Runtime, RuntimeError};
pub use sandbox_wiring::{ARTIFACT_FINGERPRINT, SandboxInspector, StoreComponentSource};
pub use start_sync::{BillingDetails, SyncRun};
pub use tags::TagTarget;
pub use test_state::{
    InspectionLevel, MockInput, TestStateRequest, TestStateResponse, prepare as prepare_test_state,
    respond as test_state_response,
};
pub use timefmt::rfc3339_ms;
pub use versions::{MachineDescription, StartTarget, pick_route};

use crate::store::{Store, TenantRecord};

/// Largest execution input or output, as in AWS (256 KiB).
pub const MAX_PAYLOAD_BYTES: usize = 256 * 1024;
/// State machine versions kept in memory for resuming executions, weighed by their
/// definitions' length.
const MACHINE_CACHE_BYTES: usize = 64 << 20;
/// Default page size for list and history calls.
pub const DEFAULT_PAGE_SIZE: usize = 100;
/// Largest page size a caller may ask for.
pub const MAX_PAGE_SIZE: usize = 1000;

/// The service: store, runtime, component inspector and the in-memory counters that quotas
/// need. Cheap to clone.
#[derive(Clone)]
pub struct Service {
    inner: Arc<Inner>,
}

struct Inner {
    store: Store,
    runtime: Arc<dyn Runtime>,
    inspector: Arc<dyn ComponentInspector>,
    /// Key hash → tenant, so a request costs no read transaction once its key is known.
    key_cache: Mutex<HashMap<[u8; 32], Arc<TenantRecord>>>,
    /// Server keys sealing AWS secrets at rest (set once at start-up).
    keyring: std::sync::OnceLock<credentials::Keyring>,
    /// Derived SigV4 signing keys, per access key, day, region and service.
    signing_keys: credentials::SigningKeys,
    limits: limits::Limits,
    drivers: driving::Drivers,
    /// Unstarted activity tasks, for GetActivityTask.
    activities: Arc<activities::ActivityQueues>,
    /// Durable executions parked on a long timer (nothing of them in memory but this).
    timers: timers::Timers,
    /// EXPRESS executions running in this process (visible until recorded).
    express: express::ExpressRegistry,
    /// Bumped by every state machine change, so a cache fill that raced one is dropped.
    machine_changes: std::sync::atomic::AtomicU64,
    /// Latest version by (tenant, name), for starts.
    latest_machines: Mutex<HashMap<(String, String), Arc<crate::store::StateMachineVersion>>>,
    /// State machine versions by (tenant, name, version), for resuming executions; bounded
    /// by their definitions' bytes (every update adds a version).
    machines: crate::cache::ByteLru<(String, String, u64), Arc<crate::store::StateMachineVersion>>,
    /// The mock configuration's task runner (`serve --mock-config`), for `#TestCase` starts.
    mocks: Option<Arc<MockTasks>>,
    /// The components each state machine revision names without a version (to pin at
    /// start), by (tenant, name, revision): parsed from the definition once, not per start.
    pin_names: crate::cache::ByteLru<(String, String, u64), Arc<[String]>>,
}

impl std::fmt::Debug for Service {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Service")
            .field("store", &self.inner.store)
            .finish_non_exhaustive()
    }
}

impl Service {
    /// A service over an open store. Counts the RUNNING executions already in the store
    /// (recovered ones count against the concurrency quota).
    pub fn new(
        store: Store,
        runtime: Arc<dyn Runtime>,
        inspector: Arc<dyn ComponentInspector>,
    ) -> Result<Self, ServiceError> {
        let limits = limits::Limits::default();
        for (tenant, n) in store.running_counts()? {
            limits.set_running(&tenant, n);
        }
        Ok(Self {
            inner: Arc::new(Inner {
                store,
                runtime,
                inspector,
                key_cache: Mutex::new(HashMap::new()),
                keyring: std::sync::OnceLock::new(),
                signing_keys: credentials::SigningKeys::default(),
                limits,
                drivers: driving::Drivers::default(),
                activities: Arc::default(),
                timers: timers::Timers::default(),
                express: express::ExpressRegistry::default(),
                machines: crate::cache::ByteLru::new(MACHINE_CACHE_BYTES),
                pin_names: crate::cache::ByteLru::new(MACHINE_CACHE_BYTES / 16),
                machine_changes: std::sync::atomic::AtomicU64::new(0),
                latest_machines: Mutex::new(HashMap::new()),
                mocks: None,
            }),
        })
    }

    /// The same service, starting `name#TestCase` executions under `mocks`' test cases
    /// (the runtime must run tasks through `mocks`). Call right after [`Service::new`].
    #[must_use]
    pub fn with_mocks(mut self, mocks: Arc<MockTasks>) -> Self {
        if let Some(inner) = Arc::get_mut(&mut self.inner) {
            inner.mocks = Some(mocks);
        }
        self
    }

    /// The mock configuration's runner, when the server has one.
    pub fn mocks(&self) -> Option<&Arc<MockTasks>> {
        self.inner.mocks.as_ref()
    }

    /// The store underneath.
    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    /// The runtime executions run on.
    pub fn runtime(&self) -> &Arc<dyn Runtime> {
        &self.inner.runtime
    }
}

#[cfg(test)]
mod unreadable_tests;

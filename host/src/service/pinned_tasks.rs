//! Component versions pinned per execution: a STANDARD execution records, at its start,
//! the version each `wasm:NAME` resource (no version given) resolved to
//! ([`crate::store::ExecutionRecord::components`]); its task runner asks for exactly those
//! versions, so every attempt, a resume after a crash and a redrive run the same bytes
//! (versions are immutable and pinned to their sha256).

use std::sync::Arc;

use crate::engine::ports::{BoxFuture, TaskOutcome, TaskRequest, TaskRunner};

/// A task runner that turns `wasm:NAME` into `wasm:NAME:VERSION` for the pinned names.
pub struct PinnedTasks {
    inner: Arc<dyn TaskRunner>,
    pins: Arc<[(String, u64)]>,
}

impl PinnedTasks {
    /// `inner` as is when nothing is pinned, else wrapped.
    pub fn wrap(inner: Arc<dyn TaskRunner>, pins: &[(String, u64)]) -> Arc<dyn TaskRunner> {
        if pins.is_empty() {
            return inner;
        }
        Arc::new(PinnedTasks {
            inner,
            pins: pins.into(),
        })
    }

    /// The resource to invoke for `resource`.
    fn pinned(&self, resource: &str) -> Option<String> {
        let name = resource.strip_prefix("wasm:")?;
        if name.contains(':') {
            return None;
        }
        self.pins
            .iter()
            .find(|(n, _)| n == name)
            .map(|(n, v)| format!("wasm:{n}:{v}"))
    }
}

impl TaskRunner for PinnedTasks {
    fn invoke(&self, mut request: TaskRequest) -> BoxFuture<'_, TaskOutcome> {
        if let Some(resource) = self.pinned(&request.resource) {
            request.resource = resource;
        }
        self.inner.invoke(request)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Nothing;
    impl TaskRunner for Nothing {
        fn invoke(&self, _: TaskRequest) -> BoxFuture<'_, TaskOutcome> {
            unreachable!()
        }
    }

    #[test]
    fn only_unversioned_pinned_names_change() {
        let p = PinnedTasks {
            inner: Arc::new(Nothing),
            pins: vec![("price".to_owned(), 3)].into(),
        };
        assert_eq!(p.pinned("wasm:price").as_deref(), Some("wasm:price:3"));
        assert_eq!(p.pinned("wasm:price:1"), None);
        assert_eq!(p.pinned("wasm:other"), None);
        assert_eq!(p.pinned("arn:aws:states:::lambda:invoke"), None);
    }
}

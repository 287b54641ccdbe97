//! Where components come from and whether they fit: `Resource` names, the source trait
//! the CLI and the store implement, load errors, and the world check run at load time.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use sha2::{Digest, Sha256};

use crate::engine::ports::BoxFuture;

/// The world a task component must implement, as named in errors.
pub const WORLD: &str = "stepwasm:task/task@0.1.0";
/// The one export the world requires.
pub const RUN_EXPORT: &str = "run";
/// The host interface every task may import.
pub const HOST_INTERFACE: &str = "stepwasm:task/host@0.1.0";
/// The world's types-only interface (imported by components that use `task-error`).
pub const TYPES_INTERFACE: &str = "stepwasm:task/types@0.1.0";
/// WASI 0.2 interfaces the linker provides. They are linked so that components built by
/// ordinary toolchains (whose standard library imports them) load, but the context behind
/// them grants nothing: no preopened directory (unless a scratch grant), no environment,
/// no arguments, no network, stdin empty, stdout/stderr captured.
pub const GRANTED_WASI_PREFIXES: [&str; 6] = [
    "wasi:io/",
    "wasi:clocks/",
    "wasi:random/",
    "wasi:cli/",
    "wasi:filesystem/",
    "wasi:sockets/",
];

/// A parsed `Resource` of a Task state: `wasm:NAME` or `wasm:NAME:VERSION`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ResourceName {
    /// The component's name.
    pub name: String,
    /// A specific version, or `None` for the latest.
    pub version: Option<String>,
}

impl ResourceName {
    /// The prefix every WebAssembly resource starts with.
    pub const SCHEME: &'static str = "wasm:";

    /// Parses `wasm:NAME` or `wasm:NAME:VERSION`.
    pub fn parse(resource: &str) -> Result<ResourceName, ResourceError> {
        let invalid = |reason: &str| ResourceError::Invalid {
            resource: resource.to_owned(),
            reason: reason.to_owned(),
        };
        let rest = resource
            .strip_prefix(Self::SCHEME)
            .ok_or_else(|| invalid("expected `wasm:NAME` or `wasm:NAME:VERSION`"))?;
        let (name, version) = match rest.split_once(':') {
            Some((name, version)) => (name, Some(version)),
            None => (rest, None),
        };
        let valid = |s: &str| {
            !s.is_empty()
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        };
        if !valid(name) {
            return Err(invalid(
                "the name must be non-empty: letters, digits, `-`, `_`, `.`",
            ));
        }
        if let Some(version) = version
            && !valid(version)
        {
            return Err(invalid(
                "the version must be non-empty: letters, digits, `-`, `_`, `.`",
            ));
        }
        Ok(ResourceName {
            name: name.to_owned(),
            version: version.map(str::to_owned),
        })
    }
}

/// A component's bytes as a source hands them over.
#[derive(Clone, Debug)]
pub struct ComponentBytes {
    /// The component binary.
    pub bytes: Arc<[u8]>,
    /// Lowercase hex sha256 of `bytes`: the cache key.
    pub sha256: String,
    /// A precompiled artifact made by [`super::SandboxRunner::precompile`] with this
    /// runner's engine, if the source keeps one; used instead of compiling when it fits.
    pub precompiled: Option<Arc<[u8]>>,
}

impl ComponentBytes {
    /// Wraps bytes, hashing them.
    pub fn new(bytes: impl Into<Arc<[u8]>>) -> Self {
        let bytes = bytes.into();
        ComponentBytes {
            sha256: sha256_hex(&bytes),
            bytes,
            precompiled: None,
        }
    }
}

/// Lowercase hex sha256, the content key of components and artifacts.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Why a `Resource` could not be turned into component bytes.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ResourceError {
    /// The resource string is not a WebAssembly resource.
    #[error("invalid resource `{resource}`: {reason}")]
    Invalid {
        /// The resource as written.
        resource: String,
        /// What is wrong with it.
        reason: String,
    },
    /// No component by that name (and version) for this tenant.
    #[error("no component `{name}`{} registered{}", version.as_ref().map(|v| format!(" version {v}")).unwrap_or_default(), tenant.as_ref().map(|t| format!(" for tenant `{t}`")).unwrap_or_default())]
    NotFound {
        /// The tenant asking, if any.
        tenant: Option<String>,
        /// The component name.
        name: String,
        /// The version asked for, if any.
        version: Option<String>,
    },
    /// The source failed (e.g. the store could not be read).
    #[error("component source failed: {reason}")]
    Source {
        /// What went wrong.
        reason: String,
    },
}

/// Resolves (tenant, name, version) to component bytes. The CLI maps names to files; the
/// durable service resolves through its registry.
pub trait ComponentSource: Send + Sync {
    /// Finds the component. Called once per invocation, so keep it cheap (no hashing).
    fn resolve<'a>(
        &'a self,
        tenant: Option<&'a str>,
        resource: &'a ResourceName,
    ) -> BoxFuture<'a, Result<ComponentBytes, ResourceError>>;
}

/// A fixed set of components read from files at startup (`--module NAME=path.wasm`).
/// Versions are not distinguished: `wasm:NAME:V` resolves to NAME's file.
#[derive(Clone, Debug, Default)]
pub struct FileSource {
    components: HashMap<String, ComponentBytes>,
}

impl FileSource {
    /// An empty source.
    pub fn new() -> Self {
        Self::default()
    }

    /// Reads `path` and serves it as `name`.
    pub fn add_file(&mut self, name: &str, path: &Path) -> Result<(), std::io::Error> {
        let bytes = std::fs::read(path)?;
        self.add_bytes(name, bytes);
        Ok(())
    }

    /// Serves `bytes` as `name`.
    pub fn add_bytes(&mut self, name: &str, bytes: Vec<u8>) {
        self.components
            .insert(name.to_owned(), ComponentBytes::new(bytes));
    }

    /// The components served, by name.
    pub fn components(&self) -> impl Iterator<Item = (&str, &ComponentBytes)> {
        self.components.iter().map(|(n, c)| (n.as_str(), c))
    }

    /// Parses `NAME=PATH` as the CLI's `--module` flag gives it.
    pub fn parse_module_flag(flag: &str) -> Result<(String, PathBuf), ResourceError> {
        let (name, path) = flag.split_once('=').ok_or_else(|| ResourceError::Invalid {
            resource: flag.to_owned(),
            reason: "expected NAME=PATH".to_owned(),
        })?;
        // Reuse the resource grammar for the name.
        let parsed = ResourceName::parse(&format!("{}{name}", ResourceName::SCHEME))?;
        if parsed.version.is_some() {
            return Err(ResourceError::Invalid {
                resource: flag.to_owned(),
                reason: "the module name must not contain `:`".to_owned(),
            });
        }
        Ok((parsed.name, PathBuf::from(path)))
    }
}

impl ComponentSource for FileSource {
    fn resolve<'a>(
        &'a self,
        tenant: Option<&'a str>,
        resource: &'a ResourceName,
    ) -> BoxFuture<'a, Result<ComponentBytes, ResourceError>> {
        let found =
            self.components
                .get(&resource.name)
                .cloned()
                .ok_or_else(|| ResourceError::NotFound {
                    tenant: tenant.map(str::to_owned),
                    name: resource.name.clone(),
                    version: resource.version.clone(),
                });
        Box::pin(async move { found })
    }
}

/// Why a component was rejected when it was loaded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LoadError {
    /// The bytes are not a valid WebAssembly component (maybe a core module, maybe junk).
    #[error("not a WebAssembly component: {reason}")]
    NotAComponent {
        /// The parser's or compiler's message.
        reason: String,
    },
    /// The component lacks an export of the world.
    #[error("component does not implement world {WORLD}: missing export `{name}`")]
    MissingExport {
        /// The missing export.
        name: String,
    },
    /// The component exports something the world does not have.
    #[error("component does not implement world {WORLD}: unexpected export `{name}`")]
    ExtraExport {
        /// The extra export.
        name: String,
    },
    /// An export of the world has the wrong type.
    #[error(
        "component does not implement world {WORLD}: export `{name}` has the wrong type: {reason}"
    )]
    WrongExportType {
        /// The export.
        name: String,
        /// What wasmtime found wrong.
        reason: String,
    },
    /// The component imports something the host does not grant.
    #[error(
        "component imports `{name}`, which the host does not grant (granted: {HOST_INTERFACE}, {TYPES_INTERFACE} and WASI 0.2 {GRANTED_WASI_PREFIXES:?})"
    )]
    UngrantedImport {
        /// The import.
        name: String,
    },
    /// A granted import has a shape the host does not provide (e.g. another version).
    #[error("component import does not match what the host provides: {reason}")]
    ImportMismatch {
        /// wasmtime's message, which names the item.
        reason: String,
    },
    /// A precompiled artifact could not be used.
    #[error("precompiled artifact rejected: {reason}")]
    Artifact {
        /// Why.
        reason: String,
    },
}

/// What a valid component imports and exports, by name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ComponentInfo {
    /// Imported interface names, e.g. `stepwasm:task/host@0.1.0`, `wasi:cli/stdout@0.2.6`.
    pub imports: Vec<String>,
    /// Exported names (just `run`).
    pub exports: Vec<String>,
}

/// Whether the host grants an import of this name.
pub fn is_granted_import(name: &str) -> bool {
    name == HOST_INTERFACE
        || name == TYPES_INTERFACE
        || GRANTED_WASI_PREFIXES
            .iter()
            .any(|prefix| name.starts_with(prefix) && name.contains("@0.2."))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_resources() {
        assert_eq!(
            ResourceName::parse("wasm:price").unwrap(),
            ResourceName {
                name: "price".into(),
                version: None
            }
        );
        assert_eq!(
            ResourceName::parse("wasm:price:3")
                .unwrap()
                .version
                .as_deref(),
            Some("3")
        );
        for bad in [
            "price",
            "wasm:",
            "wasm::1",
            "wasm:a:",
            "wasm:a/b",
            "arn:aws:lambda",
        ] {
            let err = ResourceName::parse(bad).unwrap_err();
            assert!(matches!(err, ResourceError::Invalid { .. }), "{bad}: {err}");
        }
    }

    #[test]
    fn grants_host_and_wasi_02_only() {
        assert!(is_granted_import(HOST_INTERFACE));
        assert!(is_granted_import(TYPES_INTERFACE));
        assert!(is_granted_import("wasi:cli/stdout@0.2.6"));
        assert!(!is_granted_import("wasi:http/outgoing-handler@0.2.6"));
        assert!(!is_granted_import("wasi:cli/stdout@0.3.0"));
        assert!(!is_granted_import("stepwasm:task/host@0.2.0"));
    }

    #[test]
    fn module_flag() {
        let (name, path) = FileSource::parse_module_flag("price=a/b.wasm").unwrap();
        assert_eq!(
            (name.as_str(), path.as_path()),
            ("price", Path::new("a/b.wasm"))
        );
        assert!(FileSource::parse_module_flag("price").is_err());
        assert!(FileSource::parse_module_flag("=x.wasm").is_err());
        assert!(FileSource::parse_module_flag("a:1=x.wasm").is_err());
    }
}

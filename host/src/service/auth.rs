//! Who is calling: bearer keys (random 32-byte tokens, stored as sha256), the admin key,
//! and the admin's operations on tenants, keys and quotas.

use std::sync::Arc;

use base64::Engine as _;
use rand::RngCore;
use sha2::{Digest, Sha256};

use super::names::check_tenant_id;
use super::{Resource, Service, ServiceError};
use crate::store::{Quotas, StoreError, TenantRecord};

/// Every key starts with this, so a leaked key is recognisable.
pub const KEY_PREFIX: &str = "swk_";

/// The caller of a request.
#[derive(Clone, Debug)]
pub enum Principal {
    /// The admin: manages tenants and keys, owns no resources.
    Admin,
    /// A tenant.
    Tenant(Arc<TenantRecord>),
}

/// What happened to the admin key at start-up.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AdminBootstrap {
    /// Taken from the environment (`STEPWASM_ADMIN_KEY`); its hash replaced any stored one.
    FromEnvironment,
    /// A key was already stored from an earlier start.
    Existing,
    /// Generated now; shown once, never again.
    Generated(String),
}

/// A fresh random key.
pub fn generate_key() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    format!(
        "{KEY_PREFIX}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    )
}

/// The stored form of a key.
pub fn hash_key(key: &str) -> [u8; 32] {
    Sha256::digest(key.as_bytes()).into()
}

impl Service {
    /// Sets up the admin key: from `env_key` if given, else the stored one, else a new one.
    pub async fn bootstrap_admin(
        &self,
        env_key: Option<&str>,
    ) -> Result<AdminBootstrap, ServiceError> {
        let store = self.store();
        if let Some(key) = env_key.filter(|k| !k.is_empty()) {
            // Written only when it changes: a restart on a full disk must not need a write.
            let hash = hash_key(key);
            if store.admin_key_hash()? != Some(hash) {
                store.set_admin_key_hash(hash).await?;
            }
            return Ok(AdminBootstrap::FromEnvironment);
        }
        if store.admin_key_hash()?.is_some() {
            return Ok(AdminBootstrap::Existing);
        }
        let key = generate_key();
        store.set_admin_key_hash(hash_key(&key)).await?;
        Ok(AdminBootstrap::Generated(key))
    }

    /// Resolves an `Authorization` header value to a principal.
    pub fn authenticate(&self, authorization: Option<&str>) -> Result<Principal, ServiceError> {
        let header = authorization.ok_or_else(|| ServiceError::Unauthenticated {
            reason: "missing Authorization header (expected 'Bearer <key>')".into(),
        })?;
        // The scheme is case-insensitive (RFC 9110 section 11.1): `bearer` works too.
        let key = header
            .split_once(' ')
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("Bearer"))
            .map(|(_, key)| key.trim())
            .filter(|k| !k.is_empty())
            .ok_or_else(|| ServiceError::Unauthenticated {
                reason: "Authorization header must be 'Bearer <key>'".into(),
            })?;
        let hash = hash_key(key);
        if let Some(t) = self.cached_key(&hash) {
            return Ok(Principal::Tenant(t));
        }
        if self.store().admin_key_hash()? == Some(hash) {
            return Ok(Principal::Admin);
        }
        let unknown = || ServiceError::Unauthenticated {
            reason: "unknown API key".into(),
        };
        let tenant_id = self.store().tenant_for_key(&hash)?.ok_or_else(unknown)?;
        let tenant = Arc::new(self.store().tenant(&tenant_id)?.ok_or_else(unknown)?);
        self.inner
            .key_cache
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(hash, tenant.clone());
        Ok(Principal::Tenant(tenant))
    }

    fn cached_key(&self, hash: &[u8; 32]) -> Option<Arc<TenantRecord>> {
        self.inner
            .key_cache
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(hash)
            .cloned()
    }

    /// Requires the admin.
    pub fn require_admin(principal: &Principal) -> Result<(), ServiceError> {
        match principal {
            Principal::Admin => Ok(()),
            Principal::Tenant(_) => Err(ServiceError::AccessDenied {
                reason: "this route needs the admin key".into(),
            }),
        }
    }

    /// Requires a tenant; returns it.
    pub fn into_tenant(principal: Principal) -> Result<Arc<TenantRecord>, ServiceError> {
        match principal {
            Principal::Tenant(t) => Ok(t),
            Principal::Admin => Err(ServiceError::AccessDenied {
                reason: "the admin key owns no resources; use a tenant key".into(),
            }),
        }
    }

    /// Creates a tenant (quotas default where not given) and its first key.
    pub async fn create_tenant(
        &self,
        id: &str,
        quotas: Option<Quotas>,
    ) -> Result<(TenantRecord, String), ServiceError> {
        check_tenant_id(id)?;
        let record = self
            .store()
            .create_tenant(id, quotas.unwrap_or_default())
            .await
            .map_err(|e| match e {
                StoreError::AlreadyExists { .. } => ServiceError::AlreadyExists {
                    what: Resource::Tenant,
                    name: id.to_string(),
                    detail: String::new(),
                },
                other => other.into(),
            })?;
        let key = self.create_key(id).await?;
        Ok((record, key))
    }

    /// Issues another key for a tenant.
    pub async fn create_key(&self, tenant: &str) -> Result<String, ServiceError> {
        let key = generate_key();
        self.store()
            .add_key(tenant, hash_key(&key))
            .await
            .map_err(|e| not_found_tenant(e, tenant))?;
        Ok(key)
    }

    /// One tenant.
    pub fn tenant(&self, id: &str) -> Result<TenantRecord, ServiceError> {
        self.store()
            .tenant(id)?
            .ok_or_else(|| ServiceError::NotFound {
                what: Resource::Tenant,
                name: id.to_string(),
            })
    }

    /// Every tenant.
    pub fn tenants(&self) -> Result<Vec<TenantRecord>, ServiceError> {
        Ok(self.store().tenants()?)
    }

    /// Replaces a tenant's quotas.
    pub async fn set_quotas(&self, id: &str, quotas: Quotas) -> Result<TenantRecord, ServiceError> {
        let rec = self
            .store()
            .set_quotas(id, quotas)
            .await
            .map_err(|e| not_found_tenant(e, id))?;
        self.apply_tenant_limits(&rec)?;
        // Cached principals carry the old quotas.
        self.inner
            .key_cache
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
        self.forget_signing_keys();
        Ok(rec)
    }
}

fn not_found_tenant(e: StoreError, id: &str) -> ServiceError {
    match e {
        StoreError::NotFound { .. } => ServiceError::NotFound {
            what: Resource::Tenant,
            name: id.to_string(),
        },
        other => other.into(),
    }
}

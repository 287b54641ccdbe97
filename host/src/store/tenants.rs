//! Tenants, their API keys (stored only as sha256 hashes), their AWS credentials (secrets
//! sealed by the service; this file stores the sealed bytes), the admin key hash, and the
//! per-tenant stored-bytes counter.

use redb::ReadableTable;

use super::records::{Quotas, TenantRecord};
use super::schema::Tables;
use super::schema::{API_KEYS, META, TENANTS, USAGE};
use super::writer::wait;
use super::{Result, Store, StoreError, decode, encode, now_ms};

/// The open `usage` table inside a write transaction.
pub(super) type UsageTable<'t> = redb::Table<'t, &'static str, u64>;

/// Length of a key hash (sha256).
pub type KeyHash = [u8; 32];

/// AWS credentials live in `meta` under this prefix plus the access key id: a handful of
/// rows per tenant, so no table of their own (and no schema change).
const AWS_CREDENTIAL_PREFIX: &str = "aws_credential:";

/// One AWS access key: its tenant and its secret, sealed (encrypted and authenticated) by
/// the service under a server key; the store never sees the secret in the clear.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AwsCredentialRecord {
    /// Owning tenant.
    pub tenant: String,
    /// Which server key sealed it (a fingerprint, not the key).
    pub key_id: String,
    /// AEAD nonce.
    pub nonce: Vec<u8>,
    /// The sealed secret.
    pub sealed: Vec<u8>,
    /// Creation time, Unix milliseconds.
    pub created_ms: i64,
}

impl Store {
    /// Creates a tenant with the given quotas.
    pub async fn create_tenant(&self, id: &str, quotas: Quotas) -> Result<TenantRecord> {
        let record = TenantRecord {
            id: id.to_string(),
            created_ms: now_ms(),
            quotas,
        };
        let rec = record.clone();
        wait(self.writer.submit(move |tb| {
            let t = &mut tb.tenants;
            if t.get(rec.id.as_str())?.is_some() {
                return Err(StoreError::AlreadyExists {
                    what: "tenant",
                    name: rec.id.clone(),
                });
            }
            t.insert(rec.id.as_str(), encode(&rec).as_slice())?;
            Ok(())
        }))
        .await?;
        Ok(record)
    }

    /// Replaces a tenant's quotas.
    pub async fn set_quotas(&self, id: &str, quotas: Quotas) -> Result<TenantRecord> {
        let id = id.to_string();
        wait(self.writer.submit(move |tb| {
            let t = &mut tb.tenants;
            let mut rec: TenantRecord = match t.get(id.as_str())? {
                Some(v) => decode(v.value(), "tenants", &id)?,
                None => {
                    return Err(StoreError::NotFound {
                        what: "tenant",
                        name: id,
                    });
                }
            };
            rec.quotas = quotas;
            t.insert(id.as_str(), encode(&rec).as_slice())?;
            Ok(rec)
        }))
        .await
    }

    /// One tenant.
    pub fn tenant(&self, id: &str) -> Result<Option<TenantRecord>> {
        let txn = self.slot.begin_read()?;
        let t = txn.open_table(TENANTS)?;
        t.get(id)?
            .map(|v| decode(v.value(), "tenants", id))
            .transpose()
    }

    /// Every tenant, by id.
    pub fn tenants(&self) -> Result<Vec<TenantRecord>> {
        let txn = self.slot.begin_read()?;
        let t = txn.open_table(TENANTS)?;
        let mut out = Vec::new();
        for row in t.iter()? {
            let (k, v) = row?;
            out.push(decode(v.value(), "tenants", k.value())?);
        }
        Ok(out)
    }

    /// Records a key (by its hash) for an existing tenant.
    pub async fn add_key(&self, tenant: &str, hash: KeyHash) -> Result<()> {
        let tenant = tenant.to_string();
        wait(self.writer.submit(move |tb| {
            if tb.tenants.get(tenant.as_str())?.is_none() {
                return Err(StoreError::NotFound {
                    what: "tenant",
                    name: tenant,
                });
            }
            tb.api_keys.insert(&hash[..], tenant.as_str())?;
            Ok(())
        }))
        .await
    }

    /// The tenant a key hash belongs to.
    pub fn tenant_for_key(&self, hash: &KeyHash) -> Result<Option<String>> {
        let txn = self.slot.begin_read()?;
        let t = txn.open_table(API_KEYS)?;
        Ok(t.get(&hash[..])?.map(|v| v.value().to_string()))
    }

    /// Stores (or replaces, when resealed) an AWS credential for an existing tenant.
    pub async fn put_aws_credential(
        &self,
        access_key_id: &str,
        record: AwsCredentialRecord,
    ) -> Result<()> {
        let key = format!("{AWS_CREDENTIAL_PREFIX}{access_key_id}");
        wait(self.writer.submit(move |tb| {
            if tb.tenants.get(record.tenant.as_str())?.is_none() {
                return Err(StoreError::NotFound {
                    what: "tenant",
                    name: record.tenant,
                });
            }
            tb.meta.insert(key.as_str(), encode(&record).as_slice())?;
            Ok(())
        }))
        .await
    }

    /// One AWS credential by access key id.
    pub fn aws_credential(&self, access_key_id: &str) -> Result<Option<AwsCredentialRecord>> {
        let txn = self.slot.begin_read()?;
        let t = txn.open_table(META)?;
        let key = format!("{AWS_CREDENTIAL_PREFIX}{access_key_id}");
        t.get(key.as_str())?
            .map(|v| decode(v.value(), "meta", &key))
            .transpose()
    }

    /// Every AWS credential, by access key id (for resealing under a new server key).
    pub fn aws_credentials(&self) -> Result<Vec<(String, AwsCredentialRecord)>> {
        let txn = self.slot.begin_read()?;
        let t = txn.open_table(META)?;
        let mut out = Vec::new();
        for row in t.range(AWS_CREDENTIAL_PREFIX..)? {
            let (k, v) = row?;
            let Some(id) = k.value().strip_prefix(AWS_CREDENTIAL_PREFIX) else {
                break;
            };
            out.push((id.to_string(), decode(v.value(), "meta", k.value())?));
        }
        Ok(out)
    }

    /// The admin key's hash, if one was ever set.
    pub fn admin_key_hash(&self) -> Result<Option<KeyHash>> {
        let txn = self.slot.begin_read()?;
        let t = txn.open_table(META)?;
        Ok(t.get("admin_key_hash")?
            .and_then(|v| <KeyHash>::try_from(v.value()).ok()))
    }

    /// Sets (or replaces) the admin key's hash.
    pub async fn set_admin_key_hash(&self, hash: KeyHash) -> Result<()> {
        wait(self.writer.submit(move |tb| {
            tb.meta.insert("admin_key_hash", &hash[..])?;
            Ok(())
        }))
        .await
    }

    /// Bytes stored for a tenant.
    pub fn usage(&self, tenant: &str) -> Result<u64> {
        let txn = self.slot.begin_read()?;
        let t = txn.open_table(USAGE)?;
        Ok(t.get(tenant)?.map(|v| v.value()).unwrap_or(0))
    }
}

/// A byte count as a charge.
pub(super) fn signed(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// Adds `delta` (may be negative) to a tenant's stored bytes inside `txn`.
pub(super) fn charge(tb: &mut Tables<'_>, tenant: &str, delta: i64) -> Result<()> {
    let t = &mut tb.usage;
    let current = t.get(tenant)?.map(|v| v.value()).unwrap_or(0);
    let next = current.saturating_add_signed(delta);
    t.insert(tenant, next)?;
    Ok(())
}

/// The stored-bytes charges of one group commit's steps, summed per tenant (a batch holds
/// few tenants) and written by [`StepCharges::apply`] once the batch's jobs have run.
#[derive(Debug, Default)]
pub(super) struct StepCharges(Vec<(String, i64)>);

impl StepCharges {
    pub(super) fn add(&mut self, tenant: &str, delta: i64) {
        match self.0.iter_mut().find(|(t, _)| t == tenant) {
            Some((_, sum)) => *sum = sum.saturating_add(delta),
            None => self.0.push((tenant.to_owned(), delta)),
        }
    }

    /// Writes the summed charges into the usage table (and forgets them).
    pub(super) fn apply(tb: &mut Tables<'_>) -> Result<()> {
        for (tenant, delta) in std::mem::take(&mut tb.step_charges.0) {
            charge(tb, &tenant, delta)?;
        }
        Ok(())
    }
}

/// Stored bytes for a tenant, read inside a write transaction.
pub(super) fn usage_in(usage: &UsageTable<'_>, tenant: &str) -> Result<u64> {
    Ok(usage.get(tenant)?.map(|v| v.value()).unwrap_or(0))
}

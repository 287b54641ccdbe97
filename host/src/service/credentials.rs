//! AWS-style credentials for tenants (access key id + secret access key), the server key
//! ring that seals their secrets at rest (XChaCha20-Poly1305), and the SigV4 signing keys
//! derived from them, cached per (key id, date, region, service) so verifying a request
//! costs one HMAC over its string to sign.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

use base64::Engine as _;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::{Digest, Sha256};

use super::{Resource, Service, ServiceError};
use crate::store::{AwsCredentialRecord, StoreError, TenantRecord, now_ms};

/// The server key, base64 of 32 bytes (`openssl rand -base64 32`).
pub const SECRET_KEY_ENV: &str = "STEPWASM_SECRET_KEY";
/// Earlier server keys, comma-separated, still accepted for decryption (rotation).
pub const PREVIOUS_SECRET_KEYS_ENV: &str = "STEPWASM_SECRET_KEY_PREVIOUS";
/// Key file in the data directory when the environment gives none: created 0600 on first
/// start; the first line is the current key, later lines previous keys.
pub const SECRET_KEY_FILE: &str = "secret.key";

/// Signing keys kept before the cache is emptied (keys are per day, so this is plenty).
const MAX_CACHED_SIGNING_KEYS: usize = 16_384;

/// A tenant's new AWS credentials; the secret is shown once.
#[derive(Clone)]
pub struct AwsCredentials {
    /// Access key id (`AKSW...`), public.
    pub access_key_id: String,
    /// Secret access key.
    pub secret_access_key: String,
    /// Owning tenant.
    pub tenant: String,
}

impl std::fmt::Debug for AwsCredentials {
    // Secrets never reach a log line, even through `{:?}`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AwsCredentials")
            .field("access_key_id", &self.access_key_id)
            .field("tenant", &self.tenant)
            .finish_non_exhaustive()
    }
}

/// One server key and its fingerprint (which stored secrets name).
#[derive(Clone)]
struct ServerKey {
    id: String,
    cipher: XChaCha20Poly1305,
}

impl ServerKey {
    fn from_base64(text: &str) -> Result<Self, String> {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(text.trim())
            .map_err(|_| "a server key must be base64".to_string())?;
        if bytes.len() != 32 {
            return Err(format!(
                "a server key must be 32 bytes, this one is {}",
                bytes.len()
            ));
        }
        let id = hex::encode(&Sha256::digest(&bytes)[..8]);
        let cipher = XChaCha20Poly1305::new_from_slice(&bytes).map_err(|e| e.to_string())?;
        Ok(Self { id, cipher })
    }
}

/// The server keys: the current one seals, every one opens what it sealed.
#[derive(Clone)]
pub struct Keyring {
    current: ServerKey,
    previous: Vec<ServerKey>,
}

impl std::fmt::Debug for Keyring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keyring")
            .field("current", &self.current.id)
            .field("previous", &self.previous.len())
            .finish()
    }
}

impl Keyring {
    /// A ring from base64 keys, current first.
    pub fn from_keys<'a>(
        current: &str,
        previous: impl IntoIterator<Item = &'a str>,
    ) -> Result<Self, String> {
        Ok(Self {
            current: ServerKey::from_base64(current)?,
            previous: previous
                .into_iter()
                .filter(|k| !k.trim().is_empty())
                .map(ServerKey::from_base64)
                .collect::<Result<_, _>>()?,
        })
    }

    /// From [`SECRET_KEY_ENV`] (and [`PREVIOUS_SECRET_KEYS_ENV`]) if set, else from the key
    /// file in `data_dir`, created with a fresh key (mode 0600) if missing.
    pub fn load(data_dir: &Path) -> Result<Self, String> {
        if let Some(current) = std::env::var(SECRET_KEY_ENV).ok().filter(|k| !k.is_empty()) {
            let previous = std::env::var(PREVIOUS_SECRET_KEYS_ENV).unwrap_or_default();
            return Self::from_keys(&current, previous.split(','))
                .map_err(|e| format!("{SECRET_KEY_ENV}: {e}"));
        }
        let path = data_dir.join(SECRET_KEY_FILE);
        if !path.exists() {
            let mut key = [0u8; 32];
            rand::rng().fill_bytes(&mut key);
            let text = format!(
                "{}\n",
                base64::engine::general_purpose::STANDARD.encode(key)
            );
            write_private(&path, &text).map_err(|e| format!("{}: {e}", path.display()))?;
        }
        let text =
            std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let mut lines = text.lines().filter(|l| !l.trim().is_empty());
        let current = lines
            .next()
            .ok_or_else(|| format!("{}: no key in the file", path.display()))?;
        Self::from_keys(current, lines).map_err(|e| format!("{}: {e}", path.display()))
    }

    fn seal(&self, aad: &[u8], secret: &[u8]) -> (String, Vec<u8>, Vec<u8>) {
        let mut nonce = [0u8; 24];
        rand::rng().fill_bytes(&mut nonce);
        let sealed = self
            .current
            .cipher
            .encrypt(XNonce::from_slice(&nonce), Payload { msg: secret, aad })
            // Encryption only fails for messages near 256 GiB.
            .unwrap_or_default();
        (self.current.id.clone(), nonce.to_vec(), sealed)
    }

    fn open(&self, aad: &[u8], rec: &AwsCredentialRecord) -> Result<Vec<u8>, ServiceError> {
        let key = std::iter::once(&self.current)
            .chain(&self.previous)
            .find(|k| k.id == rec.key_id)
            .ok_or_else(|| ServiceError::Internal {
                detail: format!(
                    "an AWS secret is sealed under server key {}, which is not configured",
                    rec.key_id
                ),
            })?;
        if rec.nonce.len() != 24 {
            return Err(ServiceError::Internal {
                detail: "a sealed AWS secret has a malformed nonce".into(),
            });
        }
        key.cipher
            .decrypt(
                XNonce::from_slice(&rec.nonce),
                Payload {
                    msg: &rec.sealed,
                    aad,
                },
            )
            .map_err(|_| ServiceError::Internal {
                detail: "a sealed AWS secret failed authentication".into(),
            })
    }
}

#[cfg(unix)]
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(text.as_bytes())?;
    f.sync_all()
}

#[cfg(not(unix))]
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    std::fs::write(path, text)
}

/// Binds a sealed secret to its row: a ciphertext copied under another key id or tenant
/// does not open.
fn aad(access_key_id: &str, tenant: &str) -> Vec<u8> {
    format!("stepwasm-aws-credential\0{access_key_id}\0{tenant}").into_bytes()
}

/// Derived signing keys with the tenant they sign for, by scope.
type SigningMap = HashMap<SigningScope, (Arc<TenantRecord>, [u8; 32])>;

/// Derived SigV4 signing keys with their tenant.
#[derive(Default)]
pub(super) struct SigningKeys(Mutex<SigningMap>);

/// (access key id, yyyymmdd, region, service).
type SigningScope = (String, String, String, String);

impl SigningKeys {
    fn lock(&self) -> std::sync::MutexGuard<'_, SigningMap> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

type HmacSha256 = Hmac<Sha256>;

/// HMAC-SHA256 of `data` under `key`.
pub fn hmac_sha256(key: &[u8], data: &[u8]) -> [u8; 32] {
    // HMAC takes keys of any length.
    let mut mac = <HmacSha256 as Mac>::new_from_slice(key).unwrap_or_else(|_| unreachable!());
    mac.update(data);
    mac.finalize().into_bytes().into()
}

/// SigV4's signing key: HMAC chain over date, region, service and `aws4_request`.
pub fn derive_signing_key(secret: &str, date: &str, region: &str, service: &str) -> [u8; 32] {
    let k_date = hmac_sha256(format!("AWS4{secret}").as_bytes(), date.as_bytes());
    let k_region = hmac_sha256(&k_date, region.as_bytes());
    let k_service = hmac_sha256(&k_region, service.as_bytes());
    hmac_sha256(&k_service, b"aws4_request")
}

fn random_text(len: usize, alphabet: &[u8]) -> String {
    let mut bytes = vec![0u8; len];
    rand::rng().fill_bytes(&mut bytes);
    // Both alphabets have a length dividing 256 (32 or 64), so there is no modulo bias.
    bytes
        .iter()
        .map(|b| alphabet[usize::from(*b) % alphabet.len()] as char)
        .collect()
}

impl Service {
    /// Installs the server key ring (before credentials are created or used) and reseals
    /// every stored secret not under its current key. Returns how many were resealed.
    pub async fn install_keyring(&self, keyring: Keyring) -> Result<usize, ServiceError> {
        let _ = self.inner.keyring.set(keyring);
        let ring = self.keyring()?;
        let mut resealed = 0;
        for (id, rec) in self.store().aws_credentials()? {
            if rec.key_id == ring.current.id {
                continue;
            }
            let aad = aad(&id, &rec.tenant);
            let secret = ring.open(&aad, &rec)?;
            let (key_id, nonce, sealed) = ring.seal(&aad, &secret);
            let record = AwsCredentialRecord {
                key_id,
                nonce,
                sealed,
                ..rec
            };
            self.store().put_aws_credential(&id, record).await?;
            resealed += 1;
        }
        Ok(resealed)
    }

    fn keyring(&self) -> Result<&Keyring, ServiceError> {
        self.inner
            .keyring
            .get()
            .ok_or_else(|| ServiceError::Unavailable {
                reason: "this server has no secret key for AWS credentials".into(),
            })
    }

    /// Issues AWS credentials for a tenant. The secret is returned once and stored sealed.
    pub async fn create_aws_credentials(
        &self,
        tenant: &str,
    ) -> Result<AwsCredentials, ServiceError> {
        let ring = self.keyring()?;
        const UPPER: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
        const SECRET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let access_key_id = format!("AKSW{}", random_text(16, UPPER));
        let secret_access_key = random_text(40, SECRET);
        let (key_id, nonce, sealed) =
            ring.seal(&aad(&access_key_id, tenant), secret_access_key.as_bytes());
        let record = AwsCredentialRecord {
            tenant: tenant.to_string(),
            key_id,
            nonce,
            sealed,
            created_ms: now_ms(),
        };
        self.store()
            .put_aws_credential(&access_key_id, record)
            .await
            .map_err(|e| match e {
                StoreError::NotFound { .. } => ServiceError::NotFound {
                    what: Resource::Tenant,
                    name: tenant.to_string(),
                },
                other => other.into(),
            })?;
        Ok(AwsCredentials {
            access_key_id,
            secret_access_key,
            tenant: tenant.to_string(),
        })
    }

    /// The SigV4 signing key of an access key for one day, region and service, and the
    /// tenant it belongs to. An unknown key is `UnrecognizedClientException`.
    pub fn aws_signing_key(
        &self,
        access_key_id: &str,
        date: &str,
        region: &str,
        service: &str,
    ) -> Result<(Arc<TenantRecord>, [u8; 32]), ServiceError> {
        let scope = (
            access_key_id.to_string(),
            date.to_string(),
            region.to_string(),
            service.to_string(),
        );
        if let Some(hit) = self.inner.signing_keys.lock().get(&scope) {
            return Ok(hit.clone());
        }
        let unknown = || ServiceError::Unauthenticated {
            reason: "The security token included in the request is invalid.".into(),
        };
        let rec = self
            .store()
            .aws_credential(access_key_id)?
            .ok_or_else(unknown)?;
        let tenant = Arc::new(self.store().tenant(&rec.tenant)?.ok_or_else(unknown)?);
        let secret = self
            .keyring()?
            .open(&aad(access_key_id, &rec.tenant), &rec)?;
        let secret = String::from_utf8(secret).map_err(|_| ServiceError::Internal {
            detail: "a sealed AWS secret is not text".into(),
        })?;
        let key = derive_signing_key(&secret, date, region, service);
        let mut cache = self.inner.signing_keys.lock();
        if cache.len() >= MAX_CACHED_SIGNING_KEYS {
            cache.clear();
        }
        cache.insert(scope, (tenant.clone(), key));
        Ok((tenant, key))
    }

    /// Drops cached signing keys (their tenants' quotas changed).
    pub(super) fn forget_signing_keys(&self) {
        self.inner.signing_keys.lock().clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signing_key_matches_aws_documented_example() {
        // From AWS's SigV4 documentation (secret, 20150830, us-east-1, iam).
        let key = derive_signing_key(
            "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
            "20150830",
            "us-east-1",
            "iam",
        );
        assert_eq!(
            hex::encode(key),
            "c4afb1cc5771d871763a393e44b703571b55cc28424d1a5e86da6ed3c154a4b9"
        );
    }

    #[test]
    fn sealed_secrets_open_only_under_their_key_and_row() {
        let k1 = base64::engine::general_purpose::STANDARD.encode([1u8; 32]);
        let k2 = base64::engine::general_purpose::STANDARD.encode([2u8; 32]);
        let old = Keyring::from_keys(&k1, []).unwrap();
        let (key_id, nonce, sealed) = old.seal(&aad("AK", "acme"), b"s3cret");
        assert!(!sealed.windows(6).any(|w| w == b"s3cret"));
        let rec = AwsCredentialRecord {
            tenant: "acme".into(),
            key_id,
            nonce,
            sealed,
            created_ms: 0,
        };
        assert_eq!(old.open(&aad("AK", "acme"), &rec).unwrap(), b"s3cret");
        assert!(old.open(&aad("AK", "other"), &rec).is_err());
        // Rotated: the old key still opens as a previous key; without it, nothing does.
        let rotated = Keyring::from_keys(&k2, [k1.as_str()]).unwrap();
        assert_eq!(rotated.open(&aad("AK", "acme"), &rec).unwrap(), b"s3cret");
        let only_new = Keyring::from_keys(&k2, []).unwrap();
        assert!(only_new.open(&aad("AK", "acme"), &rec).is_err());
        assert!(Keyring::from_keys("c2hvcnQ=", []).is_err());
    }
}

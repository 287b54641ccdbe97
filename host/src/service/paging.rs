//! Pagination: opaque tokens that carry the list they belong to, the tenant, and where
//! the next page starts. A token from another list, another tenant, or no token at all
//! is `InvalidToken`, never a wrong page.

use base64::Engine as _;
use serde::{Deserialize, Serialize};

use super::{DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, ServiceError};

/// One page of results.
#[derive(Clone, Debug, PartialEq)]
pub struct Page<T> {
    /// The items.
    pub items: Vec<T>,
    /// Token for the next page, when there is one.
    pub next_token: Option<String>,
    /// Records of this page that are damaged and left out of `items`.
    pub damaged: Vec<Damaged>,
}

/// A damaged record left out of a listing (reading it alone gives `RecordCorrupt`).
#[derive(Clone, Debug, PartialEq)]
pub struct Damaged {
    /// The record (for executions, the ARN).
    pub record: String,
    /// What is wrong with it.
    pub message: String,
}

impl From<crate::store::StoreError> for Damaged {
    fn from(e: crate::store::StoreError) -> Self {
        let message = e.to_string();
        let record = match e {
            crate::store::StoreError::Corrupt { record, .. } => record,
            _ => String::new(),
        };
        Self { record, message }
    }
}

#[derive(Serialize, Deserialize)]
struct Token {
    /// Which list (e.g. `executions`, `history:<arn>`).
    l: String,
    /// Tenant.
    t: String,
    /// Position (name, sequence or event id, as text).
    p: String,
}

/// Makes a token for `list` of `tenant` continuing at `position`.
pub(super) fn encode(list: &str, tenant: &str, position: &str) -> String {
    let token = Token {
        l: list.to_string(),
        t: tenant.to_string(),
        p: position.to_string(),
    };
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(serde_json::to_vec(&token).unwrap_or_default())
}

/// Reads a token issued by [`encode`] for the same list and tenant.
pub(super) fn decode(token: &str, list: &str, tenant: &str) -> Result<String, ServiceError> {
    let bad = |reason: &str| ServiceError::InvalidToken {
        reason: reason.to_string(),
    };
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(token)
        .map_err(|_| bad("not a token issued by this server"))?;
    let t: Token =
        serde_json::from_slice(&bytes).map_err(|_| bad("not a token issued by this server"))?;
    if t.l != list || t.t != tenant {
        return Err(bad("the token belongs to another listing"));
    }
    Ok(t.p)
}

/// Reads a numeric position from a token.
pub(super) fn decode_u64(token: &str, list: &str, tenant: &str) -> Result<u64, ServiceError> {
    decode(token, list, tenant)?
        .parse()
        .map_err(|_| ServiceError::InvalidToken {
            reason: "the token's position is not a number".into(),
        })
}

/// Checks a requested page size (`None`: the default).
pub(super) fn page_size(max_results: Option<i64>) -> Result<usize, ServiceError> {
    match max_results {
        None | Some(0) => Ok(DEFAULT_PAGE_SIZE),
        Some(n) if n > 0 && n as usize <= MAX_PAGE_SIZE => Ok(n as usize),
        Some(n) => Err(ServiceError::Validation {
            message: format!("maxResults must be between 1 and {MAX_PAGE_SIZE}, got {n}"),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_and_are_bound_to_list_and_tenant() {
        let t = encode("executions", "acme", "42");
        assert_eq!(decode_u64(&t, "executions", "acme").unwrap(), 42);
        assert!(decode(&t, "executions", "other").is_err());
        assert!(decode(&t, "components", "acme").is_err());
        assert!(decode("!!!", "executions", "acme").is_err());
        assert!(decode("bm90anNvbg", "executions", "acme").is_err());
    }

    #[test]
    fn page_sizes() {
        assert_eq!(page_size(None).unwrap(), DEFAULT_PAGE_SIZE);
        assert_eq!(page_size(Some(5)).unwrap(), 5);
        assert!(page_size(Some(-1)).is_err());
        assert!(page_size(Some(MAX_PAGE_SIZE as i64 + 1)).is_err());
    }
}

//! Request extractors that turn every malformed input into an [`ApiError`]: the caller
//! (bearer key), JSON bodies (content type, size, shape) and query strings.

use axum::body::Body;
use axum::extract::{FromRequest, FromRequestParts, Query, Request};
use axum::http::{HeaderMap, header, request::Parts};
use serde::de::DeserializeOwned;

use super::ApiError;
use super::listen::BodyDeadline;
use crate::service::{Principal, Service, ServiceError};
use crate::store::TenantRecord;

/// Largest JSON body any route takes (a 1 MiB definition, escaped, fits).
pub const MAX_JSON_BODY_BYTES: usize = 4 * 1024 * 1024;

/// The authenticated caller.
pub struct Caller(pub Principal);

impl FromRequestParts<Service> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, service: &Service) -> Result<Self, ApiError> {
        let header = match parts.headers.get(header::AUTHORIZATION) {
            None => None,
            Some(v) => Some(v.to_str().map_err(|_| {
                ApiError::Service(ServiceError::Unauthenticated {
                    reason: "Authorization header is not ASCII".into(),
                })
            })?),
        };
        Ok(Caller(service.authenticate(header)?))
    }
}

/// A caller that must be a tenant.
pub struct TenantCaller(pub std::sync::Arc<TenantRecord>);

impl FromRequestParts<Service> for TenantCaller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, service: &Service) -> Result<Self, ApiError> {
        let Caller(p) = Caller::from_request_parts(parts, service).await?;
        Ok(TenantCaller(Service::into_tenant(p)?))
    }
}

/// A caller that must be the admin.
pub struct AdminCaller;

impl FromRequestParts<Service> for AdminCaller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, service: &Service) -> Result<Self, ApiError> {
        let Caller(p) = Caller::from_request_parts(parts, service).await?;
        Service::require_admin(&p)?;
        Ok(AdminCaller)
    }
}

fn content_type(headers: &HeaderMap) -> Option<String> {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|s| s.to_string())
}

/// Whether the content type's media type (before any `;`) is one of `accepted`.
pub fn media_type_is(headers: &HeaderMap, accepted: &[&str]) -> bool {
    content_type(headers).is_some_and(|ct| {
        let media = ct
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        accepted.contains(&media.as_str())
    })
}

/// The `charset` parameter of the content type, if any (lowercase, unquoted).
fn charset(headers: &HeaderMap) -> Option<String> {
    let ct = content_type(headers)?;
    ct.split(';').skip(1).find_map(|param| {
        let (name, value) = param.split_once('=')?;
        name.trim()
            .eq_ignore_ascii_case("charset")
            .then(|| value.trim().trim_matches('"').to_ascii_lowercase())
    })
}

/// Past the limit, this much more of a body is still read (and discarded) so the client
/// finishes sending and can read the 413; beyond it the connection is simply dropped.
const DRAIN_BYTES: usize = 64 * 1024 * 1024;

/// Reads a request's body up to `limit` bytes; a larger one is `BodyTooLarge`, one that has
/// not arrived by the connection's [`BodyDeadline`] is `BodyTimeout`.
pub async fn read_body(req: Request, limit: usize) -> Result<Vec<u8>, ApiError> {
    use http_body_util::BodyExt;
    let deadline = req.extensions().get::<BodyDeadline>().copied();
    let mut body: Body = req.into_body();
    let mut out = Vec::new();
    let mut total = 0usize;
    loop {
        let next = body.frame();
        let frame = match deadline {
            Some(BodyDeadline(at)) => tokio::time::timeout_at(at, next)
                .await
                .map_err(|_| ApiError::BodyTimeout)?,
            None => next.await,
        };
        let Some(frame) = frame else { break };
        let frame = frame.map_err(|_| ApiError::BadBody {
            detail: "the request body could not be read".into(),
        })?;
        let Ok(data) = frame.into_data() else {
            continue;
        };
        total = total.saturating_add(data.len());
        if total > limit {
            if total > limit.saturating_add(DRAIN_BYTES) {
                break;
            }
            continue;
        }
        out.extend_from_slice(&data);
    }
    if total > limit {
        return Err(ApiError::BodyTooLarge { limit });
    }
    Ok(out)
}

/// A JSON body of type `T`: `Content-Type: application/json`, at most
/// [`MAX_JSON_BODY_BYTES`], and the right shape (unknown fields refused by `T`).
pub struct JsonBody<T>(pub T);

impl<T: DeserializeOwned> FromRequest<Service> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, _: &Service) -> Result<Self, ApiError> {
        if !media_type_is(req.headers(), &["application/json"]) {
            return Err(ApiError::UnsupportedMediaType {
                found: content_type(req.headers()),
                expected: "application/json",
            });
        }
        // JSON is UTF-8 (RFC 8259): a body declared in another charset would be misread.
        if let Some(cs) = charset(req.headers())
            && cs != "utf-8"
            && cs != "utf8"
        {
            return Err(ApiError::UnsupportedMediaType {
                found: content_type(req.headers()),
                expected: "application/json (UTF-8)",
            });
        }
        let bytes = read_body(req, MAX_JSON_BODY_BYTES).await?;
        serde_json::from_slice(&bytes)
            .map(JsonBody)
            .map_err(|e| ApiError::BadBody {
                detail: e.to_string(),
            })
    }
}

/// A query string of type `T`.
pub struct QueryArgs<T>(pub T);

impl<T: DeserializeOwned + Send> FromRequestParts<Service> for QueryArgs<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, s: &Service) -> Result<Self, ApiError> {
        Query::<T>::from_request_parts(parts, s)
            .await
            .map(|Query(q)| QueryArgs(q))
            .map_err(|e| ApiError::BadQuery {
                detail: e.body_text(),
            })
    }
}

/// Path parameters of type `T`.
pub struct PathArgs<T>(pub T);

impl<T: DeserializeOwned + Send> FromRequestParts<Service> for PathArgs<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, s: &Service) -> Result<Self, ApiError> {
        axum::extract::Path::<T>::from_request_parts(parts, s)
            .await
            .map(|axum::extract::Path(p)| PathArgs(p))
            .map_err(|e| ApiError::BadQuery {
                detail: e.body_text(),
            })
    }
}

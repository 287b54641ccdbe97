//! SigV4 verification by recomputation: parse the `Authorization` header, check the
//! credential scope (this server's region, service `states`) and `X-Amz-Date` (15 minutes
//! of skew either way), rebuild the canonical request from what arrived, and compare
//! signatures in constant time. The signing key comes from the service, cached per day.

use std::sync::Arc;

use axum::http::{HeaderMap, Method, Uri};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use time::OffsetDateTime;
use time::macros::format_description;

use super::error::AwsError;
use crate::service::{Service, hmac_sha256, region};
use crate::store::TenantRecord;

/// The only algorithm AWS's SDKs use with secret keys.
const ALGORITHM: &str = "AWS4-HMAC-SHA256";
/// The service name in credential scopes.
pub const SIGNING_SERVICE: &str = "states";
/// Allowed clock skew, as AWS: 15 minutes.
const MAX_SKEW_SECS: i64 = 15 * 60;
/// Longest `Authorization` header read (a few hundred bytes in practice).
const MAX_AUTHORIZATION_LEN: usize = 4096;
/// Most signed headers accepted.
const MAX_SIGNED_HEADERS: usize = 64;

/// RFC 3986 unreserved characters stay; everything else is percent-encoded.
const UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');
/// As [`UNRESERVED`], keeping `/` (the path).
const PATH: &AsciiSet = &UNRESERVED.remove(b'/');

/// The parts of an `Authorization: AWS4-HMAC-SHA256 ...` header.
struct Authorization<'a> {
    access_key_id: &'a str,
    date: &'a str,
    region: &'a str,
    service: &'a str,
    signed_headers: Vec<&'a str>,
    signature: &'a str,
}

fn incomplete(what: &str) -> AwsError {
    AwsError::IncompleteSignature(format!(
        "Authorization header requires {what} (AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=...)"
    ))
}

fn parse_authorization(header: &str) -> Result<Authorization<'_>, AwsError> {
    let rest = header
        .strip_prefix(ALGORITHM)
        .and_then(|r| r.strip_prefix(' '))
        .ok_or_else(|| {
            AwsError::IncompleteSignature(format!(
                "Authorization header must use {ALGORITHM} (bearer keys are for /v1)"
            ))
        })?;
    let (mut credential, mut signed, mut signature) = (None, None, None);
    for part in rest.split(',').map(str::trim) {
        match part.split_once('=') {
            Some(("Credential", v)) => credential = Some(v),
            Some(("SignedHeaders", v)) => signed = Some(v),
            Some(("Signature", v)) => signature = Some(v),
            _ => {}
        }
    }
    let credential = credential.ok_or_else(|| incomplete("a Credential"))?;
    let signed = signed.ok_or_else(|| incomplete("SignedHeaders"))?;
    let signature = signature.ok_or_else(|| incomplete("a Signature"))?;
    let scope: Vec<&str> = credential.split('/').collect();
    let [access_key_id, date, region, service, terminator] = scope.as_slice() else {
        return Err(incomplete(
            "a Credential of the form KEY/YYYYMMDD/REGION/SERVICE/aws4_request",
        ));
    };
    if *terminator != "aws4_request" || access_key_id.is_empty() {
        return Err(incomplete(
            "a Credential of the form KEY/YYYYMMDD/REGION/SERVICE/aws4_request",
        ));
    }
    let signed_headers: Vec<&str> = signed.split(';').collect();
    if signed_headers.len() > MAX_SIGNED_HEADERS || signed_headers.iter().any(|h| h.is_empty()) {
        return Err(incomplete("a valid SignedHeaders list"));
    }
    Ok(Authorization {
        access_key_id,
        date,
        region,
        service,
        signed_headers,
        signature,
    })
}

fn header_str<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

fn amz_time(text: &str) -> Result<OffsetDateTime, AwsError> {
    time::PrimitiveDateTime::parse(
        text,
        format_description!("[year][month][day]T[hour][minute][second]Z"),
    )
    .map(|t| t.assume_utc())
    .map_err(|_| {
        AwsError::IncompleteSignature(format!(
            "X-Amz-Date '{text}' is not of the form YYYYMMDDTHHMMSSZ"
        ))
    })
}

fn amz_format(t: OffsetDateTime) -> String {
    t.format(format_description!(
        "[year][month][day]T[hour][minute][second]Z"
    ))
    .unwrap_or_default()
}

/// Checks the request time against `now`, with AWS's wording.
fn check_skew(request: OffsetDateTime, text: &str, now: OffsetDateTime) -> Result<(), AwsError> {
    let skew = time::Duration::seconds(MAX_SKEW_SECS);
    if request < now - skew {
        return Err(AwsError::InvalidSignature(format!(
            "Signature expired: {text} is now earlier than {} ({} - 15 min.)",
            amz_format(now - skew),
            amz_format(now)
        )));
    }
    if request > now + skew {
        return Err(AwsError::InvalidSignature(format!(
            "Signature not yet current: {text} is still later than {} ({} + 15 min.)",
            amz_format(now + skew),
            amz_format(now)
        )));
    }
    Ok(())
}

/// The canonical query string: pairs decoded, re-encoded, sorted.
fn canonical_query(query: Option<&str>) -> String {
    let Some(query) = query.filter(|q| !q.is_empty()) else {
        return String::new();
    };
    let enc = |s: &str| {
        let decoded = percent_decode_str(&s.replace('+', " "))
            .decode_utf8_lossy()
            .into_owned();
        utf8_percent_encode(&decoded, UNRESERVED).to_string()
    };
    let mut pairs: Vec<(String, String)> = query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (enc(k), enc(v))
        })
        .collect();
    pairs.sort();
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

/// A header's canonical value: every value of that name, trimmed, inner runs of spaces
/// collapsed, joined by commas.
fn canonical_value(headers: &HeaderMap, name: &str) -> Result<String, AwsError> {
    let mut values = Vec::new();
    for v in headers.get_all(name) {
        let v = v.to_str().map_err(|_| {
            AwsError::InvalidSignature(format!("signed header '{name}' is not ASCII"))
        })?;
        values.push(v.split_whitespace().collect::<Vec<_>>().join(" "));
    }
    if values.is_empty() {
        return Err(AwsError::InvalidSignature(format!(
            "header '{name}' is listed in SignedHeaders but not sent"
        )));
    }
    Ok(values.join(","))
}

/// The canonical request SigV4 signs: method, path, query, the signed headers' canonical
/// values, their names, and the payload hash.
fn canonical_request(
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    signed_headers: &[&str],
    payload_hash: &str,
) -> Result<String, AwsError> {
    let mut canonical = String::with_capacity(512);
    canonical.push_str(method.as_str());
    canonical.push('\n');
    canonical.push_str(&utf8_percent_encode(uri.path(), PATH).to_string());
    canonical.push('\n');
    canonical.push_str(&canonical_query(uri.query()));
    canonical.push('\n');
    for name in signed_headers {
        canonical.push_str(name);
        canonical.push(':');
        canonical.push_str(&canonical_value(headers, name)?);
        canonical.push('\n');
    }
    canonical.push('\n');
    canonical.push_str(&signed_headers.join(";"));
    canonical.push('\n');
    canonical.push_str(payload_hash);
    Ok(canonical)
}

/// Verifies a request's SigV4 signature; returns the tenant whose key signed it.
pub fn verify(
    service: &Service,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
    now: OffsetDateTime,
) -> Result<Arc<TenantRecord>, AwsError> {
    let header = match headers.get("authorization") {
        None => return Err(AwsError::MissingAuthenticationToken),
        Some(v) if v.len() > MAX_AUTHORIZATION_LEN => {
            return Err(incomplete("a header under 4 KiB"));
        }
        Some(v) => v
            .to_str()
            .map_err(|_| incomplete("an ASCII header value"))?,
    };
    let auth = parse_authorization(header)?;
    let amz_date =
        header_str(headers, "x-amz-date").ok_or_else(|| incomplete("an X-Amz-Date header"))?;
    let when = amz_time(amz_date)?;
    check_skew(when, amz_date, now)?;
    if !amz_date.starts_with(auth.date) || auth.date.len() != 8 {
        return Err(AwsError::InvalidSignature(format!(
            "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '{}' != '{}'",
            auth.date,
            &amz_date[..8.min(amz_date.len())]
        )));
    }
    if auth.region != region() {
        return Err(AwsError::InvalidSignature(format!(
            "Credential should be scoped to a valid region, not '{}'; this server's region is '{}'.",
            auth.region,
            region()
        )));
    }
    if auth.service != SIGNING_SERVICE {
        return Err(AwsError::InvalidSignature(format!(
            "Credential should be scoped to correct service: '{SIGNING_SERVICE}'."
        )));
    }
    if !auth.signed_headers.contains(&"host") {
        return Err(AwsError::InvalidSignature(
            "'Host' must be a signed header".into(),
        ));
    }
    let body_hash = hex::encode(Sha256::digest(body));
    let payload_hash = match header_str(headers, "x-amz-content-sha256") {
        Some(claimed) if claimed != body_hash => {
            return Err(AwsError::InvalidSignature(
                "The provided 'x-amz-content-sha256' header does not match what was computed."
                    .into(),
            ));
        }
        _ => body_hash,
    };
    // An unknown key fails before the signature is looked at, as AWS does.
    let (tenant, signing_key) =
        service.aws_signing_key(auth.access_key_id, auth.date, auth.region, auth.service)?;

    let canonical = canonical_request(method, uri, headers, &auth.signed_headers, &payload_hash)?;
    let string_to_sign = format!(
        "{ALGORITHM}\n{amz_date}\n{}/{}/{}/aws4_request\n{}",
        auth.date,
        auth.region,
        auth.service,
        hex::encode(Sha256::digest(canonical.as_bytes()))
    );
    let expected = hex::encode(hmac_sha256(&signing_key, string_to_sign.as_bytes()));
    if bool::from(expected.as_bytes().ct_eq(auth.signature.as_bytes())) {
        Ok(tenant)
    } else {
        Err(AwsError::InvalidSignature(
            "The request signature we calculated does not match the signature you provided. \
             Check your AWS Secret Access Key and signing method. Consult the service \
             documentation for details."
                .into(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn authorization_header_parts() {
        let a = parse_authorization(
            "AWS4-HMAC-SHA256 Credential=AKID/20150830/us-east-1/states/aws4_request, \
             SignedHeaders=content-type;host;x-amz-date, Signature=abc",
        )
        .unwrap_or_else(|_| panic!("parses"));
        assert_eq!(a.access_key_id, "AKID");
        assert_eq!(a.date, "20150830");
        assert_eq!(a.signed_headers, ["content-type", "host", "x-amz-date"]);
        assert_eq!(a.signature, "abc");
        for bad in [
            "Bearer x",
            "AWS4-HMAC-SHA256 Credential=AKID/20150830/us-east-1/states, SignedHeaders=host, Signature=a",
            "AWS4-HMAC-SHA256 Credential=AKID/20150830/us-east-1/states/aws4_request, Signature=a",
            "AWS4-HMAC-SHA256 Credential=AKID/20150830/us-east-1/states/aws4_request, SignedHeaders=host;;x, Signature=a",
        ] {
            assert!(
                matches!(
                    parse_authorization(bad),
                    Err(AwsError::IncompleteSignature(_))
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn skew_is_fifteen_minutes_either_way() {
        let now = amz_time("20240101T120000Z").unwrap_or_else(|_| panic!("time"));
        let ok = amz_time("20240101T114500Z").unwrap_or_else(|_| panic!("time"));
        assert!(check_skew(ok, "20240101T114500Z", now).is_ok());
        let old = amz_time("20240101T114459Z").unwrap_or_else(|_| panic!("time"));
        let Err(AwsError::InvalidSignature(m)) = check_skew(old, "20240101T114459Z", now) else {
            panic!("expired request accepted");
        };
        assert_eq!(
            m,
            "Signature expired: 20240101T114459Z is now earlier than 20240101T114500Z (20240101T120000Z - 15 min.)"
        );
        let future = amz_time("20240101T121501Z").unwrap_or_else(|_| panic!("time"));
        assert!(check_skew(future, "20240101T121501Z", now).is_err());
    }

    #[test]
    fn matches_aws_documented_example() {
        // AWS's SigV4 example: IAM ListUsers, signed 20150830T123600Z.
        let mut headers = HeaderMap::new();
        headers.insert(
            "content-type",
            "application/x-www-form-urlencoded; charset=utf-8"
                .parse()
                .unwrap(),
        );
        headers.insert("host", "iam.amazonaws.com".parse().unwrap());
        headers.insert("x-amz-date", "20150830T123600Z".parse().unwrap());
        let uri: Uri = "/?Action=ListUsers&Version=2010-05-08".parse().unwrap();
        let body_hash = hex::encode(Sha256::digest(b""));
        let canonical = canonical_request(
            &Method::GET,
            &uri,
            &headers,
            &["content-type", "host", "x-amz-date"],
            &body_hash,
        )
        .unwrap_or_else(|_| panic!("canonical request"));
        assert_eq!(
            hex::encode(Sha256::digest(canonical.as_bytes())),
            "f536975d06c0309214f805bb90ccff089219ecd68b2577efef23edd43b7e1a59"
        );
        let key = crate::service::derive_signing_key(
            "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
            "20150830",
            "us-east-1",
            "iam",
        );
        let sts = format!(
            "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/iam/aws4_request\n{}",
            hex::encode(Sha256::digest(canonical.as_bytes()))
        );
        assert_eq!(
            hex::encode(hmac_sha256(&key, sts.as_bytes())),
            "5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7"
        );
    }

    #[test]
    fn canonical_query_sorts_and_encodes() {
        assert_eq!(canonical_query(None), "");
        assert_eq!(
            canonical_query(Some("b=2&a=x%20y&Action=ListUsers")),
            "Action=ListUsers&a=x%20y&b=2"
        );
    }
}

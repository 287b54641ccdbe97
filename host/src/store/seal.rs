//! Checksums on stored values. redb keeps no checksums of its pages, so a flipped bit in
//! a value would be served as data: every record, frame, history run, tail row and
//! artifact ends with the CRC-32 of its bytes (`crc32fast`, a few GB/s), verified on every
//! read. A mismatch is [`StoreError::Corrupt`] naming that one record (schema version 4).

use super::{Result, StoreError};

/// Bytes the checksum adds to a value.
pub(super) const LEN: usize = 4;

/// `bytes` with its checksum appended.
pub(super) fn seal(mut bytes: Vec<u8>) -> Vec<u8> {
    seal_from(&mut bytes, 0);
    bytes
}

/// Appends the checksum of `buf[from..]` to `buf` (a value built in place).
pub(super) fn seal_from(buf: &mut Vec<u8>, from: usize) {
    let sum = crc32fast::hash(&buf[from..]);
    buf.extend_from_slice(&sum.to_le_bytes());
}

/// The bytes of a sealed value, once its checksum matches; otherwise the record (named by
/// `record`, called only then) is corrupt.
pub(super) fn open<'v>(
    value: &'v [u8],
    table: &'static str,
    record: impl FnOnce() -> String,
) -> Result<&'v [u8]> {
    let corrupt = |detail: &str| StoreError::Corrupt {
        table,
        record: record(),
        detail: detail.into(),
    };
    let Some(split) = value.len().checked_sub(LEN) else {
        return Err(corrupt("shorter than its checksum"));
    };
    let (bytes, sum) = value.split_at(split);
    if crc32fast::hash(bytes).to_le_bytes() != sum {
        return Err(corrupt("checksum mismatch"));
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_flipped_bit_anywhere_is_caught() {
        let sealed = seal(b"{\"a\":10090}".to_vec());
        assert_eq!(open(&sealed, "t", || "r".into()).unwrap(), b"{\"a\":10090}");
        for bit in 0..sealed.len() * 8 {
            let mut bad = sealed.clone();
            bad[bit / 8] ^= 1 << (bit % 8);
            let err = open(&bad, "t", || "r".into()).unwrap_err();
            assert!(err.to_string().contains("'r'"), "{err}");
        }
        assert!(open(b"abc", "t", || "r".into()).is_err());
    }
}

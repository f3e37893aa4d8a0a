//! Lowercase hex and SHA-256 digests, for the shell: ingest names each input file by its
//! digest, the store derives its own digest and ids, and apply hashes activation keys. It lives
//! apart from both ends of the data flow so that ingest need not reach into the store for it,
//! and outside the core, which needs no hashing (`domain` takes no `sha2`).

use sha2::{Digest as _, Sha256};

/// Lowercase hex SHA-256 of `bytes` (input files are named by it in `files`).
pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

/// Lowercase hex of `bytes`, two digits per byte.
pub(crate) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        s.push(DIGITS[usize::from(b >> 4)] as char);
        s.push(DIGITS[usize::from(b & 0xf)] as char);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_is_lowercase_two_digits_per_byte() {
        assert_eq!(hex(&[0x00, 0x0f, 0xa5, 0xff]), "000fa5ff");
        assert_eq!(
            sha256_hex(b""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }
}

//! One-time activation keys for new accounts (R4). R12: a key is random from the operating
//! system, never derived from personal data; R13: it is printed on the account letter and
//! nowhere else, so [`ActivationKey`] has no `Display` and a redacted `Debug`, and the store
//! keeps only a salted hash ([`hash_key`]).
//!
//! A key is not a password (it is used once, before a deadline), so the password rules of R12
//! do not apply; it is made to be read aloud and typed from paper: 12 characters from an
//! alphabet without look-alikes (no 0/O, 1/l/I), grouped `XXXX-XXXX-XXXX`.

use sha2::{Digest as _, Sha256};

use crate::apply::ApplyError;
use crate::digest::hex;

/// 32 characters: upper-case letters and digits without 0, O, 1 and I (and so without l).
/// 256 is a multiple of 32, so one random byte per character gives each the same chance.
pub const KEY_ALPHABET: &[u8; 32] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
/// Characters per key (60 bits of entropy).
pub const KEY_CHARS: usize = 12;

/// A one-time activation key, `XXXX-XXXX-XXXX`.
#[derive(Clone, PartialEq, Eq)]
pub struct ActivationKey(String);

impl std::fmt::Debug for ActivationKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ActivationKey(<redacted>)")
    }
}

impl ActivationKey {
    /// The key itself, for the letter only.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The key from `KEY_CHARS` random bytes.
    pub fn from_bytes(bytes: &[u8; KEY_CHARS]) -> ActivationKey {
        let mut s = String::with_capacity(KEY_CHARS + 2);
        for (i, b) in bytes.iter().enumerate() {
            if i > 0 && i % 4 == 0 {
                s.push('-');
            }
            s.push(char::from(KEY_ALPHABET[usize::from(b & 31)]));
        }
        ActivationKey(s)
    }
}

/// A fresh key from the operating system's random generator.
#[cfg(test)]
pub fn activation_key() -> Result<ActivationKey, ApplyError> {
    let mut keys = activation_keys(1)?;
    keys.pop()
        .ok_or_else(|| ApplyError::Random("no key was made".into()))
}

/// `n` fresh keys from one read of the operating system's random generator (one read per
/// key made a night's 40,000 keys in 40,000 system calls).
pub fn activation_keys(n: usize) -> Result<Vec<ActivationKey>, ApplyError> {
    let bytes = random_bytes(n * KEY_CHARS)?;
    Ok(bytes
        .as_chunks::<KEY_CHARS>()
        .0
        .iter()
        .map(ActivationKey::from_bytes)
        .collect())
}

fn random_bytes(n: usize) -> Result<Vec<u8>, ApplyError> {
    let mut bytes = vec![0u8; n];
    getrandom::fill(&mut bytes).map_err(|e| ApplyError::Random(e.to_string()))?;
    Ok(bytes)
}

/// The stored form of `key` for `ecs_id`: `salt$hash`, both lowercase hex, where the salt is 16
/// random bytes made for this key and the hash is SHA-256 of (salt, ECS-ID, NUL, the key
/// without hyphens). The ECS-ID binds the hash to the account: a key is never valid for
/// another one.
#[cfg(test)]
pub fn hash_key(key: &ActivationKey, ecs_id: &str) -> Result<String, ApplyError> {
    let mut hashes = hash_keys(&[(key, ecs_id)])?;
    hashes
        .pop()
        .ok_or_else(|| ApplyError::Random("no hash was made".into()))
}

/// [`hash_key`] of each `(key, ecs_id)`, in order, in parallel, with the salts from one read
/// of the operating system's random generator.
pub fn hash_keys(keys: &[(&ActivationKey, &str)]) -> Result<Vec<String>, ApplyError> {
    use rayon::prelude::*;
    let salts = random_bytes(keys.len() * SALT_BYTES)?;
    Ok(keys
        .par_iter()
        .zip(salts.par_chunks_exact(SALT_BYTES))
        .map(|((key, ecs_id), salt)| hash_with_salt(salt, ecs_id, &normalize(key.expose())))
        .collect())
}

/// Bytes of salt per hash.
const SALT_BYTES: usize = 16;

/// Whether `typed` (as a person types it: any case, with or without hyphens and spaces) is
/// the key whose [`hash_key`] is `stored`.
pub fn verify_key(typed: &str, ecs_id: &str, stored: &str) -> bool {
    let Some((salt_hex, _)) = stored.split_once('$') else {
        return false;
    };
    let Some(salt) = unhex(salt_hex) else {
        return false;
    };
    hash_with_salt(&salt, ecs_id, &normalize(typed)) == stored
}

fn hash_with_salt(salt: &[u8], ecs_id: &str, key: &str) -> String {
    let mut h = Sha256::new();
    h.update(salt);
    h.update(ecs_id.as_bytes());
    h.update([0u8]);
    h.update(key.as_bytes());
    format!("{}${}", hex(salt), hex(&h.finalize()))
}

/// Upper-case letters and digits only.
fn normalize(key: &str) -> String {
    key.chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| s.get(i..i + 2).and_then(|d| u8::from_str_radix(d, 16).ok()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_grouped_and_use_only_the_unambiguous_alphabet() -> Result<(), ApplyError> {
        for _ in 0..200 {
            let key = activation_key()?;
            let s = key.expose();
            assert_eq!(s.len(), 14, "{s}");
            assert_eq!(s.split('-').map(str::len).collect::<Vec<_>>(), [4, 4, 4]);
            assert!(
                s.bytes().all(|b| b == b'-' || KEY_ALPHABET.contains(&b)),
                "{s}"
            );
            assert!(!s.contains(['0', 'O', '1', 'l', 'I']), "{s}");
        }
        Ok(())
    }

    #[test]
    fn every_alphabet_character_is_reachable() {
        let bytes: [u8; 12] = std::array::from_fn(|i| i as u8);
        assert_eq!(ActivationKey::from_bytes(&bytes).expose(), "ABCD-EFGH-JKLM");
        let bytes: [u8; 12] = std::array::from_fn(|i| (i + 20) as u8 + 32);
        assert_eq!(ActivationKey::from_bytes(&bytes).expose(), "WXYZ-2345-6789");
    }

    #[test]
    fn two_keys_differ() -> Result<(), ApplyError> {
        assert_ne!(activation_key()?, activation_key()?);
        Ok(())
    }

    #[test]
    fn keys_made_together_are_as_many_distinct_and_each_hash_has_its_own_salt()
    -> Result<(), ApplyError> {
        let keys = activation_keys(500)?;
        assert_eq!(keys.len(), 500);
        let distinct: std::collections::HashSet<&str> =
            keys.iter().map(ActivationKey::expose).collect();
        assert_eq!(distinct.len(), 500);
        let same = &keys[0];
        let pairs = [
            (same, "a0000001"),
            (same, "a0000001"),
            (&keys[1], "a0000002"),
        ];
        let hashes = hash_keys(&pairs)?;
        assert_eq!(hashes.len(), 3);
        let salts: std::collections::HashSet<&str> = hashes
            .iter()
            .filter_map(|h| h.split_once('$'))
            .map(|s| s.0)
            .collect();
        assert_eq!(salts.len(), 3, "one salt per hash");
        for ((key, ecs_id), hash) in pairs.iter().zip(&hashes) {
            assert!(verify_key(key.expose(), ecs_id, hash));
        }
        assert!(!verify_key(keys[1].expose(), "a0000001", &hashes[0]));
        Ok(())
    }

    #[test]
    fn debug_never_shows_the_key() {
        let key = ActivationKey::from_bytes(&[0; 12]);
        assert_eq!(format!("{key:?}"), "ActivationKey(<redacted>)");
    }

    #[test]
    fn hash_is_salted_bound_to_the_account_and_verifies_typed_forms() -> Result<(), ApplyError> {
        let key = ActivationKey::from_bytes(&[5; 12]);
        let a = hash_key(&key, "a0000001")?;
        let b = hash_key(&key, "a0000001")?;
        assert_ne!(a, b, "a fresh salt per hash");
        assert!(!a.contains(key.expose()));
        let (salt, hash) = a.split_once('$').unwrap_or_default();
        assert_eq!((salt.len(), hash.len()), (32, 64));
        for typed in [
            key.expose(),
            "ffff-ffff-ffff",
            "FFFFFFFFFFFF",
            " ffff ffff ffff ",
        ] {
            assert!(verify_key(typed, "a0000001", &a), "{typed}");
        }
        assert!(!verify_key(key.expose(), "a0000002", &a));
        assert!(!verify_key("FFFF-FFFF-FFFG", "a0000001", &a));
        assert!(!verify_key(key.expose(), "a0000001", "garbage"));
        Ok(())
    }
}

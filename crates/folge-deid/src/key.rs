//! Pseudonymisation keys and keyed pseudonyms.
//!
//! A pseudonym is HMAC-SHA256(key, normalised id), its first 128 bits as 32 lowercase hex
//! characters: the same person gets the same pseudonym in every table and every run with
//! the same key, and nobody without the key can recompute or reverse it.
//!
//! The demo key (`key = "demo"` in a pipeline file) is SHA-256 of [`DEMO_KEY_PHRASE`]: it is
//! public, so the deid stage accepts it only while every national id is a synthetic test
//! number.

use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};

/// The public phrase the demo key is derived from.
pub const DEMO_KEY_PHRASE: &str = "folge demo key: synthetic test data only";

/// Length of a pseudonym in hex characters (128 bits).
pub const PSEUDONYM_HEX_CHARS: usize = 32;

/// Key bytes required (256 bits).
const KEY_BYTES: usize = 32;

/// Hashes person ids for the maps deid looks them up in (FNV-1a: a few steps for an
/// 11-digit id, where the standard hasher costs more than the rest of the lookup). The
/// ids come from the participant list, not from outside, and the maps are only queried,
/// never iterated, so neither flooding nor order is a concern.
#[derive(Default)]
pub(crate) struct IdHasher(u64);

impl std::hash::Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        let mut h = if self.0 == 0 { 0xcbf2_9ce4_8422_2325 } else { self.0 };
        for &b in bytes {
            h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
        self.0 = h;
    }
}

/// A hash map hashed with [`IdHasher`] (keyed by person id, or by a small number).
pub(crate) type IdMap<K, V> =
    std::collections::HashMap<K, V, std::hash::BuildHasherDefault<IdHasher>>;

/// Why a key cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// Empty key material.
    #[error("the key is empty; create one with `folge keygen --out FILE`")]
    Empty,
    /// Fewer than 256 bits.
    #[error(
        "the key has {0} bits, at least 256 are needed; create one with `folge keygen --out FILE`"
    )]
    TooShort(usize),
    /// Not hex text.
    #[error("the key is not 64 or more hexadecimal characters (as `folge keygen` writes it)")]
    NotHex,
    /// The OS random source failed.
    #[error("the operating system's random source failed: {0}")]
    Random(String),
}

/// A secret pseudonymisation key. Its bytes never leave this type except through
/// [`Key::to_hex`] for writing the key file.
#[derive(Clone)]
pub struct Key {
    bytes: Vec<u8>,
    demo: bool,
    /// HMAC with the key already absorbed (its inner and outer pads hashed once), cloned
    /// for each pseudonym.
    mac: Hmac<Sha256>,
}

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Key {{ fingerprint: {}, demo: {} }}", self.fingerprint(), self.demo)
    }
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 15)]));
    }
    s
}

impl Key {
    fn new(bytes: Vec<u8>, demo: bool) -> Self {
        // HMAC accepts keys of any length; ours are ≥ 32 bytes by construction.
        let mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&bytes)
            .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
        Key { bytes, demo, mac }
    }

    /// The public demo key for synthetic data.
    pub fn demo() -> Self {
        Key::new(Sha256::digest(DEMO_KEY_PHRASE.as_bytes()).to_vec(), true)
    }

    /// 256 fresh bits from the operating system.
    pub fn generate() -> Result<Self, KeyError> {
        let mut bytes = vec![0u8; KEY_BYTES];
        getrandom::fill(&mut bytes).map_err(|e| KeyError::Random(e.to_string()))?;
        Ok(Key::new(bytes, false))
    }

    /// Parse key file text: hex digits, surrounding whitespace ignored.
    pub fn from_hex(text: &str) -> Result<Self, KeyError> {
        let t = text.trim();
        if t.is_empty() {
            return Err(KeyError::Empty);
        }
        if !t.len().is_multiple_of(2) || !t.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(KeyError::NotHex);
        }
        let bytes: Vec<u8> = (0..t.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&t[i..i + 2], 16))
            .collect::<Result<_, _>>()
            .map_err(|_| KeyError::NotHex)?;
        if bytes.len() < KEY_BYTES {
            return Err(KeyError::TooShort(bytes.len() * 8));
        }
        Ok(Key::new(bytes, false))
    }

    /// The key as hex text, for the key file.
    pub fn to_hex(&self) -> String {
        hex(&self.bytes)
    }

    /// Whether this is the public demo key.
    pub fn is_demo(&self) -> bool {
        self.demo
    }

    /// SHA-256 of SHA-256 of the key, hex: identifies the key in a manifest without
    /// revealing it.
    pub fn fingerprint(&self) -> String {
        hex(&Sha256::digest(Sha256::digest(&self.bytes)))
    }

    /// The pseudonym of a normalised id.
    pub fn pseudonym(&self, normalised_id: &str) -> String {
        let mut mac = self.mac.clone();
        mac.update(normalised_id.as_bytes());
        let tag = mac.finalize().into_bytes();
        hex(&tag[..PSEUDONYM_HEX_CHARS / 2])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pseudonyms_are_keyed_stable_and_128_bit() {
        let demo = Key::demo();
        let p = demo.pseudonym("01010750160");
        assert_eq!(p.len(), PSEUDONYM_HEX_CHARS);
        assert_eq!(p, Key::demo().pseudonym("01010750160"));
        assert_ne!(p, demo.pseudonym("15076500565"));
        let other = Key::generate().unwrap();
        assert_ne!(p, other.pseudonym("01010750160"));
        assert!(!other.is_demo() && demo.is_demo());
    }

    #[test]
    fn hmac_matches_rfc_4231_case_2() {
        // RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?".
        let key = Key::new(b"Jefe".to_vec(), false);
        assert_eq!(
            key.pseudonym("what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c7"
        );
    }

    #[test]
    fn key_text_is_checked() {
        let key = Key::generate().unwrap();
        let back = Key::from_hex(&format!("{}\n", key.to_hex())).unwrap();
        assert_eq!(back.fingerprint(), key.fingerprint());
        assert_eq!(Key::from_hex("  ").unwrap_err(), KeyError::Empty);
        assert_eq!(Key::from_hex("abcd").unwrap_err(), KeyError::TooShort(16));
        assert_eq!(Key::from_hex("xyz1").unwrap_err(), KeyError::NotHex);
        assert!(!format!("{key:?}").contains(&key.to_hex()));
    }
}

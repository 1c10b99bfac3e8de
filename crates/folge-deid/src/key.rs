//! Pseudonymisation keys and keyed pseudonyms.
//!
//! A pseudonym is HMAC-SHA256(key, normalised id), its first 128 bits: a [`Pseudonym`],
//! written (and stored in `pid` columns) as 32 lowercase hex characters. The same person
//! gets the same pseudonym in every table and every run with the same key, and nobody
//! without the key can recompute or reverse it.
//!
//! The demo key (`key = "demo"` in a pipeline file) is SHA-256 of [`DEMO_KEY_PHRASE`]: it is
//! public, so the deid stage accepts it only while every national id is a synthetic test
//! number. A key is the demo key by its bytes, wherever it comes from: the demo key's hex
//! written into a key file is the demo key too. Key text that is plainly not random (all
//! bytes equal, few distinct byte values, a short repeating pattern) is refused.

use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};

/// The public phrase the demo key is derived from.
pub const DEMO_KEY_PHRASE: &str = "folge demo key: synthetic test data only";

pub use folge_schema::pseudonym::{PSEUDONYM_HEX_CHARS, Pseudonym, PseudonymError};

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
    /// Every byte is the same (all zero, all `ff`, …).
    #[error(
        "the key is not random: all its {bytes} bytes are the same; create a key with `folge keygen --out FILE`"
    )]
    AllBytesEqual {
        /// Key length in bytes.
        bytes: usize,
    },
    /// The bytes repeat a short pattern.
    #[error(
        "the key is not random: its {bytes} bytes repeat a pattern of {period} bytes; create a key with `folge keygen --out FILE`"
    )]
    Repeats {
        /// Key length in bytes.
        bytes: usize,
        /// Length of the repeating pattern in bytes.
        period: usize,
    },
    /// The bytes take too few distinct values to be random.
    #[error(
        "the key is not random: its {bytes} bytes take only {distinct} different values (a random key of 32 bytes takes about 30); create a key with `folge keygen --out FILE`"
    )]
    FewValues {
        /// Key length in bytes.
        bytes: usize,
        /// Distinct byte values.
        distinct: usize,
    },
    /// The OS random source failed.
    #[error("the operating system's random source failed: {0}")]
    Random(String),
}

/// Fewest distinct byte values a key's first 32 bytes must take. 32 random bytes take
/// 30.1 on average (256 · (1 − (255/256)^32)); fewer than 16 happens with a probability
/// of 3 · 10^-17 (from Stirling numbers of the second kind), so a key from `folge keygen`
/// is in practice never refused.
const MIN_DISTINCT_BYTES: usize = 16;

/// Why key bytes are plainly not random, if they are: every byte the same, a pattern of
/// up to half the key's length repeated, or fewer than [`MIN_DISTINCT_BYTES`] distinct
/// values among the first 32 bytes. A random 256-bit key repeats a pattern of 16 bytes
/// with probability 2^-128.
fn weakness(bytes: &[u8]) -> Option<KeyError> {
    let n = bytes.len();
    if bytes.windows(2).all(|w| w[0] == w[1]) {
        return Some(KeyError::AllBytesEqual { bytes: n });
    }
    if let Some(period) = (1..=n / 2).find(|&p| bytes.iter().zip(&bytes[p..]).all(|(a, b)| a == b))
    {
        return Some(KeyError::Repeats { bytes: n, period });
    }
    let head = &bytes[..n.min(KEY_BYTES)];
    let mut seen = [false; 256];
    for &b in head {
        seen[usize::from(b)] = true;
    }
    let distinct = seen.iter().filter(|s| **s).count();
    (distinct < MIN_DISTINCT_BYTES).then_some(KeyError::FewValues { bytes: head.len(), distinct })
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

/// The demo key's bytes.
fn demo_bytes() -> Vec<u8> {
    Sha256::digest(DEMO_KEY_PHRASE.as_bytes()).to_vec()
}

impl Key {
    /// A key of `bytes`; it is the demo key when they are the demo key's bytes, whatever
    /// their origin.
    fn new(bytes: Vec<u8>) -> Self {
        // HMAC accepts keys of any length; ours are ≥ 32 bytes by construction.
        let mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&bytes)
            .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
        let demo = bytes == demo_bytes();
        Key { bytes, demo, mac }
    }

    /// The public demo key for synthetic data.
    pub fn demo() -> Self {
        Key::new(demo_bytes())
    }

    /// 256 fresh bits from the operating system (drawn again in the never-seen case that
    /// they look weak or are the demo key's, so a generated key always reads back).
    pub fn generate() -> Result<Self, KeyError> {
        let mut bytes = vec![0u8; KEY_BYTES];
        loop {
            getrandom::fill(&mut bytes).map_err(|e| KeyError::Random(e.to_string()))?;
            if weakness(&bytes).is_none() && bytes != demo_bytes() {
                return Ok(Key::new(bytes));
            }
        }
    }

    /// Parse key file text: hex digits, surrounding whitespace ignored. Refuses fewer
    /// than 256 bits and bytes that are plainly not random; the demo key's bytes give the
    /// demo key ([`Key::is_demo`]).
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
        if let Some(weak) = weakness(&bytes) {
            return Err(weak);
        }
        Ok(Key::new(bytes))
    }

    /// The key as hex text, for the key file.
    pub fn to_hex(&self) -> String {
        hex(&self.bytes)
    }

    /// Whether this is the public demo key: decided by the key's bytes, so a key file
    /// holding them is the demo key too.
    pub fn is_demo(&self) -> bool {
        self.demo
    }

    /// SHA-256 of SHA-256 of the key, hex: identifies the key in a manifest without
    /// revealing it.
    pub fn fingerprint(&self) -> String {
        hex(&Sha256::digest(Sha256::digest(&self.bytes)))
    }

    /// The pseudonym of a normalised id.
    pub fn pseudonym(&self, normalised_id: &str) -> Pseudonym {
        let mut mac = self.mac.clone();
        mac.update(normalised_id.as_bytes());
        let tag = mac.finalize().into_bytes();
        let mut bytes = [0u8; PSEUDONYM_HEX_CHARS / 2];
        bytes.copy_from_slice(&tag[..PSEUDONYM_HEX_CHARS / 2]);
        Pseudonym::from_bytes(bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pseudonyms_are_keyed_stable_and_128_bit() {
        let demo = Key::demo();
        let p = demo.pseudonym("01010750160");
        assert_eq!(p.to_string().len(), PSEUDONYM_HEX_CHARS);
        assert_eq!(p, Key::demo().pseudonym("01010750160"));
        assert_ne!(p, demo.pseudonym("15076500565"));
        let other = Key::generate().unwrap();
        assert_ne!(p, other.pseudonym("01010750160"));
        assert!(!other.is_demo() && demo.is_demo());
    }

    #[test]
    fn hmac_matches_rfc_4231_case_2() {
        // RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?".
        let key = Key::new(b"Jefe".to_vec());
        assert_eq!(
            key.pseudonym("what do ya want for nothing?").to_string(),
            "5bdcc146bf60754e6a042426089575c7"
        );
    }

    #[test]
    fn a_pseudonym_reads_back_from_its_hex_text_and_sorts_as_it() {
        let key = Key::demo();
        let mut pseudonyms: Vec<Pseudonym> =
            (0..200).map(|i| key.pseudonym(&format!("{i:011}"))).collect();
        for p in &pseudonyms {
            let text = p.to_string();
            assert!(text.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)));
            assert_eq!(text.parse::<Pseudonym>(), Ok(*p));
            assert_eq!(text.to_uppercase().parse::<Pseudonym>(), Ok(*p));
        }
        let mut texts: Vec<String> = pseudonyms.iter().map(ToString::to_string).collect();
        pseudonyms.sort();
        texts.sort();
        assert_eq!(pseudonyms.iter().map(ToString::to_string).collect::<Vec<_>>(), texts);
    }

    #[test]
    fn text_that_is_not_a_pseudonym_is_refused_without_being_shown() {
        let id = "01010750160";
        let err = id.parse::<Pseudonym>().unwrap_err();
        assert_eq!(err, PseudonymError::Length { chars: 11 });
        assert_eq!(
            err.to_string(),
            "not a pseudonym: 11 characters where a pseudonym has 32 hexadecimal ones"
        );
        let err =
            format!("{}x{}", "0".repeat(20), "0".repeat(11)).parse::<Pseudonym>().unwrap_err();
        assert_eq!(err, PseudonymError::NotHex { position: 21 });
        assert_eq!(
            err.to_string(),
            "not a pseudonym: character 21 is not a hexadecimal digit (a pseudonym is 32 of 0-9 and a-f)"
        );
        // 32 bytes but fewer characters: counted as characters.
        assert_eq!(
            format!("{}æ", "0".repeat(30)).parse::<Pseudonym>(),
            Err(PseudonymError::NotHex { position: 31 })
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

    #[track_caller]
    fn check_weak(hex: &str, expected: &KeyError) {
        assert_eq!(&Key::from_hex(hex).unwrap_err(), expected);
        let message = expected.to_string();
        assert!(message.contains("`folge keygen --out FILE`"), "{message}");
    }

    #[test]
    fn weak_keys_are_refused() {
        check_weak(&"00".repeat(32), &KeyError::AllBytesEqual { bytes: 32 });
        check_weak(&"ff".repeat(40), &KeyError::AllBytesEqual { bytes: 40 });
        check_weak(&"0123".repeat(16), &KeyError::Repeats { bytes: 32, period: 2 });
        let sixteen = hex(&(0u8..16).map(|b| b * 13).collect::<Vec<_>>());
        check_weak(&sixteen.repeat(2), &KeyError::Repeats { bytes: 32, period: 16 });
        // The first 32 decimal digits of pi as bytes: no pattern repeats, but they take
        // far fewer values than random bytes do.
        let pi =
            hex(&"31415926535897932384626433832795".bytes().map(|d| d - b'0').collect::<Vec<_>>());
        check_weak(&pi, &KeyError::FewValues { bytes: 32, distinct: 9 });
        assert_eq!(
            KeyError::AllBytesEqual { bytes: 32 }.to_string(),
            "the key is not random: all its 32 bytes are the same; create a key with `folge keygen --out FILE`"
        );
        for _ in 0..1000 {
            let key = Key::generate().unwrap();
            assert!(Key::from_hex(&key.to_hex()).is_ok(), "a generated key reads back");
        }
    }

    #[test]
    fn the_demo_key_is_known_by_its_bytes() {
        let from_file = Key::from_hex(&format!("{}\n", Key::demo().to_hex())).unwrap();
        assert!(from_file.is_demo());
        assert_eq!(from_file.fingerprint(), Key::demo().fingerprint());
        assert!(!Key::generate().unwrap().is_demo());
    }
}

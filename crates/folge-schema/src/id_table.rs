//! Participants looked up by their 11-digit id as a number, for the rows of event tables.
//!
//! A registry extract in date order names another person on almost every row, so each
//! row's look-up lands somewhere else in the table: what it costs is memory latency, not
//! arithmetic, and on a virtual machine without huge pages most of it is the page walk.
//! A general hash map keeps its control bytes and its entries in two places (two misses a
//! look-up); [`IdTable`] packs key and value into one 8-byte slot of an open-addressed
//! table (an id of 11 digits takes 37 bits, a position the other 27), filled to at most
//! 7/8, so 200,000 participants take 2 MiB (512 pages) and a look-up reads, almost
//! always, one cache line. [`IdTable::get_many`] looks a batch of keys up in one tight
//! loop, so the processor overlaps their misses.

/// Bits of a slot that hold the key: ids have 11 digits, below 10¹¹ < 2³⁷.
const KEY_BITS: u32 = 37;
/// The largest key.
const MAX_KEY: u64 = (1 << KEY_BITS) - 1;
/// The largest position: the value is stored plus one, so an empty slot is 0.
const MAX_VALUE: u32 = (1 << (64 - KEY_BITS)) - 2;

/// A map from 11-digit ids (as numbers) to positions below 2²⁷; built once, then only
/// queried.
#[derive(Clone)]
pub struct IdTable {
    /// `key | (value + 1) << 37`, or 0 for an empty slot.
    slots: Vec<u64>,
    mask: usize,
    len: usize,
}

impl std::fmt::Debug for IdTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The keys are person ids: they are not shown.
        f.debug_struct("IdTable").field("len", &self.len).finish_non_exhaustive()
    }
}

impl Default for IdTable {
    fn default() -> Self {
        IdTable::with_capacity(0)
    }
}

/// The 64-bit finaliser of `MurmurHash3` (`fmix64`).
#[inline]
fn mix(key: u64) -> u64 {
    let mut h = key;
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^ (h >> 33)
}

/// The value a filled slot holds.
#[inline]
fn value_of(slot: u64) -> u32 {
    // Below 2²⁷ by construction.
    ((slot >> KEY_BITS) - 1) as u32
}

/// An id of exactly 11 ASCII digits as a number (equal texts give equal numbers, and
/// different texts different numbers); `None` for anything else.
#[inline]
pub fn eleven_digits(id: &str) -> Option<u64> {
    let bytes = id.as_bytes();
    if bytes.len() != 11 {
        return None;
    }
    bytes.iter().try_fold(0u64, |n, &b| b.is_ascii_digit().then(|| n * 10 + u64::from(b - b'0')))
}

impl IdTable {
    /// An empty table with room for `n` keys without growing.
    pub fn with_capacity(n: usize) -> Self {
        let size = (n.max(4) * 8).div_ceil(7).next_power_of_two();
        IdTable { slots: vec![0; size], mask: size - 1, len: 0 }
    }

    /// Keys held.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether no key is held.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Map `key` to `value`; a key already there keeps its first value (returned).
    ///
    /// # Panics
    /// On a key of more than 11 digits or a value of 2²⁷ − 1 or more (134 million
    /// participants): neither is an id or a position.
    pub fn insert(&mut self, key: u64, value: u32) -> Option<u32> {
        assert!(key <= MAX_KEY, "not an 11-digit id");
        assert!(value <= MAX_VALUE, "more participants than an id table holds");
        if (self.len + 1) * 8 > self.slots.len() * 7 {
            self.grow();
        }
        let mut at = mix(key) as usize & self.mask;
        loop {
            let slot = self.slots[at];
            if slot == 0 {
                self.slots[at] = key | (u64::from(value) + 1) << KEY_BITS;
                self.len += 1;
                return None;
            }
            if slot & MAX_KEY == key {
                return Some(value_of(slot));
            }
            at = (at + 1) & self.mask;
        }
    }

    fn grow(&mut self) {
        let old = std::mem::take(&mut self.slots);
        *self = IdTable::with_capacity(old.len());
        for slot in old {
            if slot != 0 {
                self.insert(slot & MAX_KEY, value_of(slot));
            }
        }
    }

    /// The value of `key`.
    #[inline]
    pub fn get(&self, key: u64) -> Option<u32> {
        if key > MAX_KEY {
            return None;
        }
        let mut at = mix(key) as usize & self.mask;
        loop {
            let slot = self.slots[at];
            if slot == 0 {
                return None;
            }
            if slot & MAX_KEY == key {
                return Some(value_of(slot));
            }
            at = (at + 1) & self.mask;
        }
    }

    /// [`IdTable::get`] for each of `keys` into `out` (cleared first), in one loop of
    /// independent look-ups whose cache misses overlap.
    pub fn get_many(&self, keys: &[u64], out: &mut Vec<Option<u32>>) {
        out.clear();
        out.extend(keys.iter().map(|&k| self.get(k)));
    }
}

impl FromIterator<(u64, u32)> for IdTable {
    fn from_iter<I: IntoIterator<Item = (u64, u32)>>(iter: I) -> Self {
        let iter = iter.into_iter();
        let mut table = IdTable::with_capacity(iter.size_hint().0);
        for (k, v) in iter {
            table.insert(k, v);
        }
        table
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_what_it_holds_and_nothing_else() {
        // Keys that collide in the low bits of a weak hash, and enough to grow twice.
        let keys: Vec<u64> = (0..5_000u64).map(|i| 10_000_000_000 + i * 1024).collect();
        let mut table = IdTable::with_capacity(10);
        for (i, &k) in keys.iter().enumerate() {
            assert_eq!(table.insert(k, i as u32), None);
        }
        assert_eq!(table.len(), keys.len());
        assert_eq!(table.insert(keys[7], 99), Some(7), "the first value stays");
        for (i, &k) in keys.iter().enumerate() {
            assert_eq!(table.get(k), Some(i as u32));
            assert_eq!(table.get(k + 1), None);
        }
        let mut out = Vec::new();
        table.get_many(&[keys[3], 1, keys[4_999]], &mut out);
        assert_eq!(out, vec![Some(3), None, Some(4_999)]);
        assert_eq!(IdTable::default().get(0), None);
        assert_eq!(table.get(u64::MAX), None, "not an id");
        assert_eq!(table.get(0), None, "an empty slot is not key 0");
        let mut edge = IdTable::default();
        edge.insert(0, 0);
        edge.insert(99_999_999_999, MAX_VALUE);
        assert_eq!((edge.get(0), edge.get(99_999_999_999)), (Some(0), Some(MAX_VALUE)));
        assert_eq!(edge.get(99_999_999_999 + (1 << KEY_BITS)), None, "wider keys are not cut");
    }

    #[test]
    fn eleven_digits_only() {
        assert_eq!(eleven_digits("01010112345"), Some(1_010_112_345));
        assert_eq!(eleven_digits("99999999999"), Some(99_999_999_999));
        assert_eq!(eleven_digits("0101011234"), None);
        assert_eq!(eleven_digits("0101011234x"), None);
        assert_eq!(eleven_digits("+1010112345"), None);
        assert_eq!(eleven_digits("010101123456"), None);
    }
}

// Licensed to the Apache Software Foundation (ASF) under one
// or more contributor license agreements.  See the NOTICE file
// distributed with this work for additional information
// regarding copyright ownership.  The ASF licenses this file
// to you under the Apache License, Version 2.0 (the
// "License"); you may not use this file except in compliance
// with the License.  You may obtain a copy of the License at
//
//   http://www.apache.org/licenses/LICENSE-2.0
//
// Unless required by applicable law or agreed to in writing,
// software distributed under the License is distributed on an
// "AS IS" BASIS, WITHOUT WARRANTIES OR CONDITIONS OF ANY
// KIND, either express or implied.  See the License for the
// specific language governing permissions and limitations
// under the License.

use crate::data_type::AsBytes;
use hashbrown::HashTable;

const DEFAULT_DEDUP_CAPACITY: usize = 4096;

/// Storage trait for [`Interner`]
pub trait Storage {
    type Key: Copy;

    type Value: AsBytes + ?Sized;

    /// Gets an element by its key
    fn get(&self, idx: Self::Key) -> &Self::Value;

    /// Adds a new element, returning the key
    fn push(&mut self, value: &Self::Value) -> Self::Key;

    /// Return an estimate of the memory used in this storage, in bytes
    fn estimated_memory_size(&self) -> usize;

    /// Values stored (folge's patch: keys are `0..len`, see [`Interner::push_unchecked`]).
    fn len(&self) -> usize;
}

/// A generic value interner supporting various different [`Storage`]
#[derive(Debug, Default)]
pub struct Interner<S: Storage> {
    state: ahash::RandomState,

    /// Used to provide a lookup from value to unique value
    dedup: HashTable<S::Key>,

    storage: S,

    /// Values were appended by [`Interner::push_unchecked`] and `dedup` does not know
    /// them yet (folge's patch).
    stale: bool,

    /// The key [`Interner::intern`] gave last (folge's patch): a value equal to the one
    /// before it (a date-ordered extract's dates, a person's rows) is found without
    /// hashing it. Keys never change (storage only grows), so it stays right.
    last: Option<u64>,
}

impl<S: Storage<Key = u64>> Interner<S> {
    /// Create a new `Interner` with the provided storage
    pub fn new(storage: S) -> Self {
        Self {
            state: Default::default(),
            dedup: HashTable::with_capacity(DEFAULT_DEDUP_CAPACITY),
            storage,
            stale: false,
            last: None,
        }
    }

    /// Intern the value, returning the interned key, and if this was a new value
    pub fn intern(&mut self, value: &S::Value) -> S::Key {
        if let Some(last) = self.last
            && self.storage.get(last).as_bytes() == value.as_bytes()
        {
            return last;
        }
        if self.stale {
            self.index_appended();
        }
        let hash = self.state.hash_one(value.as_bytes());

        let key = *self
            .dedup
            .entry(
                hash,
                // Compare bytes rather than directly comparing values so NaNs can be interned
                |index| value.as_bytes() == self.storage.get(*index).as_bytes(),
                |key| self.state.hash_one(self.storage.get(*key).as_bytes()),
            )
            .or_insert_with(|| self.storage.push(value))
            .get();
        self.last = Some(key);
        key
    }

    /// Append `value` to the storage without looking it up or hashing it (folge's
    /// patch, see vendor/README.md): for a dictionary page seeded with an Arrow
    /// dictionary whose keys are written as they are, where no row's value is looked up.
    /// The look-up table learns the values only if [`Interner::intern`] is called later
    /// (each value is then found at its first position).
    pub fn push_unchecked(&mut self, value: &S::Value) -> S::Key {
        self.stale = true;
        self.storage.push(value)
    }

    /// Put every stored value into the look-up table, each found at its first key.
    #[cold]
    fn index_appended(&mut self) {
        self.stale = false;
        self.dedup.clear();
        let (state, storage) = (&self.state, &self.storage);
        for key in 0..storage.len() as u64 {
            let value = storage.get(key).as_bytes();
            self.dedup
                .entry(
                    state.hash_one(value),
                    |index| storage.get(*index).as_bytes() == value,
                    |k| state.hash_one(storage.get(*k).as_bytes()),
                )
                .or_insert(key);
        }
    }

    /// Return estimate of the memory used, in bytes
    pub fn estimated_memory_size(&self) -> usize {
        self.storage.estimated_memory_size() + self.dedup.allocation_size()
    }

    /// Returns the storage for this interner
    pub fn storage(&self) -> &S {
        &self.storage
    }

    /// Unwraps the inner storage
    #[cfg(feature = "arrow")]
    pub fn into_inner(self) -> S {
        self.storage
    }
}

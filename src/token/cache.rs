//! A bounded cache of recently verified tokens, so a token presented again skips the
//! cryptography. Time claims are re-checked by the caller on every hit.

use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use subtle::ConstantTimeEq;

use super::Verified;

/// Shards keep lock contention low when several workers verify at once.
const SHARDS: usize = 16;

/// How many entries an eviction looks at to find the least recently used (an approximation of
/// LRU that needs no linked list).
const EVICTION_SAMPLE: usize = 8;

struct Entry {
    kind: usize,
    verified: Arc<Verified>,
    last_used: u64,
}

/// Verified tokens by (kind, token), at most `capacity` of them.
pub(crate) struct VerifiedCache {
    // KeyAndFooter with per-process random keys, so clients cannot aim tokens at one bucket.
    hasher: RandomState,
    shards: Vec<Mutex<HashMap<u64, Entry>>>,
    per_shard: usize,
    clock: AtomicU64,
}

impl VerifiedCache {
    /// A cache of about `capacity` entries; `None` for zero (caching off).
    pub(crate) fn new(capacity: usize) -> Option<Self> {
        if capacity == 0 {
            return None;
        }
        let per_shard = capacity.div_ceil(SHARDS);
        Some(VerifiedCache {
            hasher: RandomState::new(),
            shards: (0..SHARDS)
                .map(|_| Mutex::new(HashMap::with_capacity(per_shard)))
                .collect(),
            per_shard,
            clock: AtomicU64::new(0),
        })
    }

    fn slot(&self, kind: usize, token: &str) -> (usize, u64) {
        let hash = self.hasher.hash_one((kind, token));
        ((hash as usize) % SHARDS, hash)
    }

    /// The cached verification of `token` as kind `kind`, if any. The stored token is compared
    /// in full (in constant time), so a hash collision can never return another token's claims.
    pub(crate) fn get(&self, kind: usize, token: &str) -> Option<Arc<Verified>> {
        let (shard, hash) = self.slot(kind, token);
        let mut map = self.shards[shard].lock().unwrap_or_else(|e| e.into_inner());
        let entry = map.get_mut(&hash)?;
        let same = entry.kind == kind
            && bool::from(entry.verified.token().as_bytes().ct_eq(token.as_bytes()));
        if !same {
            return None;
        }
        entry.last_used = self.clock.fetch_add(1, Ordering::Relaxed);
        Some(entry.verified.clone())
    }

    /// Remembers a successful verification, evicting an old entry when the shard is full.
    pub(crate) fn insert(&self, kind: usize, verified: Arc<Verified>) {
        let (shard, hash) = self.slot(kind, verified.token());
        let mut map = self.shards[shard].lock().unwrap_or_else(|e| e.into_inner());
        if map.len() >= self.per_shard && !map.contains_key(&hash) {
            let oldest = map
                .iter()
                .take(EVICTION_SAMPLE)
                .min_by_key(|(_, e)| e.last_used)
                .map(|(k, _)| *k);
            if let Some(oldest) = oldest {
                map.remove(&oldest);
            }
        }
        let last_used = self.clock.fetch_add(1, Ordering::Relaxed);
        map.insert(
            hash,
            Entry {
                kind,
                verified,
                last_used,
            },
        );
    }

    /// How many tokens are cached.
    pub(crate) fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|s| s.lock().unwrap_or_else(|e| e.into_inner()).len())
            .sum()
    }
}

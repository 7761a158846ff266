//! A bounded cache of recently verified tokens, so a token presented again skips the
//! cryptography. Time claims are re-checked by the caller on every hit.
//!
//! Each shard keeps its entries in a `Vec`, found through a map from hash to position. When a
//! full shard needs room, expired entries go first; otherwise a clock hand takes the next few
//! positions in turn and the least recently used of them goes. The hand goes round the whole
//! shard, so every entry comes up for eviction in turn. (A sample taken from the front of a hash
//! map would see the same few buckets every time, and tokens no longer presented would pile up
//! everywhere else.)

use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::hint::black_box;
use std::sync::{Arc, Mutex, MutexGuard};

use subtle::ConstantTimeEq;
use time::OffsetDateTime;

use super::Verified;

/// How many bytes at the end of a token its cache key is computed from: at least the 64 base64
/// characters of a v4.local tag (43) or a v4.public signature (86 characters, of which these are
/// the last 64 — 48 random-looking bytes).
const HASHED_TAIL: usize = 64;

/// The length of the longer header, `v4.public.`: a dot beyond it ends the message.
const LONGEST_HEADER: usize = "v4.public.".len();

/// A token's key in the cache: see [`VerifiedCache::key`].
#[derive(Clone, Copy)]
pub(crate) struct CacheKey(u64);

/// Shards keep lock contention low when several workers verify at once.
const SHARDS: usize = 16;

/// How many entries, taken in turn from the clock hand, an eviction compares to find the least
/// recently used (an approximation of LRU that needs no linked list).
const EVICTION_SAMPLE: usize = 8;

/// The shortest time between two sweeps of a shard for expired entries, so that tokens expiring
/// one by one cannot make every insertion walk the whole shard.
const SWEEP_INTERVAL: time::Duration = time::Duration::SECOND;

struct Entry {
    hash: u64,
    kind: usize,
    verified: Arc<Verified>,
    last_used: u64,
}

impl Entry {
    fn expires(&self) -> OffsetDateTime {
        self.verified.claims().exp
    }
}

#[derive(Default)]
struct Shard {
    /// Positions in `entries` by hash.
    index: HashMap<u64, usize>,
    entries: Vec<Entry>,
    /// Where the next eviction sample starts.
    hand: usize,
    /// Counts uses, to order them within the shard.
    clock: u64,
    /// No entry expires before this (entries evicted since may have expired later).
    soonest_expiry: Option<OffsetDateTime>,
    last_sweep: Option<OffsetDateTime>,
}

impl Shard {
    fn tick(&mut self) -> u64 {
        self.clock += 1;
        self.clock
    }

    /// Adds an entry, making room first when the shard holds `capacity` of them. Entries that
    /// expired before `expired_before` can never verify again, so they go first.
    fn insert(&mut self, capacity: usize, entry: Entry, expired_before: OffsetDateTime) {
        if let Some(&at) = self.index.get(&entry.hash) {
            self.entries[at] = entry;
            return;
        }
        if self.entries.len() >= capacity && self.sweep_due(expired_before) {
            self.drop_expired(expired_before);
        }
        let expires = entry.expires();
        self.soonest_expiry = Some(self.soonest_expiry.map_or(expires, |s| s.min(expires)));
        let at = if self.entries.len() < capacity {
            self.entries.push(entry);
            self.entries.len() - 1
        } else {
            let at = self.victim();
            self.index.remove(&self.entries[at].hash);
            self.entries[at] = entry;
            at
        };
        self.index.insert(self.entries[at].hash, at);
    }

    fn sweep_due(&self, expired_before: OffsetDateTime) -> bool {
        self.soonest_expiry.is_some_and(|s| s < expired_before)
            && self
                .last_sweep
                .is_none_or(|last| expired_before - last >= SWEEP_INTERVAL)
    }

    fn drop_expired(&mut self, expired_before: OffsetDateTime) {
        self.entries.retain(|e| e.expires() >= expired_before);
        self.index.clear();
        self.index
            .extend(self.entries.iter().enumerate().map(|(at, e)| (e.hash, at)));
        self.soonest_expiry = self.entries.iter().map(Entry::expires).min();
        self.last_sweep = Some(expired_before);
    }

    /// The position to evict: the least recently used of the next few from the clock hand.
    fn victim(&mut self) -> usize {
        let len = self.entries.len();
        let start = self.hand % len;
        self.hand = (start + EVICTION_SAMPLE) % len;
        (start..start + EVICTION_SAMPLE.min(len))
            .map(|at| at % len)
            .min_by_key(|&at| self.entries[at].last_used)
            .unwrap_or(start)
    }
}

/// Whether `a` and `b` are equal, in a time that depends only on their lengths. Differences are
/// gathered a word at a time and judged once by `subtle`: its byte-by-byte slice comparison
/// costs about a nanosecond a byte, more than the rest of a cache hit for a typical token.
fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let ((a_words, a_rest), (b_words, b_rest)) = (a.as_chunks::<8>(), b.as_chunks::<8>());
    let mut diff = 0u64;
    for (x, y) in a_words.iter().zip(b_words) {
        // The barrier keeps the compiler from stopping early once a difference is found.
        diff = black_box(diff | (u64::from_ne_bytes(*x) ^ u64::from_ne_bytes(*y)));
    }
    for (x, y) in a_rest.iter().zip(b_rest) {
        diff = black_box(diff | u64::from(x ^ y));
    }
    diff.ct_eq(&0).into()
}

/// Verified tokens by (kind, token), at most `capacity` of them.
pub(crate) struct VerifiedCache {
    // Keyed with per-process random keys, so clients cannot aim tokens at one shard.
    hasher: RandomState,
    shards: Vec<Mutex<Shard>>,
    per_shard: usize,
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
                .map(|_| {
                    Mutex::new(Shard {
                        index: HashMap::with_capacity(per_shard),
                        entries: Vec::with_capacity(per_shard),
                        ..Shard::default()
                    })
                })
                .collect(),
            per_shard,
        })
    }

    /// The key of `token` as kind `kind`, for [`get`](Self::get) and then
    /// [`insert`](Self::insert).
    ///
    /// Only the last [`HASHED_TAIL`] bytes of the message (before the footer, which is the same
    /// for every token of a key) are hashed: in a v4.local token they are the authentication
    /// tag and in a v4.public token the signature, so two different tokens that
    /// verify never share them (while the start of a public token, its payload, is much the same
    /// for every token of a user). Tokens crafted to share a tail only share a slot: the full
    /// comparison in `get` tells them apart, and tokens that fail to verify are never inserted.
    pub(crate) fn key(&self, kind: usize, token: &str) -> CacheKey {
        // The footer's dot is the last one; without a footer the last dot ends the header.
        let end = match token.rfind('.') {
            Some(dot) if dot + 1 > LONGEST_HEADER => dot,
            _ => token.len(),
        };
        let tail = &token.as_bytes()[end.saturating_sub(HASHED_TAIL)..end];
        CacheKey(self.hasher.hash_one((kind, token.len(), tail)))
    }

    fn slot(&self, key: CacheKey) -> MutexGuard<'_, Shard> {
        let shard = &self.shards[(key.0 as usize) % SHARDS];
        shard.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The cached verification of `token` as kind `kind`, if any. The stored token is compared
    /// in full (in constant time), so a hash collision can never return another token's claims.
    pub(crate) fn get(&self, key: CacheKey, kind: usize, token: &str) -> Option<Arc<Verified>> {
        let hash = key.0;
        let mut shard = self.slot(key);
        let at = *shard.index.get(&hash)?;
        let entry = &shard.entries[at];
        if entry.kind != kind || !same_bytes(entry.verified.token().as_bytes(), token.as_bytes()) {
            return None;
        }
        let now = shard.tick();
        let entry = &mut shard.entries[at];
        entry.last_used = now;
        Some(entry.verified.clone())
    }

    /// Remembers a successful verification, evicting an entry when the shard is full: one that
    /// expired before `expired_before` if there is any, otherwise an old one.
    pub(crate) fn insert(
        &self,
        key: CacheKey,
        kind: usize,
        verified: Arc<Verified>,
        expired_before: OffsetDateTime,
    ) {
        let hash = key.0;
        let mut shard = self.slot(key);
        let last_used = shard.tick();
        let entry = Entry {
            hash,
            kind,
            verified,
            last_used,
        };
        shard.insert(self.per_shard, entry, expired_before);
    }

    /// How many tokens are cached.
    pub(crate) fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|s| s.lock().unwrap_or_else(|e| e.into_inner()).entries.len())
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::{VerifiedCache, same_bytes};

    /// The key comes from the end of the message, not from the footer all tokens of a key share.
    #[test]
    fn keys_differ_by_message_not_footer() {
        let cache = VerifiedCache::new(16).unwrap();
        let footer =
            ".eyJraWQiOiJrNC5saWQuQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBIn0";
        let a = format!("v4.local.{}{footer}", "A".repeat(120));
        let b = format!("v4.local.{}B{footer}", "A".repeat(119));
        let key = |t: &str| cache.key(0, t).0;
        assert_ne!(key(&a), key(&b));
        assert_eq!(key(&a), key(&a.clone()));
        assert_ne!(key(&a), cache.key(1, &a).0, "the kind is part of the key");
        let bare = |m: &str| format!("v4.public.{m}");
        assert_ne!(key(&bare("AAAA")), key(&bare("AAAB")), "no footer");
    }

    #[test]
    fn same_bytes_compares_every_byte() {
        let token = b"v4.local.0123456789abcdefghijklmnopqrstuvwxyz-_ABCDEFGHIJ";
        assert!(same_bytes(token, token));
        assert!(same_bytes(b"", b""));
        for at in 0..token.len() {
            let mut other = *token;
            other[at] ^= 1;
            assert!(!same_bytes(token, &other), "difference at {at}");
        }
        assert!(!same_bytes(token, &token[..token.len() - 1]));
    }
}

//! A bounded cache of recently opened tokens (verified tokens, sealed values), so a token
//! presented again skips the cryptography. Time claims are re-checked by the caller on every
//! hit.
//!
//! Each shard keeps what a hit needs (the scope, the token and the outcome) in a map by hash,
//! and what eviction needs (when each entry was last used and when it expires) in a `Vec`. When
//! a full shard needs room, expired entries go first; otherwise a clock hand takes the next few
//! positions of the `Vec` in turn and the least recently used of them goes. The hand goes round the whole
//! shard, so every entry comes up for eviction in turn. (A sample taken from the front of a hash
//! map would see the same few buckets every time, and tokens no longer presented would pile up
//! everywhere else.)

use std::borrow::Borrow;
use std::collections::HashMap;
use std::hash::{BuildHasher, BuildHasherDefault, Hash, Hasher, RandomState};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use time::OffsetDateTime;

use super::crypto::{LOCAL_HEADER, same_bytes};

/// Shards keep lock contention low when several workers verify at once.
const SHARDS: usize = 16;

/// How many entries, taken in turn from the clock hand, an eviction compares to find the least
/// recently used (an approximation of LRU that needs no linked list).
const EVICTION_SAMPLE: usize = 8;

/// The shortest time between two sweeps of a shard for expired entries, so that tokens expiring
/// one by one cannot make every insertion walk the whole shard.
const SWEEP_INTERVAL: time::Duration = time::Duration::SECOND;

/// What a cache keeps: the outcome of opening a token, which holds the token it came from and
/// stops being accepted at some time.
pub(crate) trait Cacheable {
    /// The token this came from, compared in full on every hit. Shared, so the cache holds it
    /// next to the entry's key and a hit reads it without going through the outcome.
    fn shared_token(&self) -> &Arc<str>;
    /// After this (plus any leeway the caller allows), the token is never accepted again.
    fn expires(&self) -> OffsetDateTime;
}

/// How a cache has done since it was made: see [`Authority::cache_stats`] and
/// [`Authority::sealed_cache_stats`].
///
/// [`Authority::cache_stats`]: super::Authority::cache_stats
/// [`Authority::sealed_cache_stats`]: super::Authority::sealed_cache_stats
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct CacheStats {
    /// Lookups that found their token: the cryptography was skipped.
    pub(crate) hits: u64,
    /// Lookups that did not: the token was opened in full (and cached if it passed).
    pub(crate) misses: u64,
    /// Entries dropped to make room for new ones (expired ones first). Many evictions with
    /// many misses mean the cache is too small for the tokens in use.
    pub(crate) evictions: u64,
    /// Entries held now.
    pub(crate) entries: u64,
}

/// A cached token, as the index holds it: all that a hit reads.
struct Slot<S, V> {
    scope: S,
    token: Arc<str>,
    value: Arc<V>,
    /// Its position in [`Shard::ages`].
    at: usize,
}

/// What eviction reads of a cached token, packed so the clock hand walks a small array.
struct Age {
    hash: u64,
    last_used: u64,
    expires: OffsetDateTime,
}

/// The index's hasher. Its keys are hashes already, keyed with the cache's random state
/// ([`Cache::key`]): hashing them again would only add a second SipHash to every lookup.
#[derive(Default)]
struct KeyHasher(u64);

impl Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write_u64(&mut self, hash: u64) {
        self.0 = hash;
    }

    /// Not used by a map of `u64`s; folds the bytes in all the same.
    fn write(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(byte);
        }
    }
}

struct Shard<S, V> {
    index: HashMap<u64, Slot<S, V>, BuildHasherDefault<KeyHasher>>,
    /// One for each entry of `index`, at its slot's `at`.
    ages: Vec<Age>,
    /// Where the next eviction sample starts.
    hand: usize,
    /// Counts uses, to order them within the shard.
    clock: u64,
    /// No entry expires before this (entries evicted since may have expired later).
    soonest_expiry: Option<OffsetDateTime>,
    last_sweep: Option<OffsetDateTime>,
    /// Counted under the shard's lock, which every lookup takes anyway: no atomics needed.
    hits: u64,
    misses: u64,
    evictions: u64,
}

impl<S, V: Cacheable> Shard<S, V> {
    fn with_capacity(capacity: usize) -> Self {
        Shard {
            index: HashMap::with_capacity_and_hasher(capacity, Default::default()),
            ages: Vec::with_capacity(capacity),
            hand: 0,
            clock: 0,
            soonest_expiry: None,
            last_sweep: None,
            hits: 0,
            misses: 0,
            evictions: 0,
        }
    }

    fn tick(&mut self) -> u64 {
        self.clock += 1;
        self.clock
    }

    /// Adds `value` under `hash`, making room first when the shard holds `capacity` entries.
    /// Entries that expired before `expired_before` can never be accepted again, so they go
    /// first.
    fn insert(
        &mut self,
        capacity: usize,
        hash: u64,
        scope: S,
        value: Arc<V>,
        expired_before: OffsetDateTime,
    ) {
        let age = Age {
            hash,
            last_used: self.tick(),
            expires: value.expires(),
        };
        self.soonest_expiry = Some(
            self.soonest_expiry
                .map_or(age.expires, |s| s.min(age.expires)),
        );
        let token = value.shared_token().clone();
        if let Some(slot) = self.index.get_mut(&hash) {
            self.ages[slot.at] = age;
            *slot = Slot {
                scope,
                token,
                value,
                at: slot.at,
            };
            return;
        }
        if self.ages.len() >= capacity && self.sweep_due(expired_before) {
            self.drop_expired(expired_before);
        }
        let at = if self.ages.len() < capacity {
            self.ages.push(age);
            self.ages.len() - 1
        } else {
            let at = self.victim();
            self.index.remove(&self.ages[at].hash);
            self.ages[at] = age;
            self.evictions += 1;
            at
        };
        self.index.insert(
            hash,
            Slot {
                scope,
                token,
                value,
                at,
            },
        );
    }

    fn sweep_due(&self, expired_before: OffsetDateTime) -> bool {
        self.soonest_expiry.is_some_and(|s| s < expired_before)
            && self
                .last_sweep
                .is_none_or(|last| expired_before - last >= SWEEP_INTERVAL)
    }

    fn drop_expired(&mut self, expired_before: OffsetDateTime) {
        let before = self.ages.len();
        let index = &mut self.index;
        self.ages.retain(|age| {
            let keep = age.expires >= expired_before;
            if !keep {
                index.remove(&age.hash);
            }
            keep
        });
        self.evictions += (before - self.ages.len()) as u64;
        for (at, age) in self.ages.iter().enumerate() {
            if let Some(slot) = self.index.get_mut(&age.hash) {
                slot.at = at;
            }
        }
        self.soonest_expiry = self.ages.iter().map(|age| age.expires).min();
        self.last_sweep = Some(expired_before);
    }

    /// The position to evict: the least recently used of the next few from the clock hand.
    fn victim(&mut self) -> usize {
        let len = self.ages.len();
        let start = self.hand % len;
        self.hand = (start + EVICTION_SAMPLE) % len;
        (start..start + EVICTION_SAMPLE.min(len))
            .map(|at| at % len)
            .min_by_key(|&at| self.ages[at].last_used)
            .unwrap_or(start)
    }
}

/// How many bytes of a token's message its cache key is computed from: part of the 43 base64
/// characters of a v4.local nonce or of the 86 of a v4.public signature, 96 bits that no client
/// can choose for a token that opens.
const HASHED: usize = 16;

/// The length of the longer header, `v4.public.`: a dot beyond it ends the message.
const LONGEST_HEADER: usize = "v4.public.".len();

/// A token's key in a cache: see [`Cache::key`].
#[derive(Clone, Copy)]
pub(crate) struct CacheKey {
    hash: u64,
    /// The cache's epoch when the key was made: an entry opened before a [`Cache::clear`] is
    /// not inserted after it.
    epoch: u64,
}

/// Opened tokens `V` by (scope, token), at most `capacity` of them. The scope is what the token
/// was opened for: a kind (verified tokens) or an implicit assertion (sealed values), so a
/// token is only ever found again for what it was accepted for.
pub(crate) struct Cache<S, V> {
    // Keyed with per-process random keys, so clients cannot aim tokens at one shard.
    hasher: RandomState,
    shards: Vec<Mutex<Shard<S, V>>>,
    per_shard: usize,
    /// Moved on by every [`clear`](Self::clear).
    epoch: AtomicU64,
}

impl<S: Hash + Eq, V: Cacheable> Cache<S, V> {
    /// A cache of about `capacity` entries; `None` for zero (caching off).
    pub(crate) fn new(capacity: usize) -> Option<Self> {
        if capacity == 0 {
            return None;
        }
        let per_shard = capacity.div_ceil(SHARDS);
        Some(Cache {
            hasher: RandomState::new(),
            shards: (0..SHARDS)
                .map(|_| Mutex::new(Shard::with_capacity(per_shard)))
                .collect(),
            per_shard,
            epoch: AtomicU64::new(0),
        })
    }

    /// The key of `token`, for [`get`](Self::get) and then [`insert`](Self::insert).
    ///
    /// Only [`HASHED`] bytes of the message are hashed, with the length: in a v4.local token
    /// its first ones (they encode the random nonce, and are found without a search), in a
    /// v4.public token its last ones before the footer (part of the signature: the start of a
    /// public token, its payload, is much the same for every token of a user). Two different
    /// tokens that open never share them. Tokens crafted to share them only share a slot: the
    /// full comparison in `get` tells them apart, and tokens that fail to open are never
    /// inserted. The scope is not hashed but compared on every hit: a token opens for one
    /// scope only (its kind's `type` claim, or the assertion it was sealed with).
    pub(crate) fn key(&self, token: &str) -> CacheKey {
        let bytes = token.as_bytes();
        let hashed = match bytes.strip_prefix(LOCAL_HEADER.as_bytes()) {
            Some(message) => &message[..message.len().min(HASHED)],
            None => {
                // The footer's dot is the last one; without a footer the last dot ends the
                // header.
                let end = match token.rfind('.') {
                    Some(dot) if dot + 1 > LONGEST_HEADER => dot,
                    _ => token.len(),
                };
                &bytes[end.saturating_sub(HASHED)..end]
            }
        };
        CacheKey {
            hash: self.hasher.hash_one((token.len(), hashed)),
            epoch: self.epoch.load(Ordering::Acquire),
        }
    }

    fn slot(&self, key: CacheKey) -> MutexGuard<'_, Shard<S, V>> {
        // Bits the index's table does not use: it takes its buckets from the low bits and its
        // tags from the top ones.
        lock(&self.shards[((key.hash >> 32) as usize) % SHARDS])
    }

    /// The cached outcome of opening `token` for `scope`, if any. The stored token is compared
    /// in full (in constant time), so a hash collision can never return another token's claims.
    pub(crate) fn get<Q>(&self, key: CacheKey, scope: &Q, token: &str) -> Option<Arc<V>>
    where
        S: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let mut shard = self.slot(key);
        let found = shard.index.get(&key.hash).and_then(|slot| {
            let same =
                slot.scope.borrow() == scope && same_bytes(slot.token.as_bytes(), token.as_bytes());
            same.then(|| (slot.at, slot.value.clone()))
        });
        let Some((at, value)) = found else {
            shard.misses += 1;
            return None;
        };
        shard.hits += 1;
        let now = shard.tick();
        shard.ages[at].last_used = now;
        Some(value)
    }

    /// Remembers a token opened for `scope`, evicting an entry when the shard is full: one that
    /// expired before `expired_before` if there is any, otherwise an old one.
    pub(crate) fn insert(
        &self,
        key: CacheKey,
        scope: S,
        value: Arc<V>,
        expired_before: OffsetDateTime,
    ) {
        let mut shard = self.slot(key);
        // Checked under the shard's lock, which `clear` takes after moving the epoch on: either
        // this entry is cleared, or it is not inserted.
        if self.epoch.load(Ordering::Acquire) != key.epoch {
            return;
        }
        shard.insert(self.per_shard, key.hash, scope, value, expired_before);
    }

    /// Forgets every entry (not the counts): what they were opened with is no longer trusted.
    #[cfg(any(feature = "discovery", test))]
    pub(crate) fn clear(&self) {
        self.epoch.fetch_add(1, Ordering::AcqRel);
        for shard in &self.shards {
            let mut shard = lock(shard);
            shard.index.clear();
            shard.ages.clear();
            shard.hand = 0;
            shard.soonest_expiry = None;
        }
    }

    /// How many tokens are cached.
    pub(crate) fn len(&self) -> usize {
        self.shards.iter().map(|s| lock(s).ages.len()).sum()
    }

    /// The hits, misses and evictions so far, and the entries now.
    pub(crate) fn stats(&self) -> CacheStats {
        self.shards
            .iter()
            .fold(CacheStats::default(), |sum, shard| {
                let shard = lock(shard);
                CacheStats {
                    hits: sum.hits + shard.hits,
                    misses: sum.misses + shard.misses,
                    evictions: sum.evictions + shard.evictions,
                    entries: sum.entries + shard.ages.len() as u64,
                }
            })
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use time::OffsetDateTime;

    use super::Cache;
    use crate::token::{Verified, claims};

    /// The scope is not part of the key: a hit still needs the scope the token was opened for.
    #[test]
    fn an_entry_is_found_only_for_its_scope() {
        let cache: Cache<usize, Verified> = Cache::new(16).unwrap();
        let token = format!("v4.local.{}", "A".repeat(120));
        let payload = r#"{"sub":"a","exp":"2100-01-01T00:00:00Z","type":"access"}"#;
        let claims = claims::parse(payload).unwrap();
        let verified = Arc::new(Verified::new(&token, payload.into(), claims));
        let key = cache.key(&token);
        cache.insert(key, 0, verified, OffsetDateTime::UNIX_EPOCH);
        assert!(cache.get(key, &1, &token).is_none());
        assert!(cache.get(key, &0, &token).is_some());
    }

    /// The key comes from the start of a local token's message (its nonce) and from the end of
    /// a public token's (its signature), never from the footer all tokens of a key share.
    #[test]
    fn keys_differ_by_message_not_footer() {
        let cache: Cache<usize, Verified> = Cache::new(16).unwrap();
        let footer =
            ".eyJraWQiOiJrNC5saWQuQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBIn0";
        let key = |t: &str| cache.key(t).hash;
        let a = format!("v4.local.{}{footer}", "A".repeat(120));
        let b = format!("v4.local.B{}{footer}", "A".repeat(119));
        assert_ne!(key(&a), key(&b));
        assert_eq!(key(&a), key(&a.clone()));
        let public =
            |last: char, footer: &str| format!("v4.public.{}{last}{footer}", "A".repeat(119));
        assert_ne!(key(&public('A', footer)), key(&public('B', footer)));
        assert_ne!(key(&public('A', "")), key(&public('B', "")), "no footer");
    }
}

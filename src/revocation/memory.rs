//! The in-memory revocation store: 64 independently locked shards, each of which grows and
//! sweeps a few entries per write, so no call ever holds a lock for long.

use std::fmt;
use std::hash::{BuildHasher, RandomState};
use std::mem;
use std::sync::{Arc, Mutex, MutexGuard};

use std::time::Duration;

use indexmap::IndexMap;
use time::OffsetDateTime;

use super::counter::Tally;
use super::{RevocationStore, StoreError};

/// A call locks only the shard of its key, so calls on other keys go on meanwhile, and each
/// shard holds about 1/64 of the entries.
const SHARDS: usize = 64;

/// How many entries each write moves out of a shard's previous table, or else checks for
/// expiry in its current one.
const STEP: usize = 8;

/// Below this many entries a shard's table grows in place (in well under a microsecond).
const MIN_REPLACED: usize = 32;

/// A [`RevocationStore`] in this process's memory: for a single instance, tests and
/// development. Clones share the same entries.
///
/// Entries are spread over 64 shards by a hash keyed per process, each behind its own lock.
/// Each write to a shard checks the next 8 of its entries and drops the expired ones, so
/// memory stays proportional to the revocations that still matter. A shard never rehashes a
/// full table at once: when its table fills up, a table twice the size takes over and each
/// later write moves 8 entries across. No call holds a lock for longer than a few lookups,
/// 8 entries checked or moved, and the allocation or release of one table.
///
/// The login throttle's counters ([`count`](RevocationStore::count)) live in a table of their
/// own, bounded at 100,000 counters (about 10 MB): when that many are live, the one ending
/// soonest gives way.
#[derive(Clone, Default)]
pub struct MemoryStore {
    inner: Arc<Entries>,
}

struct Entries {
    // Keyed with per-process random keys, so ids cannot be chosen to land in one shard.
    hasher: RandomState,
    shards: Box<[Mutex<Shard>]>,
    tally: Tally,
}

impl Default for Entries {
    fn default() -> Self {
        Entries {
            hasher: RandomState::new(),
            shards: (0..SHARDS).map(|_| Mutex::default()).collect(),
            tally: Tally::default(),
        }
    }
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// How many entries are held, expired ones included until they are swept.
    pub fn len(&self) -> usize {
        self.inner
            .shards
            .iter()
            .map(|shard| lock(shard).len())
            .sum()
    }

    /// Whether no entries are held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The live values of `keys`, in the same order.
    pub(super) fn values(&self, keys: &[&str], now: OffsetDateTime) -> Vec<Option<String>> {
        keys.iter()
            .map(|key| self.shard(key).value(key, now).map(str::to_owned))
            .collect()
    }

    /// Keeps `key` until `until` or its present expiry, whichever is later, with the larger of
    /// its present value and `value` (see [`Shard::merge`]). A replica's writes: applied in any
    /// order and any number of times, the same writes leave the same entries.
    #[cfg(feature = "redis")]
    pub(super) fn merge(&self, key: &str, value: &str, until: OffsetDateTime) {
        let now = OffsetDateTime::now_utc();
        if until > now {
            self.shard(key).merge(key, value, until, now);
        }
    }

    /// Drops every entry.
    #[cfg(feature = "redis")]
    pub(super) fn clear(&self) {
        for shard in self.inner.shards.iter() {
            *lock(shard) = Shard::default();
        }
    }

    fn shard(&self, key: &str) -> MutexGuard<'_, Shard> {
        let index = self.inner.hasher.hash_one(key) as usize % SHARDS;
        lock(&self.inner.shards[index])
    }
}

fn lock(shard: &Mutex<Shard>) -> MutexGuard<'_, Shard> {
    // Every step leaves both tables of a shard valid, so a lock poisoned by a panic elsewhere
    // is still safe to use.
    shard.lock().unwrap_or_else(|e| e.into_inner())
}

impl fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryStore")
            .field("entries", &self.len())
            .finish()
    }
}

#[rocket::async_trait]
impl RevocationStore for MemoryStore {
    async fn insert(&self, key: &str, until: OffsetDateTime) -> Result<(), StoreError> {
        let now = OffsetDateTime::now_utc();
        self.shard(key).extend(key, until, now);
        Ok(())
    }

    async fn get(&self, keys: &[&str]) -> Result<Vec<Option<String>>, StoreError> {
        Ok(self.values(keys, OffsetDateTime::now_utc()))
    }

    async fn swap(
        &self,
        key: &str,
        expected: Option<&str>,
        value: &str,
        until: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let now = OffsetDateTime::now_utc();
        Ok(self.shard(key).swap(key, expected, value, until, now))
    }

    async fn count(
        &self,
        key: &str,
        by: u64,
        window: Duration,
    ) -> Result<(u64, OffsetDateTime), StoreError> {
        let now = OffsetDateTime::now_utc();
        Ok(self.inner.tally.count(key, by, window, now))
    }

    async fn reset(&self, key: &str) -> Result<(), StoreError> {
        self.inner.tally.reset(key);
        Ok(())
    }
}

/// A value and when it expires.
#[derive(Debug, Clone)]
struct Entry {
    value: Box<str>,
    until: OffsetDateTime,
}

/// The value of `insert`ed entries.
const PRESENT: &str = "1";

/// How replicated values compare: as numbers (`1`, or a cutoff), a value that is not a number
/// counting as the largest, so what it stands for is kept.
#[cfg(feature = "redis")]
pub(super) fn rank(value: &str) -> i64 {
    value.parse::<i64>().unwrap_or(i64::MAX)
}

/// The entries of one shard, each key in at most one of two tables.
#[derive(Default)]
struct Shard {
    /// Where entries are written.
    current: IndexMap<Box<str>, Entry>,
    /// The table `current` replaced, emptied into it by the following writes.
    previous: IndexMap<Box<str>, Entry>,
    /// Where in `current` the sweep for expired entries goes on.
    cursor: usize,
}

impl Shard {
    fn len(&self) -> usize {
        self.current.len() + self.previous.len()
    }

    fn get(&self, key: &str) -> Option<&Entry> {
        self.current.get(key).or_else(|| self.previous.get(key))
    }

    /// The value of `key`, unless it is absent or expired.
    fn value(&self, key: &str, now: OffsetDateTime) -> Option<&str> {
        self.get(key)
            .filter(|entry| entry.until > now)
            .map(|entry| &*entry.value)
    }

    /// Keeps `key` until `until` or its present expiry, whichever is later.
    fn extend(&mut self, key: &str, until: OffsetDateTime, now: OffsetDateTime) {
        self.write(key, now, |old| Entry {
            value: PRESENT.into(),
            until: old.map_or(until, |old| old.until.max(until)),
        });
    }

    /// Keeps the larger of `key`'s live value and `value` (by [`rank`]), until the later of
    /// both ends.
    #[cfg(feature = "redis")]
    fn merge(&mut self, key: &str, value: &str, until: OffsetDateTime, now: OffsetDateTime) {
        self.write(key, now, |old| match old {
            Some(old) if old.until > now => Entry {
                value: if rank(value) > rank(&old.value) {
                    value.into()
                } else {
                    old.value
                },
                until: old.until.max(until),
            },
            _ => Entry {
                value: value.into(),
                until,
            },
        });
    }

    /// Sets `key` to `value` until `until` if its live value is `expected`.
    fn swap(
        &mut self,
        key: &str,
        expected: Option<&str>,
        value: &str,
        until: OffsetDateTime,
        now: OffsetDateTime,
    ) -> bool {
        if self.value(key, now) != expected {
            return false;
        }
        self.write(key, now, |_| Entry {
            value: value.into(),
            until,
        });
        true
    }

    /// Sets `key` to `entry(its present entry)`, in `current`.
    fn write(
        &mut self,
        key: &str,
        now: OffsetDateTime,
        entry: impl FnOnce(Option<Entry>) -> Entry,
    ) {
        self.step(now);
        if let Some(slot) = self.current.get_mut(key) {
            *slot = entry(Some(slot.clone()));
            return;
        }
        let old = self.previous.swap_remove(key);
        self.current.insert(key.into(), entry(old));
    }

    /// Does a bounded part of the upkeep: moves entries out of `previous` while it holds any,
    /// else sweeps a few entries of `current`, after replacing it when it is full or mostly
    /// empty.
    ///
    /// A full `HashMap` (or `IndexMap`) rehashes every entry in one insert, under the lock;
    /// here a table twice the size takes over and is filled from the end of `previous` (O(1)
    /// per entry, where `HashMap::extract_if` would scan from the start every time). `current`
    /// cannot fill up before `previous` is empty: `n` entries move in `n / 8` writes, which
    /// also do not sweep (removals would leave tombstones that lower its capacity).
    fn step(&mut self, now: OffsetDateTime) {
        if self.previous.is_empty() {
            let (len, capacity) = (self.current.len(), self.current.capacity());
            let full = len == capacity && len >= MIN_REPLACED;
            let sparse = capacity > 8 * MIN_REPLACED && len < capacity / 8;
            if !full && !sparse {
                self.sweep(now);
                return;
            }
            let replacement = IndexMap::with_capacity(2 * len);
            self.previous = mem::replace(&mut self.current, replacement);
            self.cursor = 0;
        }
        for _ in 0..STEP {
            let Some((key, entry)) = self.previous.pop() else {
                break;
            };
            if entry.until > now {
                self.current.insert(key, entry);
            }
        }
        if self.previous.is_empty() {
            // Free the old table now rather than at the next replacement.
            self.previous = IndexMap::new();
        }
    }

    /// Checks the next few entries of `current`, dropping the expired ones.
    fn sweep(&mut self, now: OffsetDateTime) {
        for _ in 0..STEP {
            if self.cursor >= self.current.len() {
                self.cursor = 0;
            }
            match self.current.get_index(self.cursor) {
                // The last entry takes its place, to be checked next.
                Some((_, entry)) if entry.until <= now => {
                    self.current.swap_remove_index(self.cursor);
                }
                Some(_) => self.cursor += 1,
                None => break,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Barrier;

    use super::*;

    fn at(offset: i64) -> OffsetDateTime {
        OffsetDateTime::now_utc() + time::Duration::seconds(offset)
    }

    #[rocket::async_test]
    async fn memory_entries_expire() {
        let store = MemoryStore::new();
        store.insert("jti:gone", at(-1)).await.unwrap();
        store.insert("jti:kept", at(60)).await.unwrap();
        assert_eq!(
            store.get(&["jti:gone", "jti:x", "jti:kept"]).await.unwrap(),
            [None, None, Some("1".to_owned())]
        );
        // An expired entry counts as absent for a swap.
        assert!(store.swap("rot:f", None, "a", at(-1)).await.unwrap());
        assert!(store.swap("rot:f", None, "b", at(60)).await.unwrap());
        assert!(!store.swap("rot:f", None, "c", at(60)).await.unwrap());
        assert!(!store.swap("rot:f", Some("a"), "c", at(60)).await.unwrap());
        assert!(store.swap("rot:f", Some("b"), "c", at(60)).await.unwrap());
        assert_eq!(store.get(&["rot:f"]).await.unwrap(), [Some("c".to_owned())]);
    }

    #[rocket::async_test]
    async fn insert_never_shortens_an_entry() {
        let store = MemoryStore::new();
        store.insert("fam:a", at(60)).await.unwrap();
        store.insert("fam:a", at(-1)).await.unwrap();
        assert!(store.get(&["fam:a"]).await.unwrap()[0].is_some());
    }

    #[rocket::async_test]
    async fn clones_share_entries_and_debug_shows_only_a_count() {
        let store = MemoryStore::new();
        let clone = store.clone();
        assert!(store.is_empty());
        clone.insert("jti:secret-id", at(60)).await.unwrap();
        assert!(store.get(&["jti:secret-id"]).await.unwrap()[0].is_some());
        assert_eq!(store.len(), 1);
        assert_eq!(format!("{store:?}"), "MemoryStore { entries: 1 }");
    }

    #[test]
    fn expired_entries_are_swept_a_few_per_write() {
        let (then, gone, now) = (at(-3600), at(-60), at(0));
        let mut shard = Shard::default();
        for i in 0..1000 {
            shard.extend(&format!("jti:{i}"), gone, then);
        }
        assert_eq!(shard.len(), 1000);
        let capacity = shard.current.capacity();
        let mut live = 0;
        while shard.len() > live {
            let before = shard.len();
            shard.extend(&format!("jti:live{live}"), at(60), now);
            live += 1;
            // At most 8 entries leave per write: never a pass over the whole shard.
            assert!(before + 1 - shard.len() <= STEP);
            assert!(live <= 1000, "expired entries were never swept");
        }
        // About one write per 8 expired entries; the emptied table gave way to a smaller one.
        assert!(
            live <= 1000 / STEP + 32,
            "{live} writes to sweep 1000 entries"
        );
        assert!(shard.current.capacity() < capacity / 2);
        assert!(shard.value("jti:live0", now).is_some());
        assert!(shard.value("jti:0", now).is_none());
    }

    #[test]
    fn tables_are_replaced_not_grown_in_place() {
        let until = at(60);
        let now = at(0);
        let mut shard = Shard::default();
        let mut replaced = 0;
        for i in 0..20_000 {
            let (capacity, len) = (shard.current.capacity(), shard.current.len());
            let moving = shard.previous.len();
            shard.extend(&format!("jti:{i}"), until, now);
            assert!(moving.saturating_sub(shard.previous.len()) <= STEP);
            if capacity >= MIN_REPLACED && shard.current.capacity() != capacity {
                // The full table became `previous` whole, to be moved a few entries at a time.
                assert_eq!(moving, 0, "a table grew while entries were being moved");
                assert_eq!(shard.previous.len(), len - STEP);
                replaced += 1;
            }
        }
        assert!(replaced >= 8);
        assert_eq!(shard.len(), 20_000);
        assert!((0..20_000).all(|i| shard.value(&format!("jti:{i}"), now).is_some()));
    }

    #[test]
    fn entries_being_moved_keep_their_meaning() {
        let now = at(0);
        let mut shard = Shard::default();
        let mut i = 0;
        while shard.previous.len() < 3 * STEP {
            shard.extend(&format!("jti:{i}"), at(60), now);
            i += 1;
        }
        let moving: Vec<String> = shard
            .previous
            .keys()
            .take(3)
            .map(|k| k.to_string())
            .collect();
        assert!(shard.value(&moving[0], now).is_some());
        assert!(!shard.swap(&moving[1], None, "x", at(60), now));
        // Not shortened, and held in one table only.
        shard.extend(&moving[2], at(1), now);
        assert!(!shard.previous.contains_key(moving[2].as_str()));
        assert!(shard.current[moving[2].as_str()].until > at(30));
        assert!(shard.value(&moving[1], now).is_some());
    }

    #[test]
    fn concurrent_swaps_from_one_value_have_exactly_one_winner() {
        const THREADS: usize = 8;
        const ROUNDS: usize = 200;
        let store = MemoryStore::new();
        let start = Barrier::new(THREADS);
        let until = at(60);
        let wins: Vec<Vec<bool>> = std::thread::scope(|s| {
            let threads: Vec<_> = (0..THREADS)
                .map(|_| {
                    s.spawn(|| {
                        let runtime = rocket::tokio::runtime::Builder::new_current_thread()
                            .build()
                            .unwrap();
                        (0..ROUNDS)
                            .map(|round| {
                                let key = format!("rot:{round}");
                                start.wait();
                                let swap = store.swap(&key, None, "next", until);
                                runtime.block_on(swap).unwrap()
                            })
                            .collect()
                    })
                })
                .collect();
            threads.into_iter().map(|t| t.join().unwrap()).collect()
        });
        for round in 0..ROUNDS {
            let winners = wins.iter().filter(|thread| thread[round]).count();
            assert_eq!(winners, 1, "round {round}");
        }
    }
}

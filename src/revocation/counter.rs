//! Counters that expire: the login throttle's failure counts. A default built on `get` and
//! `swap` for any store, and the bounded table [`MemoryStore`](super::MemoryStore) keeps them in.

use std::hash::{BuildHasher, RandomState};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use indexmap::IndexMap;
use time::OffsetDateTime;

use super::{RevocationStore, StoreError, add_saturating};

/// How often the default counter retries after losing a race with another caller.
const ATTEMPTS: usize = 32;

/// How many counters a table holds at most (about 100 bytes each): an attacker spraying
/// accounts or addresses cannot grow it further.
pub(super) const MAX_COUNTERS: usize = 100_000;

/// The table is split so that logins of different accounts rarely wait on one lock.
const SHARDS: usize = 16;

/// A count and when its window ends.
pub(super) type Count = (u64, OffsetDateTime);

/// [`RevocationStore::count`] for a store with only `get` and `swap`: the value is
/// `<count>:<end in unix milliseconds>`, and each addition a compare-and-set.
pub(super) async fn count_by_swap<S: RevocationStore + ?Sized>(
    store: &S,
    key: &str,
    by: u64,
    window: Duration,
) -> Result<Count, StoreError> {
    for _ in 0..ATTEMPTS {
        let now = OffsetDateTime::now_utc();
        let held = store.get(&[key]).await?.into_iter().next().flatten();
        let live = held
            .as_deref()
            .and_then(parse)
            .filter(|(_, end)| *end > now);
        if by == 0 {
            return Ok(live.unwrap_or((0, now)));
        }
        let (count, end) = live.unwrap_or((0, add_saturating(now, window)));
        let count = count.saturating_add(by);
        let value = format!("{count}:{}", end.unix_timestamp_nanos() / 1_000_000);
        if store.swap(key, held.as_deref(), &value, end).await? {
            return Ok((count, end));
        }
    }
    Err(StoreError::new(
        "a counter kept changing while it was updated",
    ))
}

/// [`RevocationStore::reset`] for a store with only `get` and `swap`: the value becomes a
/// count of 0 that has already ended.
pub(super) async fn reset_by_swap<S: RevocationStore + ?Sized>(
    store: &S,
    key: &str,
) -> Result<(), StoreError> {
    for _ in 0..ATTEMPTS {
        let Some(held) = store.get(&[key]).await?.into_iter().next().flatten() else {
            return Ok(());
        };
        let now = OffsetDateTime::now_utc();
        if store.swap(key, Some(&held), "0:0", now).await? {
            return Ok(());
        }
    }
    Err(StoreError::new(
        "a counter kept changing while it was reset",
    ))
}

fn parse(value: &str) -> Option<Count> {
    let (count, end) = value.split_once(':')?;
    let end = i128::from(end.parse::<i64>().ok()?) * 1_000_000;
    Some((
        count.parse().ok()?,
        OffsetDateTime::from_unix_timestamp_nanos(end).ok()?,
    ))
}

/// Counters in this process, at most [`MAX_COUNTERS`]: when that many are live, the one that
/// ends soonest gives way, as it holds the least.
pub(super) struct Tally {
    hasher: RandomState,
    shards: Box<[Mutex<Counts>]>,
}

/// One shard of a [`Tally`]: counts by key.
type Counts = IndexMap<Box<str>, Count>;

impl Default for Tally {
    fn default() -> Self {
        Tally {
            hasher: RandomState::new(),
            shards: (0..SHARDS).map(|_| Mutex::default()).collect(),
        }
    }
}

impl Tally {
    /// Adds `by` to `key`'s live count (`0`: only reads it); see [`RevocationStore::count`].
    pub(super) fn count(&self, key: &str, by: u64, window: Duration, now: OffsetDateTime) -> Count {
        let mut shard = self.shard(key);
        let live = shard.get(key).copied().filter(|(_, end)| *end > now);
        if by == 0 {
            return live.unwrap_or((0, now));
        }
        let (count, end) = live.unwrap_or((0, add_saturating(now, window)));
        let counted = (count.saturating_add(by), end);
        if live.is_none() && !shard.contains_key(key) && shard.len() >= MAX_COUNTERS / SHARDS {
            make_room(&mut shard, now);
        }
        shard.insert(key.into(), counted);
        counted
    }

    /// Drops `key`'s count.
    pub(super) fn reset(&self, key: &str) {
        self.shard(key).swap_remove(key);
    }

    /// How many counters are held, ended ones included until they give way.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.shards.iter().map(|s| lock(s).len()).sum()
    }

    fn shard(&self, key: &str) -> MutexGuard<'_, Counts> {
        let index = self.hasher.hash_one(key) as usize % SHARDS;
        lock(&self.shards[index])
    }
}

/// Drops the ended counters of a full shard or, when every one is live, the one ending first.
fn make_room(shard: &mut Counts, now: OffsetDateTime) {
    shard.retain(|_, (_, end)| *end > now);
    if shard.len() < MAX_COUNTERS / SHARDS {
        return;
    }
    let soonest = shard.values().enumerate().min_by_key(|(_, (_, end))| *end);
    if let Some(index) = soonest.map(|(index, _)| index) {
        shard.swap_remove_index(index);
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // Every write replaces one whole entry: a lock poisoned elsewhere still guards valid data.
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_expire_reset_and_stay_bounded() {
        let tally = Tally::default();
        let now = OffsetDateTime::now_utc();
        let minute = Duration::from_secs(60);
        assert_eq!(tally.count("a", 0, minute, now).0, 0);
        assert_eq!(tally.count("a", 1, minute, now).0, 1);
        let (two, end) = tally.count("a", 1, minute, now + time::Duration::seconds(30));
        assert_eq!((two, end), (2, now + time::Duration::minutes(1)));
        // The window is over: the next failure starts a new one.
        let later = now + time::Duration::seconds(61);
        assert_eq!(tally.count("a", 0, minute, later).0, 0);
        assert_eq!(tally.count("a", 1, minute, later).0, 1);
        tally.reset("a");
        assert_eq!(tally.count("a", 0, minute, later).0, 0);
        for i in 0..MAX_COUNTERS + 5_000 {
            tally.count(&format!("k{i}"), 1, minute, now);
        }
        assert!(tally.len() <= MAX_COUNTERS, "{}", tally.len());
    }

    #[test]
    fn default_values_read_back() {
        assert_eq!(
            parse("3:1000"),
            Some((3, OffsetDateTime::from_unix_timestamp(1).unwrap()))
        );
        assert_eq!(parse("0:0").map(|c| c.0), Some(0));
        assert_eq!(parse("1"), None);
    }
}

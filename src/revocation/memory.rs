//! The in-memory revocation store.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};

use time::OffsetDateTime;

use super::{RevocationStore, StoreError};

/// A [`RevocationStore`] in this process's memory: for a single instance, tests and
/// development. Clones share the same entries.
///
/// Expired entries are dropped as new ones arrive, so memory stays proportional to the
/// revocations that still matter.
#[derive(Clone, Default)]
pub struct MemoryStore {
    inner: Arc<Mutex<Entries>>,
}

#[derive(Default)]
struct Entries {
    map: HashMap<String, OffsetDateTime>,
    /// The size at which expired entries are next swept out.
    sweep_at: usize,
}

/// The smallest map that is swept for expired entries.
const MIN_SWEEP: usize = 1024;

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// How many entries are held, expired ones included until they are swept.
    pub fn len(&self) -> usize {
        self.entries().map.len()
    }

    /// Whether no entries are held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn entries(&self) -> std::sync::MutexGuard<'_, Entries> {
        // A panic elsewhere while holding the lock leaves the map consistent (every operation
        // is a single insert or lookup), so a poisoned lock is still safe to use.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn add(entries: &mut Entries, key: &str, until: OffsetDateTime, now: OffsetDateTime) {
        if entries.map.len() >= entries.sweep_at.max(MIN_SWEEP) {
            entries.map.retain(|_, until| *until > now);
            entries.sweep_at = entries.map.len() * 2;
        }
        entries.map.insert(key.to_owned(), until);
    }
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
        let mut entries = self.entries();
        let until = entries.map.get(key).map_or(until, |old| until.max(*old));
        Self::add(&mut entries, key, until, now);
        Ok(())
    }

    async fn contains_any(&self, keys: &[&str]) -> Result<bool, StoreError> {
        let now = OffsetDateTime::now_utc();
        let entries = self.entries();
        Ok(keys
            .iter()
            .any(|key| entries.map.get(*key).is_some_and(|until| *until > now)))
    }

    async fn insert_new(&self, key: &str, until: OffsetDateTime) -> Result<bool, StoreError> {
        let now = OffsetDateTime::now_utc();
        let mut entries = self.entries();
        if entries.map.get(key).is_some_and(|old| *old > now) {
            return Ok(false);
        }
        Self::add(&mut entries, key, until, now);
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(offset: i64) -> OffsetDateTime {
        OffsetDateTime::now_utc() + time::Duration::seconds(offset)
    }

    #[rocket::async_test]
    async fn memory_entries_expire() {
        let store = MemoryStore::new();
        store.insert("jti:gone", at(-1)).await.unwrap();
        store.insert("jti:kept", at(60)).await.unwrap();
        assert!(!store.contains_any(&["jti:gone"]).await.unwrap());
        assert!(store.contains_any(&["jti:x", "jti:kept"]).await.unwrap());
        // An expired entry does not block a new first use.
        assert!(store.insert_new("used:gone", at(-1)).await.unwrap());
        assert!(store.insert_new("used:gone", at(60)).await.unwrap());
        assert!(!store.insert_new("used:gone", at(60)).await.unwrap());
    }

    #[rocket::async_test]
    async fn memory_sweeps_expired_entries() {
        let store = MemoryStore::new();
        for i in 0..MIN_SWEEP {
            store.insert(&format!("jti:{i}"), at(-1)).await.unwrap();
        }
        assert_eq!(store.len(), MIN_SWEEP);
        store.insert("jti:live", at(60)).await.unwrap();
        assert_eq!(store.len(), 1);
        assert!(store.contains_any(&["jti:live"]).await.unwrap());
    }

    #[rocket::async_test]
    async fn insert_never_shortens_an_entry() {
        let store = MemoryStore::new();
        store.insert("fam:a", at(60)).await.unwrap();
        store.insert("fam:a", at(-1)).await.unwrap();
        assert!(store.contains_any(&["fam:a"]).await.unwrap());
    }
}

//! The in-process revocation store.

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
    map: HashMap<String, (String, OffsetDateTime)>,
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
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Entries {
    fn live(&self, key: &str, now: OffsetDateTime) -> Option<&(String, OffsetDateTime)> {
        self.map.get(key).filter(|(_, until)| *until > now)
    }

    fn set(&mut self, key: &str, value: String, until: OffsetDateTime, now: OffsetDateTime) {
        if self.map.len() >= self.sweep_at.max(MIN_SWEEP) {
            self.map.retain(|_, (_, until)| *until > now);
            self.sweep_at = self.map.len() * 2;
        }
        self.map.insert(key.to_owned(), (value, until));
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
        let until = entries
            .live(key, now)
            .map_or(until, |(_, old)| until.max(*old));
        entries.set(key, "1".to_owned(), until, now);
        Ok(())
    }

    async fn get(&self, keys: &[&str]) -> Result<Vec<Option<String>>, StoreError> {
        let now = OffsetDateTime::now_utc();
        let entries = self.entries();
        Ok(keys
            .iter()
            .map(|key| entries.live(key, now).map(|(value, _)| value.clone()))
            .collect())
    }

    async fn swap(
        &self,
        key: &str,
        expected: Option<&str>,
        value: &str,
        until: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let now = OffsetDateTime::now_utc();
        let mut entries = self.entries();
        let current = entries.live(key, now).map(|(value, _)| value.as_str());
        if current != expected {
            return Ok(false);
        }
        entries.set(key, value.to_owned(), until, now);
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
    async fn memory_sweeps_expired_entries() {
        let store = MemoryStore::new();
        for i in 0..MIN_SWEEP {
            store.insert(&format!("jti:{i}"), at(-1)).await.unwrap();
        }
        assert_eq!(store.len(), MIN_SWEEP);
        store.insert("jti:live", at(60)).await.unwrap();
        assert_eq!(store.len(), 1);
        assert_eq!(store.get(&["jti:live"]).await.unwrap(), [Some("1".into())]);
    }

    #[rocket::async_test]
    async fn insert_never_shortens_an_entry() {
        let store = MemoryStore::new();
        store.insert("fam:a", at(60)).await.unwrap();
        store.insert("fam:a", at(-1)).await.unwrap();
        assert!(store.get(&["fam:a"]).await.unwrap()[0].is_some());
    }
}

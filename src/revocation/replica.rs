//! A copy in this process's memory of a shared store's `jti:`, `fam:`, `cut:` and `old:` entries, for
//! guards to read without a round trip, and the proof of how recent it is.
//!
//! The copy is fed by the store (see `RedisStore`): every write of such an entry is published
//! with its value and end, and a copy that lost its feed reads them all again before it
//! answers. Those entries are only ever added or extended, so writes can be applied in any
//! order, twice, or both from the feed and from a full read, and still leave the same copy.
//!
//! How recent it is: the feed regularly sends a heartbeat through the same connection as the
//! writes, and the store delivers in order, so once a heartbeat sent at `t` comes back (and the
//! writes before it are applied), every write completed before `t` is in the copy. The copy
//! answers only while the last such `t` is less than `max_lag` ago; otherwise guards ask the
//! store itself. A logout is therefore refused everywhere at most `max_lag` after it returns.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use time::OffsetDateTime;

use super::memory::rank;
use super::{MemoryStore, is_replicated};

/// The copy, its freshness and its bounds; shared by the store and its feed.
pub(crate) struct Replica {
    /// The entries, in the memory store's tables: expired ones are swept a few per write, so
    /// memory stays proportional to the revocations that still matter.
    entries: MemoryStore,
    /// The origin of `fresh_until`.
    origin: Instant,
    /// Nanoseconds after `origin` until which the copy may answer: the send time of the last
    /// heartbeat that came back, plus `max_lag`. `0`: it may not.
    fresh_until: AtomicU64,
    max_lag: Duration,
    max_entries: usize,
}

impl Replica {
    pub(crate) fn new(max_lag: Duration, max_entries: usize) -> Self {
        Replica {
            entries: MemoryStore::new(),
            origin: Instant::now(),
            fresh_until: AtomicU64::new(0),
            max_lag,
            max_entries,
        }
    }

    /// The values of `keys` from the copy, or `None` when it cannot show that it is recent
    /// enough (or is not in step with the store at all).
    pub(crate) fn lookup(&self, keys: &[&str]) -> Option<Vec<Option<String>>> {
        if !self.is_fresh() {
            return None;
        }
        Some(self.entries.values(keys, OffsetDateTime::now_utc()))
    }

    /// Adds to `values`, the store's answer for `keys`, what the copy holds for them, however
    /// old: its entries are only ever added or extended, so one it holds is still true even
    /// when the store no longer has it (a Redis restarted empty), and even while the copy may
    /// not answer alone.
    pub(crate) fn overlay(&self, keys: &[&str], values: &mut [Option<String>]) {
        let held = self.entries.values(keys, OffsetDateTime::now_utc());
        for (value, held) in values.iter_mut().zip(held) {
            let Some(held) = held else { continue };
            if value
                .as_deref()
                .is_none_or(|value| rank(&held) > rank(value))
            {
                *value = Some(held);
            }
        }
    }

    /// Whether the copy may answer now.
    pub(crate) fn is_fresh(&self) -> bool {
        // Relaxed is enough: the entries are read under the shards' locks, taken after this
        // load, and every write a heartbeat covers was applied under them before its store.
        self.nanos(Instant::now()) < self.fresh_until.load(Ordering::Relaxed)
    }

    /// A heartbeat sent at `sent` came back, and every write delivered before it is applied.
    pub(crate) fn confirm(&self, sent: Instant) {
        let until = self.nanos(sent).saturating_add(nanos(self.max_lag));
        self.fresh_until.fetch_max(until, Ordering::Relaxed);
    }

    /// The feed is lost: answers come from the store until it has read everything again.
    pub(crate) fn lose(&self) {
        self.fresh_until.store(0, Ordering::Relaxed);
    }

    /// How often the feed sends a heartbeat: four per `max_lag`, so one lost or slow heartbeat
    /// does not stop the copy from answering.
    pub(crate) fn heartbeat(&self) -> Duration {
        (self.max_lag / 4).max(Duration::from_millis(1))
    }

    /// Applies one entry: `key` holds `value` until `until` (or later).
    pub(crate) fn merge(&self, key: &str, value: &str, until: OffsetDateTime) {
        self.entries.merge(key, value, until);
    }

    /// Applies a published write (see [`message`]); `false` when it cannot be read.
    pub(crate) fn apply(&self, message: &str) -> bool {
        match parse(message) {
            Some((until, value, key)) => {
                self.merge(key, value, until);
                true
            }
            None => false,
        }
    }

    /// Whether the copy holds more entries than it may (expired ones included until swept).
    pub(crate) fn is_full(&self) -> bool {
        self.entries.len() > self.max_entries
    }

    /// Drops every entry (after [`lose`](Self::lose)), to free the memory of a full copy.
    pub(crate) fn clear(&self) {
        self.entries.clear();
    }

    fn nanos(&self, at: Instant) -> u64 {
        nanos(at.saturating_duration_since(self.origin))
    }
}

fn nanos(duration: Duration) -> u64 {
    u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX)
}

/// What the store publishes when it writes `key` (unprefixed), or `None` for an entry that is
/// not copied: `<until, unix seconds> <value> <key>`. The key comes last, since ids from
/// foreign tokens may hold spaces; values are numbers. `until` is rounded up to the second,
/// as the store's expiry is.
pub(crate) fn message(key: &str, value: &str, until: OffsetDateTime) -> Option<String> {
    let seconds = until.unix_timestamp() + i64::from(until.nanosecond() > 0);
    is_replicated(key).then(|| format!("{seconds} {value} {key}"))
}

fn parse(message: &str) -> Option<(OffsetDateTime, &str, &str)> {
    let (until, rest) = message.split_once(' ')?;
    let (value, key) = rest.split_once(' ')?;
    let until = OffsetDateTime::from_unix_timestamp(until.parse().ok()?).ok()?;
    (!value.is_empty() && is_replicated(key)).then_some((until, value, key))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(offset: i64) -> OffsetDateTime {
        OffsetDateTime::now_utc() + time::Duration::seconds(offset)
    }

    #[test]
    fn messages_round_trip_and_refuse_garbage() {
        let until = OffsetDateTime::from_unix_timestamp(1_900_000_000).unwrap();
        let sent = message("jti:a b", "1", until).unwrap();
        assert_eq!(sent, "1900000000 1 jti:a b");
        assert_eq!(parse(&sent), Some((until, "1", "jti:a b")));
        assert_eq!(message("rot:f", "x y 1", until), None);
        assert_eq!(message("ses:h", "s", until), None);
        for bad in [
            "",
            "1",
            "1 1",
            "x 1 jti:a",
            "1 1 rot:f",
            "1  jti:a",
            "1 1 jti",
        ] {
            assert_eq!(parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn the_copy_answers_only_while_a_recent_heartbeat_vouches_for_it() {
        let replica = Replica::new(Duration::from_millis(100), 100);
        replica.merge("jti:a", "1", at(60));
        assert_eq!(replica.lookup(&["jti:a"]), None, "never confirmed");
        replica.confirm(Instant::now());
        assert_eq!(
            replica.lookup(&["jti:a", "fam:b"]),
            Some(vec![Some("1".to_owned()), None])
        );
        replica.lose();
        assert_eq!(replica.lookup(&["jti:a"]), None, "lost");
        // A heartbeat sent longer than `max_lag` ago vouches for nothing now.
        let brief = Replica::new(Duration::from_millis(5), 100);
        brief.confirm(Instant::now());
        assert!(brief.is_fresh());
        std::thread::sleep(Duration::from_millis(10));
        assert!(!brief.is_fresh());
        assert_eq!(replica.heartbeat(), Duration::from_millis(25));
        assert_eq!(
            Replica::new(Duration::ZERO, 1).heartbeat(),
            Duration::from_millis(1)
        );
    }

    #[test]
    fn writes_apply_in_any_order_keeping_the_largest_cutoff_and_the_latest_end() {
        let replica = Replica::new(Duration::from_secs(1), 100);
        replica.confirm(Instant::now());
        let (soon, later) = (at(60), at(120));
        assert!(replica.apply(&message("cut:h", "200", soon).unwrap()));
        assert!(replica.apply(&message("cut:h", "100", later).unwrap()));
        assert!(replica.apply(&message("cut:h", "200", soon).unwrap()));
        assert_eq!(replica.lookup(&["cut:h"]), Some(vec![Some("200".into())]));
        // Expired writes are not applied, and expired entries do not answer.
        replica.merge("fam:gone", "1", at(-1));
        assert_eq!(replica.lookup(&["fam:gone"]), Some(vec![None]));
        assert!(!replica.apply("not a write"));
    }

    #[test]
    fn what_the_copy_holds_backs_the_stores_answers_even_when_it_may_not_answer() {
        let replica = Replica::new(Duration::from_secs(1), 100);
        replica.merge("jti:a", "1", at(60));
        replica.merge("cut:h", "200", at(60));
        assert!(!replica.is_fresh());
        // The store lost `jti:a` and holds an older cutoff; `fam:b` and `rot:f` are its own.
        let keys = ["jti:a", "fam:b", "cut:h", "rot:f"];
        let mut values = vec![
            None,
            Some("1".into()),
            Some("100".into()),
            Some("x y 1".into()),
        ];
        replica.overlay(&keys, &mut values);
        let expected = ["1", "1", "200", "x y 1"].map(|v| Some(v.to_owned()));
        assert_eq!(values, expected);
        // A later cutoff in the store stands.
        let mut values = vec![None, None, Some("300".into()), None];
        replica.overlay(&keys, &mut values);
        assert_eq!(values[2].as_deref(), Some("300"));
    }

    #[test]
    fn a_copy_beyond_its_bound_says_so_and_can_be_emptied() {
        let replica = Replica::new(Duration::from_secs(1), 2);
        for id in ["jti:a", "jti:b"] {
            replica.merge(id, "1", at(60));
        }
        assert!(!replica.is_full());
        replica.merge("fam:c", "1", at(60));
        assert!(replica.is_full());
        replica.clear();
        assert!(!replica.is_full());
    }
}

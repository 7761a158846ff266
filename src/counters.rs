//! The live counters behind [`PasetoStats`](crate::PasetoStats): relaxed atomics that the guards
//! and the revocation store add to, read only when a snapshot is taken. The token and jar
//! caches count for themselves (see [`CacheStats`](crate::token::CacheStats)).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::{Duration, Instant};

use time::OffsetDateTime;

use crate::revocation::{RevocationStore, StoreError};
use crate::trace;

/// How a guard's check of a token ended: one per guarded kind per request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    Accepted,
    Missing,
    /// Malformed, forged, tampered, or for another purpose, key, issuer or audience.
    Invalid,
    Expired,
    /// Revoked (the token, its login or its subject), reused, or refused by the user check.
    Revoked,
    WrongKind,
    CsrfFailed,
    /// The revocation store could not answer, and guards fail closed.
    StoreUnavailable,
    /// The server could not finish the check (its own failure, logged).
    ServerError,
}

impl Verdict {
    /// Every verdict, in the order of [`Counters::verdicts`].
    pub(crate) const ALL: [Verdict; 9] = [
        Verdict::Accepted,
        Verdict::Missing,
        Verdict::Invalid,
        Verdict::Expired,
        Verdict::Revoked,
        Verdict::WrongKind,
        Verdict::CsrfFailed,
        Verdict::StoreUnavailable,
        Verdict::ServerError,
    ];

    /// Its name, as the `metrics` feature labels it and as spans record a failure's cause.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Verdict::Accepted => "accepted",
            Verdict::Missing => "missing",
            Verdict::Invalid => "invalid",
            Verdict::Expired => "expired",
            Verdict::Revoked => "revoked",
            Verdict::WrongKind => "wrong_kind",
            Verdict::CsrfFailed => "csrf_failed",
            Verdict::StoreUnavailable => "store_unavailable",
            Verdict::ServerError => "server_error",
        }
    }
}

/// What the guards and the revocation store have done since launch.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    verdicts: [AtomicU64; Verdict::ALL.len()],
    store_calls: AtomicU64,
    store_errors: AtomicU64,
    store_nanos: AtomicU64,
    throttled: AtomicU64,
}

/// The revocation store's figures at one moment.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct StoreFigures {
    pub calls: u64,
    pub errors: u64,
    pub time: Duration,
}

impl Counters {
    pub(crate) fn record(&self, verdict: Verdict) {
        self.verdicts[verdict as usize].fetch_add(1, Relaxed);
    }

    /// How many checks ended with each verdict, in the order of [`Verdict::ALL`].
    pub(crate) fn verdicts(&self) -> [u64; Verdict::ALL.len()] {
        std::array::from_fn(|at| self.verdicts[at].load(Relaxed))
    }

    /// A login attempt refused by the throttle.
    pub(crate) fn throttle(&self) {
        self.throttled.fetch_add(1, Relaxed);
    }

    pub(crate) fn throttled(&self) -> u64 {
        self.throttled.load(Relaxed)
    }

    fn store_call(&self, elapsed: Duration, failed: bool) {
        self.store_calls.fetch_add(1, Relaxed);
        if failed {
            self.store_errors.fetch_add(1, Relaxed);
        }
        let nanos = u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX);
        self.store_nanos.fetch_add(nanos, Relaxed);
    }

    pub(crate) fn store(&self) -> StoreFigures {
        StoreFigures {
            calls: self.store_calls.load(Relaxed),
            errors: self.store_errors.load(Relaxed),
            time: Duration::from_nanos(self.store_nanos.load(Relaxed)),
        }
    }
}

/// A revocation store that counts its calls, failures and the time they took, for every use
/// of the store (the guards' checks, logouts, rotations, login lists) in one place, and (with
/// the `tracing` feature) runs each in a span.
pub(crate) struct CountedStore {
    store: Arc<dyn RevocationStore>,
    counters: Arc<Counters>,
}

impl CountedStore {
    pub(crate) fn new(store: Arc<dyn RevocationStore>, counters: Arc<Counters>) -> Self {
        CountedStore { store, counters }
    }

    fn timed<T>(&self, started: Instant, result: Result<T, StoreError>) -> Result<T, StoreError> {
        self.counters.store_call(started.elapsed(), result.is_err());
        result
    }
}

#[rocket::async_trait]
impl RevocationStore for CountedStore {
    async fn insert(&self, key: &str, until: OffsetDateTime) -> Result<(), StoreError> {
        let started = Instant::now();
        let result = trace::store("insert", self.store.insert(key, until)).await;
        self.timed(started, result)
    }

    async fn get(&self, keys: &[&str]) -> Result<Vec<Option<String>>, StoreError> {
        let started = Instant::now();
        let result = trace::store("get", self.store.get(keys)).await;
        self.timed(started, result)
    }

    /// Forwarded, so a store's replica keeps answering; its answers count as calls too.
    async fn get_replicated(&self, keys: &[&str]) -> Result<Vec<Option<String>>, StoreError> {
        let started = Instant::now();
        let result = trace::store("get_replicated", self.store.get_replicated(keys)).await;
        self.timed(started, result)
    }

    async fn swap(
        &self,
        key: &str,
        expected: Option<&str>,
        value: &str,
        until: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let started = Instant::now();
        let result = trace::store("swap", self.store.swap(key, expected, value, until)).await;
        self.timed(started, result)
    }

    async fn count(
        &self,
        key: &str,
        by: u64,
        window: Duration,
    ) -> Result<(u64, OffsetDateTime), StoreError> {
        let started = Instant::now();
        let result = trace::store("count", self.store.count(key, by, window)).await;
        self.timed(started, result)
    }

    async fn reset(&self, key: &str) -> Result<(), StoreError> {
        let started = Instant::now();
        let result = trace::store("reset", self.store.reset(key)).await;
        self.timed(started, result)
    }
}

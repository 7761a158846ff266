//! The Redis revocation store (cargo feature `redis`).

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use ::redis::aio::{ConnectionManager, ConnectionManagerConfig};
use ::redis::{Client, Cmd};
use rocket::tokio::runtime::Handle;
use rocket::tokio::sync::OnceCell;
use rocket::tokio::task::JoinHandle;
use time::OffsetDateTime;

use self::commands::{fail, prefixed};
use super::replica::{Replica, message};
use super::{RevocationStore, StoreError, is_replicated};

mod cluster;
mod commands;
mod feed;
mod persistence;

pub use self::cluster::RedisClusterStore;

/// A [`RevocationStore`] in Redis, shared by every instance that uses the same server and
/// prefix: a logout on one instance is refused by all of them within 100 ms (with the replica,
/// the default), or from their next request on (without it).
///
/// Entries are plain keys (`<prefix>jti:<id>`, `<prefix>fam:<id>`, `<prefix>rot:<id>`, ...)
/// with a Redis expiry, so Redis itself forgets them once their tokens have expired. The
/// connection is opened on first use (at launch, with the replica, for a store configured in
/// `paseto.revocation`) and re-opened after failures; every command is bounded by the timeout,
/// so an unreachable server costs a request at most that long.
///
/// # The replica
///
/// Guards check every request, and a round trip to Redis costs more than the rest of a cached
/// check together. So each store keeps a replica of the entries guards read for tokens that do
/// not rotate (`jti:`, `fam:`, `cut:`, `old:`) in memory, and answers those checks from it: every
/// write of such an entry is published on the channel `<prefix>revoked:<db>` in the same
/// script, the replica follows that channel on a connection of its own, and it reads all those
/// entries again (a `SCAN`) whenever it (re)subscribes. It answers only while a heartbeat sent
/// through that connection less than [`replica_max_lag`](Self::replica_max_lag) ago has come
/// back; otherwise, while it resyncs or once it holds more than
/// [`replica_max_entries`](Self::replica_max_entries), checks go to Redis as without it.
/// Rotations, logouts, session lists and every other read that needs the present value still
/// go to Redis. Every store publishes its writes, replica or not, so instances may differ in
/// this setting; the Redis user needs `PUBLISH` and, for the replica, `SUBSCRIBE`.
///
/// Configured with `store = "redis"` under `[default.paseto.revocation]`, or built here:
///
/// ```no_run
/// use rocket_paseto::PasetoFairing;
/// use rocket_paseto::revocation::RedisStore;
///
/// let store = RedisStore::new("redis://127.0.0.1:6379/")?;
/// let fairing = PasetoFairing::default().revocation(store);
/// # Ok::<(), rocket_paseto::revocation::StoreError>(())
/// ```
#[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
pub struct RedisStore {
    client: Client,
    prefix: String,
    timeout: Duration,
    connection: OnceCell<ConnectionManager>,
    replica: ReplicaSettings,
    /// The replica and the task that feeds it, started by the first check.
    follower: OnceCell<Follower>,
}

#[derive(Debug, Clone, Copy)]
struct ReplicaSettings {
    enabled: bool,
    max_lag: Duration,
    max_entries: usize,
}

/// A replica and the task that feeds it, which ends with the store.
struct Follower {
    replica: Arc<Replica>,
    task: JoinHandle<()>,
}

impl Drop for Follower {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl RedisStore {
    /// The default key prefix.
    pub const DEFAULT_PREFIX: &'static str = "rocket_paseto:";

    /// The default bound on each command, connection included.
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_millis(500);

    /// The default staleness bound of the replica.
    pub const DEFAULT_REPLICA_MAX_LAG: Duration = Duration::from_millis(100);

    /// The default bound on the replica's entries: at about 200 bytes each, 200 MB at most.
    pub const DEFAULT_REPLICA_MAX_ENTRIES: usize = 1_000_000;

    /// A store at `url` (`redis://[[user]:password@]host[:port][/db]`, or `redis+unix://`),
    /// with the default prefix, timeout and replica. Nothing is connected yet.
    ///
    /// The error never repeats the URL, which may hold a password.
    pub fn new(url: &str) -> Result<Self, StoreError> {
        let client = Client::open(url).map_err(|_| StoreError::new("not a valid Redis URL"))?;
        Ok(RedisStore {
            client,
            prefix: Self::DEFAULT_PREFIX.to_owned(),
            timeout: Self::DEFAULT_TIMEOUT,
            connection: OnceCell::new(),
            replica: ReplicaSettings {
                enabled: true,
                max_lag: Self::DEFAULT_REPLICA_MAX_LAG,
                max_entries: Self::DEFAULT_REPLICA_MAX_ENTRIES,
            },
            follower: OnceCell::new(),
        })
    }

    /// Prefixes every key with `prefix`, e.g. to share one Redis between applications.
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// Bounds each command, connecting included, by `timeout`.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Whether guards' checks are answered from the [replica](Self#the-replica) (`true`, the
    /// default) or with a round trip to Redis each (`false`: a logout is refused everywhere
    /// from the next request on, not within the replica's lag).
    pub fn replica(mut self, enabled: bool) -> Self {
        self.replica.enabled = enabled;
        self
    }

    /// The replica's staleness bound: it answers only while it can show that it holds every
    /// write made longer than `max_lag` ago; a logout is refused everywhere within it.
    pub fn replica_max_lag(mut self, max_lag: Duration) -> Self {
        self.replica.max_lag = max_lag;
        self
    }

    /// How many entries the replica may hold; beyond that, it empties itself and checks go to
    /// Redis until a later resync finds few enough (it tries again every minute).
    pub fn replica_max_entries(mut self, max_entries: usize) -> Self {
        self.replica.max_entries = max_entries;
        self
    }

    async fn connection(&self) -> Result<ConnectionManager, StoreError> {
        self.connection
            .get_or_try_init(|| async {
                // No retries with back-off inside a reconnect: every request waiting on it
                // would wait them out too (about 150 ms each while Redis refuses
                // connections). The next request after a failed attempt starts a new one,
                // so a 503 is immediate and service resumes with the first request after
                // Redis is back.
                let config = ConnectionManagerConfig::new()
                    .set_connection_timeout(Some(self.timeout))
                    .set_response_timeout(Some(self.timeout))
                    .set_number_of_retries(0);
                ConnectionManager::new_lazy_with_config(self.client.clone(), config).map_err(fail)
            })
            .await
            .cloned()
    }

    /// Starts the replica (or, without one, opens the connection) in the background, when a
    /// runtime runs, so that the first guarded requests find it following Redis rather than
    /// wait for Redis themselves. A failure is left to the first request that needs the store,
    /// which tries again.
    pub(crate) fn connect_soon(self: &Arc<Self>) {
        if let Ok(runtime) = Handle::try_current() {
            let store = self.clone();
            runtime.spawn(async move {
                if store.follower().await.is_none() {
                    let _ = store.connection().await;
                }
            });
        }
    }

    /// The replica, its feed started on first use; `None` when it is off.
    async fn follower(&self) -> Option<&Follower> {
        if !self.replica.enabled {
            return None;
        }
        let start = || async {
            let replica = Arc::new(Replica::new(self.replica.max_lag, self.replica.max_entries));
            let feed = feed::Feed {
                client: self.client.clone(),
                connection: self.connection().await?,
                prefix: self.prefix.clone(),
                channel: self.channel(),
                timeout: self.timeout,
                replica: replica.clone(),
            };
            // Outside a Tokio runtime there is nothing to run the feed on: no replica then.
            let runtime = Handle::try_current()
                .map_err(|_| StoreError::new("the replica needs a Tokio runtime"))?;
            let task = runtime.spawn(feed.run());
            Ok::<_, StoreError>(Follower { replica, task })
        };
        self.follower.get_or_try_init(start).await.ok()
    }

    /// Applies this store's own write to its replica at once, so that this instance never
    /// accepts what it has just revoked.
    fn replicate_own(&self, key: &str, value: &str, until: OffsetDateTime) {
        if let Some(follower) = self.follower.get() {
            follower.replica.merge(key, value, until);
        }
    }

    /// The channel on which writes are published: per prefix and database, as keys are.
    fn channel(&self) -> String {
        let db = self.client.get_connection_info().redis_settings().db();
        format!("{}revoked:{db}", self.prefix)
    }

    async fn query<T: ::redis::FromRedisValue>(&self, cmd: &Cmd) -> Result<T, StoreError> {
        let mut connection = self.connection().await?;
        commands::query(&mut connection, self.timeout, cmd).await
    }

    fn key(&self, key: &str) -> String {
        prefixed(&self.prefix, key)
    }
}

impl fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisStore")
            .field("prefix", &self.prefix)
            .field("timeout", &self.timeout)
            .field("replica", &self.replica)
            .finish_non_exhaustive()
    }
}

#[rocket::async_trait]
impl RevocationStore for RedisStore {
    async fn insert(&self, key: &str, until: OffsetDateTime) -> Result<(), StoreError> {
        if until <= OffsetDateTime::now_utc() {
            return Ok(());
        }
        let published = message(key, "1", until);
        let channel = self.channel();
        let announce = published.as_deref().map(|m| (channel.as_str(), m));
        let cmd = commands::insert(&self.key(key), until, announce);
        self.query::<i64>(&cmd).await?;
        if published.is_some() {
            self.replicate_own(key, "1", until);
        }
        Ok(())
    }

    async fn get(&self, keys: &[&str]) -> Result<Vec<Option<String>>, StoreError> {
        // Started here too, so that what it holds backs every read, not only guards' checks.
        let follower = self.follower().await;
        let mut values = self
            .query::<Vec<Option<String>>>(&commands::get(&self.prefix, keys))
            .await?;
        if let Some(follower) = follower {
            // A Redis restarted empty forgets revocations; this instance's replica does not.
            follower.replica.overlay(keys, &mut values);
        }
        Ok(values)
    }

    async fn get_replicated(&self, keys: &[&str]) -> Result<Vec<Option<String>>, StoreError> {
        if let Some(values) = self.follower().await.and_then(|f| f.replica.lookup(keys)) {
            return Ok(values);
        }
        self.get(keys).await
    }

    async fn swap(
        &self,
        key: &str,
        expected: Option<&str>,
        value: &str,
        until: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        Ok(self.compare_and_set(key, expected, value, until).await?
            || self.swap_over_lost(key, expected, value, until).await?)
    }

    async fn count(
        &self,
        key: &str,
        by: u64,
        window: Duration,
    ) -> Result<(u64, OffsetDateTime), StoreError> {
        let cmd = commands::count(&self.key(key), by, window);
        Ok(commands::counted(self.query(&cmd).await?))
    }

    async fn reset(&self, key: &str) -> Result<(), StoreError> {
        self.query::<i64>(&commands::reset(&self.key(key)))
            .await
            .map(drop)
    }
}

impl RedisStore {
    /// One atomic compare-and-set in Redis, announced to the replicas when the key is copied.
    async fn compare_and_set(
        &self,
        key: &str,
        expected: Option<&str>,
        value: &str,
        until: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let published = message(key, value, until);
        let channel = self.channel();
        let announce = published.as_deref().map(|m| (channel.as_str(), m));
        let cmd = commands::swap(&self.key(key), expected, value, until, announce);
        let swapped = self.query::<i64>(&cmd).await? == 1;
        if swapped && published.is_some() {
            self.replicate_own(key, value, until);
        }
        Ok(swapped)
    }

    /// `get` shows the replica's copy over a value Redis lost (a restart without persistence),
    /// so a caller may expect a value that Redis no longer holds, and would never get past it.
    /// When the copy explains the mismatch, the exchange is made against what Redis holds now,
    /// still atomically. Only copied keys can differ, so others cost nothing more.
    async fn swap_over_lost(
        &self,
        key: &str,
        expected: Option<&str>,
        value: &str,
        until: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let (Some(expected), Some(follower)) = (expected, self.follower.get()) else {
            return Ok(false);
        };
        if !is_replicated(key) {
            return Ok(false);
        }
        let mut shown = self
            .query::<Vec<Option<String>>>(&commands::get(&self.prefix, &[key]))
            .await?;
        let held = shown.first().cloned().flatten();
        follower.replica.overlay(&[key], &mut shown);
        let copy_explains = held.as_deref() != Some(expected)
            && shown.first().and_then(Option::as_deref) == Some(expected);
        if !copy_explains {
            return Ok(false);
        }
        self.compare_and_set(key, held.as_deref(), value, until)
            .await
    }
}

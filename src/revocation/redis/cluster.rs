//! The revocation store on a Redis Cluster.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use ::redis::cluster::{ClusterClient, ClusterClientBuilder};
use ::redis::cluster_async::ClusterConnection;
use ::redis::{Cmd, ConnectionInfo, FromRedisValue, IntoConnectionInfo};
use rocket::tokio::runtime::Handle;
use rocket::tokio::sync::{Mutex, OnceCell};
use time::OffsetDateTime;

use super::super::{RevocationStore, StoreError};
use super::RedisStore;
use super::commands::{self, fail, prefixed};
use super::persistence;

/// A [`RevocationStore`] on a Redis Cluster: [`RedisStore`]'s entries, commands and scripts,
/// spread over the cluster's masters by hash slot, for a service that outgrew one Redis.
///
/// Each write names one key, so it runs whole on the master holding that key's slot: an
/// insert, and the compare-and-set of a rotation, are as atomic as on one server. The reads of
/// a check (a token's `jti:`, `fam:`, `rot:`, `cut:` and `old:` entries, which land in different
/// slots) are split by slot into one `MGET` per slot, sent together.
///
/// There is no replica: every check is a round trip, and a logout is refused everywhere from
/// the next request on. A master that is down fails the commands for its slots within the
/// timeout (guards then follow `on_error`), and once it is back, or its slots have moved to
/// another master, commands reach it again without a restart. The key layout, what is atomic
/// and the ACL commands needed: "Redis Cluster" in `docs/revocation-and-scaling.md`.
///
/// A master restarted empty (without persistence) has forgotten the revocations it held, and
/// with no replica in memory, every instance accepts those tokens again until they expire. So
/// when the store connects (at launch, for a store from the configuration; otherwise at its
/// first use), it reads `appendonly` and `save` on every master (`CONFIG GET`) and logs a
/// warning naming each master that persists nothing, or that it may not ask.
///
/// Configured with `store = "redis-cluster"` and `urls` under `[default.paseto.revocation]`,
/// or built here:
///
/// ```no_run
/// use rocket_paseto::PasetoFairing;
/// use rocket_paseto::revocation::RedisClusterStore;
///
/// let store = RedisClusterStore::new(["redis://10.0.0.1:6379/", "redis://10.0.0.2:6379/"])?;
/// let fairing = PasetoFairing::default().revocation(store);
/// # Ok::<(), rocket_paseto::revocation::StoreError>(())
/// ```
#[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
pub struct RedisClusterStore {
    /// Where to start: the client reads the cluster's slot map from the first that answers.
    nodes: Vec<ConnectionInfo>,
    prefix: String,
    timeout: Duration,
    connection: OnceCell<ClusterConnection>,
    /// Held while a connection is being opened; requests that queued behind an attempt that
    /// failed share its failure rather than each waiting out one more attempt.
    opening: Mutex<()>,
    /// Attempts that failed, so a waiter can tell one ended while it waited.
    failed_attempts: AtomicU64,
}

impl RedisClusterStore {
    /// A store on the cluster that includes the nodes at `urls`
    /// (`redis://[[user]:password@]host[:port]`, all with the same user and password), with
    /// the default prefix and timeout. One node is enough; more keep the store starting while
    /// some are down. Nothing is connected yet.
    ///
    /// The error never repeats a URL, which may hold a password.
    pub fn new<'a>(urls: impl IntoIterator<Item = &'a str>) -> Result<Self, StoreError> {
        let node = |(i, url): (usize, &str)| {
            let invalid = |what| StoreError::new(format!("URL {} {what}", i + 1));
            let node = url
                .into_connection_info()
                .map_err(|_| invalid("is not a valid Redis URL"))?;
            // Redis Cluster has database 0 only; the client would find out at the first command.
            match node.redis_settings().db() {
                0 => Ok(node),
                _ => Err(invalid(
                    "names a database (a Redis Cluster has only database 0)",
                )),
            }
        };
        let nodes = urls
            .into_iter()
            .enumerate()
            .map(node)
            .collect::<Result<Vec<_>, _>>()?;
        if nodes.is_empty() {
            return Err(StoreError::new("no URL of a cluster node"));
        }
        // Refuses what the client would refuse at the first connection.
        ClusterClient::new(nodes.clone()).map_err(|_| {
            StoreError::new("the URLs must share user, password and protocol, over TCP")
        })?;
        Ok(RedisClusterStore {
            nodes,
            prefix: RedisStore::DEFAULT_PREFIX.to_owned(),
            timeout: RedisStore::DEFAULT_TIMEOUT,
            connection: OnceCell::new(),
            opening: Mutex::new(()),
            failed_attempts: AtomicU64::new(0),
        })
    }

    /// Prefixes every key with `prefix`, e.g. to share one cluster between applications.
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// Bounds each command, connecting and retrying included, by `timeout`.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The connection to the cluster, opened on first use; it follows the slot map and
    /// reconnects to nodes by itself. Should opening it fail, the next request tries again.
    async fn connection(&self) -> Result<ClusterConnection, StoreError> {
        if let Some(connection) = self.connection.get() {
            return Ok(connection.clone());
        }
        let failed_before = self.failed_attempts.load(Ordering::Acquire);
        let _opening = self.opening.lock().await;
        if let Some(connection) = self.connection.get() {
            return Ok(connection.clone());
        }
        if self.failed_attempts.load(Ordering::Acquire) != failed_before {
            return Err(StoreError::new("the cluster could not be reached"));
        }
        match self.open().await {
            Ok(connection) => Ok(self
                .connection
                .get_or_init(|| async { connection })
                .await
                .clone()),
            Err(e) => {
                self.failed_attempts.fetch_add(1, Ordering::AcqRel);
                Err(e)
            }
        }
    }

    /// Reads the slot map from the first node that answers, within the timeout, then checks
    /// (and warns about) the masters' persistence before anything is read or written.
    async fn open(&self) -> Result<ClusterConnection, StoreError> {
        let client = ClusterClientBuilder::new(self.nodes.clone())
            .connection_timeout(self.timeout)
            .response_timeout(self.timeout)
            .build()
            .map_err(fail)?;
        let connection = commands::bounded(self.timeout, client.get_async_connection()).await?;
        persistence::check(&connection, self.timeout).await;
        Ok(connection)
    }

    /// Opens the connection in the background, when a runtime runs, so that the masters'
    /// persistence is checked at launch rather than at the first request that needs the store.
    /// A failure is left to that request, which tries again.
    pub(crate) fn connect_soon(self: &Arc<Self>) {
        if let Ok(runtime) = Handle::try_current() {
            let store = self.clone();
            runtime.spawn(async move { store.connection().await.map(drop) });
        }
    }

    async fn query<T: FromRedisValue>(&self, cmd: &Cmd) -> Result<T, StoreError> {
        let mut connection = self.connection().await?;
        commands::query(&mut connection, self.timeout, cmd).await
    }
}

impl fmt::Debug for RedisClusterStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisClusterStore")
            .field("nodes", &self.nodes.len())
            .field("prefix", &self.prefix)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

#[rocket::async_trait]
impl RevocationStore for RedisClusterStore {
    async fn insert(&self, key: &str, until: OffsetDateTime) -> Result<(), StoreError> {
        if until <= OffsetDateTime::now_utc() {
            return Ok(());
        }
        let cmd = commands::insert(&prefixed(&self.prefix, key), until, None);
        self.query::<i64>(&cmd).await.map(drop)
    }

    async fn get(&self, keys: &[&str]) -> Result<Vec<Option<String>>, StoreError> {
        self.query(&commands::get(&self.prefix, keys)).await
    }

    async fn swap(
        &self,
        key: &str,
        expected: Option<&str>,
        value: &str,
        until: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let key = prefixed(&self.prefix, key);
        let cmd = commands::swap(&key, expected, value, until, None);
        Ok(self.query::<i64>(&cmd).await? == 1)
    }

    async fn count(
        &self,
        key: &str,
        by: u64,
        window: Duration,
    ) -> Result<(u64, OffsetDateTime), StoreError> {
        let cmd = commands::count(&prefixed(&self.prefix, key), by, window);
        Ok(commands::counted(self.query(&cmd).await?))
    }

    async fn reset(&self, key: &str) -> Result<(), StoreError> {
        self.query::<i64>(&commands::reset(&prefixed(&self.prefix, key)))
            .await
            .map(drop)
    }
}

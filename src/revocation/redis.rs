//! The Redis revocation store (cargo feature `redis`).

use std::fmt;
use std::time::Duration;

use ::redis::aio::{ConnectionManager, ConnectionManagerConfig};
use ::redis::{Client, Cmd, RedisError};
use rocket::tokio::sync::OnceCell;
use rocket::tokio::time::timeout;
use time::OffsetDateTime;

use super::{RevocationStore, StoreError};

/// Sets a key with an expiry unless it already lives at least that long, so an entry is never
/// shortened. One round trip, atomic, and available on every Redis version with Lua.
const EXTEND: &str = "local ttl = redis.call('TTL', KEYS[1]) \
    if ttl < tonumber(ARGV[1]) then redis.call('SET', KEYS[1], '1', 'EX', ARGV[1]) end \
    return 1";

/// Compare and set: sets `KEYS[1]` to `ARGV[2]` for `ARGV[3]` seconds if its value is
/// `ARGV[1]` (`""`: absent). Values are never empty, so `""` cannot be mistaken for one.
const SWAP: &str = "local v = redis.call('GET', KEYS[1]) \
    if (v == false and ARGV[1] == '') or v == ARGV[1] then \
    redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3]) return 1 end \
    return 0";

/// A [`RevocationStore`] in Redis, shared by every instance that uses the same server and
/// prefix: a logout on one instance is refused by all of them on their next request.
///
/// Entries are plain keys (`<prefix>jti:<id>`, `<prefix>fam:<id>`, `<prefix>rot:<id>`) with
/// a Redis expiry, so Redis itself forgets them once their tokens have expired. The
/// connection is opened on first use and re-opened after failures; every command is bounded
/// by the timeout, so an unreachable server costs a request at most that long.
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
}

impl RedisStore {
    /// The default key prefix.
    pub const DEFAULT_PREFIX: &'static str = "rocket_paseto:";

    /// The default bound on each command, connection included.
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_millis(500);

    /// A store at `url` (`redis://[[user]:password@]host[:port][/db]`, or `redis+unix://`),
    /// with the default prefix and timeout. Nothing is connected yet.
    ///
    /// The error never repeats the URL, which may hold a password.
    pub fn new(url: &str) -> Result<Self, StoreError> {
        let client = Client::open(url).map_err(|_| StoreError::new("not a valid Redis URL"))?;
        Ok(RedisStore {
            client,
            prefix: Self::DEFAULT_PREFIX.to_owned(),
            timeout: Self::DEFAULT_TIMEOUT,
            connection: OnceCell::new(),
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

    async fn connection(&self) -> Result<ConnectionManager, StoreError> {
        self.connection
            .get_or_try_init(|| async {
                let config = ConnectionManagerConfig::new()
                    .set_connection_timeout(Some(self.timeout))
                    .set_response_timeout(Some(self.timeout))
                    .set_number_of_retries(1)
                    .set_max_delay(self.timeout);
                ConnectionManager::new_lazy_with_config(self.client.clone(), config).map_err(fail)
            })
            .await
            .cloned()
    }

    async fn query<T: ::redis::FromRedisValue>(&self, cmd: &Cmd) -> Result<T, StoreError> {
        let mut connection = self.connection().await?;
        match timeout(self.timeout, cmd.query_async::<T>(&mut connection)).await {
            Ok(result) => result.map_err(fail),
            Err(_) => Err(StoreError::new("Redis did not answer in time")),
        }
    }

    fn key(&self, key: &str) -> String {
        let mut full = String::with_capacity(self.prefix.len() + key.len());
        full.push_str(&self.prefix);
        full.push_str(key);
        full
    }
}

/// Whole seconds from now until `until`, at least one.
fn seconds_until(until: OffsetDateTime) -> u64 {
    let left = (until - OffsetDateTime::now_utc()).whole_milliseconds();
    u64::try_from((left + 999) / 1000).unwrap_or(0).max(1)
}

/// Describes a Redis failure without its text, which may name the server.
fn fail(error: RedisError) -> StoreError {
    StoreError::new(if error.is_timeout() {
        "Redis did not answer in time".to_owned()
    } else if error.is_connection_refusal() || error.is_io_error() {
        "Redis is unreachable".to_owned()
    } else {
        format!("Redis refused the command ({})", error.category())
    })
}

impl fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisStore")
            .field("prefix", &self.prefix)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

#[rocket::async_trait]
impl RevocationStore for RedisStore {
    async fn insert(&self, key: &str, until: OffsetDateTime) -> Result<(), StoreError> {
        if until <= OffsetDateTime::now_utc() {
            return Ok(());
        }
        let mut cmd = ::redis::cmd("EVAL");
        cmd.arg(EXTEND)
            .arg(1)
            .arg(self.key(key))
            .arg(seconds_until(until));
        self.query::<i64>(&cmd).await.map(drop)
    }

    async fn get(&self, keys: &[&str]) -> Result<Vec<Option<String>>, StoreError> {
        let mut cmd = ::redis::cmd("MGET");
        for key in keys {
            cmd.arg(self.key(key));
        }
        self.query::<Vec<Option<String>>>(&cmd).await
    }

    async fn swap(
        &self,
        key: &str,
        expected: Option<&str>,
        value: &str,
        until: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let mut cmd = ::redis::cmd("EVAL");
        cmd.arg(SWAP)
            .arg(1)
            .arg(self.key(key))
            .arg(expected.unwrap_or(""))
            .arg(value)
            .arg(seconds_until(until));
        Ok(self.query::<i64>(&cmd).await? == 1)
    }
}

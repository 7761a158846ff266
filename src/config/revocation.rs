//! The `[paseto.revocation]` section.

#[cfg(feature = "redis")]
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::KindSettings;
use super::{ConfigError, Secret, defaults};
use crate::revocation::OnError;

/// Revocation settings: `[default.paseto.revocation]`. See [`revocation`](crate::revocation).
///
/// ```toml
/// [default.paseto.revocation]
/// store = "redis"
/// url = "redis://127.0.0.1:6379/"
/// # or, on a Redis Cluster:
/// # store = "redis-cluster"
/// # urls = ["redis://10.0.0.1:6379", "redis://10.0.0.2:6379"]
/// kinds = ["access", "refresh"]
/// on_error = "reject"
/// replica = true
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct RevocationConfig {
    /// Where revocations are kept: `"memory"` (this process only), `"redis"` (shared by every
    /// instance; needs the cargo feature `redis`), `"redis-cluster"` (the same on a Redis
    /// Cluster, without the replica; feature `redis`) or `"none"` (tokens cannot be revoked,
    /// and no request waits for a store). Leave it unset when a store is attached in code with
    /// [`PasetoFairing::revocation`](crate::PasetoFairing::revocation).
    ///
    /// _Default:_ `"memory"` when the service has a key to mint tokens with (`local_key` or
    /// `secret_key`), so logouts and refreshes work on a single instance with no
    /// configuration; `"none"` for services that only verify.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub store: Option<StoreKind>,
    /// The Redis URL, `redis://[[user]:password@]host[:port][/db]`; required with
    /// `store = "redis"`. Error messages never repeat it.
    ///
    /// _Default:_ none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<Secret>,
    /// With `store = "redis-cluster"`: URLs of cluster nodes,
    /// `redis://[[user]:password@]host[:port]`, all with the same user and password. One is
    /// enough to find the others; more let instances start while one is down. Error messages
    /// name them by position, never repeat them.
    ///
    /// _Default:_ `[]`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub urls: Vec<Secret>,
    /// Prefix of every Redis key, to share one Redis between applications.
    ///
    /// _Default:_ `"rocket_paseto:"`.
    #[serde(default = "defaults::revocation_prefix")]
    pub prefix: String,
    /// The kinds whose guards check the store on every request (`"access"`, `"refresh"`,
    /// `"remember_me"` or your own kinds). Tokens of these kinds must carry a `jti`.
    ///
    /// _Default:_ `["access", "refresh"]`.
    #[serde(default = "defaults::revocation_kinds")]
    pub kinds: Vec<String>,
    /// What guards do when the store cannot answer: `"reject"` (fail closed: 503 until it is
    /// back) or `"allow"` (fail open: accept tokens unchecked, with a warning in the log).
    ///
    /// _Default:_ `"reject"`.
    #[serde(default)]
    pub(crate) on_error: OnError,
    /// How long to wait for the Redis store, in milliseconds (1 to 60000), connecting included.
    ///
    /// _Default:_ `500`.
    #[serde(default = "defaults::revocation_timeout_ms")]
    pub timeout_ms: u64,
    /// Whether a session's refresh ([`Sessions::refresh`](crate::Sessions::refresh),
    /// [`PasetoCookies::refresh`](crate::PasetoCookies::refresh), implicit refresh) rotates
    /// the refresh token: a new pair each time, each refresh token used once, and a replaced one
    /// presented again ends its session (reuse detection). `false`: a refresh gives a new
    /// access token only, and the refresh token serves until it expires. Without a store,
    /// refreshes never rotate.
    ///
    /// _Default:_ `true`.
    #[serde(default = "defaults::enabled")]
    pub rotate: bool,
    /// Seconds during which a refresh token that was just rotated still obtains the same new
    /// generation instead of counting as reuse: parallel refreshes from two tabs, or a retry
    /// after a timeout, then share one new refresh token. `0` treats every second use as
    /// reuse. At most 300.
    ///
    /// _Default:_ `15`.
    #[serde(default = "defaults::rotation_grace")]
    pub rotation_grace: u64,
    /// How many sessions (started by [`Sessions::login`](crate::Sessions::login) or
    /// [`PasetoCookies::login`](crate::PasetoCookies::login)) each subject may hold at once, 0
    /// to 1000. A new session beyond it ends the oldest (the one that started first), with one
    /// entry per subject in the store however many sessions it ends. `0` lists no sessions: a
    /// login writes nothing to the store (so logins go on while it is down),
    /// [`Sessions::list`](crate::Sessions::list) is empty, and `end_all` still refuses every
    /// earlier token of the subject.
    ///
    /// _Default:_ `32`.
    #[serde(default = "defaults::max_sessions")]
    pub max_sessions: usize,
    /// Whether a listed session keeps the client's IP address (from the connection, or from
    /// `X-Forwarded-For` sent by one of `trusted_proxies`), to show in
    /// [`Sessions::list`](crate::Sessions::list) beside its user agent. `false` keeps none.
    ///
    /// _Default:_ `true`.
    #[serde(default = "defaults::enabled")]
    pub keep_ip: bool,
    /// With `store = "redis"` (`"redis-cluster"` has no replica): whether each instance
    /// answers guards' checks from a replica of the revocations in its memory, which follows
    /// Redis within `replica_max_lag_ms`, instead of with a round trip to Redis per request.
    /// Rotations and everything else that needs the present value still go to Redis. `false`:
    /// a logout is refused everywhere from the next request on. See "The replica" in
    /// `RedisStore`'s docs (feature `redis`).
    ///
    /// _Default:_ `true`.
    #[serde(default = "defaults::enabled")]
    pub replica: bool,
    /// The replica's staleness bound in milliseconds (10 to 60000): it answers only while it can
    /// show that it holds every revocation made longer ago than this, so a logout is refused
    /// by every instance within it. Beyond it (Redis slow or unreachable), checks go to Redis.
    ///
    /// _Default:_ `100`.
    #[serde(default = "defaults::replica_max_lag_ms")]
    pub replica_max_lag_ms: u64,
    /// How many entries the replica may hold (1 to 100000000, about 200 bytes each): beyond
    /// it, the replica empties itself and checks go to Redis until it fits again.
    ///
    /// _Default:_ `1000000`.
    #[serde(default = "defaults::replica_max_entries")]
    pub replica_max_entries: usize,
}

/// A revocation store that can be chosen in the configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum StoreKind {
    /// No store: tokens cannot be revoked, and sessions cannot be listed or ended.
    None,
    /// [`MemoryStore`](crate::revocation::MemoryStore): this process only.
    Memory,
    /// `RedisStore` (cargo feature `redis`): shared by every instance.
    Redis,
    /// `RedisClusterStore` (cargo feature `redis`): shared by every instance, on a Redis
    /// Cluster.
    #[serde(rename = "redis-cluster")]
    RedisCluster,
}

/// The validated revocation settings; the fairing builds the store from them.
pub(crate) struct RevocationSetup {
    /// The store the configuration chose, or its default; unused when one is attached in code.
    pub store: StoreSetup,
    /// Whether `store` was set, which a store attached in code forbids.
    pub explicit: bool,
    /// Whether `kinds` was set explicitly (it then needs a store).
    pub kinds_set: bool,
    pub(crate) on_error: OnError,
    /// See `RevocationConfig::rotate`.
    pub rotate: bool,
    /// See `RevocationConfig::rotation_grace`.
    pub grace: Duration,
    /// See `RevocationConfig::max_sessions`.
    pub max_sessions: usize,
    /// See `RevocationConfig::keep_ip`.
    pub keep_ip: bool,
}

pub(crate) enum StoreSetup {
    None,
    Memory,
    #[cfg(feature = "redis")]
    Redis(RedisSetup),
    #[cfg(feature = "redis")]
    RedisCluster(RedisClusterSetup),
}

/// The settings of a Redis store.
#[cfg(feature = "redis")]
pub(crate) struct RedisSetup {
    url: String,
    prefix: String,
    timeout: Duration,
    replica: bool,
    replica_max_lag: Duration,
    replica_max_entries: usize,
}

#[cfg(feature = "redis")]
impl RedisSetup {
    /// The store, connecting in the background (see `RedisStore::connect_soon`); its error
    /// never repeats the URL.
    pub(crate) fn start(
        &self,
    ) -> Result<Arc<crate::revocation::RedisStore>, crate::revocation::StoreError> {
        let store = Arc::new(
            crate::revocation::RedisStore::new(&self.url)?
                .prefix(self.prefix.clone())
                .timeout(self.timeout)
                .replica(self.replica)
                .replica_max_lag(self.replica_max_lag)
                .replica_max_entries(self.replica_max_entries),
        );
        store.connect_soon();
        Ok(store)
    }
}

/// The settings of a Redis Cluster store.
#[cfg(feature = "redis")]
pub(crate) struct RedisClusterSetup {
    urls: Vec<String>,
    prefix: String,
    timeout: Duration,
}

#[cfg(feature = "redis")]
impl RedisClusterSetup {
    /// The store, connecting in the background (see `RedisClusterStore::connect_soon`); its
    /// error never repeats a URL.
    pub(crate) fn start(
        &self,
    ) -> Result<Arc<crate::revocation::RedisClusterStore>, crate::revocation::StoreError> {
        let urls = self.urls.iter().map(String::as_str);
        let store = Arc::new(
            crate::revocation::RedisClusterStore::new(urls)?
                .prefix(self.prefix.clone())
                .timeout(self.timeout),
        );
        store.connect_soon();
        Ok(store)
    }
}

impl RevocationConfig {
    /// The store's settings; marks the listed `kinds` as checked when there is a store
    /// (configured here, by default, or, `store_attached`, in code). The default is the memory
    /// store for a service that `can_mint` tokens, and none for one that only verifies.
    pub(crate) fn resolve(
        &self,
        kinds: &mut [KindSettings],
        store_attached: bool,
        can_mint: bool,
    ) -> Result<RevocationSetup, ConfigError> {
        let listed = (self.kinds.iter().enumerate())
            .map(|(i, name)| {
                let index = kinds.iter().position(|k| k.name == *name);
                index.ok_or_else(|| {
                    ConfigError::new(
                        format!("paseto.revocation.kinds[{i}]"),
                        "names no registered token kind",
                    )
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        self.check_ranges()?;
        let explicit = self.store_setup()?;
        let store = match explicit {
            Some(store) => store,
            None if can_mint => StoreSetup::Memory,
            None => StoreSetup::None,
        };
        let has_store = store_attached || !matches!(store, StoreSetup::None);
        for index in listed {
            kinds[index].checked = has_store;
        }
        Ok(RevocationSetup {
            explicit: self.store.is_some(),
            store,
            kinds_set: self.kinds != defaults::revocation_kinds(),
            on_error: self.on_error,
            rotate: self.rotate,
            grace: Duration::from_secs(self.rotation_grace),
            max_sessions: self.max_sessions,
            keep_ip: self.keep_ip,
        })
    }

    /// Each numeric setting within its documented range.
    fn check_ranges(&self) -> Result<(), ConfigError> {
        let ranges: [(&str, u64, u64, u64, &str); 5] = [
            ("rotation_grace", self.rotation_grace, 0, 300, " seconds"),
            (
                "max_sessions",
                u64::try_from(self.max_sessions).unwrap_or(u64::MAX),
                0,
                1000,
                "",
            ),
            ("timeout_ms", self.timeout_ms, 1, 60_000, " milliseconds"),
            (
                "replica_max_lag_ms",
                self.replica_max_lag_ms,
                10,
                60_000,
                " milliseconds",
            ),
            (
                "replica_max_entries",
                u64::try_from(self.replica_max_entries).unwrap_or(u64::MAX),
                1,
                100_000_000,
                "",
            ),
        ];
        for (field, value, min, max, unit) in ranges {
            if !(min..=max).contains(&value) {
                let message = if min == 0 {
                    format!("must be at most {max}{unit}")
                } else {
                    format!("must be between {min} and {max}{unit}")
                };
                return Err(ConfigError::new(
                    format!("paseto.revocation.{field}"),
                    message,
                ));
            }
        }
        Ok(())
    }

    /// The store chosen in the configuration, if any.
    fn store_setup(&self) -> Result<Option<StoreSetup>, ConfigError> {
        self.check_urls()?;
        let Some(kind) = self.store else {
            return Ok(None);
        };
        Ok(Some(match kind {
            StoreKind::None => StoreSetup::None,
            StoreKind::Memory => StoreSetup::Memory,
            #[cfg(not(feature = "redis"))]
            StoreKind::Redis | StoreKind::RedisCluster => return Err(needs_redis_feature()),
            #[cfg(feature = "redis")]
            StoreKind::Redis => StoreSetup::Redis(RedisSetup {
                url: self.url.as_ref().map_or("", Secret::expose).to_owned(),
                prefix: self.prefix.clone(),
                timeout: Duration::from_millis(self.timeout_ms),
                replica: self.replica,
                replica_max_lag: Duration::from_millis(self.replica_max_lag_ms),
                replica_max_entries: self.replica_max_entries,
            }),
            #[cfg(feature = "redis")]
            StoreKind::RedisCluster => StoreSetup::RedisCluster(RedisClusterSetup {
                urls: self.urls.iter().map(|u| u.expose().to_owned()).collect(),
                prefix: self.prefix.clone(),
                timeout: Duration::from_millis(self.timeout_ms),
            }),
        }))
    }

    /// A Redis store without the `redis` feature: said before any other setting is checked,
    /// since no other fix helps until the feature is on.
    pub(crate) fn check_feature(&self) -> Result<(), ConfigError> {
        #[cfg(not(feature = "redis"))]
        if matches!(self.store, Some(StoreKind::Redis | StoreKind::RedisCluster)) {
            return Err(needs_redis_feature());
        }
        Ok(())
    }

    /// `url` set exactly with `store = "redis"`, `urls` exactly with `"redis-cluster"`.
    fn check_urls(&self) -> Result<(), ConfigError> {
        let (url, urls) = ("paseto.revocation.url", "paseto.revocation.urls");
        let single = self.store == Some(StoreKind::Redis);
        let cluster = self.store == Some(StoreKind::RedisCluster);
        let (field, message) = match (self.url.is_some(), self.urls.is_empty()) {
            (false, _) if single => (url, "is required with store = \"redis\""),
            (true, _) if !single => (url, "is only used with store = \"redis\""),
            (_, true) if cluster => (urls, "is required with store = \"redis-cluster\""),
            (_, false) if !cluster => (urls, "is only used with store = \"redis-cluster\""),
            _ => return Ok(()),
        };
        Err(ConfigError::new(field, message))
    }
}
#[cfg(not(feature = "redis"))]
fn needs_redis_feature() -> ConfigError {
    ConfigError::new(
        "paseto.revocation.store",
        "Redis stores need the cargo feature `redis`: \
         rocket_paseto = { version = \"…\", features = [\"redis\"] } in Cargo.toml",
    )
}

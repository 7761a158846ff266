//! The task that feeds a [`Replica`] from Redis: subscribe to the published writes, read every
//! replicated entry, then apply the writes as they come and send heartbeats; after any loss,
//! start over.
//!
//! Subscribing first and reading second leaves no gap: a write that completed before the
//! subscription is in Redis when the `SCAN` runs (which returns every key present throughout
//! it), and every later one is published to the subscription. Writes seen both ways are
//! applied twice, which changes nothing (see [`Replica`]).

use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ::redis::aio::{ConnectionManager, PubSubStream};
use ::redis::{Client, Msg, RedisResult, Value};
use rocket::futures::{FutureExt, StreamExt};
use rocket::tokio::time::{MissedTickBehavior, interval, sleep};
use time::OffsetDateTime;

use super::super::replica::Replica;
use super::super::{StoreError, add_saturating, is_replicated};
use super::commands;

/// The wait before reconnecting after a loss; it doubles at each failed attempt, up to
/// [`LAST_RETRY`].
const FIRST_RETRY: Duration = Duration::from_millis(50);
const LAST_RETRY: Duration = Duration::from_secs(2);

/// How long a replica that outgrew its bound waits before reading every entry again.
const FULL_RETRY: Duration = Duration::from_secs(60);

/// Keys looked at per `SCAN` step.
const SCAN_COUNT: usize = 1000;

/// What the task needs: its own clones of the store's client and connection.
pub(super) struct Feed {
    pub(super) client: Client,
    /// For the `SCAN`: the store's connection, which reconnects by itself.
    pub(super) connection: ConnectionManager,
    pub(super) prefix: String,
    pub(super) channel: String,
    pub(super) timeout: Duration,
    pub(super) replica: Arc<Replica>,
}

/// Why the replica stopped following.
enum Loss {
    /// A connection or command failed, or a published write could not be read.
    Feed(StoreError),
    /// It holds more entries than it may.
    Full,
}

impl From<StoreError> for Loss {
    fn from(error: StoreError) -> Self {
        Loss::Feed(error)
    }
}

impl Feed {
    /// Follows the writes for as long as the store lives (the store aborts this task). Each
    /// outage is logged once, not at every attempt.
    pub(super) async fn run(self) {
        let mut retry = FIRST_RETRY;
        let mut reported = false;
        loop {
            let mut in_step = false;
            let Err(loss) = self.follow(&mut in_step).await;
            self.replica.lose();
            if in_step {
                (retry, reported) = (FIRST_RETRY, false);
            }
            let was_reported = std::mem::replace(&mut reported, true);
            match loss {
                Loss::Full => {
                    if !was_reported {
                        rocket::warn!(
                            "rocket_paseto: the revocation replica would hold more entries than \
                             `replica_max_entries`; checks go to Redis, and it tries again \
                             every minute"
                        );
                    }
                    self.replica.clear();
                    sleep(FULL_RETRY).await;
                }
                Loss::Feed(e) if !was_reported => rocket::warn!(
                    "rocket_paseto: the revocation replica cannot follow Redis ({e}); checks \
                     go to Redis until it has read every entry again"
                ),
                Loss::Feed(_) => {}
            }
            sleep(retry).await;
            retry = (retry * 2).min(LAST_RETRY);
        }
    }

    /// Subscribes, reads every entry, then applies published writes and sends heartbeats
    /// until something fails. `in_step` is set once a heartbeat has vouched for the replica.
    async fn follow(&self, in_step: &mut bool) -> Result<Infallible, Loss> {
        let pubsub = self.bounded(self.client.get_async_pubsub()).await?;
        let (mut sink, mut stream) = pubsub.split();
        self.bounded(sink.subscribe(&self.channel)).await?;
        self.resync().await?;
        let mut beat = interval(self.replica.heartbeat());
        beat.set_missed_tick_behavior(MissedTickBehavior::Delay);
        loop {
            rocket::tokio::select! {
                message = stream.next() => self.apply(message)?,
                _ = beat.tick() => {
                    // Redis answers in order on this connection, so once the reply is back,
                    // every write published before `sent` has been received.
                    let sent = Instant::now();
                    self.bounded(sink.ping::<Value>()).await?;
                    self.drain(&mut stream)?;
                    self.replica.confirm(sent);
                    if !*in_step {
                        rocket::info!("rocket_paseto: the revocation replica is in step with Redis");
                        *in_step = true;
                    }
                }
            }
        }
    }

    /// Applies a published write; the end of the stream, or a write that cannot be read, is a
    /// loss (a resync then recovers whatever it was).
    fn apply(&self, message: Option<Msg>) -> Result<(), Loss> {
        let message = message.ok_or_else(|| StoreError::new("the subscription was closed"))?;
        let payload = std::str::from_utf8(message.get_payload_bytes());
        if !payload.is_ok_and(|payload| self.replica.apply(payload)) {
            return Err(StoreError::new("a published revocation could not be read").into());
        }
        if self.replica.is_full() {
            return Err(Loss::Full);
        }
        Ok(())
    }

    /// Applies every write already received, without waiting for more.
    fn drain(&self, stream: &mut PubSubStream) -> Result<(), Loss> {
        while let Some(message) = stream.next().now_or_never() {
            self.apply(message)?;
        }
        Ok(())
    }

    /// Reads every replicated entry under the prefix, one `SCAN` step at a time.
    async fn resync(&self) -> Result<(), Loss> {
        let mut connection = self.connection.clone();
        let pattern = format!("{}*", escape_pattern(&self.prefix));
        let mut cursor = 0u64;
        loop {
            let mut scan = ::redis::cmd("SCAN");
            scan.arg(cursor)
                .arg("MATCH")
                .arg(&pattern)
                .arg("COUNT")
                .arg(SCAN_COUNT);
            let step = scan.query_async::<(u64, Vec<String>)>(&mut connection);
            let (next, keys) = self.bounded(step).await?;
            self.copy(&keys, &mut connection).await?;
            if self.replica.is_full() {
                return Err(Loss::Full);
            }
            if next == 0 {
                return Ok(());
            }
            cursor = next;
        }
    }

    /// Copies the replicated ones among `keys` (prefixed) with their values and expiries, in
    /// one round trip.
    async fn copy(&self, keys: &[String], connection: &mut ConnectionManager) -> Result<(), Loss> {
        let keys: Vec<&String> = keys
            .iter()
            .filter(|key| key.strip_prefix(&self.prefix).is_some_and(is_replicated))
            .collect();
        if keys.is_empty() {
            return Ok(());
        }
        let mut pipe = ::redis::pipe();
        pipe.cmd("MGET").arg(&keys);
        for key in &keys {
            pipe.cmd("PTTL").arg(key);
        }
        let now = OffsetDateTime::now_utc();
        let mut replies = self
            .bounded(pipe.query_async::<Vec<Value>>(connection))
            .await?
            .into_iter();
        let unreadable = || StoreError::new("Redis answered a resync step unexpectedly");
        let values = replies.next().ok_or_else(unreadable)?;
        let values: Vec<Option<String>> =
            ::redis::from_redis_value(values).map_err(|_| unreadable())?;
        for ((key, value), ttl) in keys.iter().zip(values).zip(replies) {
            let ttl: i64 = ::redis::from_redis_value(ttl).map_err(|_| unreadable())?;
            // A negative TTL: the key expired (or lost its expiry) meanwhile.
            if let (Some(value), Ok(ttl)) = (value, u64::try_from(ttl)) {
                let until = add_saturating(now, Duration::from_millis(ttl));
                self.replica.merge(&key[self.prefix.len()..], &value, until);
            }
        }
        Ok(())
    }

    /// `command`, bounded by the store's timeout.
    async fn bounded<T>(&self, command: impl Future<Output = RedisResult<T>>) -> Result<T, Loss> {
        Ok(commands::bounded(self.timeout, command).await?)
    }
}

/// `prefix` as a `SCAN` pattern matching itself only.
fn escape_pattern(prefix: &str) -> String {
    let mut pattern = String::with_capacity(prefix.len());
    for c in prefix.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_match_only_themselves() {
        assert_eq!(escape_pattern("app:"), "app:");
        assert_eq!(escape_pattern("a*b?[c]\\"), "a\\*b\\?\\[c\\]\\\\");
    }
}

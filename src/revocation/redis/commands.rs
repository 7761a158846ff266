//! What both Redis stores send, and how they wait for it: the scripts and commands of each
//! operation, over a single server's connection or a cluster's.
//!
//! Every command names one key, except the `MGET` of [`get`]; in a cluster the client splits
//! that one by hash slot (see `RedisClusterStore`). Both scripts touch their one key only, so
//! each runs whole on the node that holds it.

use std::future::Future;
use std::time::Duration;

use ::redis::aio::ConnectionLike;
use ::redis::{Cmd, FromRedisValue, RedisError, RedisResult};
use rocket::tokio::time::timeout;
use time::OffsetDateTime;

use super::super::StoreError;

/// Sets a key with an expiry unless it already lives at least that long, so an entry is never
/// shortened, and then publishes `ARGV[3]` on channel `ARGV[2]` unless it is `""`. One round
/// trip, atomic, and available on every Redis version with Lua. Published first: should the
/// `SET` fail after it, replicas hold one revocation too many, never one too few.
const EXTEND: &str = "local ttl = redis.call('TTL', KEYS[1]) \
    if ttl < tonumber(ARGV[1]) then \
    if ARGV[3] ~= '' then redis.call('PUBLISH', ARGV[2], ARGV[3]) end \
    redis.call('SET', KEYS[1], '1', 'EX', ARGV[1]) end \
    return 1";

/// Compare and set: sets `KEYS[1]` to `ARGV[2]` for `ARGV[3]` seconds if its value is
/// `ARGV[1]` (`""`: absent), publishing `ARGV[5]` on channel `ARGV[4]` as [`EXTEND`] does.
/// Values are never empty, so `""` cannot be mistaken for one.
const SWAP: &str = "local v = redis.call('GET', KEYS[1]) \
    if (v == false and ARGV[1] == '') or v == ARGV[1] then \
    if ARGV[5] ~= '' then redis.call('PUBLISH', ARGV[4], ARGV[5]) end \
    redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3]) return 1 end \
    return 0";

/// Where a write is announced: the channel and the message, or `None` for a write that is not.
pub(super) type Announcement<'a> = Option<(&'a str, &'a str)>;

/// `prefix` followed by `key`.
pub(super) fn prefixed(prefix: &str, key: &str) -> String {
    let mut full = String::with_capacity(prefix.len() + key.len());
    full.push_str(prefix);
    full.push_str(key);
    full
}

/// Sets `key` (prefixed) until `until` unless it lives longer already ([`EXTEND`]).
pub(super) fn insert(key: &str, until: OffsetDateTime, announce: Announcement<'_>) -> Cmd {
    let (channel, message) = announce.unwrap_or(("", ""));
    let mut cmd = ::redis::cmd("EVAL");
    cmd.arg(EXTEND)
        .arg(1)
        .arg(key)
        .arg(seconds_until(until))
        .arg(channel)
        .arg(message);
    cmd
}

/// Sets `key` (prefixed) to `value` until `until` if it holds `expected` ([`SWAP`]).
pub(super) fn swap(
    key: &str,
    expected: Option<&str>,
    value: &str,
    until: OffsetDateTime,
    announce: Announcement<'_>,
) -> Cmd {
    let (channel, message) = announce.unwrap_or(("", ""));
    let mut cmd = ::redis::cmd("EVAL");
    cmd.arg(SWAP)
        .arg(1)
        .arg(key)
        .arg(expected.unwrap_or(""))
        .arg(value)
        .arg(seconds_until(until))
        .arg(channel)
        .arg(message);
    cmd
}

/// The values of `keys`, each prefixed with `prefix`.
pub(super) fn get(prefix: &str, keys: &[&str]) -> Cmd {
    let mut cmd = ::redis::cmd("MGET");
    for key in keys {
        cmd.arg(prefixed(prefix, key));
    }
    cmd
}

/// Sends `cmd` on `connection` and waits at most `limit` for the answer.
pub(super) async fn query<T: FromRedisValue>(
    connection: &mut impl ConnectionLike,
    limit: Duration,
    cmd: &Cmd,
) -> Result<T, StoreError> {
    bounded(limit, cmd.query_async::<T>(connection)).await
}

/// Waits at most `limit` for `command`.
pub(super) async fn bounded<T>(
    limit: Duration,
    command: impl Future<Output = RedisResult<T>>,
) -> Result<T, StoreError> {
    match timeout(limit, command).await {
        Ok(result) => result.map_err(fail),
        Err(_) => Err(StoreError::new("Redis did not answer in time")),
    }
}

/// Whole seconds from now until `until`, at least one.
fn seconds_until(until: OffsetDateTime) -> u64 {
    let left = (until - OffsetDateTime::now_utc()).whole_milliseconds();
    u64::try_from((left + 999) / 1000).unwrap_or(0).max(1)
}

/// Describes a Redis failure without its text, which may name the server.
pub(super) fn fail(error: RedisError) -> StoreError {
    StoreError::new(if error.is_timeout() {
        "Redis did not answer in time".to_owned()
    } else if error.is_connection_refusal() || error.is_io_error() {
        "Redis is unreachable".to_owned()
    } else {
        format!("Redis refused the command ({})", error.category())
    })
}

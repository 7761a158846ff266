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

/// A counter: adds `ARGV[1]` to `KEYS[1]` (`0`: only reads it), giving it an expiry of
/// `ARGV[2]` milliseconds when it has none (the addition that starts it), and returns the count
/// and the milliseconds left. Never published: replicas copy revocations only.
const COUNT: &str = "local n = 0 \
    if tonumber(ARGV[1]) > 0 then n = redis.call('INCRBY', KEYS[1], ARGV[1]) \
    else n = tonumber(redis.call('GET', KEYS[1]) or '0') end \
    local left = redis.call('PTTL', KEYS[1]) \
    if n > 0 and left < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) left = tonumber(ARGV[2]) end \
    if left < 0 then left = 0 end \
    return {n, left}";

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

/// Adds `by` to the counter `key` (prefixed), which ends `window` after it starts ([`COUNT`]).
pub(super) fn count(key: &str, by: u64, window: Duration) -> Cmd {
    let millis = u64::try_from(window.as_millis()).unwrap_or(u64::MAX).max(1);
    let mut cmd = ::redis::cmd("EVAL");
    cmd.arg(COUNT).arg(1).arg(key).arg(by).arg(millis);
    cmd
}

/// What [`COUNT`] answers, as a count and when it ends.
pub(super) fn counted((count, left): (u64, u64)) -> (u64, OffsetDateTime) {
    let left = time::Duration::milliseconds(i64::try_from(left).unwrap_or(i64::MAX));
    let now = OffsetDateTime::now_utc();
    (count, now.checked_add(left).unwrap_or(now))
}

/// Ends the counter `key` (prefixed).
pub(super) fn reset(key: &str) -> Cmd {
    let mut cmd = ::redis::cmd("DEL");
    cmd.arg(key);
    cmd
}

/// The values of `keys`, each prefixed with `prefix`.
pub(super) fn get(prefix: &str, keys: &[&str]) -> Cmd {
    let mut cmd = ::redis::cmd("MGET");
    // The command copies each argument: one buffer serves them all.
    let mut key_buffer = String::new();
    for key in keys {
        key_buffer.clear();
        key_buffer.push_str(prefix);
        key_buffer.push_str(key);
        cmd.arg(key_buffer.as_str());
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

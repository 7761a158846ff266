//! Whether the masters of a Redis Cluster keep their data across a restart, read once the
//! cluster store connects: a master restarted empty forgets the revocations it held, and the
//! cluster store has no replica in memory to keep refusing them (the single-server store does).

use std::collections::HashMap;
use std::time::Duration;

use ::redis::cluster_async::ClusterConnection;
use ::redis::cluster_routing::{MultipleNodeRoutingInfo, RoutingInfo};
use ::redis::{Cmd, Value};

use super::commands;

/// What one master keeps across a restart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Persistence {
    /// An append-only file, or snapshots (`save` rules).
    Some,
    /// Neither: `appendonly no` and `save ""`.
    Nothing,
    /// `CONFIG GET` was refused (renamed, disabled, or not allowed to this user).
    Unknown,
}

/// Reads `appendonly` and `save` on every master and warns, naming the master (its address,
/// never a password), when one persists nothing or cannot be asked. Never fails the store.
pub(super) async fn check(connection: &ClusterConnection, timeout: Duration) {
    let masters = match read(connection, timeout).await {
        Ok(masters) => masters,
        Err(why) => {
            rocket::warn!(
                "rocket_paseto: the persistence of the Redis Cluster's masters could not be \
                 checked ({why}). {RISK}"
            );
            return;
        }
    };
    for (master, persistence) in masters {
        match persistence {
            Persistence::Some => {}
            Persistence::Nothing => rocket::warn!(
                "rocket_paseto: Redis Cluster master {master} persists nothing (appendonly no, \
                 save \"\"). {RISK}"
            ),
            Persistence::Unknown => rocket::warn!(
                "rocket_paseto: the persistence of Redis Cluster master {master} could not be \
                 checked (CONFIG GET is renamed, disabled or not allowed to this user). {RISK}"
            ),
        }
    }
}

/// The risk, and what to do about it.
const RISK: &str = "A master restarted empty forgets the revocations it held, so revoked \
    tokens are accepted again until they expire: run every master with `appendonly yes`";

/// Each master's address and what it persists, sorted by address.
async fn read(
    connection: &ClusterConnection,
    timeout: Duration,
) -> Result<Vec<(String, Persistence)>, String> {
    // Together, so that a master that does not answer costs the first request one timeout.
    let (appendonly, save) = rocket::tokio::join!(
        setting(connection, timeout, "appendonly"),
        setting(connection, timeout, "save")
    );
    let (appendonly, save) = (appendonly?, save?);
    let mut masters: Vec<(String, Persistence)> = appendonly
        .into_iter()
        .map(|(master, appendonly)| {
            let persistence = match (appendonly, save.get(&master)) {
                (Some(appendonly), Some(Some(save))) => {
                    if appendonly == "no" && save.is_empty() {
                        Persistence::Nothing
                    } else {
                        Persistence::Some
                    }
                }
                _ => Persistence::Unknown,
            };
            (master, persistence)
        })
        .collect();
    masters.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(masters)
}

/// `CONFIG GET name` on every master: its value by master address, `None` where refused.
async fn setting(
    connection: &ClusterConnection,
    timeout: Duration,
    name: &str,
) -> Result<HashMap<String, Option<String>>, String> {
    let mut cmd = Cmd::new();
    cmd.arg("CONFIG").arg("GET").arg(name);
    // No response policy: the client answers with each master's reply by address.
    let routing = RoutingInfo::MultiNode((MultipleNodeRoutingInfo::AllMasters, None));
    let mut connection = connection.clone();
    let reply = commands::bounded(timeout, connection.route_command(cmd, routing))
        .await
        .map_err(|e| e.to_string())?;
    let Value::Map(replies) = reply else {
        return Err("unexpected reply".into());
    };
    Ok(replies
        .into_iter()
        .filter_map(|(master, reply)| {
            let master: String = ::redis::from_redis_value(master).ok()?;
            Some((master, value_of(reply, name)))
        })
        .collect())
}

/// The value of `name` in a `CONFIG GET` reply: `[name, value]`, or a map in RESP3; `None`
/// for an error reply.
fn value_of(reply: Value, name: &str) -> Option<String> {
    let settings: HashMap<String, String> = ::redis::from_redis_value(reply).ok()?;
    settings.get(name).cloned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_replies_are_read_in_both_protocols() {
        let bulk = |s: &str| Value::BulkString(s.as_bytes().to_vec());
        let resp2 = Value::Array(vec![bulk("save"), bulk("")]);
        assert_eq!(value_of(resp2, "save").as_deref(), Some(""));
        let resp3 = Value::Map(vec![(bulk("appendonly"), bulk("yes"))]);
        assert_eq!(value_of(resp3, "appendonly").as_deref(), Some("yes"));
        assert_eq!(value_of(Value::Nil, "save"), None);
    }
}

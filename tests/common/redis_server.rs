//! Helpers of the Redis tests: the shared server's URL, `paseto` tables that use it, servers
//! of a test's own, and what Redis says it was asked.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};

use super::{free_port, keys, random_id};

/// The shared server's URL, or `None` (with a note) when it is not set outside CI.
pub fn redis_url() -> Option<String> {
    match std::env::var("REDIS_URL") {
        Ok(url) => Some(url),
        Err(_) if std::env::var_os("CI").is_some() => {
            panic!("REDIS_URL is not set: .ci/run starts redis-server and sets it")
        }
        Err(_) => {
            eprintln!("SKIPPED: set REDIS_URL to a Redis server to run the Redis tests");
            None
        }
    }
}

/// A `paseto` table using Redis at `url` under `prefix`, with the default replica.
pub fn replica_config(url: &str, prefix: &str) -> Value {
    let mut config = keys();
    config["leeway"] = json!(5);
    config["revocation"] = json!({
        "store": "redis",
        "url": url,
        "prefix": prefix,
        "timeout_ms": 300,
    });
    config
}

/// A `paseto` table using Redis at `url` under `prefix`, without the replica: every check is
/// a round trip, so what one instance revokes is refused by another from its next request on.
pub fn direct_config(url: &str, prefix: &str) -> Value {
    let mut config = replica_config(url, prefix);
    config["revocation"]["replica"] = json!(false);
    config
}

/// A key prefix of a test's own, so tests sharing a server do not meet.
pub fn prefix() -> String {
    format!("test:{}:", random_id())
}

/// A `redis-server` of a test's own, stopped on drop.
pub struct OwnServer {
    child: Child,
    pub port: u16,
}

impl OwnServer {
    /// A server on a free port.
    pub fn start() -> OwnServer {
        Self::start_on(free_port())
    }

    /// A server on `port` (e.g. again, after stopping one there).
    pub fn start_on(port: u16) -> OwnServer {
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args([
                "--save",
                "",
                "--appendonly",
                "no",
                "--enable-debug-command",
                "local",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server is installed");
        let server = OwnServer { child, port };
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return server;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("redis-server did not start on port {port}");
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }
}

impl Drop for OwnServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A connection to the server at `url`, for the tests' own commands.
pub async fn connect(url: &str) -> redis::aio::MultiplexedConnection {
    let client = redis::Client::open(url).unwrap();
    client.get_multiplexed_async_connection().await.unwrap()
}

/// How many `MGET`s the server at `url` has answered: one per guard check that went to Redis.
pub async fn mget_calls(url: &str) -> u64 {
    calls(url, "mget").await
}

/// How many times the server at `url` has run `command` (lower case), by its `INFO`.
pub async fn calls(url: &str, command: &str) -> u64 {
    let mut connection = connect(url).await;
    let info: String = redis::cmd("INFO")
        .arg("commandstats")
        .query_async(&mut connection)
        .await
        .unwrap();
    let prefix = format!("cmdstat_{command}:calls=");
    info.lines()
        .find_map(|line| line.strip_prefix(prefix.as_str()))
        .and_then(|rest| rest.split(',').next())
        .map_or(0, |calls| calls.parse().unwrap())
}

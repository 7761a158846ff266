//! Helpers of the Redis Cluster tests: the shared cluster's node URLs, `paseto` tables that use
//! it, clusters of a test's own whose nodes can be stopped and restarted, and where a key lives.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use redis::Value;
use serde_json::{Value as Json, json};

use super::keys;
use super::redis_server::connect;

/// The shared cluster's node URLs, or `None` (with a note) when they are not set outside CI.
pub fn cluster_urls() -> Option<Vec<String>> {
    match std::env::var("REDIS_CLUSTER_URLS") {
        Ok(urls) => Some(urls.split(',').map(str::to_owned).collect()),
        Err(_) if std::env::var_os("CI").is_some() => {
            panic!("REDIS_CLUSTER_URLS is not set: .ci/run starts a Redis Cluster and sets it")
        }
        Err(_) => {
            eprintln!(
                "SKIPPED: set REDIS_CLUSTER_URLS to the comma-separated node URLs of a Redis \
                 Cluster to run the cluster tests"
            );
            None
        }
    }
}

/// A `paseto` table using the cluster at `urls` under `prefix`, otherwise at the defaults.
pub fn cluster_config(urls: &[String], prefix: &str) -> Json {
    let mut config = keys();
    config["leeway"] = json!(5);
    config["revocation"] = json!({
        "store": "redis-cluster",
        "urls": urls,
        "prefix": prefix,
        "timeout_ms": 300,
    });
    config
}

/// The hash slot of `key`, as the node at `url` computes it.
pub async fn keyslot(url: &str, key: &str) -> u16 {
    let mut connection = connect(url).await;
    redis::cmd("CLUSTER")
        .arg("KEYSLOT")
        .arg(key)
        .query_async(&mut connection)
        .await
        .unwrap()
}

/// The port of the master that holds `slot`, as the node at `url` sees it.
pub async fn owner(url: &str, slot: u16) -> u16 {
    let mut connection = connect(url).await;
    let ranges: Vec<Value> = redis::cmd("CLUSTER")
        .arg("SLOTS")
        .query_async(&mut connection)
        .await
        .unwrap();
    for range in ranges {
        // [start, end, [host, port, id, …], replicas…]
        let Value::Array(items) = range else {
            panic!("unexpected CLUSTER SLOTS entry {range:?}");
        };
        let start: u16 = redis::from_redis_value(items[0].clone()).unwrap();
        let end: u16 = redis::from_redis_value(items[1].clone()).unwrap();
        let master: Vec<Value> = redis::from_redis_value(items[2].clone()).unwrap();
        if (start..=end).contains(&slot) {
            return redis::from_redis_value(master[1].clone()).unwrap();
        }
    }
    panic!("slot {slot} is not served")
}

/// A three-master cluster of a test's own, each node in a directory of its own (holding its
/// `nodes.conf`, so a stopped node restarts as the same member); stopped on drop.
pub struct OwnCluster {
    dir: PathBuf,
    pub ports: Vec<u16>,
    nodes: Vec<Option<Child>>,
}

impl OwnCluster {
    /// Starts three nodes on free ports and joins them into one cluster.
    pub async fn start() -> OwnCluster {
        let ports: Vec<u16> = (0..3).map(|_| cluster_port()).collect();
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("cluster-{}", ports[0]));
        let mut cluster = OwnCluster {
            dir,
            ports,
            nodes: vec![None, None, None],
        };
        for node in 0..3 {
            cluster.start_node(node);
        }
        let addresses = cluster.ports.iter().map(|p| format!("127.0.0.1:{p}"));
        let created = Command::new("redis-cli")
            .arg("--cluster")
            .arg("create")
            .args(addresses)
            .args(["--cluster-replicas", "0", "--cluster-yes"])
            .stdout(Stdio::null())
            .status()
            .expect("redis-cli is installed");
        assert!(created.success(), "redis-cli --cluster create failed");
        cluster.wait_until_ok().await;
        cluster
    }

    pub fn urls(&self) -> Vec<String> {
        self.ports
            .iter()
            .map(|p| format!("redis://127.0.0.1:{p}/"))
            .collect()
    }

    /// Stops the node on `port` for real (SIGKILL: no goodbye to the cluster).
    pub fn stop(&mut self, port: u16) {
        let node = self.index(port);
        let mut child = self.nodes[node].take().expect("the node runs");
        child.kill().unwrap();
        child.wait().unwrap();
    }

    /// Starts the node on `port` again from its directory, and waits until the cluster is whole.
    pub async fn restart(&mut self, port: u16) {
        let node = self.index(port);
        self.start_node(node);
        self.wait_until_ok().await;
    }

    fn index(&self, port: u16) -> usize {
        self.ports.iter().position(|&p| p == port).expect("a node")
    }

    fn start_node(&mut self, node: usize) {
        let port = self.ports[node];
        let dir = self.dir.join(port.to_string());
        std::fs::create_dir_all(&dir).unwrap();
        let child = Command::new("redis-server")
            .current_dir(&dir)
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args([
                "--cluster-enabled",
                "yes",
                "--cluster-config-file",
                "nodes.conf",
            ])
            .args([
                "--cluster-node-timeout",
                "2000",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server is installed");
        self.nodes[node] = Some(child);
        let start = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                start.elapsed() < Duration::from_secs(5),
                "node {port} did not start"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits until every node says `cluster_state:ok`.
    async fn wait_until_ok(&self) {
        let start = Instant::now();
        for url in self.urls() {
            loop {
                let mut connection = connect(&url).await;
                let info: String = redis::cmd("CLUSTER")
                    .arg("INFO")
                    .query_async(&mut connection)
                    .await
                    .unwrap();
                if info.contains("cluster_state:ok") {
                    break;
                }
                assert!(
                    start.elapsed() < Duration::from_secs(20),
                    "the cluster is not ok"
                );
                rocket::tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}

impl Drop for OwnCluster {
    fn drop(&mut self) {
        for child in self.nodes.iter_mut().flatten() {
            let _ = child.kill();
            let _ = child.wait();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A free port whose cluster bus port (10000 above) is free too.
fn cluster_port() -> u16 {
    loop {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        if port < 55_000 && TcpListener::bind(("127.0.0.1", port + 10_000)).is_ok() {
            return port;
        }
    }
}

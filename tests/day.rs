//! The `day` example (the load of `bench/day.sh`) against `bench_server`: users sign in, read,
//! refresh and sign out, and no token is accepted once its sign-out has settled. On one
//! instance with the memory store, and, with the `redis` feature and `REDIS_URL`, on two
//! instances sharing Redis, each request going to either.
//!
//! The examples are built by `cargo test`; for the Redis run, build them with the feature first:
//!
//! ```sh
//! cargo build --features redis --examples
//! REDIS_URL=redis://127.0.0.1:6390/ cargo test --features redis --test day
//! ```

mod common;

use common::{run_example, serve_example};
use serde_json::Value;

/// Runs the day for `seconds` against `ports` and returns its result line.
fn day(ports: &[u16], seconds: u64) -> Value {
    let targets: Vec<String> = ports
        .iter()
        .map(|p| format!("http://127.0.0.1:{p}"))
        .collect();
    let output = run_example("day", &[]);
    // Without arguments it names what it needs, and exits 2.
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("--targets"));
    let output = std::process::Command::new(common::example("day"))
        .args(["--targets", &targets.join(",")])
        .args(["--seconds", &seconds.to_string()])
        .args(["--connections", "4", "--users", "40", "--reads", "100-400"])
        .args(["--refresh-after-ms", "100", "--settle-ms", "250"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let stdout = String::from_utf8(output.stdout).unwrap();
    let line = stdout.lines().find_map(|l| l.strip_prefix("day ")).unwrap();
    serde_json::from_str(line).unwrap()
}

/// Every route was used, nothing was answered unexpectedly, and no ended token got through.
fn assert_clean(result: &Value) {
    assert_eq!(result["revoked_accepted"], 0, "{result}");
    for route in ["login", "read", "refresh", "logout", "revoked"] {
        let figures = &result["routes"][route];
        assert!(
            figures["requests"].as_u64().unwrap() > 0,
            "{route}: {result}"
        );
        assert_eq!(figures["unexpected"], 0, "{route}: {result}");
    }
    // Ended tokens are tried with a read and a refresh on each instance: the refused ones.
    let logouts = result["routes"]["logout"]["requests"].as_u64().unwrap();
    let tried = result["routes"]["revoked"]["requests"].as_u64().unwrap();
    assert!(tried >= logouts * 2, "{result}");
}

/// Access tokens of 2 s (the load refreshes them after 100 ms), with a second of leeway, in
/// `store`, under the test keys: instances given the same accept each other's tokens.
fn config(store: &str) -> String {
    let (local, secret) = (common::LOCAL, common::SECRET);
    format!(
        "{{local_key=\"{local}\",secret_key=\"{secret}\",leeway=1,access={{ttl=2}},\
         revocation={store}}}"
    )
}

#[test]
fn a_day_on_one_instance_accepts_no_ended_token() {
    let server = serve_example(
        "bench_server",
        &[("ROCKET_PASETO", &config("{store=\"memory\"}"))],
    );
    assert_clean(&day(&[server.port], 3));
}

#[cfg(feature = "redis")]
#[test]
fn a_day_on_two_instances_sharing_redis_accepts_no_ended_token() {
    let Some(url) = common::redis_server::redis_url() else {
        return;
    };
    // The prefix keeps this test's entries apart.
    let store = format!(
        "{{store=\"redis\",url=\"{url}\",prefix=\"day:{}:\"}}",
        common::random_id()
    );
    let one = serve_example("bench_server", &[("ROCKET_PASETO", &config(&store))]);
    let two = serve_example("bench_server", &[("ROCKET_PASETO", &config(&store))]);
    assert_clean(&day(&[one.port, two.port], 4));
}

/// What the count is for: two instances that each keep revocations in their own memory accept
/// the tokens the other one ended, and the day finds them.
#[test]
fn a_day_on_two_instances_without_a_shared_store_finds_ended_tokens_accepted() {
    let memory = config("{store=\"memory\"}");
    let one = serve_example("bench_server", &[("ROCKET_PASETO", &memory)]);
    let two = serve_example("bench_server", &[("ROCKET_PASETO", &memory)]);
    let result = day(&[one.port, two.port], 3);
    assert!(result["revoked_accepted"].as_u64().unwrap() > 0, "{result}");
}

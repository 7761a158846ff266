//! `bench/faults.sh` with short phases: the `sessions` example on the Redis store, under wrk
//! load, while its redis-server is stopped and restarted empty. The script's own pass
//! conditions must hold (no 500, no panic, only 503s while Redis is down, no revoked token
//! accepted, recovery within seconds, flat memory), and must fail when tokens are accepted
//! unchecked during the outage (`on_error = "allow"`), so that a pass means something.
//!
//! Needs `wrk`, `redis-server` and `python3`; runs when `REDIS_URL` is set, as the other Redis
//! tests do (it starts a redis-server of its own). The script builds the example.

#![cfg(feature = "redis")]

mod common;

use std::path::Path;
use std::process::{Command, Output};
use std::sync::Mutex;

use serde_json::Value;

use common::free_port;
use common::redis_server::redis_url;

/// Seconds per phase: enough for the second client to meet every phase a few times.
const PHASE_SECONDS: &str = "3";

/// One run at a time: each takes the machine's cores with wrk and a server.
static ONE_RUN: Mutex<()> = Mutex::new(());

/// Runs the script with `on_error` and returns its output and JSON summary.
fn run_faults(on_error: &str) -> (Output, Value) {
    let _one_run = ONE_RUN
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let summary = std::env::temp_dir().join(format!("faults-{}-{on_error}.json", free_port()));
    let mut script = Command::new("bash");
    // What cargo sets for this test binary (`CARGO_MANIFEST_DIR`, `CARGO_PKG_*`, ...) would
    // reach the script's `cargo build`, whose dependencies' build scripts watch some of it:
    // they would be rebuilt here, and again by the next cargo command outside.
    for (name, _) in std::env::vars_os() {
        let name = name.to_string_lossy();
        if name.starts_with("CARGO_") && name != "CARGO_HOME" && name != "CARGO_TARGET_DIR" {
            script.env_remove(&*name);
        }
    }
    let output = script
        .arg(root.join("bench/faults.sh"))
        .env("PHASE_SECONDS", PHASE_SECONDS)
        .env("CONNECTIONS", "8")
        .env("PORT", free_port().to_string())
        .env("REDIS_PORT", free_port().to_string())
        .env("ON_ERROR", on_error)
        .env("SUMMARY", &summary)
        .output()
        .expect("bash runs");
    let text = std::fs::read_to_string(&summary).unwrap_or_else(|_| {
        panic!(
            "no summary; the script said:\n{}\n{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
    });
    let _ = std::fs::remove_file(&summary);
    (output, serde_json::from_str(&text).expect("a JSON summary"))
}

fn failures(summary: &Value) -> Vec<String> {
    summary["failures"]
        .as_array()
        .expect("a list of failures")
        .iter()
        .map(|failure| failure.as_str().unwrap().to_owned())
        .collect()
}

fn tools_present() -> bool {
    let present = |tool: &str| Command::new(tool).arg("--version").output().is_ok();
    let all = ["wrk", "redis-server", "python3"].into_iter().all(present);
    if !all && std::env::var_os("CI").is_some() {
        panic!("wrk, redis-server and python3 are needed: .ci/run installs them");
    }
    if !all {
        eprintln!("SKIPPED: install wrk, redis-server and python3 to run bench/faults.sh");
    }
    all
}

#[test]
fn logins_survive_a_redis_outage_and_revoked_tokens_stay_revoked() {
    if redis_url().is_none() || !tools_present() {
        return;
    }
    let (output, summary) = run_faults("reject");
    let stdout = String::from_utf8_lossy(&output.stdout);
    println!("{stdout}");
    assert!(output.status.success(), "{:?}", failures(&summary));
    assert_eq!(summary["pass"], true);
    // The outage was one: the load route met 503s, and the second client's requests too.
    let outage = &summary["load"]["outage"]["counts"];
    assert!(outage["503"].as_u64().unwrap() > 0, "{outage}");
    let revoked = &summary["requests"]["outage"]["revoked access /user"];
    assert!(revoked["503"].as_u64().unwrap_or(0) > 0, "{revoked}");
    // Service came back, and was measured.
    for route in ["load /user (probe)", "refresh"] {
        assert!(summary["recovery_ms"][route].is_u64(), "{route}");
    }
}

#[test]
fn accepting_tokens_unchecked_during_the_outage_fails_the_run() {
    if redis_url().is_none() || !tools_present() {
        return;
    }
    let (output, summary) = run_faults("allow");
    assert!(!output.status.success());
    let failures = failures(&summary);
    let revoked_accepted = |f: &String| f.contains("a revoked token was accepted");
    assert!(failures.iter().any(revoked_accepted), "{failures:?}");
    let load_not_refused = |f: &String| f.starts_with("outage: the load route");
    assert!(failures.iter().any(load_not_refused), "{failures:?}");
}

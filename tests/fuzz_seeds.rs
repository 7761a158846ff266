//! Replays the committed fuzz seeds (`tests/fuzz/seeds/<target>/`) through the fuzz targets'
//! bodies (`tests/fuzz/bodies.rs`, also compiled into the cargo-fuzz targets in `fuzz/`) on
//! stable Rust, so CI exercises every target without a fuzzer.

#[path = "fuzz/bodies.rs"]
mod bodies;

use std::fs;
use std::path::Path;

fn replay(target: &str, body: fn(&[u8])) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fuzz/seeds")
        .join(target);
    let mut count = 0;
    for entry in fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.unwrap().path();
        body(&fs::read(&path).unwrap());
        count += 1;
    }
    println!("fuzz seeds {target}: {count} replayed");
    assert!(count > 0, "no seeds for {target}");
}

#[test]
fn header() {
    replay("header", bodies::header);
}

#[test]
fn token() {
    replay("token", bodies::token);
}

#[test]
fn footer() {
    replay("footer", bodies::footer);
}

#[test]
fn claims() {
    replay("claims", bodies::claims);
}

#[test]
fn local() {
    replay("local", bodies::local);
}

#[test]
fn config() {
    replay("config", bodies::config);
}

#[test]
fn public() {
    replay("public", bodies::public);
}

//! The TOML snippets of README.md and docs/ are real configuration: each parses, and each
//! `paseto` block loads through the fairing (with the test keys in place of the `…`
//! placeholders), so a renamed or misspelt key in the docs fails here. The Rust snippets are
//! doctests (see `src/lib.rs`).

mod common;

use std::path::Path;

use rocket::figment::Figment;
use rocket::figment::providers::{Format, Serialized, Toml};
use rocket_paseto::__private::Config;
use rocket_paseto::PasetoFairing;

/// Every ```toml block of the guide at `path` (relative to the crate).
fn toml_blocks(path: &str) -> Vec<String> {
    let text = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(path))
        .unwrap_or_else(|e| panic!("{path}: {e}"));
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in text.lines() {
        match (&mut current, line.trim_start()) {
            (None, "```toml") => current = Some(String::new()),
            (Some(block), "```") => {
                blocks.push(std::mem::take(block));
                current = None;
            }
            (Some(block), _) => {
                block.push_str(line);
                block.push('\n');
            }
            (None, _) => {}
        }
    }
    blocks
}

fn guides() -> Vec<String> {
    let mut paths = vec!["README.md".to_owned()];
    for entry in std::fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs")).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        if name.ends_with(".md") {
            paths.push(format!("docs/{name}"));
        }
    }
    paths
}

/// The placeholders of the docs replaced by real (test) keys.
/// Each `"k4.public.…"` gets a key of its own (a list of keys may not repeat one).
fn with_keys(block: &str) -> String {
    let other = rocket_paseto::__private::SecretKey::parse(common::OTHER_SECRET)
        .unwrap()
        .public_key()
        .to_paserk();
    let mut publics = [common::PUBLIC.to_owned(), other].into_iter().cycle();
    let mut text = block
        .replace("\"k4.local.…\"", &format!("{:?}", common::LOCAL))
        .replace("\"k4.secret.…\"", &format!("{:?}", common::SECRET));
    while let Some(at) = text.find("\"k4.public.…\"") {
        let key = format!("{:?}", publics.next().unwrap());
        text.replace_range(at..at + "\"k4.public.…\"".len(), &key);
    }
    text
}

/// The profile of a block's first `[<profile>.paseto…]` table.
fn profile(block: &str) -> Option<String> {
    block.lines().find_map(|line| {
        let table = line.trim().strip_prefix('[')?.strip_suffix(']')?;
        let (profile, rest) = table.split_once('.')?;
        rest.starts_with("paseto").then(|| profile.to_owned())
    })
}

#[test]
fn every_paseto_snippet_in_the_guides_is_valid_configuration() {
    let mut checked = 0;
    for path in guides() {
        for block in toml_blocks(&path) {
            let parsed = Figment::from(Toml::string(&block));
            parsed
                .extract::<rocket::figment::value::Dict>()
                .unwrap_or_else(|e| panic!("{path}: not TOML: {e}\n{block}"));
            let Some(profile) = profile(&block) else {
                continue;
            };
            let figment = Figment::new()
                .merge(Toml::string(&with_keys(&block)).nested())
                .select(profile.as_str());
            let config =
                Config::from_figment(&figment).unwrap_or_else(|e| panic!("{path}: {e}\n{block}"));
            // A Redis store needs the cargo feature and a server, and key discovery its
            // feature; their shape was checked above.
            let discovery_built = config.discovery.is_none() || cfg!(feature = "discovery");
            if config.revocation.store.is_none() && discovery_built {
                let local_key = serde_json::json!({ "paseto": { "local_key": common::LOCAL } });
                let with_local = Figment::new()
                    .merge(Serialized::from(local_key, profile.as_str()))
                    .merge(Toml::string(&with_keys(&block)).nested())
                    .select(profile.as_str());
                PasetoFairing::default()
                    .load(&with_local)
                    .unwrap_or_else(|e| panic!("{path}: {e}\n{block}"));
            }
            checked += 1;
        }
    }
    assert!(checked >= 5, "only {checked} configuration snippets found");
}

/// docs/configuration.md is where every key and its default live: each key with a default
/// value is in its tables, and each key in its tables is a real one.
#[test]
fn the_configuration_guide_documents_every_key() {
    let reference = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/configuration.md"),
    )
    .unwrap();
    let documented: Vec<String> = reference
        .lines()
        .filter_map(|line| line.strip_prefix("| `"))
        .filter_map(|rest| rest.split_once('`').map(|(key, _)| key.to_owned()))
        .collect();
    assert!(documented.len() > 40, "{documented:?}");
    let defaults = serde_json::to_value(Config::default()).unwrap();
    let mut keys = Vec::new();
    flatten("", &defaults, &mut keys);
    assert!(keys.len() >= 30, "{keys:?}");
    for key in &keys {
        assert!(
            documented.contains(key),
            "docs/configuration.md lacks `{key}`"
        );
    }
    // Every documented key is a real one: given a value of the wrong type, the error is about
    // the type, never an unknown field (`Config` refuses unknown keys).
    for key in documented.iter().filter(|k| !k.contains('<')) {
        let wrong = rocket::figment::value::Value::from(vec![vec![1u8]]);
        let figment = Figment::new().merge((format!("paseto.{key}"), wrong));
        let error = Config::from_figment(&figment).expect_err(key).to_string();
        assert!(!error.contains("unknown"), "`{key}`: {error}");
    }
}

/// The dotted keys of the leaves of `value`.
fn flatten(prefix: &str, value: &serde_json::Value, keys: &mut Vec<String>) {
    match value.as_object() {
        // A table whose keys are all unset by default (`access`, or `kinds`, documented as
        // `kinds.<name>.…`) has no leaf to check.
        Some(table) => {
            for (name, inner) in table {
                let key = if prefix.is_empty() {
                    name.clone()
                } else {
                    format!("{prefix}.{name}")
                };
                flatten(&key, inner, keys);
            }
        }
        // Unset by default: documented with "none", not checked here.
        None if value.is_null() => {}
        None => keys.push(prefix.to_owned()),
    }
}

/// The record of the public API in docs/public-api.txt: every struct, enum and trait at one
/// path, at most 43 of them, none of them internal (the token core or the configuration
/// table), and each one explained in the crate docs' "API at a glance".
#[test]
fn the_public_api_is_small_and_each_type_is_explained() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let record = std::fs::read_to_string(root.join("docs/public-api.txt")).unwrap();
    let lib = std::fs::read_to_string(root.join("src/lib.rs")).unwrap();
    let glance = lib
        .split_once("//! # API at a glance")
        .expect("src/lib.rs has an \"API at a glance\" section")
        .1;
    let glance = &glance[..glance.find("\n//! #").unwrap_or(glance.len())];
    let mut names: Vec<&str> = Vec::new();
    for line in record.lines() {
        let line = line.trim_start_matches("#[non_exhaustive] ");
        let Some(path) = ["pub struct ", "pub enum ", "pub trait "]
            .iter()
            .find_map(|kind| line.strip_prefix(kind))
        else {
            continue;
        };
        let path = path.split(['<', '(', ' ']).next().unwrap();
        let path = path.trim_end_matches(':');
        assert!(
            !path.starts_with("rocket_paseto::token::")
                && !path.starts_with("rocket_paseto::config::"),
            "{path} is internal"
        );
        let name = path.rsplit("::").next().unwrap();
        assert!(!names.contains(&name), "{name} is at two paths");
        assert!(
            glance.contains(&format!("`{name}`")),
            "\"API at a glance\" lacks {name}"
        );
        names.push(name);
    }
    // Two more than before: `Event` and `EventKind`, which the events hook receives.
    assert!(
        (30..=43).contains(&names.len()),
        "{} types: {names:?}",
        names.len()
    );
}

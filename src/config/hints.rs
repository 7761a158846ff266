//! What configuration errors and warnings add so they name the fix: the setting a misspelled
//! name was probably meant to be, the unit of a duration, how to write the `paseto` table in the
//! environment, and tables that look like `paseto` but are not read.

use std::collections::BTreeMap;

use rocket::figment::Figment;
use serde::de::IgnoredAny;

/// Settings given in whole seconds.
const SECONDS: &[&str] = &[
    "ttl",
    "fresh_for",
    "leeway",
    "session_ttl",
    "rotation_grace",
    "max_age",
    "publish_keys_max_age",
    "refresh_secs",
    "min_refetch_secs",
    "account_window",
    "address_window",
];

/// Settings given in milliseconds.
const MILLISECONDS: &[&str] = &["timeout_ms", "replica_max_lag_ms"];

/// The known name closest to `unknown`, when it is close enough to be a slip of the keyboard
/// (an edit or two, ignoring case).
pub(super) fn nearest<'a>(unknown: &str, known: &[&'a str]) -> Option<&'a str> {
    let unknown = unknown.to_ascii_lowercase();
    known
        .iter()
        .map(|name| (edit_distance(&unknown, name), *name))
        .filter(|(distance, name)| *distance <= (name.len() / 4).clamp(1, 3))
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, name)| name)
}

/// The unit of setting `name`, when it is a duration: for messages about its type.
pub(super) fn unit_of(name: &str) -> Option<&'static str> {
    if SECONDS.contains(&name) {
        Some("a whole number of seconds, e.g. 900 for 15 minutes")
    } else if MILLISECONDS.contains(&name) {
        Some("a whole number of milliseconds")
    } else {
        None
    }
}

/// For a `paseto` that is not a table, most often `ROCKET_PASETO` given without braces.
pub(super) const TABLE_EXPECTED: &str = "must be a table: `[default.paseto]` in Rocket.toml, or \
     in the environment the keys in braces, e.g. ROCKET_PASETO='{local_key=\"k4.local.…\"}'";

/// Warnings about top-level settings that look meant for this crate but are not read: a table
/// whose name is close to `paseto`, or `ROCKET_PASETO_<KEY>` variables (the environment only
/// nests keys written in braces).
pub(crate) fn unread_tables(figment: &Figment) -> Vec<String> {
    let Ok(top) = figment.extract::<BTreeMap<String, IgnoredAny>>() else {
        return Vec::new();
    };
    top.keys()
        .filter(|name| name.as_str() != "paseto")
        .filter_map(|name| {
            let lower = name.to_ascii_lowercase();
            if let Some(key) = lower.strip_prefix("paseto_") {
                Some(format!(
                    "`{name}` is not read: to set `paseto.{key}` from the environment, write \
                     ROCKET_PASETO='{{{key}=…}}'"
                ))
            } else if edit_distance(&lower, "paseto") <= 1 {
                Some(format!(
                    "the table `{name}` is not read: did you mean `paseto`?"
                ))
            } else {
                None
            }
        })
        .collect()
}

/// The edits (insertions, deletions, substitutions, and swaps of two neighbours, the commonest
/// slip) that turn `a` into `b`, by characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    // Three rows of the table: two rows back (for swaps), the previous one and this one.
    let mut before: Vec<usize> = vec![0; b.len() + 1];
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for i in 0..a.len() {
        let mut current = vec![i + 1; b.len() + 1];
        for j in 0..b.len() {
            let substitution = previous[j] + usize::from(a[i] != b[j]);
            let mut best = substitution.min(previous[j + 1] + 1).min(current[j] + 1);
            if i > 0 && j > 0 && a[i] == b[j - 1] && a[i - 1] == b[j] {
                best = best.min(before[j - 1] + 1);
            }
            current[j + 1] = best;
        }
        before = std::mem::replace(&mut previous, current);
    }
    previous[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn misspellings_find_the_setting_and_strangers_find_none() {
        let known = ["local_key", "secret_key", "leeway", "ttl", "session_ttl"];
        assert_eq!(nearest("lcoal_key", &known), Some("local_key"));
        assert_eq!(nearest("Local_Key", &known), Some("local_key"));
        assert_eq!(nearest("secretkey", &known), Some("secret_key"));
        assert_eq!(nearest("tll", &known), Some("ttl"));
        assert_eq!(nearest("port", &known), None);
        assert_eq!(nearest("key", &known), None);
    }

    #[test]
    fn distances() {
        assert_eq!(edit_distance("paseto", "paseto"), 0);
        assert_eq!(edit_distance("pasteo", "paseto"), 1);
        assert_eq!(edit_distance("psaeto", "paseto"), 1);
        assert_eq!(edit_distance("pasta", "paseto"), 2);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }
}

//! The defaults of the configuration's fields, for `#[serde(default = …)]`.

pub fn max_token_length() -> usize {
    crate::token::DEFAULT_MAX_TOKEN_LENGTH
}
pub fn session_ttl() -> u64 {
    90 * 24 * 60 * 60
}
pub fn single_use_ttl() -> u64 {
    crate::kind::SINGLE_USE_TTL.as_secs()
}
pub fn rotation_grace() -> u64 {
    15
}
pub fn max_sessions() -> usize {
    32
}
pub fn cache_size() -> usize {
    1024
}
pub fn publish_keys_max_age() -> u64 {
    300
}
pub fn header() -> String {
    "Authorization".into()
}
pub fn scheme() -> String {
    "Bearer".into()
}
pub fn csrf_header() -> String {
    "X-CSRF-Token".into()
}
pub fn enabled() -> bool {
    true
}
pub fn csrf_field() -> String {
    "_csrf".into()
}
pub fn csrf_exempt_methods() -> Vec<String> {
    ["GET", "HEAD", "OPTIONS", "TRACE"]
        .map(String::from)
        .to_vec()
}
pub fn csrf_cookie() -> String {
    "csrf_token".into()
}
pub fn jar_ttl() -> u64 {
    86400
}
pub fn revocation_prefix() -> String {
    "rocket_paseto:".into()
}
pub fn revocation_kinds() -> Vec<String> {
    vec!["access".into(), "refresh".into()]
}
pub fn revocation_timeout_ms() -> u64 {
    500
}
pub fn replica_max_lag_ms() -> u64 {
    100
}
pub fn replica_max_entries() -> usize {
    1_000_000
}

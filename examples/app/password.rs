//! Password hashing: argon2id with a random salt per password, stored as a PHC string.

use std::sync::LazyLock;

use argon2::Argon2;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use rocket::tokio::task::spawn_blocking;

/// A hash of a password nobody knows, with the same parameters as real ones: logins of unknown
/// users verify against it, so they take as long as logins with a wrong password.
static DUMMY_HASH: LazyLock<Option<String>> = LazyLock::new(|| {
    let mut secret = [0u8; 32];
    getrandom::fill(&mut secret).ok()?;
    hash_now(&secret)
});

/// Hashing costs tens of milliseconds of CPU (and 19 MiB of memory) by design: it runs on
/// Rocket's blocking pool, never on the async workers. `None` when hashing fails.
pub async fn hash(password: String) -> Option<String> {
    spawn_blocking(move || hash_now(password.as_bytes()))
        .await
        .ok()
        .flatten()
}

/// Whether `password` matches the PHC string `stored`. With no stored hash (an unknown user),
/// a hash is still verified, and the answer is `false`.
pub async fn verify(password: String, stored: Option<String>) -> bool {
    spawn_blocking(move || {
        let known = stored.is_some();
        let hash = stored.or_else(|| DUMMY_HASH.clone());
        let matches = hash.is_some_and(|hash| {
            Argon2::default()
                .verify_password(password.as_bytes(), hash.as_str())
                .is_ok()
        });
        known && matches
    })
    .await
    .unwrap_or(false)
}

/// Computes the dummy hash in the background now, rather than in the first login of an
/// unknown user (whose answer would otherwise be the slower one).
pub fn warm_up() {
    drop(spawn_blocking(|| LazyLock::force(&DUMMY_HASH).is_some()));
}

/// Argon2id (v19, the crate's default parameters: 19 MiB, 2 passes) with a fresh random salt.
fn hash_now(password: &[u8]) -> Option<String> {
    let hash = Argon2::default().hash_password(password).ok()?;
    Some(hash.to_string())
}

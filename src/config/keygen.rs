//! Fresh keys as a ready `Rocket.toml` block.

use crate::token::{KeyError, LocalKey, SecretKey};

/// Generates a new local key and signing key and returns them as a `[<profile>.paseto]` block
/// for `Rocket.toml` (or a secrets store), with the public key for services that only verify.
///
/// From your own project, a three-line `examples/keygen.rs` prints it:
///
/// ```no_run
/// fn main() {
///     print!("{}", rocket_paseto::generate_keys("release").expect("the OS random source"));
/// }
/// ```
///
/// Then `cargo run --example keygen >> Rocket.toml`. The secret keys exist only in what this
/// returns: store them like passwords.
// The snippet is a whole `examples/keygen.rs`, `main` included.
#[allow(clippy::needless_doctest_main)]
pub fn generate_keys(profile: &str) -> Result<String, KeyError> {
    let local = LocalKey::generate()?;
    let secret = SecretKey::generate()?;
    let public = secret.public_key();
    let bare = !profile.is_empty()
        && profile
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    let table = if bare {
        profile.to_owned()
    } else {
        // A TOML basic string: quotes and backslashes escaped, control characters dropped.
        let escaped: String = profile
            .chars()
            .filter(|c| !c.is_control())
            .flat_map(|c| match c {
                '"' | '\\' => vec!['\\', c],
                c => vec![c],
            })
            .collect();
        format!("\"{escaped}\"")
    };
    Ok(format!(
        "[{table}.paseto]\n\
         # {local_id} (local-purpose tokens)\n\
         local_key = \"{local}\"\n\
         # {secret_id} (public-purpose tokens)\n\
         secret_key = \"{secret}\"\n\
         # For services that only verify public tokens:\n\
         # public_keys = [\"{public}\"]\n",
        local_id = local.id(),
        local = local.to_paserk(),
        secret_id = secret.id(),
        secret = secret.to_paserk(),
        public = public.to_paserk(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_name_their_profile_and_differ_each_time() {
        let one = generate_keys("release").unwrap();
        assert!(one.starts_with("[release.paseto]\n"), "{one}");
        assert_ne!(one, generate_keys("release").unwrap());
        let odd = generate_keys("my \"odd\" profile").unwrap();
        assert!(
            odd.starts_with("[\"my \\\"odd\\\" profile\".paseto]\n"),
            "{odd}"
        );
    }
}

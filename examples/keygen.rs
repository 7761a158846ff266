//! Prints fresh keys as a ready `[default.paseto]` block for `Rocket.toml`.
//!
//! ```sh
//! cargo run --example keygen >> Rocket.toml   # or paste into your secrets store
//! ```
//!
//! The secret keys are printed once and kept nowhere else: store them like passwords.

use rocket_paseto::token::{KeyError, LocalKey, SecretKey};

fn main() -> Result<(), KeyError> {
    let local = LocalKey::generate()?;
    let secret = SecretKey::generate()?;
    let public = secret.public_key();
    println!("[default.paseto]");
    println!("# {} (local-purpose tokens)", local.id());
    println!("local_key = \"{}\"", local.to_paserk());
    println!("# {} (public-purpose tokens)", secret.id());
    println!("secret_key = \"{}\"", secret.to_paserk());
    println!("# For services that only verify public tokens:");
    println!("# public_keys = [\"{}\"]", public.to_paserk());
    Ok(())
}

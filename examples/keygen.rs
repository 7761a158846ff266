//! Prints fresh keys as a ready `[default.paseto]` block for `Rocket.toml`.
//!
//! ```sh
//! cargo run --example keygen >> Rocket.toml   # or paste into your secrets store
//! ```
//!
//! The secret keys are printed once and kept nowhere else: store them like passwords. The same
//! three lines in your own project's `examples/keygen.rs` do the same there.

fn main() {
    print!(
        "{}",
        rocket_paseto::generate_keys("default").expect("the OS random source")
    );
}

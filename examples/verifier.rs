//! A verifier-only service: it checks the access tokens `basic` signs, holding only the public
//! key, bound to `basic`'s issuer. It cannot mint tokens: it has no signing key.
//!
//! ```sh
//! cargo run --example basic                          # the issuer, on port 8000
//! ROCKET_PORT=8001 cargo run --example verifier      # the verifier, on port 8001
//! curl -s localhost:8001/user -H "Authorization: Bearer $ACCESS_TOKEN"
//! ```
//!
//! Rocket's own settings come from the usual places; the `paseto` settings of this service come
//! from the `verifier` table of `Rocket.toml` (or `ROCKET_VERIFIER`), so that it can share the
//! repository's `Rocket.toml` with `basic` without seeing `basic`'s secret keys.
//!
//! With the `discovery` feature, it can fetch `basic`'s keys from the document `basic`
//! publishes instead, and follow `basic` through a key rotation without a restart:
//!
//! ```sh
//! KEYS='url="http://127.0.0.1:8000/.well-known/paseto-keys", issuer="http://127.0.0.1:8000"'
//! ROCKET_PORT=8001 ROCKET_VERIFIER="{public_keys=[], discovery={$KEYS}}" \
//!   cargo run --features discovery --example verifier
//! ```

use rocket::figment::Figment;
use rocket::figment::value::{Dict, Value as ConfigValue};
use rocket::serde::json::{Json, Value, json};
use rocket::{Build, Rocket, get, launch, routes};
use rocket_paseto::{Access, Paseto, PasetoFairing};

/// `GET /user`: whom the (signed) access token is for, and who issued it.
#[get("/user")]
fn user(token: Paseto<Access>) -> Json<Value> {
    Json(json!({ "user": token.subject(), "issuer": token.claims().iss }))
}

#[launch]
pub fn rocket() -> Rocket<Build> {
    let figment = rocket::Config::figment();
    let verifier = figment
        .find_value("verifier")
        .unwrap_or_else(|_| ConfigValue::from(Dict::new()));
    let config = Figment::from(rocket::Config::from(&figment)).merge(("paseto", verifier));
    rocket::custom(config)
        .attach(PasetoFairing::default())
        .register("/", rocket_paseto::catchers())
        .mount("/", routes![user])
}

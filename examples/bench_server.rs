//! The server `bench/load.sh` drives: the same trivial route behind different guards.
//!
//! - `/open`: no guard, the baseline;
//! - `/local`: `Paseto<Access>` with `v4.local`;
//! - `/public`: a `v4.public` kind (`Paseto<Signed>`);
//! - `/cookie`: a value read from a `PasetoCookies` private cookie;
//! - `/jwt`: a hand-written jsonwebtoken HS256 guard, the alternative many Rocket apps use, for
//!   a token that carries only `sub` and `exp`;
//! - `/jwt-claims`: the same guard for a token that carries what `/local`'s access tokens carry
//!   (`sub`, `exp`, `iat`, `nbf`, a `jti` and a `type`), with `nbf` and `type` checked too: what a
//!   hand-written guard replacing this crate would verify;
//! - `/tokens?n=N`: N fresh local tokens and one of everything else, for the load script;
//! - `/stats`: the crate's counters ([`PasetoStats`]) as JSON, e.g. `cache_hits` and
//!   `cache_misses` of the token cache and `jar_hits` and `jar_misses` of the cookie jar's, for
//!   the load script's hit rates;
//! - `POST /login {"username", "password"}` (any user name, the password `bench`), `POST
//!   /refresh`, `POST /logout` and `POST /logout-all`: sessions, for `bench/day.sh`, which
//!   sets a revocation store.
//!
//! Keys are generated at start unless `paseto.local_key` and `paseto.secret_key` are set (as
//! `bench/day.sh` does, for two instances that accept each other's tokens). Run it with
//! `ROCKET_PORT`, `ROCKET_WORKERS` and the rest of Rocket's environment as usual; the `paseto`
//! settings it needs are built in.

use std::time::Duration;

use ct_codecs::{Base64UrlSafeNoPadding, Encoder};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use rocket::figment::Figment;
use rocket::http::Status;
use rocket::request::{FromRequest, Outcome, Request};
use rocket::serde::json::{Json, Value, json};
use rocket::serde::{Deserialize, DeserializeOwned, Serialize};
use rocket::{Build, Rocket, State, get, launch, post, routes};
use rocket_paseto::__private::{LocalKey, SecretKey};
use rocket_paseto::{
    Access, AuthError, Issuer, LoggedOut, Paseto, PasetoCookies, PasetoFairing, PasetoStats,
    Purpose, Refresh, Sessions, TokenKind, TokenPair,
};
use subtle::ConstantTimeEq;

/// Access tokens signed with Ed25519 instead of encrypted.
pub struct Signed;

impl TokenKind for Signed {
    const NAME: &'static str = "signed";
    const TTL: Duration = Duration::from_secs(3600);
    const PURPOSE: Purpose = Purpose::Public;
}

#[derive(Serialize, Deserialize)]
#[serde(crate = "rocket::serde")]
struct JwtClaims {
    sub: String,
    exp: u64,
}

/// The claims of `/local`'s access tokens, as a JWT carries them.
#[derive(Serialize, Deserialize)]
#[serde(crate = "rocket::serde")]
struct FullJwtClaims {
    sub: String,
    exp: u64,
    iat: u64,
    nbf: u64,
    jti: String,
    #[serde(rename = "type")]
    kind: String,
}

/// What a hand-written JWT guard keeps around: the key and the validation rules, built once.
struct JwtKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    /// With `nbf` checked as well as `exp`.
    full_validation: Validation,
}

/// A typical hand-written HS256 guard.
struct Jwt(JwtClaims);

/// The same guard for tokens with an access token's claims, which also checks the kind.
struct FullJwt(FullJwtClaims);

/// What a hand-written guard does: the bearer token decoded with the rules `pick` chooses, its
/// claims if they are `accepted`.
fn decode_bearer<C: DeserializeOwned>(
    request: &Request<'_>,
    pick: impl Fn(&JwtKeys) -> &Validation,
    accepted: impl Fn(&C) -> bool,
) -> Outcome<C, ()> {
    let Some(keys) = request.rocket().state::<JwtKeys>() else {
        return Outcome::Error((Status::InternalServerError, ()));
    };
    let token = request
        .headers()
        .get_one("Authorization")
        .and_then(|h| h.strip_prefix("Bearer "));
    match token.map(|t| jsonwebtoken::decode::<C>(t, &keys.decoding, pick(keys))) {
        Some(Ok(data)) if accepted(&data.claims) => Outcome::Success(data.claims),
        _ => Outcome::Error((Status::Unauthorized, ())),
    }
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for Jwt {
    type Error = ();

    async fn from_request(request: &'r Request<'_>) -> Outcome<Self, ()> {
        decode_bearer(request, |keys| &keys.validation, |_| true).map(Jwt)
    }
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for FullJwt {
    type Error = ();

    async fn from_request(request: &'r Request<'_>) -> Outcome<Self, ()> {
        decode_bearer(
            request,
            |keys| &keys.full_validation,
            |claims: &FullJwtClaims| claims.kind == "access",
        )
        .map(FullJwt)
    }
}

#[get("/open")]
fn open() -> &'static str {
    "ok"
}

#[get("/local")]
fn local(_token: Paseto<Access>) -> &'static str {
    "ok"
}

#[get("/public")]
fn public(_token: Paseto<Signed>) -> &'static str {
    "ok"
}

#[get("/cookie")]
fn cookie(cookies: PasetoCookies<'_>) -> Result<&'static str, Status> {
    cookies
        .get::<Value>("session")
        .map(|_| "ok")
        .ok_or(Status::Unauthorized)
}

#[get("/jwt")]
fn jwt(token: Jwt) -> &'static str {
    let _ = token.0.sub;
    "ok"
}

#[get("/jwt-claims")]
fn jwt_claims(token: FullJwt) -> &'static str {
    let _ = token.0.sub;
    "ok"
}

#[get("/tokens?<n>")]
fn tokens(n: Option<usize>, issuer: &Issuer, jwt: &State<JwtKeys>) -> Json<Value> {
    let n = n.unwrap_or(1).clamp(1, 100_000);
    let local: Vec<String> = (0..n)
        .map(|_| issuer.access("bench").issue().unwrap())
        .collect();
    let public = issuer.kind::<Signed>("bench").issue().unwrap();
    let cookie = rocket_paseto::__private::authority(issuer)
        .seal(
            b"rocket_paseto cookie session",
            &json!({ "user": "bench" }),
            Duration::from_secs(3600),
        )
        .unwrap();
    let exp = time::OffsetDateTime::now_utc().unix_timestamp() as u64 + 3600;
    let claims = JwtClaims {
        sub: "bench".into(),
        exp,
    };
    let now = exp - 3600;
    let mut id = [0u8; 16];
    getrandom::fill(&mut id).unwrap();
    let full = FullJwtClaims {
        sub: "bench".into(),
        exp,
        iat: now,
        nbf: now,
        jti: Base64UrlSafeNoPadding::encode_to_string(id).unwrap(),
        kind: "access".into(),
    };
    let header = Header::new(Algorithm::HS256);
    let jwt_claims = jsonwebtoken::encode(&header, &full, &jwt.encoding).unwrap();
    let jwt = jsonwebtoken::encode(&header, &claims, &jwt.encoding).unwrap();
    Json(json!({
        "local": local, "public": public, "cookie": cookie, "jwt": jwt, "jwt_claims": jwt_claims,
    }))
}

#[derive(Deserialize)]
#[serde(crate = "rocket::serde")]
struct Credentials {
    username: String,
    password: String,
}

#[post("/login", data = "<login>")]
async fn login(login: Json<Credentials>, sessions: Sessions<'_>) -> Result<TokenPair, AuthError> {
    if !bool::from(login.password.as_bytes().ct_eq(b"bench")) {
        return Err(AuthError::BadCredentials);
    }
    sessions.login(&login.username).issue().await
}

#[post("/refresh")]
async fn refresh(token: Paseto<Refresh>, sessions: Sessions<'_>) -> Result<TokenPair, AuthError> {
    sessions.refresh(&token).await
}

#[post("/logout")]
async fn logout(sessions: Sessions<'_>) -> Result<Json<LoggedOut>, AuthError> {
    Ok(Json(sessions.logout().await?))
}

#[post("/logout-all")]
async fn logout_all(token: Paseto<Access>, sessions: Sessions<'_>) -> Result<(), AuthError> {
    sessions.end_all(&token).await
}

#[get("/stats")]
fn stats(stats: PasetoStats) -> Json<PasetoStats> {
    Json(stats)
}

#[launch]
pub fn rocket() -> Rocket<Build> {
    let local = LocalKey::generate().unwrap().to_paserk();
    let secret = SecretKey::generate().unwrap().to_paserk();
    let figment = Figment::from(rocket::Config::figment())
        .merge(("log_level", "off"))
        .join(("paseto.local_key", local))
        .join(("paseto.secret_key", secret))
        // Verification alone, as the jsonwebtoken route has it; `bench/revocation.sh` sets a
        // store through ROCKET_PASETO, which this only fills in for.
        .join(("paseto.revocation.store", "none"));
    let mut jwt_secret = [0u8; 32];
    getrandom::fill(&mut jwt_secret).unwrap();
    let jwt = JwtKeys {
        encoding: EncodingKey::from_secret(&jwt_secret),
        decoding: DecodingKey::from_secret(&jwt_secret),
        validation: Validation::new(Algorithm::HS256),
        full_validation: {
            let mut rules = Validation::new(Algorithm::HS256);
            rules.validate_nbf = true;
            rules
        },
    };
    rocket::custom(figment)
        .attach(PasetoFairing::default().kind::<Signed>())
        .manage(jwt)
        .mount(
            "/",
            routes![
                open, local, public, cookie, jwt, jwt_claims, tokens, stats, login, refresh,
                logout, logout_all
            ],
        )
}

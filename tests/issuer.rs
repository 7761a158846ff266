//! The `Issuer`: what it stamps on tokens, a session's pair, extra claims and lifetimes.

mod common;

use common::*;
use rocket_paseto::IssueError;
use rocket_paseto::{Access, AuthError, Issuer, PasetoFairing, Refresh, Sessions, TokenPair};
use serde::Serialize;
use serde_json::{Value, json};
use std::time::Duration;

fn issuer(paseto: Value) -> rocket_paseto::Issuer {
    PasetoFairing::default().load(&figment(paseto)).unwrap()
}

fn footer_of(token: &str) -> Value {
    let footer = token.rsplit('.').next().unwrap();
    let mut buf = vec![0u8; footer.len()];
    let bytes =
        <ct_codecs::Base64UrlSafeNoPadding as ct_codecs::Decoder>::decode(&mut buf, footer, None)
            .unwrap();
    serde_json::from_slice(bytes).unwrap()
}

#[test]
fn tokens_carry_every_registered_claim_and_a_kid_footer() {
    let mut paseto = keys();
    paseto["issuer"] = json!("https://auth.example");
    paseto["audience"] = json!("https://api.example");
    let issuer = issuer(paseto);
    let token = issuer.access("alice").issue().unwrap();
    assert!(token.starts_with("v4.local."));
    assert_eq!(footer_of(&token), json!({ "kid": lid(LOCAL) }));
    let claims = issuer.verify::<Access>(&token).unwrap().claims().clone();
    assert_eq!(claims.sub, "alice");
    assert_eq!(claims.kind, "access");
    assert_eq!(claims.iss.as_deref(), Some("https://auth.example"));
    assert_eq!(claims.aud, ["https://api.example"]);
    assert_eq!(
        claims.exp - claims.iat.unwrap(),
        time::Duration::seconds(900)
    );
    assert_eq!(claims.nbf, claims.iat);
    let other = issuer.access("alice").issue().unwrap();
    assert_ne!(
        issuer.verify::<Access>(&other).unwrap().claims().jti,
        claims.jti
    );

    let mut public = keys();
    public["refresh"] = json!({ "purpose": "public" });
    let token = self::issuer(public).refresh("alice").issue().unwrap();
    assert!(token.starts_with("v4.public."));
    assert_eq!(footer_of(&token), json!({ "kid": pid(SECRET) }));
}

#[rocket::post("/login")]
async fn login(sessions: Sessions<'_>) -> Result<TokenPair, AuthError> {
    sessions.login("alice").issue().await
}

#[test]
fn pair_is_a_login_response() {
    let client = client(keys(), rocket::routes![login]);
    let issuer = client.rocket().state::<Issuer>().unwrap();
    let pair: TokenPair = client.post("/login").dispatch().into_json().unwrap();
    let json = serde_json::to_value(&pair).unwrap();
    assert_eq!(json["token_type"], "Bearer");
    assert_eq!(json["expires_in"], 900);
    assert!(issuer.verify::<Access>(&pair.access_token).is_ok());
    assert!(issuer.verify::<Refresh>(&pair.refresh_token).is_ok());
    assert!(issuer.verify::<Access>(&pair.refresh_token).is_err());
    let shown = format!("{pair:?}");
    assert!(!shown.contains(&pair.access_token) && !shown.contains(&pair.refresh_token));
}

#[test]
fn extra_claims_and_lifetimes() {
    #[derive(Serialize)]
    struct Extra {
        role: &'static str,
        tenant: u32,
    }
    let issuer = issuer(keys());
    let token = issuer
        .access("alice")
        .claims(&Extra {
            role: "admin",
            tenant: 7,
        })
        .claim("scope", ["read", "write"])
        .ttl(Duration::from_secs(60))
        .issue()
        .unwrap();
    let verified = issuer.verify::<Access>(&token).unwrap();
    let payload: Value = serde_json::from_str(verified.payload()).unwrap();
    assert_eq!(payload["role"], "admin");
    assert_eq!(payload["tenant"], 7);
    assert_eq!(payload["scope"], json!(["read", "write"]));
    let c = verified.claims();
    assert_eq!(c.exp - c.iat.unwrap(), time::Duration::seconds(60));
}

#[test]
fn registered_claims_cannot_be_overridden() {
    let issuer = issuer(keys());
    for name in ["sub", "exp", "iat", "nbf", "jti", "iss", "aud", "type"] {
        let err = issuer.access("alice").claim(name, "x").issue().unwrap_err();
        assert!(
            matches!(&err, IssueError::ReservedClaim(n) if n == name),
            "{name}: {err}"
        );
    }
    assert!(matches!(
        issuer.access("a").claims(&[1, 2]).issue(),
        Err(IssueError::NotAnObject)
    ));
    assert!(matches!(
        issuer.access("a").ttl(Duration::ZERO).issue(),
        Err(IssueError::Ttl)
    ));
    let too_long = Duration::from_secs(400 * 86400);
    assert!(matches!(
        issuer.access("a").ttl(too_long).issue(),
        Err(IssueError::Ttl)
    ));
}

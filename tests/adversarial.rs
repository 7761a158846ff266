//! One test per attack, through HTTP: each asserts the exact status and that the server still
//! serves a good token afterwards. Failure bodies are compared byte for byte across causes.

mod common;

use common::*;
use rocket::http::{Cookie, Header, Status};
use rocket::local::blocking::Client;
use rocket::{get, post, routes};
use rocket_paseto::{Access, Paseto};
use serde_json::{Value, json};

#[get("/access")]
fn access(token: Paseto<Access>) -> String {
    token.subject().to_owned()
}

#[post("/access")]
fn access_post(token: Paseto<Access>) -> String {
    token.subject().to_owned()
}

fn app(paseto: Value) -> Client {
    client(paseto, routes![access, access_post])
}

fn local_app() -> Client {
    app(keys())
}

fn public_app() -> Client {
    let mut paseto = keys();
    paseto["access"] = json!({ "purpose": "public" });
    app(paseto)
}

fn good_local() -> String {
    local_token(&claims("access"))
}

fn good_public() -> String {
    let payload = Value::Object(claims("access")).to_string();
    forge_public(SECRET, &payload, Some(&kid_footer(&pid(SECRET))))
}

fn status_of(client: &Client, token: &str) -> Status {
    client
        .get("/access")
        .header(bearer(token))
        .dispatch()
        .status()
}

/// The attack was refused with `expected`, and a good token still works.
fn refused(client: &Client, good: &str, token: &str, expected: Status) {
    assert_eq!(status_of(client, token), expected, "{token:?}");
    assert_eq!(
        status_of(client, good),
        Status::Ok,
        "the server stopped serving after {token:?}"
    );
}

fn b64(bytes: &[u8]) -> String {
    <ct_codecs::Base64UrlSafeNoPadding as ct_codecs::Encoder>::encode_to_string(bytes).unwrap()
}

fn unb64(s: &str) -> Vec<u8> {
    let mut buf = vec![0u8; s.len()];
    <ct_codecs::Base64UrlSafeNoPadding as ct_codecs::Decoder>::decode(&mut buf, s, None)
        .unwrap()
        .to_vec()
}

#[test]
fn every_prefix_of_a_valid_token_is_refused() {
    for (client, good) in [(local_app(), good_local()), (public_app(), good_public())] {
        for end in 0..good.len() {
            assert_eq!(
                status_of(&client, &good[..end]),
                Status::Unauthorized,
                "prefix {end}"
            );
        }
        assert_eq!(status_of(&client, &good), Status::Ok);
    }
}

#[test]
fn every_one_character_mutation_is_refused() {
    for (client, good) in [(local_app(), good_local()), (public_app(), good_public())] {
        let bytes = good.as_bytes();
        for i in 0..bytes.len() {
            // A neighbour in the alphabet, a character outside it, and a separator.
            let neighbour = match bytes[i] {
                b'A' => b'B',
                b'.' => b'_',
                c => c - 1,
            };
            for replacement in [neighbour, b'~', b'.'] {
                if replacement == bytes[i] {
                    continue;
                }
                let mut mutated = bytes.to_vec();
                mutated[i] = replacement;
                let mutated = String::from_utf8(mutated).unwrap();
                assert_eq!(
                    status_of(&client, &mutated),
                    Status::Unauthorized,
                    "position {i}"
                );
            }
        }
        assert_eq!(status_of(&client, &good), Status::Ok);
    }
}

#[test]
fn key_confusion_local_token_made_with_the_public_key_bytes() {
    // The classic attack on libraries that let the token choose its algorithm: encrypt a local
    // token with the (public!) verification key as the symmetric key.
    let client = public_app();
    let public_bytes = unb64(PUBLIC.strip_prefix("k4.public.").unwrap());
    let confused_key = format!("k4.local.{}", b64(&public_bytes));
    let payload = Value::Object(claims("access")).to_string();
    for footer in [None, Some(kid_footer(&pid(SECRET)))] {
        let token = forge_local(&confused_key, &payload, footer.as_deref());
        refused(&client, &good_public(), &token, Status::Unauthorized);
    }
    // And where local is configured, the same bytes are not our local key either.
    let client = local_app();
    for footer in [None, Some(kid_footer(&lid(LOCAL)))] {
        let token = forge_local(&confused_key, &payload, footer.as_deref());
        refused(&client, &good_local(), &token, Status::Unauthorized);
    }
}

#[test]
fn purpose_swaps_are_refused_both_ways() {
    refused(
        &local_app(),
        &good_local(),
        &good_public(),
        Status::Unauthorized,
    );
    refused(
        &public_app(),
        &good_public(),
        &good_local(),
        Status::Unauthorized,
    );
}

#[test]
fn foreign_keys_carrying_a_trusted_kid_are_refused() {
    let payload = Value::Object(claims("access")).to_string();
    let local = forge_local(OTHER_LOCAL, &payload, Some(&kid_footer(&lid(LOCAL))));
    refused(&local_app(), &good_local(), &local, Status::Unauthorized);
    let public = forge_public(OTHER_SECRET, &payload, Some(&kid_footer(&pid(SECRET))));
    refused(&public_app(), &good_public(), &public, Status::Unauthorized);
}

#[test]
fn key_material_and_junk_in_the_footer_are_refused() {
    let client = local_app();
    let payload = Value::Object(claims("access")).to_string();
    let kid = lid(LOCAL);
    let footers = [
        json!({ "kid": kid, "wpk": LOCAL }).to_string(),
        json!({ "kid": kid, "extra": [{ "key": SECRET }] }).to_string(),
        json!({ "kid": PUBLIC }).to_string(),
        json!({ "kid": 42 }).to_string(),
        json!({ "kid": format!("{kid}x") }).to_string(),
        "null".to_owned(),
        "[]".to_owned(),
        "\u{1}\u{2}binary".to_owned(),
    ];
    for footer in footers {
        let token = forge_local(LOCAL, &payload, Some(&footer));
        refused(&client, &good_local(), &token, Status::Unauthorized);
    }
}

#[test]
fn deep_and_huge_footers_are_refused() {
    let client = local_app();
    let payload = Value::Object(claims("access")).to_string();
    let deep = format!(r#"{{"a":{}1{}}}"#, "[".repeat(400), "]".repeat(400));
    let huge = json!({ "kid": lid(LOCAL), "pad": "x".repeat(2000) }).to_string();
    for footer in [deep, huge] {
        let token = forge_local(LOCAL, &payload, Some(&footer));
        refused(&client, &good_local(), &token, Status::Unauthorized);
    }
}

#[test]
fn non_canonical_base64_is_refused() {
    let client = local_app();
    let good = good_local();
    let (body, footer) = good.rsplit_once('.').unwrap();
    // Flip the unused low bits of the last character of each segment: the same bytes decode.
    let bump = |s: &str| {
        let mut v = s.as_bytes().to_vec();
        let last = v.len() - 1;
        v[last] = match v[last] {
            b'A'..=b'Y' | b'a'..=b'y' | b'0'..=b'8' => v[last] + 1,
            _ => b'B',
        };
        String::from_utf8(v).unwrap()
    };
    refused(
        &client,
        &good,
        &format!("{}.{footer}", bump(body)),
        Status::Unauthorized,
    );
    refused(
        &client,
        &good,
        &format!("{body}.{}", bump(footer)),
        Status::Unauthorized,
    );
    refused(&client, &good, &format!("{good}="), Status::Unauthorized);
    refused(
        &client,
        &good,
        // Standard base64's `+` is not base64url: put one in (a replace might change nothing).
        &good.replacen("v4.local.", "v4.local.+", 1),
        Status::Unauthorized,
    );
}

#[test]
fn trailing_dots_extra_segments_and_wrong_versions_are_refused() {
    let client = local_app();
    let good = good_local();
    let body = good.rsplit_once('.').unwrap().0.to_owned();
    let cases = [
        format!("{good}."),
        format!("{body}."),
        format!("{good}.e30"),
        format!("{good}.."),
        format!(".{good}"),
        good.replacen("v4.", "v2.", 1),
        good.replacen("v4.", "v3.", 1),
        good.replacen("v4.", "V4.", 1),
        good.replacen("v4.local.", "v4.LOCAL.", 1),
        good.replacen("v4.local.", "v4.public.", 1),
        good.replacen("v4.local.", "v4.local..", 1),
    ];
    for token in cases {
        refused(&client, &good, &token, Status::Unauthorized);
    }
}

#[test]
fn oversized_headers_and_cookies_are_refused() {
    let client = local_app();
    let good = good_local();
    let huge = format!("{good}{}", "A".repeat(100_000));
    refused(&client, &good, &huge, Status::Unauthorized);
    let response = client
        .get("/access")
        .cookie(Cookie::new("access_token", huge))
        .dispatch();
    assert_eq!(response.status(), Status::Unauthorized);
    assert_eq!(status_of(&client, &good), Status::Ok);
}

#[test]
fn duplicate_authorization_headers_are_refused() {
    let client = local_app();
    let good = good_local();
    for second in [good.clone(), "junk".to_owned()] {
        let response = client
            .get("/access")
            .header(bearer(&good))
            .header(Header::new("Authorization", format!("Bearer {second}")))
            .dispatch();
        assert_eq!(response.status(), Status::Unauthorized);
    }
    assert_eq!(status_of(&client, &good), Status::Ok);
}

/// The guard finds its header by comparing names in turn: in any case, and only once.
#[test]
fn the_header_is_found_in_any_case_and_only_once() {
    let client = local_app();
    let good = good_local();
    for name in ["authorization", "AUTHORIZATION", "AuThOrIzAtIoN"] {
        let value = format!("Bearer {good}");
        let once = client
            .get("/access")
            .header(Header::new(name, value.clone()));
        assert_eq!(once.dispatch().status(), Status::Ok, "{name}");
        let twice = client
            .get("/access")
            .header(bearer(&good))
            .header(Header::new(name, value));
        assert_eq!(twice.dispatch().status(), Status::Unauthorized, "{name}");
    }
}

#[test]
fn non_ascii_and_control_characters_are_refused() {
    let client = local_app();
    let good = good_local();
    for inject in ["\u{0}", "\u{7f}", "\t", "\u{200b}", "é", "\u{feff}", "\r"] {
        let mut token = good.clone();
        token.insert_str(20, inject);
        refused(&client, &good, &token, Status::Unauthorized);
    }
}

#[test]
fn claim_rules_hold_through_http() {
    let mut paseto = keys();
    paseto["issuer"] = json!("https://auth.example");
    paseto["audience"] = json!("https://api.example");
    let client = app(paseto);
    let base = || {
        let mut c = claims("access");
        c.insert("iss".into(), "https://auth.example".into());
        c.insert("aud".into(), "https://api.example".into());
        c
    };
    let good = local_token(&base());
    assert_eq!(status_of(&client, &good), Status::Ok);
    let variants: Vec<(&str, Option<Value>)> = vec![
        ("iss", Some("https://evil.example".into())),
        ("iss", None),
        ("iss", Some(json!(["https://auth.example"]))),
        ("aud", Some("https://other.example".into())),
        ("aud", Some(json!([]))),
        ("aud", None),
        ("type", Some("refresh".into())),
        ("type", Some("Access".into())),
        ("type", None),
        ("exp", None),
        ("exp", Some(json!(null))),
        ("exp", Some("tomorrow".into())),
        ("sub", Some(json!(7))),
    ];
    for (claim, value) in variants {
        let mut c = base();
        match value {
            Some(v) => c.insert(claim.into(), v),
            None => c.remove(claim),
        };
        refused(&client, &good, &local_token(&c), Status::Unauthorized);
    }
}

#[test]
fn time_edges_around_the_leeway() {
    let mut paseto = keys();
    paseto["leeway"] = json!(60);
    let client = app(paseto);
    let good = good_local();
    let at = |exp: time::Duration, nbf: time::Duration| {
        let mut c = claims("access");
        c.insert("exp".into(), time(now() + exp).into());
        c.insert("nbf".into(), time(now() + nbf).into());
        c.insert("iat".into(), time(now() + nbf).into());
        status_of(&client, &local_token(&c))
    };
    let s = time::Duration::seconds;
    // Two seconds of margin either side keep the test independent of the clock's tick.
    assert_eq!(at(s(-58), s(-600)), Status::Ok, "expired within the leeway");
    assert_eq!(
        at(s(-62), s(-600)),
        Status::Unauthorized,
        "expired beyond the leeway"
    );
    assert_eq!(
        at(s(600), s(58)),
        Status::Ok,
        "not yet valid within the leeway"
    );
    assert_eq!(
        at(s(600), s(62)),
        Status::Unauthorized,
        "not yet valid beyond the leeway"
    );
    assert_eq!(status_of(&client, &good), Status::Ok);
}

#[test]
fn payloads_that_are_not_claim_objects_are_refused() {
    let client = local_app();
    let good = good_local();
    let footer = kid_footer(&lid(LOCAL));
    let object = Value::Object(claims("access")).to_string();
    let payloads = [
        "[]".to_owned(),
        "null".to_owned(),
        "\"alice\"".to_owned(),
        "42".to_owned(),
        format!("{object}{object}"),
        object.replacen('{', r#"{"type":"access","#, 1),
        object.replacen('{', r#"{"x":{"y":1,"y":2},"#, 1),
        format!("{object} garbage"),
    ];
    for payload in payloads {
        let token = forge_local(LOCAL, &payload, Some(&footer));
        refused(&client, &good, &token, Status::Unauthorized);
    }
    let key = pasetors::keys::SymmetricKey::<pasetors::version4::V4>::try_from(LOCAL).unwrap();
    let invalid_utf8 = object.replace("alice", "al\u{fffd}ice").into_bytes();
    let mut raw = invalid_utf8.clone();
    let at = raw.iter().position(|b| *b == 0xef).unwrap();
    raw.splice(at..at + 3, [0xff]);
    let token =
        pasetors::version4::LocalToken::encrypt(&key, &raw, Some(footer.as_bytes()), None).unwrap();
    refused(&client, &good, &token, Status::Unauthorized);
}

#[test]
fn failure_bodies_are_identical_across_causes() {
    let client = local_app();
    let payload = Value::Object(claims("access")).to_string();
    // A genuine expired token is the one exception, answered as expired: see tests/errors.rs.
    let causes = [
        good_local().replacen("v4.local.", "v4.local.A", 1),
        forge_local(OTHER_LOCAL, &payload, None),
        "garbage".to_owned(),
        local_token(&claims("refresh")),
        good_public(),
        format!("{}{}", good_local(), "A".repeat(5000)),
    ];
    let responses: Vec<_> = causes
        .iter()
        .map(|t| {
            let r = client.get("/access").header(bearer(t)).dispatch();
            let headers: Vec<String> = r
                .headers()
                .iter()
                .map(|h| format!("{}: {}", h.name(), h.value()))
                .collect();
            (r.status(), headers, r.into_bytes().unwrap())
        })
        .collect();
    for (i, response) in responses.iter().enumerate() {
        assert_eq!(response, &responses[0], "cause {i} differs");
    }
}

#[get("/debug")]
fn debug(token: Paseto<Access>) -> String {
    format!("{token:?} {:?}", token.claims())
}

/// The secret-bearing parts: key data after the PASERK header, and token bodies.
fn assert_redacted(text: &str, secrets: &[&str]) {
    for secret in secrets {
        assert!(!text.contains(secret), "{secret} shown in: {text}");
    }
}

#[test]
fn no_public_type_shows_keys_or_tokens() {
    use rocket_paseto::__private::{
        Authority, KindRules, LocalKey, MintOptions, PublicKey, Rules, SecretKey, VerifyOptions,
    };
    use rocket_paseto::{AuthError, PasetoFairing, Purpose};

    let local_data = &LOCAL["k4.local.".len()..];
    let secret_data = &SECRET["k4.secret.".len()..];
    let good = good_local();
    let token_body = &good["v4.local.".len().."v4.local.".len() + 40];
    let secrets = [local_data, secret_data, token_body];

    let local = LocalKey::from_paserk(LOCAL).unwrap();
    let secret = SecretKey::parse(SECRET).unwrap();
    let public = PublicKey::parse(PUBLIC).unwrap();
    assert_redacted(
        &format!("{local:?} {secret:?} {public:?} {}", local.id()),
        &secrets,
    );

    let rules = Rules::new(vec![KindRules::new(
        "access",
        Purpose::Local,
        std::time::Duration::from_secs(60),
    )]);
    let authority = Authority::new(Some(local), Some(secret), vec![public], rules);
    let minted = authority
        .mint("access", "alice", None::<&()>, MintOptions::new())
        .unwrap();
    let verified = authority
        .verify(
            "access",
            &minted,
            time::OffsetDateTime::now_utc(),
            VerifyOptions::new(),
        )
        .unwrap();
    let minted_body = &minted["v4.local.".len().."v4.local.".len() + 40];
    assert_redacted(
        &format!("{authority:?} {verified:?} {:?}", verified.claims()),
        &[local_data, secret_data, minted_body],
    );
    let rejection = authority
        .verify(
            "access",
            // Inserting a character always changes the token (a replace might not).
            &good.replacen("v4.local.", "v4.local.A", 1),
            time::OffsetDateTime::now_utc(),
            VerifyOptions::new(),
        )
        .unwrap_err();
    let error = AuthError::Invalid(rejection);
    assert_redacted(
        &format!("{rejection} {rejection:?} {error} {error:?}"),
        &secrets,
    );

    let issuer = PasetoFairing::default().load(&figment(keys())).unwrap();
    let pair = rocket_paseto::TokenPair {
        access_token: issuer.access("alice").issue().unwrap(),
        refresh_token: issuer.refresh("alice").issue().unwrap(),
        token_type: "Bearer".into(),
        expires_in: 900,
    };
    let builder = issuer.access("alice").claim("csrf", "c");
    let pair_body = &pair.access_token["v4.local.".len().."v4.local.".len() + 40];
    assert_redacted(
        &format!("{issuer:?} {pair:?} {builder:?}"),
        &[local_data, secret_data, pair_body],
    );
    let config_error = PasetoFairing::default()
        .load(&figment(json!({ "local_key": SECRET })))
        .unwrap_err();
    let key_error = LocalKey::from_paserk(SECRET).unwrap_err();
    assert_redacted(
        &format!("{config_error} {config_error:?} {key_error} {key_error:?}"),
        &secrets,
    );

    let client = client(keys(), routes![debug]);
    let shown = client
        .get("/debug")
        .header(bearer(&good))
        .dispatch()
        .into_string()
        .unwrap();
    assert!(shown.contains("Paseto"), "{shown}");
    assert_redacted(&shown, &secrets);
    assert!(
        !shown.contains("alice"),
        "subjects stay out of Debug: {shown}"
    );
}

//! Configuration through Figment: defaults, every launch error naming its field without key
//! material, the debug-only ephemeral key, and sentinels.

mod common;

use common::*;
use rocket::error::ErrorKind;
use rocket::figment::Figment;
use rocket::http::Status;
use rocket::local::blocking::Client;
use rocket::{get, routes};
use rocket_paseto::__private::Config;
use rocket_paseto::{Access, Issuer, Paseto, PasetoFairing, Purpose, TokenKind};
use serde_json::{Value, json};
use std::time::Duration;

fn release(paseto: Value) -> Figment {
    figment(paseto).select("release")
}

/// Loads `paseto`, expecting an error on `field`; checks the message shows none of `secrets`.
fn rejects(figment: Figment, field: &str, secrets: &[&str]) -> String {
    let err = PasetoFairing::default()
        .load(&figment)
        .expect_err(&format!("expected an error on {field}"));
    assert_eq!(err.field(), field, "{err}");
    let text = format!("{err} {err:?}");
    for secret in secrets {
        // The key data after the `k4.<type>.` prefix must never appear.
        let data = secret.rsplit('.').next().unwrap();
        assert!(!text.contains(data), "{text} leaks key material");
    }
    text
}

#[test]
fn defaults_are_documented_values() {
    let config = Config::default();
    assert_eq!(config.header, "Authorization");
    assert_eq!(config.scheme, "Bearer");
    assert_eq!(config.leeway, 0);
    assert_eq!(config.max_token_length, 4096);
    assert!(config.csrf);
    assert_eq!(config.csrf_header, "X-CSRF-Token");
    assert_eq!((config.cache_size, config.cookies.cache_size), (1024, 1024));
    let issuer = PasetoFairing::default().load(&figment(keys())).unwrap();
    let rules = rocket_paseto::__private::authority(&issuer).rules();
    let access = rules.kind("access").unwrap();
    assert_eq!(
        (access.purpose(), access.ttl()),
        (Purpose::Local, Duration::from_secs(900))
    );
    let refresh = rules.kind("refresh").unwrap();
    assert_eq!(
        (refresh.purpose(), refresh.ttl()),
        (Purpose::Local, Duration::from_secs(1_209_600))
    );
}

#[test]
fn wrong_keys_are_named_and_never_echoed() {
    let text = rejects(
        figment(json!({ "local_key": PUBLIC })),
        "paseto.local_key",
        &[PUBLIC],
    );
    assert!(text.contains("k4.public"), "{text}");
    rejects(
        figment(json!({ "local_key": SECRET })),
        "paseto.local_key",
        &[SECRET],
    );
    rejects(
        figment(json!({ "secret_key": LOCAL })),
        "paseto.secret_key",
        &[LOCAL],
    );
    rejects(
        figment(json!({ "local_key": "k4.local.AAAA" })),
        "paseto.local_key",
        &[],
    );
    let k3 = "k3.local.cHFyc3R1dnd4eXp7fH1-f4CBgoOEhYaHiImKi4yNjo8";
    let text = rejects(
        figment(json!({ "local_key": k3 })),
        "paseto.local_key",
        &[k3],
    );
    assert!(text.contains("v4"), "{text}");
    let zero = format!("k4.secret.{}", "A".repeat(86));
    let text = rejects(
        figment(json!({ "secret_key": zero })),
        "paseto.secret_key",
        &[],
    );
    assert!(text.contains("zero"), "{text}");
    let pem = "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIA==\n-----END PRIVATE KEY-----";
    rejects(
        figment(json!({ "secret_key": pem })),
        "paseto.secret_key",
        &[],
    );
    rejects(
        figment(json!({ "local_key": LOCAL, "public_keys": [PUBLIC, LOCAL] })),
        "paseto.public_keys[1]",
        &[LOCAL],
    );
    rejects(
        figment(json!({ "local_key": LOCAL, "public_keys": [{ "key": PUBLIC, "issuer": "" }] })),
        "paseto.public_keys[0].issuer",
        &[],
    );
    let weak = format!("k4.public.{}", "A".repeat(43));
    let text = rejects(
        figment(json!({ "local_key": LOCAL, "public_keys": [weak] })),
        "paseto.public_keys[0]",
        &[],
    );
    assert!(text.contains("weak"), "{text}");
    rejects(
        figment(json!({ "local_key": LOCAL, "previous_local_keys": [SECRET] })),
        "paseto.previous_local_keys[0]",
        &[SECRET],
    );
}

#[test]
fn a_secret_in_the_wrong_field_type_is_not_echoed() {
    rejects(
        figment(json!({ "local_key": LOCAL, "leeway": SECRET })),
        "paseto.leeway",
        &[SECRET],
    );
    rejects(
        figment(json!({ "local_key": LOCAL, "access": { "purpose": SECRET } })),
        "paseto.access.purpose",
        &[SECRET],
    );
}

#[test]
fn bad_numbers_and_names_are_launch_errors() {
    let k = |extra: Value| {
        let mut base = keys();
        for (key, v) in extra.as_object().unwrap() {
            base[key] = v.clone();
        }
        figment(base)
    };
    rejects(
        k(json!({ "access": { "ttl": -5 } })),
        "paseto.access.ttl",
        &[],
    );
    rejects(
        k(json!({ "access": { "ttl": 0 } })),
        "paseto.access.ttl",
        &[],
    );
    rejects(
        k(json!({ "refresh": { "ttl": 1_000_000_000u64 } })),
        "paseto.refresh.ttl",
        &[],
    );
    rejects(
        k(json!({ "access": { "purpose": "private" } })),
        "paseto.access.purpose",
        &[],
    );
    rejects(k(json!({ "leeway": 100_000 })), "paseto.leeway", &[]);
    rejects(k(json!({ "leeway": -1 })), "paseto.leeway", &[]);
    rejects(
        k(json!({ "max_token_length": 10 })),
        "paseto.max_token_length",
        &[],
    );
    rejects(
        k(json!({ "cache_size": 2_000_000 })),
        "paseto.cache_size",
        &[],
    );
    rejects(
        k(json!({ "cookies": { "cache_size": 2_000_000 } })),
        "paseto.cookies.cache_size",
        &[],
    );
    rejects(k(json!({ "header": "Bad Header" })), "paseto.header", &[]);
    rejects(k(json!({ "scheme": "" })), "paseto.scheme", &[]);
    rejects(k(json!({ "issuer": "" })), "paseto.issuer", &[]);
    rejects(
        k(json!({ "access": { "cookie": "a;b" } })),
        "paseto.access.cookie",
        &[],
    );
    rejects(
        k(json!({ "kinds": { "nope": { "ttl": 5 } } })),
        "paseto.kinds.nope",
        &[],
    );
    rejects(k(json!({ "locl_key": LOCAL })), "paseto.locl_key", &[LOCAL]);
    rejects(
        k(json!({ "access": { "tll": 5 } })),
        "paseto.access.tll",
        &[],
    );
}

#[test]
fn public_purpose_needs_a_public_key() {
    rejects(
        figment(json!({ "local_key": LOCAL, "access": { "purpose": "public" } })),
        "paseto.secret_key",
        &[],
    );
    // Verification-only keys are enough to verify; minting then fails cleanly.
    let issuer = PasetoFairing::default()
        .load(&figment(json!({ "local_key": LOCAL, "public_keys": [PUBLIC], "access": { "purpose": "public" } })))
        .unwrap();
    assert!(matches!(
        issuer.access("a").issue(),
        Err(rocket_paseto::IssueError::NoKey(Purpose::Public, _))
    ));
}

#[test]
fn only_the_debug_profile_gets_an_ephemeral_local_key() {
    let issuer = PasetoFairing::default().load(&figment(json!({}))).unwrap();
    let token = issuer.access("alice").issue().unwrap();
    assert_eq!(
        issuer.verify::<Access>(&token).unwrap().claims().sub,
        "alice"
    );
    let other = PasetoFairing::default().load(&figment(json!({}))).unwrap();
    assert!(
        other.verify::<Access>(&token).is_err(),
        "each run has its own key"
    );

    let text = rejects(release(json!({})), "paseto.local_key", &[]);
    assert!(text.contains("access"), "{text}");
    // A release config with only public kinds needs no local key.
    let all_public = json!({
        "secret_key": SECRET,
        "access": { "purpose": "public" },
        "refresh": { "purpose": "public" },
    });
    assert!(PasetoFairing::default().load(&release(all_public)).is_ok());
}

#[test]
fn an_absent_paseto_table_means_defaults() {
    let figment = Figment::from(rocket::Config::debug_default()).merge(("log_level", "off"));
    assert!(PasetoFairing::default().load(&figment).is_ok());
    assert!(
        PasetoFairing::default()
            .load(&figment.select("release"))
            .is_err()
    );
}

#[test]
fn ignite_fails_on_bad_config() {
    let rocket =
        rocket::custom(release(json!({ "local_key": PUBLIC }))).attach(PasetoFairing::default());
    let err = rocket::execute(rocket.ignite()).unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::FailedFairings(_)));
}

#[test]
fn config_debug_redacts_keys() {
    let config: Config = figment(keys()).extract_inner("paseto").unwrap();
    let text = format!("{config:?}");
    assert!(
        !text.contains(&LOCAL[9..]) && !text.contains(&SECRET[10..]),
        "{text}"
    );
    let issuer = PasetoFairing::default().load(&figment(keys())).unwrap();
    let text = format!("{issuer:?}");
    assert!(
        !text.contains(&LOCAL[9..]) && !text.contains(&SECRET[10..]),
        "{text}"
    );
    assert!(text.contains("k4.lid."), "{text}");
}

#[test]
fn pem_keys_are_accepted() {
    let pair = ed25519_compact::KeyPair::from_seed(ed25519_compact::Seed::new([9u8; 32]));
    let other = ed25519_compact::KeyPair::from_seed(ed25519_compact::Seed::new([8u8; 32]));
    let issuer = PasetoFairing::default()
        .load(&figment(json!({
            "local_key": LOCAL,
            "secret_key": pair.sk.to_pem(),
            "public_keys": [other.pk.to_pem()],
            "access": { "purpose": "public" },
        })))
        .unwrap();
    assert_eq!(
        rocket_paseto::__private::authority(&issuer)
            .public_keys()
            .len(),
        2
    );
    let token = issuer.access("alice").issue().unwrap();
    assert!(token.starts_with("v4.public."));
    assert_eq!(
        issuer.verify::<Access>(&token).unwrap().claims().sub,
        "alice"
    );
    let from_pem = rocket_paseto::__private::PublicKey::parse(&pair.pk.to_pem()).unwrap();
    assert_eq!(
        rocket_paseto::__private::authority(&issuer)
            .secret_key()
            .unwrap()
            .id(),
        from_pem.id()
    );
}

// --- Sentinels -----------------------------------------------------------------------------

struct ApiKey;

impl TokenKind for ApiKey {
    const NAME: &'static str = "api_key";
    const TTL: Duration = Duration::from_secs(3600);
    const PURPOSE: Purpose = Purpose::Public;
}

#[get("/user")]
fn user(token: Paseto<Access>) -> String {
    token.subject().into()
}

#[get("/api")]
fn api(token: Paseto<ApiKey>) -> String {
    token.subject().into()
}

#[get("/issue")]
fn issue(issuer: &Issuer) -> String {
    issuer.kind::<ApiKey>("script").issue().unwrap()
}

fn sentinel_aborts(rocket: rocket::Rocket<rocket::Build>) -> bool {
    match rocket::execute(rocket.ignite()) {
        Ok(_) => false,
        Err(e) => matches!(e.kind(), ErrorKind::SentinelAborts(_)),
    }
}

#[test]
fn guards_without_the_fairing_abort_launch() {
    let bare = || rocket::custom(figment(keys()));
    assert!(sentinel_aborts(bare().mount("/", routes![user])));
    assert!(sentinel_aborts(bare().mount("/", routes![issue])));
    // Unregistered kinds abort too; registering them fixes it.
    let unregistered = bare()
        .attach(PasetoFairing::default())
        .mount("/", routes![api]);
    assert!(sentinel_aborts(unregistered));
    let registered = bare()
        .attach(PasetoFairing::default().kind::<ApiKey>())
        .mount("/", routes![api, issue, user]);
    assert!(rocket::execute(registered.ignite()).is_ok());
}

#[test]
fn custom_kinds_use_their_own_table_and_defaults() {
    let rocket = rocket::custom(figment(keys()))
        .attach(PasetoFairing::default().kind::<ApiKey>())
        .mount("/", routes![api, issue, user]);
    let client = Client::tracked(rocket).unwrap();
    let token = client.get("/issue").dispatch().into_string().unwrap();
    assert!(
        token.starts_with("v4.public."),
        "the kind's default purpose"
    );
    let ok = client.get("/api").header(bearer(&token)).dispatch();
    assert_eq!(ok.into_string().unwrap(), "script");
    let as_access = client.get("/user").header(bearer(&token)).dispatch();
    assert_eq!(as_access.status(), Status::Unauthorized);

    let mut paseto = keys();
    paseto["kinds"] = json!({ "api_key": { "purpose": "local", "ttl": 60 } });
    let issuer = PasetoFairing::default()
        .kind::<ApiKey>()
        .load(&figment(paseto))
        .unwrap();
    let rules = rocket_paseto::__private::authority(&issuer)
        .rules()
        .kind("api_key")
        .unwrap()
        .clone();
    assert_eq!(
        (rules.purpose(), rules.ttl()),
        (Purpose::Local, Duration::from_secs(60))
    );
}

#[test]
fn kind_registration_mistakes_fail_at_ignite() {
    struct Bad;
    impl TokenKind for Bad {
        const NAME: &'static str = "Bad Name";
        const TTL: Duration = Duration::from_secs(60);
    }
    struct Dup;
    impl TokenKind for Dup {
        const NAME: &'static str = "access";
        const TTL: Duration = Duration::from_secs(60);
    }
    let err = PasetoFairing::default()
        .kind::<Bad>()
        .load(&figment(keys()))
        .unwrap_err();
    assert_eq!(err.field(), "paseto.kinds.Bad Name");
    let err = PasetoFairing::default()
        .kind::<Dup>()
        .load(&figment(keys()))
        .unwrap_err();
    assert_eq!(err.field(), "paseto.kinds.access");
}

// --- Key material pasted where a path belongs ------------------------------------------------

/// A pasted key (`value`) and the part of it that must never be shown (`material`).
struct Pasted {
    value: String,
    material: String,
}

/// Shapes a key takes when pasted from somewhere: quoted, after a byte order mark, as
/// `name=value`, padded, as a JWK, as its raw base64url data and as standard base64.
fn pasted_shapes(paserk: &str, jwk: &str, std_base64: &str) -> Vec<Pasted> {
    let data = paserk.rsplit('.').next().unwrap();
    let shape = |value: String, material: &str| Pasted {
        value,
        material: material.to_owned(),
    };
    vec![
        shape(format!("\"{paserk}\""), data),
        shape(format!("\u{feff}{paserk}"), data),
        shape(format!("local_key={paserk}"), data),
        shape(format!("  {paserk}\n"), data),
        shape(jwk.to_owned(), &data[..20]),
        shape(data.to_owned(), data),
        shape(std_base64.to_owned(), &std_base64[..20]),
    ]
}

/// A key setting in its two forms, inline and `*_file`, with a configuration to add it to.
struct KeySetting {
    inline: &'static str,
    inline_field: &'static str,
    file: &'static str,
    file_field: &'static str,
    base: Value,
    shapes: Vec<Pasted>,
}

impl KeySetting {
    /// `base` with `value` in `setting` (an array for the list settings).
    fn with(&self, setting: &str, value: &str) -> Figment {
        let mut paseto = self.base.clone();
        paseto[setting] = if setting.ends_with('s') {
            json!([value])
        } else {
            json!(value)
        };
        release(paseto)
    }
}

/// Every key setting, with the test keys in every pasted shape.
fn key_settings() -> Vec<KeySetting> {
    let local = || {
        pasted_shapes(
            LOCAL,
            r#"{"kty":"oct","k":"5KEyzOJPPj-C2-27f61GaL45GEspp1Z-XbWG1UiWu0Q"}"#,
            "5KEyzOJPPj+C2+27f61GaL45GEspp1Z+XbWG1UiWu0Q=",
        )
    };
    let mut secret = pasted_shapes(
        SECRET,
        r#"{"kty":"OKP","crv":"Ed25519","d":"JSSpmat4EsUgVrkSsKco-igvd6XtbUrfECxOvD-vc_I","x":"XM5UZcYM3V_KzxjDxoBXMs9VmpG2eNlSQKXFM_YnV0c"}"#,
        "JSSpmat4EsUgVrkSsKco+igvd6XtbUrfECxOvD+vc/I=",
    );
    secret.push(Pasted {
        value: "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIJSSpmat4EsUgVrkSsKco\n-----END PRIVATE KEY-----".into(),
        material: "JSSpmat4EsUgVrkSsKco".into(),
    });
    let public = pasted_shapes(
        PUBLIC,
        r#"{"kty":"OKP","crv":"Ed25519","x":"XM5UZcYM3V_KzxjDxoBXMs9VmpG2eNlSQKXFM_YnV0c"}"#,
        "XM5UZcYM3V/KzxjDxoBXMs9VmpG2eNlSQKXFM/YnV0c=",
    );
    vec![
        KeySetting {
            inline: "local_key",
            inline_field: "paseto.local_key",
            file: "local_key_file",
            file_field: "paseto.local_key_file",
            base: json!({}),
            shapes: local(),
        },
        KeySetting {
            inline: "previous_local_keys",
            inline_field: "paseto.previous_local_keys[0]",
            file: "previous_local_key_files",
            file_field: "paseto.previous_local_key_files[0]",
            base: keys(),
            shapes: local(),
        },
        KeySetting {
            inline: "secret_key",
            inline_field: "paseto.secret_key",
            file: "secret_key_file",
            file_field: "paseto.secret_key_file",
            base: json!({ "local_key": LOCAL }),
            shapes: secret,
        },
        KeySetting {
            inline: "public_keys",
            inline_field: "paseto.public_keys[0]",
            file: "public_key_files",
            file_field: "paseto.public_key_files[0]",
            base: keys(),
            shapes: public,
        },
    ]
}

/// The launch error must name `field` and, like `Debug` of the configuration, show nothing of
/// `material`.
fn refuses_without_echo(figment: Figment, field: &str, material: &str) {
    let config = Config::from_figment(&figment).unwrap();
    let debug = format!("{config:?}");
    assert!(!debug.contains(material), "Debug leaks {material}: {debug}");
    let err = PasetoFairing::default()
        .load(&figment)
        .expect_err(&format!("{field} with {material} loaded"));
    assert_eq!(err.field(), field, "{err}");
    let text = format!("{err} {err:?}");
    assert!(!text.contains(material), "error leaks {material}: {text}");
}

#[test]
fn a_key_pasted_as_a_file_path_is_never_echoed() {
    for setting in key_settings() {
        for Pasted { value, material } in &setting.shapes {
            let figment = setting.with(setting.file, value);
            refuses_without_echo(figment, setting.file_field, material);
        }
    }
}

#[test]
fn the_contents_of_a_malformed_key_file_are_never_echoed() {
    let dir = std::env::temp_dir().join(format!("rocket-paseto-keyfiles-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for setting in key_settings() {
        for (i, Pasted { value, material }) in setting.shapes.iter().enumerate() {
            let file = dir.join(format!("{}-{i}", setting.file));
            std::fs::write(&file, value).unwrap();
            let figment = setting.with(setting.file, file.to_str().unwrap());
            // A key after a byte order mark, or with surrounding whitespace, is still a key.
            if value
                .trim_start_matches('\u{feff}')
                .trim()
                .starts_with("k4.")
            {
                PasetoFairing::default()
                    .load(&figment)
                    .unwrap_or_else(|e| panic!("{} holding {value:?}: {e}", setting.file));
                continue;
            }
            refuses_without_echo(figment, setting.file_field, material);
        }
    }
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn keys_of_these_shapes_inline_are_never_echoed() {
    for setting in key_settings() {
        for Pasted { value, material } in &setting.shapes {
            if value.trim().starts_with("k4.") {
                continue; // a valid key
            }
            let figment = setting.with(setting.inline, value);
            refuses_without_echo(figment, setting.inline_field, material);
        }
    }
}

#[test]
fn key_file_errors_name_the_field_and_the_problem_only() {
    let text = rejects(
        release(json!({ "local_key_file": "/nonexistent/rocket-paseto/local.key" })),
        "paseto.local_key_file",
        &[],
    );
    assert!(
        text.contains("cannot read") && !text.contains("nonexistent"),
        "{text}"
    );
    let text = rejects(
        release(json!({ "local_key_file": format!("\"{LOCAL}\"") })),
        "paseto.local_key_file",
        &[LOCAL],
    );
    assert!(text.contains("looks like a key"), "{text}");
}

// --- Cookie name prefixes --------------------------------------------------------------------

#[test]
fn prefixed_cookie_names_need_what_their_prefix_promises() {
    let with = |extra: Value| {
        let mut paseto = keys();
        for (key, value) in extra.as_object().unwrap() {
            paseto[key] = value.clone();
        }
        figment(paseto)
    };
    // `Secure` must be certain: `false`, or `"auto"` (the default), which omits it without TLS.
    for secure in [json!(false), json!("auto")] {
        for (settings, field) in [
            (
                json!({ "access": { "cookie": "__Host-access" } }),
                "paseto.access.cookie",
            ),
            (
                json!({ "refresh": { "cookie": "__Secure-refresh" } }),
                "paseto.refresh.cookie",
            ),
            (
                json!({ "access": { "cookie": "__host-access" } }),
                "paseto.access.cookie",
            ),
            (
                json!({ "remember_me": { "cookie": "__Host-remember" } }),
                "paseto.remember_me.cookie",
            ),
            (
                json!({ "cookies": { "csrf_cookie": "__Secure-csrf" } }),
                "paseto.cookies.csrf_cookie",
            ),
        ] {
            let mut settings = settings;
            let cookies = settings["cookies"].as_object().cloned().unwrap_or_default();
            settings["cookies"] = json!(cookies);
            settings["cookies"]["secure"] = secure.clone();
            let text = rejects(with(settings), field, &[]);
            assert!(text.contains("secure = true"), "{text}");
        }
        let mut custom = keys();
        custom["kinds"] = json!({ "api_key": { "cookie": "__Host-api" } });
        custom["cookies"] = json!({ "secure": secure });
        let err = PasetoFairing::default()
            .kind::<ApiKey>()
            .load(&figment(custom))
            .unwrap_err();
        assert_eq!(err.field(), "paseto.kinds.api_key.cookie", "{err}");
    }
    // `__Host-` also needs `Path=/`.
    let text = rejects(
        with(json!({
            "cookies": { "secure": true },
            "refresh": { "cookie": "__Host-refresh", "path": "/refresh" },
        })),
        "paseto.refresh.path",
        &[],
    );
    assert!(text.contains("__Secure-"), "{text}");
    // What the prefixes ask for, given: launches.
    let fine = [
        json!({
            "cookies": { "secure": true, "csrf_cookie": "__Host-csrf" },
            "access": { "cookie": "__Host-access" },
            "refresh": { "cookie": "__Secure-refresh", "path": "/refresh" },
            "remember_me": { "cookie": "__Host-remember" },
        }),
        // `SameSite=None` always adds `Secure`.
        json!({ "cookies": { "same_site": "none" }, "access": { "cookie": "__Host-access" } }),
    ];
    for settings in fine {
        PasetoFairing::default()
            .load(&with(settings.clone()))
            .unwrap_or_else(|e| panic!("{settings}: {e}"));
    }
}

#[test]
fn misspelled_settings_name_the_one_probably_meant() {
    let text = rejects(
        figment(json!({ "lcoal_key": LOCAL })),
        "paseto.lcoal_key",
        &[LOCAL],
    );
    assert!(text.contains("did you mean `local_key`?"), "{text}");
    let text = rejects(
        figment(json!({ "access": { "fresh_fro": 60 } })),
        "paseto.access.fresh_fro",
        &[],
    );
    assert!(text.contains("did you mean `fresh_for`?"), "{text}");
    // A value of the wrong type is described by its type, never shown.
    let text = rejects(
        figment(json!({ "local_key": 123_456_789 })),
        "paseto.local_key",
        &[],
    );
    assert!(!text.contains("123456789"), "{text}");
    // Nothing close: no guess.
    let text = rejects(figment(json!({ "port": 80 })), "paseto.port", &[]);
    assert!(!text.contains("did you mean"), "{text}");
}

#[test]
fn durations_say_their_unit() {
    for (paseto, field, unit) in [
        (
            json!({ "access": { "ttl": "15m" } }),
            "paseto.access.ttl",
            "seconds",
        ),
        (
            json!({ "session_ttl": -1 }),
            "paseto.session_ttl",
            "seconds",
        ),
        (json!({ "leeway": 1.5 }), "paseto.leeway", "seconds"),
        (
            json!({ "revocation": { "timeout_ms": "1s" } }),
            "paseto.revocation.timeout_ms",
            "milliseconds",
        ),
    ] {
        let text = rejects(figment(paseto), field, &[]);
        assert!(
            text.contains(&format!("a whole number of {unit}")),
            "{text}"
        );
    }
}

/// `ROCKET_PASETO=local_key=…` (no braces) reaches the fairing as a string.
#[test]
fn a_paseto_string_shows_how_to_write_the_table() {
    let figment = Figment::from(rocket::Config::debug_default())
        .merge(("paseto", format!("local_key={LOCAL}")));
    let text = rejects(figment, "paseto", &[LOCAL]);
    assert!(text.contains("ROCKET_PASETO='{local_key="), "{text}");
}

/// No other fix helps until the feature is on, so it is named first, before the missing URL and
/// the missing keys of the release profile.
#[cfg(not(feature = "redis"))]
#[test]
fn a_redis_store_without_its_feature_says_so_first() {
    let text = rejects(
        release(json!({ "revocation": { "store": "redis" } })),
        "paseto.revocation.store",
        &[],
    );
    assert!(text.contains("features = [\"redis\"]"), "{text}");
}

/// docs/keys.md's one-line local key, run as written there.
#[test]
fn the_shell_one_liner_makes_a_local_key() {
    let docs = include_str!("../docs/keys.md");
    let line = docs
        .lines()
        .find(|l| l.starts_with("echo \"local_key = "))
        .expect("docs/keys.md shows the one-liner");
    let out = std::process::Command::new("sh")
        .args(["-c", line])
        .output()
        .unwrap();
    assert!(out.status.success());
    let line = String::from_utf8(out.stdout).unwrap();
    let key = line.trim().strip_prefix("local_key = \"").unwrap();
    let key = key.strip_suffix('"').unwrap();
    let issuer = PasetoFairing::default()
        .load(&release(
            json!({ "local_key": key, "access": { "purpose": "local" } }),
        ))
        .unwrap();
    let token = issuer.access("alice").issue().unwrap();
    assert!(issuer.verify::<Access>(&token).is_ok());
}

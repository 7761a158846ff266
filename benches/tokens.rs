//! Micro-benchmarks of the token core next to the alternatives, in one run:
//!
//! - verify and mint, local and public, through `Authority` (with and without the cache);
//! - raw pasetors (`local::decrypt` / `public::verify` with `ClaimsValidationRules`), and for
//!   public tokens the signature check alone, pasetors' and ours (`__private::verify_token`);
//! - jsonwebtoken HS256 and EdDSA with the same claims;
//! - rejecting garbage, oversized, wrong-purpose and tampered tokens;
//! - the private-cookie jar (with and without its cache) next to the `cookie` crate's private
//!   jar (Rocket's `get_private`);
//! - the per-request revocation lookup and a revocation in a memory store of 1M entries (and the
//!   slowest insert while filling it), and with `--features redis` and `REDIS_URL` set, the
//!   lookup in Redis (one round trip over loopback).
//!
//! `cargo bench` runs them all; `cargo bench -- verify` runs the verify groups, and
//! `cargo bench -- public` everything about public tokens.

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use pasetors::claims::{Claims as PasetorsClaims, ClaimsValidationRules};
use pasetors::keys::{AsymmetricPublicKey, AsymmetricSecretKey, SymmetricKey};
use pasetors::token::{Public, UntrustedToken};
use pasetors::version4::{PublicToken, V4};
use rocket_paseto::__private::{self, decrypt, verify_token, with_cache, with_sealed_cache};
use rocket_paseto::__private::{
    Authority, KindRules, LocalKey, MintOptions, Rules, SecretKey, VerifyOptions,
};
use rocket_paseto::Purpose;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

const LOCAL: &str = "k4.local.5KEyzOJPPj-C2-27f61GaL45GEspp1Z-XbWG1UiWu0Q";
const SECRET: &str = "k4.secret.JSSpmat4EsUgVrkSsKco-igvd6XtbUrfECxOvD-vc_JczlRlxgzdX8rPGMPGgFcyz1WakbZ42VJApcUz9idXRw";

fn authority(cache: usize) -> Authority {
    let rules = Rules::new(vec![
        KindRules::new("access", Purpose::Local, Duration::from_secs(900)),
        KindRules::new("signed", Purpose::Public, Duration::from_secs(900)),
    ]);
    let authority = Authority::new(
        Some(LocalKey::from_paserk(LOCAL).unwrap()),
        Some(SecretKey::parse(SECRET).unwrap()),
        vec![],
        rules,
    );
    with_cache(authority, cache)
}

#[derive(Serialize, Deserialize)]
struct JwtClaims {
    sub: String,
    exp: u64,
    iat: u64,
    nbf: u64,
    jti: String,
    #[serde(rename = "type")]
    kind: String,
}

fn jwt_claims() -> JwtClaims {
    let now = OffsetDateTime::now_utc().unix_timestamp() as u64;
    JwtClaims {
        sub: "alice".into(),
        exp: now + 900,
        iat: now,
        nbf: now,
        jti: "Vj3kq0s9c2xQn8Hc4J1rPw".into(),
        kind: "access".into(),
    }
}

fn pasetors_claims() -> PasetorsClaims {
    let mut claims = PasetorsClaims::new().unwrap();
    claims.subject("alice").unwrap();
    claims.token_identifier("Vj3kq0s9c2xQn8Hc4J1rPw").unwrap();
    claims.add_additional("type", "access").unwrap();
    claims
}

fn verify(c: &mut Criterion) {
    let now = OffsetDateTime::now_utc();
    let ours = authority(0);
    let cached = authority(1024);
    let local = ours
        .mint("access", "alice", None::<&()>, MintOptions::new())
        .unwrap();

    let mut g = c.benchmark_group("verify");
    g.bench_function("rocket_paseto local", |b| {
        b.iter(|| {
            ours.verify("access", black_box(&local), now, VerifyOptions::new())
                .unwrap()
        })
    });
    g.bench_function("rocket_paseto local cached", |b| {
        b.iter(|| {
            cached
                .verify("access", black_box(&local), now, __private::cached())
                .unwrap()
        })
    });
    // 800 users' tokens in a cache of 1024, each presented in turn: a hit that, unlike the
    // one above, does not find its entry in the processor's nearest caches. Then a different
    // token each time through the full cache: each verification misses, inserts and evicts
    // another entry, as under `bench/alternate.sh`'s new-token row.
    for (name, count) in [
        ("rocket_paseto local cached, 800 users", 800),
        ("rocket_paseto local cached, a new token each time", 20_000),
    ] {
        let tokens: Vec<String> = (0..count)
            .map(|_| {
                ours.mint("access", "alice", None::<&()>, MintOptions::new())
                    .unwrap()
            })
            .collect();
        // Minted after `now`, and maybe in a later second.
        let after_minting = OffsetDateTime::now_utc() + Duration::from_secs(1);
        let mut turn = tokens.iter().cycle();
        g.bench_function(name, |b| {
            b.iter(|| {
                let token = black_box(turn.next().unwrap());
                cached
                    .verify("access", token, after_minting, __private::cached())
                    .unwrap()
            })
        });
    }
    let key = LocalKey::from_paserk(LOCAL).unwrap();
    g.bench_function("rocket_paseto LocalKey::decrypt (no claims)", |b| {
        b.iter(|| decrypt(&key, black_box(&local), None).unwrap())
    });

    let sk = SymmetricKey::<V4>::try_from(LOCAL).unwrap();
    let rules = ClaimsValidationRules::new();
    let raw_local = pasetors::local::encrypt(&sk, &pasetors_claims(), None, None).unwrap();
    g.bench_function("pasetors local::decrypt", |b| {
        b.iter(|| {
            let t = UntrustedToken::try_from(black_box(raw_local.as_str())).unwrap();
            pasetors::local::decrypt(&sk, &t, &rules, None, None).unwrap()
        })
    });

    let secret = b"an HS256 secret of thirty-two by";
    let hs_token = jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &jwt_claims(),
        &EncodingKey::from_secret(secret),
    )
    .unwrap();
    let hs_key = DecodingKey::from_secret(secret);
    let hs_validation = Validation::new(Algorithm::HS256);
    g.bench_function("jsonwebtoken HS256", |b| {
        b.iter(|| {
            jsonwebtoken::decode::<JwtClaims>(black_box(&hs_token), &hs_key, &hs_validation)
                .unwrap()
        })
    });
    g.finish();
}

/// Verifying a `v4.public` token, uncached and cached through `Authority`, next to the
/// signature check alone (ours, and pasetors' `PublicToken::verify`, which `Authority` used
/// before), pasetors with its own claims validation, and jsonwebtoken EdDSA.
/// `cargo bench --bench tokens -- public` runs this group (and minting a public token).
fn verify_public(c: &mut Criterion) {
    let now = OffsetDateTime::now_utc();
    let ours = authority(0);
    let cached = authority(1024);
    let token = ours
        .mint("signed", "alice", None::<&()>, MintOptions::new())
        .unwrap();
    let signing = SecretKey::parse(SECRET).unwrap();
    let key = signing.public_key();
    let asym = AsymmetricSecretKey::<V4>::try_from(SECRET).unwrap();
    let pk = AsymmetricPublicKey::<V4>::try_from(&asym).unwrap();

    let mut g = c.benchmark_group("verify public");
    g.bench_function("rocket_paseto Authority::verify", |b| {
        b.iter(|| {
            ours.verify("signed", black_box(&token), now, VerifyOptions::new())
                .unwrap()
        })
    });
    g.bench_function("rocket_paseto Authority::verify cached", |b| {
        b.iter(|| {
            let options = __private::cached();
            cached
                .verify("signed", black_box(&token), now, options)
                .unwrap()
        })
    });
    g.bench_function("rocket_paseto token::crypto verify (signature only)", |b| {
        b.iter(|| verify_token(key, black_box(&token), None).unwrap())
    });
    g.bench_function("pasetors PublicToken::verify (signature only)", |b| {
        b.iter(|| {
            let t = UntrustedToken::<Public, V4>::try_from(black_box(token.as_str())).unwrap();
            PublicToken::verify(&pk, &t, None, None).unwrap()
        })
    });
    let rules = ClaimsValidationRules::new();
    let raw_public = pasetors::public::sign(&asym, &pasetors_claims(), None, None).unwrap();
    g.bench_function("pasetors public::verify", |b| {
        b.iter(|| {
            let t = UntrustedToken::try_from(black_box(raw_public.as_str())).unwrap();
            pasetors::public::verify(&pk, &t, &rules, None, None).unwrap()
        })
    });
    let pair = ed25519_compact::KeyPair::from_seed(ed25519_compact::Seed::new([7; 32]));
    let ed_token = jsonwebtoken::encode(
        &Header::new(Algorithm::EdDSA),
        &jwt_claims(),
        &EncodingKey::from_ed_pem(pair.sk.to_pem().as_bytes()).unwrap(),
    )
    .unwrap();
    let ed_key = DecodingKey::from_ed_pem(pair.pk.to_pem().as_bytes()).unwrap();
    let ed_validation = Validation::new(Algorithm::EdDSA);
    g.bench_function("jsonwebtoken EdDSA", |b| {
        b.iter(|| {
            jsonwebtoken::decode::<JwtClaims>(black_box(&ed_token), &ed_key, &ed_validation)
                .unwrap()
        })
    });
    g.finish();
}

fn mint(c: &mut Criterion) {
    let ours = authority(0);
    let mut g = c.benchmark_group("mint");
    g.bench_function("rocket_paseto local", |b| {
        b.iter(|| {
            ours.mint("access", "alice", None::<&()>, MintOptions::new())
                .unwrap()
        })
    });
    g.bench_function("rocket_paseto public", |b| {
        b.iter(|| {
            ours.mint("signed", "alice", None::<&()>, MintOptions::new())
                .unwrap()
        })
    });
    let sk = SymmetricKey::<V4>::try_from(LOCAL).unwrap();
    g.bench_function("pasetors local::encrypt", |b| {
        b.iter(|| pasetors::local::encrypt(&sk, &pasetors_claims(), None, None).unwrap())
    });
    let key = EncodingKey::from_secret(b"an HS256 secret of thirty-two by");
    g.bench_function("jsonwebtoken HS256", |b| {
        b.iter(|| {
            jsonwebtoken::encode(&Header::new(Algorithm::HS256), &jwt_claims(), &key).unwrap()
        })
    });
    g.finish();
}

fn reject(c: &mut Criterion) {
    let now = OffsetDateTime::now_utc();
    let ours = authority(1024);
    let good = ours
        .mint("access", "alice", None::<&()>, MintOptions::new())
        .unwrap();
    let mut tampered = good.clone().into_bytes();
    tampered[40] = if tampered[40] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(tampered).unwrap();
    let garbage = "v4.local.".to_owned() + &"A".repeat(200);
    let oversized = "v4.local.".to_owned() + &"A".repeat(100_000);
    let other_purpose = ours
        .mint("signed", "alice", None::<&()>, MintOptions::new())
        .unwrap();

    let mut g = c.benchmark_group("reject");
    g.bench_function("accept a valid token (uncached, for scale)", |b| {
        b.iter(|| {
            ours.verify("access", black_box(&good), now, VerifyOptions::new())
                .unwrap()
        })
    });
    g.bench_function("garbage", |b| {
        b.iter(|| {
            ours.verify("access", black_box(&garbage), now, __private::cached())
                .unwrap_err()
        })
    });
    g.bench_function("oversized (100 kB)", |b| {
        b.iter(|| {
            ours.verify("access", black_box(&oversized), now, __private::cached())
                .unwrap_err()
        })
    });
    g.bench_function("wrong purpose", |b| {
        b.iter(|| {
            ours.verify(
                "access",
                black_box(&other_purpose),
                now,
                __private::cached(),
            )
            .unwrap_err()
        })
    });
    g.bench_function("tampered", |b| {
        b.iter(|| {
            ours.verify("access", black_box(&tampered), now, __private::cached())
                .unwrap_err()
        })
    });
    g.finish();
}

fn jar(c: &mut Criterion) {
    #[derive(Serialize, Deserialize)]
    struct Session {
        user: String,
        items: Vec<u32>,
    }
    let value = Session {
        user: "alice".into(),
        items: vec![1, 2, 3],
    };
    let now = OffsetDateTime::now_utc();
    let ours = authority(0);
    let cached = with_sealed_cache(authority(0), 1024);
    let binding = b"rocket_paseto cookie session";
    let sealed = ours
        .seal(binding, &value, Duration::from_secs(3600))
        .unwrap();

    let key = cookie::Key::generate();
    let mut rocket_jar = cookie::CookieJar::new();
    rocket_jar.private_mut(&key).add(cookie::Cookie::new(
        "session",
        serde_json::to_string(&value).unwrap(),
    ));
    let encrypted = rocket_jar.get("session").unwrap().clone();

    let mut g = c.benchmark_group("jar");
    g.bench_function("PasetoCookies get (unseal + typed)", |b| {
        b.iter(|| {
            ours.unseal::<Session>(binding, black_box(&sealed), now)
                .unwrap()
        })
    });
    g.bench_function("PasetoCookies get, value read before (cache hit)", |b| {
        b.iter(|| {
            cached
                .unseal::<Session>(binding, black_box(&sealed), now)
                .unwrap()
        })
    });
    g.bench_function("Rocket get_private (AES-GCM) + serde", |b| {
        b.iter(|| {
            let mut jar = cookie::CookieJar::new();
            jar.add_original(black_box(encrypted.clone()));
            let plain = jar.private(&key).get("session").unwrap();
            serde_json::from_str::<Session>(plain.value()).unwrap()
        })
    });
    g.bench_function("PasetoCookies add (seal)", |b| {
        b.iter(|| {
            ours.seal(binding, black_box(&value), Duration::from_secs(3600))
                .unwrap()
        })
    });
    g.finish();
}

/// The revocation store on the request path, in a memory store of a million live entries:
///
/// - the lookup a checked guard makes per request (a token id and a family id, both absent);
/// - the insert a logout or rotation makes (new keys that expire within a second, so the store
///   stays near a million live entries and sweeps are paid for too);
/// - while filling the store, the slowest single insert, which is where a stall of the whole
///   store (growing or sweeping a table under its lock) shows. Printed, not benchmarked; on
///   Linux, time spent waiting for a CPU is left out, so a busy machine does not blur it.
fn revocation(c: &mut Criterion) {
    use std::fmt::Write;
    use std::time::Instant;

    use rocket_paseto::revocation::{MemoryStore, RevocationStore};
    const ENTRIES: usize = 1_000_000;
    let runtime = rocket::tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let later = OffsetDateTime::now_utc() + time::Duration::hours(1);
    let mut g = c.benchmark_group("revocation");
    let memory = MemoryStore::new();
    let mut took = Vec::with_capacity(ENTRIES);
    let waiting = Waiting::open();
    runtime.block_on(async {
        for i in 0..ENTRIES {
            let key = format!("jti:{i:022}");
            let waited = waiting.total();
            let start = Instant::now();
            memory.insert(&key, later).await.unwrap();
            let elapsed = start.elapsed();
            took.push(elapsed.saturating_sub(waiting.total().saturating_sub(waited)));
        }
    });
    took.sort_unstable();
    let percentile = |p: f64| took[((took.len() - 1) as f64 * p) as usize];
    eprintln!(
        "revocation/memory store, filling to 1M entries: one insert takes {:?} (median), \
         {:?} (99.99th percentile), {:?} at most",
        percentile(0.5),
        percentile(0.9999),
        took[took.len() - 1],
    );
    let keys = ["jti:AAAAAAAAAAAAAAAAAAAAAA", "fam:BBBBBBBBBBBBBBBBBBBBBB"];
    g.bench_function("memory store, 1M entries, check", |b| {
        b.iter(|| runtime.block_on(memory.get(black_box(&keys))))
    });
    let mut key = String::new();
    let mut n = 0u64;
    g.bench_function("memory store, 1M entries, insert", |b| {
        b.iter(|| {
            n += 1;
            key.clear();
            write!(key, "jti:new{n:019}").unwrap();
            let soon = OffsetDateTime::now_utc() + time::Duration::seconds(1);
            runtime.block_on(memory.insert(black_box(&key), soon))
        })
    });
    #[cfg(feature = "redis")]
    if let Ok(url) = std::env::var("REDIS_URL") {
        let redis = rocket_paseto::revocation::RedisStore::new(&url).unwrap();
        g.bench_function("redis store, loopback", |b| {
            b.iter(|| runtime.block_on(redis.get(black_box(&keys))))
        });
    }
    g.finish();
}

/// How long this thread has waited for a CPU so far, from Linux's schedstat (which updates it
/// each time the thread gets a CPU back); always zero elsewhere.
struct Waiting(Option<std::fs::File>);

impl Waiting {
    fn open() -> Self {
        Waiting(std::fs::File::open("/proc/thread-self/schedstat").ok())
    }

    fn total(&self) -> Duration {
        let mut buf = [0u8; 128];
        let read = self.0.as_ref().and_then(|file| read_start(file, &mut buf));
        let nanos = read.and_then(|n| {
            let text = std::str::from_utf8(&buf[..n]).ok()?;
            text.split_whitespace().nth(1)?.parse().ok()
        });
        Duration::from_nanos(nanos.unwrap_or(0))
    }
}

/// Reads a file from its start, however often it was read before (`pread` at offset 0).
#[cfg(unix)]
fn read_start(file: &std::fs::File, buf: &mut [u8]) -> Option<usize> {
    std::os::unix::fs::FileExt::read_at(file, buf, 0).ok()
}

#[cfg(not(unix))]
fn read_start(_: &std::fs::File, _: &mut [u8]) -> Option<usize> {
    None
}

criterion_group!(
    benches,
    verify,
    verify_public,
    mint,
    reject,
    jar,
    revocation
);
criterion_main!(benches);

//! Properties of the token core over generated inputs.

mod common;

use common::*;
use proptest::prelude::*;
use rocket_paseto::__private::{
    Authority, KindRules, LocalKey, MintOptions, REGISTERED_CLAIMS, Rules, SecretKey, VerifyOptions,
};
use rocket_paseto::Purpose;
use serde_json::{Map, Value};
use std::time::Duration;
use time::OffsetDateTime;

fn authority(kinds: &[(&str, Purpose)], leeway: u64) -> Authority {
    let kinds = kinds
        .iter()
        .map(|(name, purpose)| KindRules::new(*name, *purpose, Duration::from_secs(600)))
        .collect();
    Authority::new(
        Some(LocalKey::from_paserk(LOCAL).unwrap()),
        Some(SecretKey::parse(SECRET).unwrap()),
        vec![],
        Rules::new(kinds).leeway(Duration::from_secs(leeway)),
    )
}

fn purpose() -> impl Strategy<Value = Purpose> {
    prop_oneof![Just(Purpose::Local), Just(Purpose::Public)]
}

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        ".{0,24}".prop_map(Value::from),
        Just(Value::Null),
    ]
}

fn claim_value() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
            prop::collection::btree_map("[a-z]{1,6}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn mint_then_verify_round_trips(
        subject in ".{0,40}",
        extra in prop::collection::btree_map("[a-z_]{1,12}", claim_value(), 0..6),
        purpose in purpose(),
    ) {
        let extra: Map<String, Value> = extra
            .into_iter()
            .filter(|(k, _)| !REGISTERED_CLAIMS.contains(&k.as_str()) && k != "csrf")
            .collect();
        let a = authority(&[("access", purpose)], 0);
        let token = a.mint("access", &subject, Some(&extra), MintOptions::new()).unwrap();
        let verified = a.verify("access", &token, OffsetDateTime::now_utc(), VerifyOptions::new()).unwrap();
        prop_assert_eq!(&verified.claims().sub, &subject);
        let payload: Map<String, Value> = serde_json::from_str(verified.payload()).unwrap();
        for (k, v) in &extra {
            prop_assert_eq!(payload.get(k), Some(v));
        }
    }

    #[test]
    fn any_single_byte_change_is_rejected(
        index in any::<prop::sample::Index>(),
        byte in any::<u8>(),
        purpose in purpose(),
    ) {
        let a = authority(&[("access", purpose)], 0);
        let token = a.mint("access", "alice", None::<&()>, MintOptions::new()).unwrap();
        let mut bytes = token.into_bytes();
        let i = index.index(bytes.len());
        prop_assume!(bytes[i] != byte);
        bytes[i] = byte;
        // A change that breaks UTF-8 cannot even reach the verifier as a header value.
        if let Ok(mutated) = String::from_utf8(bytes) {
            prop_assert!(a.verify("access", &mutated, OffsetDateTime::now_utc(), VerifyOptions::new()).is_err());
        }
    }

    #[test]
    fn a_kind_never_verifies_as_another(
        names in ("[a-z]{1,8}", "[a-z]{1,8}").prop_filter("distinct", |(a, b)| a != b),
        purposes in (purpose(), purpose()),
    ) {
        let (a_name, b_name) = names;
        let a = authority(&[(a_name.as_str(), purposes.0), (b_name.as_str(), purposes.1)], 600);
        let token = a.mint(&a_name, "alice", None::<&()>, MintOptions::new()).unwrap();
        prop_assert!(a.verify(&a_name, &token, OffsetDateTime::now_utc(), VerifyOptions::new()).is_ok());
        prop_assert!(a.verify(&b_name, &token, OffsetDateTime::now_utc(), VerifyOptions::new()).is_err());
    }

    #[test]
    fn time_acceptance_is_exactly_the_leeway_window(
        exp_offset in -1_000i64..1_000,
        nbf_offset in -1_000i64..1_000,
        leeway in 0u64..=600,
    ) {
        let a = authority(&[("access", Purpose::Local)], leeway);
        let now = OffsetDateTime::from_unix_timestamp(1_900_000_000).unwrap();
        let at = |offset: i64| time(now + time::Duration::seconds(offset));
        let mut c = claims("access");
        c.insert("exp".into(), at(exp_offset).into());
        c.insert("nbf".into(), at(nbf_offset).into());
        c.insert("iat".into(), at(nbf_offset).into());
        let token = local_token(&c);
        let leeway = leeway as i64;
        // nbf - leeway <= now <= exp + leeway, with now at offset 0.
        let expected = nbf_offset - leeway <= 0 && 0 <= exp_offset + leeway;
        prop_assert_eq!(a.verify("access", &token, now, VerifyOptions::new()).is_ok(), expected);
    }
}

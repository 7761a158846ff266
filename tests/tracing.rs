//! The `tracing` feature: spans around the guards, session refreshes and store calls, seen by a
//! subscriber that records every span's name, fields and parent.

mod common;

use std::collections::HashMap;
use std::fmt::Debug;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use rocket::http::Status;
use rocket::local::asynchronous::Client;
use rocket::{get, post, routes};
use rocket_paseto::{Access, AuthError, Issuer, Paseto, Refresh, Sessions, TokenPair};
use serde_json::json;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Metadata, Subscriber};

use common::{bearer, keys};

/// One span as the subscriber saw it.
#[derive(Debug, Clone)]
struct Span {
    name: &'static str,
    fields: HashMap<&'static str, String>,
    parent: Option<u64>,
}

/// Records spans; entered spans are tracked per subscriber (the tests run on one thread each).
#[derive(Default, Clone)]
struct Recorder {
    spans: Arc<Mutex<HashMap<u64, Span>>>,
    entered: Arc<Mutex<Vec<u64>>>,
    next: Arc<AtomicU64>,
}

struct Fields<'a>(&'a mut HashMap<&'static str, String>);

impl Visit for Fields<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn Debug) {
        self.0.insert(field.name(), format!("{value:?}"));
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name(), value.to_owned());
    }
}

impl Subscriber for Recorder {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }

    fn new_span(&self, attributes: &Attributes<'_>) -> Id {
        let id = self.next.fetch_add(1, Ordering::Relaxed) + 1;
        let mut fields = HashMap::new();
        attributes.record(&mut Fields(&mut fields));
        let parent = match attributes.parent() {
            Some(parent) => Some(parent.into_u64()),
            None if attributes.is_contextual() => self.entered.lock().unwrap().last().copied(),
            None => None,
        };
        let span = Span {
            name: attributes.metadata().name(),
            fields,
            parent,
        };
        self.spans.lock().unwrap().insert(id, span);
        Id::from_u64(id)
    }

    fn record(&self, id: &Id, values: &Record<'_>) {
        let mut spans = self.spans.lock().unwrap();
        if let Some(span) = spans.get_mut(&id.into_u64()) {
            values.record(&mut Fields(&mut span.fields));
        }
    }

    fn record_follows_from(&self, _: &Id, _: &Id) {}

    fn event(&self, _: &Event<'_>) {}

    fn enter(&self, id: &Id) {
        self.entered.lock().unwrap().push(id.into_u64());
    }

    fn exit(&self, id: &Id) {
        let mut entered = self.entered.lock().unwrap();
        if let Some(at) = entered.iter().rposition(|e| *e == id.into_u64()) {
            entered.remove(at);
        }
    }
}

impl Recorder {
    fn take(&self) -> Vec<(u64, Span)> {
        let mut spans: Vec<_> = self.spans.lock().unwrap().drain().collect();
        spans.sort_by_key(|(id, _)| *id);
        spans
    }
}

#[get("/user")]
fn user(token: Paseto<Access>) -> String {
    token.subject().to_owned()
}

#[post("/login")]
async fn login(sessions: Sessions<'_>) -> Result<TokenPair, AuthError> {
    sessions.login("alice").issue().await
}

/// A refresh token from the body, checked only when it is refreshed.
#[post("/token", data = "<token>")]
async fn token(
    token: &str,
    issuer: &Issuer,
    sessions: Sessions<'_>,
) -> Result<TokenPair, AuthError> {
    let refresh = issuer
        .verify::<Refresh>(token)
        .map_err(AuthError::Invalid)?;
    sessions.refresh(&refresh).await
}

#[post("/refresh")]
async fn refresh(token: Paseto<Refresh>, sessions: Sessions<'_>) -> Result<TokenPair, AuthError> {
    sessions.refresh(&token).await
}

fn named<'a>(spans: &'a [(u64, Span)], name: &str) -> Vec<&'a (u64, Span)> {
    spans.iter().filter(|(_, s)| s.name == name).collect()
}

/// No recorded field holds any of `secrets`.
fn assert_no_field_holds(spans: &[(u64, Span)], secrets: &[&str]) {
    for (_, span) in spans {
        for value in span.fields.values() {
            for secret in secrets {
                assert!(!value.contains(secret), "{span:?} holds a secret");
            }
        }
    }
}

#[rocket::async_test]
async fn guards_refreshes_and_store_calls_run_in_spans_with_their_cause() {
    let recorder = Recorder::default();
    let _default = tracing::subscriber::set_default(recorder.clone());
    let mut paseto = keys();
    paseto["revocation"] = json!({ "store": "memory" });
    let rocket = common::rocket(paseto, routes![user, login, refresh]);
    let client = Client::untracked(rocket).await.unwrap();
    let pair: TokenPair = client
        .post("/login")
        .dispatch()
        .await
        .into_json()
        .await
        .unwrap();
    recorder.take();

    // A good token: a guard span for its kind, no cause.
    let ok = client
        .get("/user")
        .header(bearer(&pair.access_token))
        .dispatch()
        .await;
    assert_eq!(ok.status(), Status::Ok);
    let spans = recorder.take();
    let guards = named(&spans, "rocket_paseto.guard");
    assert_eq!(guards.len(), 1, "{spans:?}");
    assert_eq!(
        guards[0].1.fields.get("kind").map(String::as_str),
        Some("access")
    );
    assert!(!guards[0].1.fields.contains_key("cause"), "{spans:?}");

    // Garbage: the cause, by name.
    let garbage = "v4.local.bm90IGEgdG9rZW4";
    let refused = client.get("/user").header(bearer(garbage)).dispatch().await;
    assert_eq!(refused.status(), Status::Unauthorized);
    let spans = recorder.take();
    let guards = named(&spans, "rocket_paseto.guard");
    assert_eq!(
        guards[0].1.fields.get("cause").map(String::as_str),
        Some("invalid")
    );
    assert_no_field_holds(&spans, &[garbage]);

    // A refresh: the guard of the refresh token, then the refresh span with the store calls
    // of the rotation inside it.
    let refreshed = client
        .post("/refresh")
        .header(bearer(&pair.refresh_token))
        .dispatch()
        .await;
    assert_eq!(refreshed.status(), Status::Ok);
    let new: TokenPair = refreshed.into_json().await.unwrap();
    let spans = recorder.take();
    let refreshes = named(&spans, "rocket_paseto.refresh");
    assert_eq!(refreshes.len(), 1, "{spans:?}");
    let (refresh_id, refresh_span) = refreshes[0];
    assert!(!refresh_span.fields.contains_key("cause"));
    let inside: Vec<_> = named(&spans, "rocket_paseto.store")
        .into_iter()
        .filter(|(_, s)| s.parent == Some(*refresh_id))
        .map(|(_, s)| s.fields["op"].clone())
        .collect();
    assert!(inside.contains(&"swap".to_owned()), "{spans:?}");
    let guard = named(&spans, "rocket_paseto.guard");
    assert_eq!(
        guard[0].1.fields.get("kind").map(String::as_str),
        Some("refresh")
    );
    let secrets = [
        pair.access_token.as_str(),
        &pair.refresh_token,
        &new.access_token,
        &new.refresh_token,
        "alice",
    ];
    assert_no_field_holds(&spans, &secrets);
}

#[rocket::async_test]
async fn an_expired_token_a_reused_one_and_a_failed_refresh_record_their_cause() {
    let recorder = Recorder::default();
    let _default = tracing::subscriber::set_default(recorder.clone());
    let mut paseto = keys();
    paseto["revocation"] = json!({ "store": "memory", "rotation_grace": 0 });
    let rocket = common::rocket(paseto, routes![user, login, refresh, token]);
    let client = Client::untracked(rocket).await.unwrap();

    let mut claims = common::claims("access");
    let past = common::now() - time::Duration::hours(1);
    claims.insert("exp".into(), common::time(past).into());
    claims.insert(
        "iat".into(),
        common::time(past - time::Duration::hours(1)).into(),
    );
    claims.insert(
        "nbf".into(),
        common::time(past - time::Duration::hours(1)).into(),
    );
    let expired = common::local_token(&claims);
    let refused = client
        .get("/user")
        .header(bearer(&expired))
        .dispatch()
        .await;
    assert_eq!(refused.status(), Status::Unauthorized);
    let spans = recorder.take();
    let guards = named(&spans, "rocket_paseto.guard");
    assert_eq!(
        guards[0].1.fields.get("cause").map(String::as_str),
        Some("expired")
    );
    assert_no_field_holds(&spans, &[&expired]);

    // A replaced refresh token presented again: the guard refuses it as revoked.
    let pair: TokenPair = client
        .post("/login")
        .dispatch()
        .await
        .into_json()
        .await
        .unwrap();
    let rotated = client
        .post("/refresh")
        .header(bearer(&pair.refresh_token))
        .dispatch()
        .await;
    assert_eq!(rotated.status(), Status::Ok);
    recorder.take();
    let reused = client
        .post("/refresh")
        .header(bearer(&pair.refresh_token))
        .dispatch()
        .await;
    assert_eq!(reused.status(), Status::Unauthorized);
    let spans = recorder.take();
    let guards = named(&spans, "rocket_paseto.guard");
    assert_eq!(
        guards[0].1.fields.get("cause").map(String::as_str),
        Some("revoked")
    );
    let store = named(&spans, "rocket_paseto.store");
    assert!(
        store.iter().all(|(_, s)| s.parent == Some(guards[0].0)),
        "{spans:?}"
    );
    assert_no_field_holds(&spans, &[&pair.refresh_token, "alice"]);

    // The same token where no guard checks it first: the refresh itself finds the reuse.
    let body = client
        .post("/token")
        .body(&pair.refresh_token)
        .dispatch()
        .await;
    assert_eq!(body.status(), Status::Unauthorized);
    let spans = recorder.take();
    let refreshes = named(&spans, "rocket_paseto.refresh");
    assert_eq!(refreshes.len(), 1, "{spans:?}");
    assert_eq!(
        refreshes[0].1.fields.get("cause").map(String::as_str),
        Some("revoked")
    );
    assert!(named(&spans, "rocket_paseto.guard").is_empty());
    assert_no_field_holds(&spans, &[&pair.refresh_token, "alice"]);
}

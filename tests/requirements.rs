//! Claim requirements on an authenticated caller: scopes, roles, claim values, subjects with
//! an admin bypass. A caller who lacks a grant gets 403 `insufficient_scope`, never 401.

mod common;

use common::*;
use rocket::http::Status;
use rocket::local::blocking::Client;
use rocket::{get, routes};
use rocket_paseto::{Access, AuthError, Paseto};
use serde_json::{Value, json};

#[get("/reports")]
fn reports(token: Paseto<Access>) -> Result<&'static str, AuthError> {
    token.require_scope("reports:read")?;
    Ok("reports")
}

#[get("/analysis")]
fn analysis(token: Paseto<Access>) -> Result<&'static str, AuthError> {
    token
        .require_scope("reports:read")?
        .require_role("analyst")?;
    Ok("analysis")
}

#[get("/tenant/<id>")]
fn tenant(id: u32, token: Paseto<Access>) -> Result<String, AuthError> {
    token.require_claim("tenant", id)?;
    Ok(format!("tenant {id}"))
}

#[get("/users/<name>")]
fn user(name: &str, token: Paseto<Access>) -> Result<String, AuthError> {
    token.require_subject(name)?;
    Ok(format!("profile of {name}"))
}

#[get("/users/<name>/admin")]
fn user_or_admin(name: &str, token: Paseto<Access>) -> Result<String, AuthError> {
    token.require_subject_or_role(name, "admin")?;
    Ok(format!("settings of {name}"))
}

fn app() -> Client {
    client(
        keys(),
        routes![reports, analysis, tenant, user, user_or_admin],
    )
}

fn token_with(extra: Value) -> String {
    let mut c = claims("access");
    for (k, v) in extra.as_object().unwrap() {
        c.insert(k.clone(), v.clone());
    }
    local_token(&c)
}

fn get(client: &Client, path: &str, token: &str) -> (Status, Option<String>, String) {
    let r = client.get(path.to_owned()).header(bearer(token)).dispatch();
    let challenge = r.headers().get_one("WWW-Authenticate").map(str::to_owned);
    (r.status(), challenge, r.into_string().unwrap_or_default())
}

#[test]
fn scopes_as_a_spaced_string_or_an_array() {
    let client = app();
    for scope in [json!("profile reports:read"), json!(["reports:read", "x"])] {
        let (status, _, body) = get(&client, "/reports", &token_with(json!({ "scope": scope })));
        assert_eq!((status, body.as_str()), (Status::Ok, "reports"), "{scope}");
    }
    for scope in [
        json!("reports:write"),
        json!(["reports"]),
        json!("reports:read:all"),
    ] {
        let (status, challenge, body) =
            get(&client, "/reports", &token_with(json!({ "scope": scope })));
        assert_eq!(status, Status::Forbidden, "{scope}");
        assert_eq!(
            challenge.as_deref(),
            Some(r#"Bearer error="insufficient_scope""#)
        );
        assert_eq!(
            serde_json::from_str::<Value>(&body).unwrap()["error"],
            "insufficient_scope"
        );
    }
    // No scope claim at all: still 403 for an authenticated caller, not 401.
    assert_eq!(
        get(&client, "/reports", &local_token(&claims("access"))).0,
        Status::Forbidden
    );
    // And an unauthenticated one is still 401.
    assert_eq!(
        client.get("/reports").dispatch().status(),
        Status::Unauthorized
    );
}

#[test]
fn requirements_chain() {
    let client = app();
    let both = token_with(json!({ "scope": "reports:read", "roles": ["analyst"] }));
    assert_eq!(get(&client, "/analysis", &both).0, Status::Ok);
    let role_string = token_with(json!({ "scope": "reports:read", "role": "analyst" }));
    assert_eq!(get(&client, "/analysis", &role_string).0, Status::Ok);
    let scope_only = token_with(json!({ "scope": "reports:read", "roles": ["viewer"] }));
    assert_eq!(get(&client, "/analysis", &scope_only).0, Status::Forbidden);
    let role_only = token_with(json!({ "roles": ["analyst"] }));
    assert_eq!(get(&client, "/analysis", &role_only).0, Status::Forbidden);
}

#[test]
fn claim_values_compare_as_json() {
    let client = app();
    let token = token_with(json!({ "tenant": 7 }));
    assert_eq!(get(&client, "/tenant/7", &token).0, Status::Ok);
    assert_eq!(get(&client, "/tenant/8", &token).0, Status::Forbidden);
    let as_string = token_with(json!({ "tenant": "7" }));
    assert_eq!(
        get(&client, "/tenant/7", &as_string).0,
        Status::Forbidden,
        "\"7\" is not 7"
    );
}

#[test]
fn subjects_with_an_admin_bypass() {
    let client = app();
    let alice = local_token(&claims("access"));
    assert_eq!(get(&client, "/users/alice", &alice).0, Status::Ok);
    assert_eq!(get(&client, "/users/bob", &alice).0, Status::Forbidden);
    assert_eq!(
        get(&client, "/users/bob/admin", &alice).0,
        Status::Forbidden
    );
    let admin = token_with(json!({ "roles": ["admin"] }));
    assert_eq!(get(&client, "/users/bob/admin", &admin).0, Status::Ok);
    assert_eq!(
        get(&client, "/users/bob", &admin).0,
        Status::Forbidden,
        "no bypass there"
    );
}

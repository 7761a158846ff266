//! A small account service: users in SQLite with argon2id password hashes, PASETO logins
//! carrying the user's roles, refresh-token rotation, logout of one login or all of them, a
//! list of active sessions with their devices, password change, password resets and magic
//! links, account deletion, an admin's view of any user's sessions and an audit log.
//!
//! Users live in the `app` database, opened with `rocket_db_pools` (sqlx, SQLite) from
//! `[<profile>.databases.app]`; its table is created at ignite. A token's subject is the user's
//! id. Tokens are revoked in memory unless `[<profile>.paseto.revocation]` says otherwise.
//!
//! ```toml
//! [debug.databases.app]
//! url = "sqlite://target/app.db?mode=rwc"
//! ```
//!
//! Roles never come from a public route: `/register` grants none. Admins are made from the
//! server's shell, with the same configuration (and so the same database) as the server, which
//! may be running meanwhile:
//!
//! ```sh
//! APP_PASSWORD='correct horse' cargo run --example app -- add-admin admin
//! # {"id":1,"username":"admin","roles":["admin"]}
//! ```
//!
//! `add-admin <username>` creates the user with the `admin` role and the password in
//! `APP_PASSWORD`, or grants `admin` to an existing user, whose password stays as it is
//! (`APP_PASSWORD` is then ignored: change a password with `POST /password`, which ends the
//! user's other logins). It prints the user as one JSON line and exits 0; an invalid name, or a
//! new user without a valid password, exits 1 with a message on stderr. An existing name is
//! granted whoever registered it: check the printed id. Admins then set anyone's roles with
//! `PUT /admin/users/<username>/roles`; new roles reach a user's tokens when they are next
//! issued, and that route itself checks the database too.
//!
//! Password hashing (argon2id, 19 MiB and tens of milliseconds each) runs at most once per
//! core at a time, in working memory allocated once, and no database connection is held
//! meanwhile: a flood of logins waits its turn instead of growing memory with the flood. On 2
//! cores, bursts of 24 concurrent wrong-password logins peak at 58 MB of RSS, against 1.16 GB
//! after three bursts before (`bench/login-memory.sh`, `docs/performance.md`).
//!
//! | route | token | answer |
//! |---|---|---|
//! | `POST /register {"username","password"}` | — | 201 `{"id","username"}`, no roles; 409 taken; 422 invalid |
//! | `POST /login {"username","password"}` | — | a token pair (fresh access token); 401; 429 (with `Retry-After`) after 5 failures of the username or 20 from the address |
//! | `GET /me` | access | `{"id","username","roles"}` |
//! | `POST /refresh` | refresh | a new pair; a reused refresh token ends its login (401) |
//! | `POST /logout` | access or refresh | ends this login |
//! | `POST /logout-all` | access | ends every login of the user |
//! | `GET /admin` | access | 200 with the `admin` role, else 403 |
//! | `PUT /admin/users/<username>/roles {"roles":[…]}` | access, `admin` in the token and the database | 200 `{"username","roles"}`; 403; 404 no such user; 422 invalid roles |
//! | `GET /sessions` | access | `[{"id","created_at","last_used_at","expires_at","current","user_agent","ip","label"}]` |
//! | `DELETE /sessions/<id>` | access | ends that login; 404 if not the user's |
//! | `POST /password {"new_password"}` | fresh access | a new pair; every other login ends |
//! | `DELETE /me` | fresh access | deletes the user; all its tokens stop working |
//! | `POST /password-reset {"username"}` | — | 202, the same body whether or not the user exists; a `password_reset` message to the outbox |
//! | `POST /password-reset/confirm {"token","new_password"}` | — | 200: new password, every session ended; 401 used, expired or forged; 422 password refused (token kept) |
//! | `POST /magic-link {"username"}` | — | 202, the same body whether or not the user exists; a `magic_link` message to the outbox |
//! | `POST /magic-link/confirm {"token"}` | — | a token pair (fresh access token), once; 401 otherwise |
//! | `GET /admin/users/<username>/sessions` | access, `admin` in the token and the database | that user's sessions; 403; 404 no such user |
//! | `DELETE /admin/users/<username>/sessions` | access, `admin` in the token and the database | ends every session of that user; 403; 404 |
//! | `GET /admin/audit?limit=N` | access, `admin` in the token and the database | the newest `N` events first (50, at most 500): `[{"type","username","subject","session","ip","at"}]` |
//! | `GET /ws?access_token=…` | access, in the query | a WebSocket: `{"hello":"<username>"}`, then echoes text |
//! | `GET /openapi.json` | — | the OpenAPI document of these routes (feature `openapi`) |
//!
//! A token is fresh when it comes straight from `/login` (or `/password`), not from `/refresh`.
//! JSON bodies are capped at 16 KiB. Errors are JSON: `{"error","message"}`. Roles are at most
//! 16, each 1 to 32 of `a-z`, `0-9`, `_`, `:` and `-`.
//!
//! Messages to users (password resets, magic links) are JSON files in the outbox directory,
//! `[<profile>.app] outbox` (`target/outbox` by default), one per message:
//! `{"to": <username>, "kind": "password_reset" | "magic_link", "token": …}`. A deployment
//! plugs its mailer in there (`outbox.rs`). The events of `rocket_paseto` (logins, failed and
//! throttled logins, refreshes, reuse, logouts, password resets, CSRF failures) are written to
//! the `audit` table by the fairing's events hook, off the requests' path (`audit.rs`).
//!
//! `/register`'s 409 tells anyone that a name exists. People registering must learn that their
//! name is taken, and `/login` answers the same for unknown names and wrong passwords, so this
//! is the one route that shows names; a deployment should throttle `/register` per client
//! address, as it throttles logins.
//!
//! `/ws` takes the access token from the query string because browsers cannot set headers on a
//! WebSocket upgrade (`new WebSocket("ws://…/ws?access_token=" + token)`); the app names the
//! parameter with `paseto.access.query = "access_token"`, and `/ws` alone reads it (its guard
//! is wrapped in `QueryToken`): `GET /me?access_token=…` is a 401. The fairing takes the value
//! out of the URI before Rocket logs the request line, and such a token is never fresh.
//!
//! ```sh
//! APP_PASSWORD='correct horse' cargo run --example app -- add-admin admin
//! cargo run --example app
//! curl -s localhost:8000/register -d '{"username":"bob","password":"bob password"}'  # no roles
//! TOKENS=$(curl -s localhost:8000/login -d '{"username":"admin","password":"correct horse"}')
//! ACCESS_TOKEN=$(echo "$TOKENS" | jq -r .access_token)
//! REFRESH_TOKEN=$(echo "$TOKENS" | jq -r .refresh_token)
//! curl -s localhost:8000/me -H "Authorization: Bearer $ACCESS_TOKEN"   # roles: ["admin"]
//! curl -s localhost:8000/admin -H "Authorization: Bearer $ACCESS_TOKEN"
//! curl -s -X PUT localhost:8000/admin/users/bob/roles -H "Authorization: Bearer $ACCESS_TOKEN" \
//!     -d '{"roles":["support"]}'                         # {"username":"bob","roles":["support"]}
//! curl -s localhost:8000/sessions -H "Authorization: Bearer $ACCESS_TOKEN"
//!
//! # A WebSocket (websocat): {"hello":"admin"}, then every line typed is echoed back.
//! websocat "ws://localhost:8000/ws?access_token=$ACCESS_TOKEN"
//! curl -si localhost:8000/ws                                # 401 without a token, no upgrade
//!
//! # A fresh token changes the password: a new pair for this login, every other login ends.
//! TOKENS=$(curl -s localhost:8000/password -H "Authorization: Bearer $ACCESS_TOKEN" \
//!     -d '{"new_password":"battery staple"}')
//! ACCESS_TOKEN=$(echo "$TOKENS" | jq -r .access_token)
//! REFRESH_TOKEN=$(echo "$TOKENS" | jq -r .refresh_token)
//!
//! # Rotation: a new pair, and the old refresh token is used up.
//! TOKENS=$(curl -s -X POST localhost:8000/refresh -H "Authorization: Bearer $REFRESH_TOKEN")
//! ACCESS_TOKEN=$(echo "$TOKENS" | jq -r .access_token)
//! REFRESH_TOKEN=$(echo "$TOKENS" | jq -r .refresh_token)
//! curl -s -X DELETE localhost:8000/me -H "Authorization: Bearer $ACCESS_TOKEN"  # 401: not fresh
//! curl -s -X POST localhost:8000/logout -H "Authorization: Bearer $REFRESH_TOKEN"  # ends it
//! curl -s localhost:8000/me -H "Authorization: Bearer $ACCESS_TOKEN"              # 401
//!
//! # A new login's fresh access token can delete the account.
//! TOKENS=$(curl -s localhost:8000/login -d '{"username":"admin","password":"battery staple"}')
//! ACCESS_TOKEN=$(echo "$TOKENS" | jq -r .access_token)
//! curl -s -X DELETE localhost:8000/me -H "Authorization: Bearer $ACCESS_TOKEN"
//! ```
//!
//! The database URL in `Rocket.toml` is relative to the working directory (the repository,
//! whose `target/` holds the file); elsewhere, set it with e.g.
//! `ROCKET_DATABASES='{app={url="sqlite:///var/lib/app/app.db?mode=rwc"}}'`.

mod account;
mod admin;
mod audit;
mod checks;
mod db;
mod error;
mod outbox;
mod password;
mod routes;

use std::process::ExitCode;

use rocket::fairing::AdHoc;
use rocket::figment::Figment;
use rocket::{Build, Rocket};
use rocket_db_pools::Database;
use rocket_paseto::PasetoFairing;

pub use db::{Db, User};

/// The largest valid body is well under 1 KiB.
const JSON_LIMIT: &str = "16 KiB";

/// The service, configured by `figment` (Rocket's, e.g. `rocket::Config::figment()`).
pub fn app(figment: Figment) -> Rocket<Build> {
    // Revocations in memory, and access tokens also read from `?access_token=` (for `/ws`:
    // browsers cannot set headers on a WebSocket upgrade), unless the configuration says
    // otherwise: `join` fills gaps only.
    let figment = figment
        .join(("paseto.revocation.store", "memory"))
        .join(("paseto.access.query", "access_token"))
        .merge(("limits.json", JSON_LIMIT));
    let audit = audit::AuditLog::default();
    rocket::custom(figment)
        .attach(Db::init())
        .attach(db::schema())
        .attach(audit.fairing())
        .attach(outbox::fairing())
        .attach(
            PasetoFairing::default()
                .user::<User>()
                .login_claims(db::Roles)
                .events(audit.hook()),
        )
        .attach(AdHoc::on_liftoff("Password hashing", |_| {
            Box::pin(async { password::warm_up() })
        }))
        .register("/", rocket_paseto::catchers())
        .register("/", error::json_catchers())
        .mount("/", routes::routes())
}

pub fn rocket() -> Rocket<Build> {
    app(rocket::Config::figment())
}

/// Serves without arguments (a launch error panics with Rocket's report, as `#[launch]` does);
/// `add-admin <username>` makes an admin.
#[rocket::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.split_first() {
        None => {
            let _ = rocket().launch().await;
            ExitCode::SUCCESS
        }
        Some((command, rest)) if command == "add-admin" => admin::add_admin(rest).await,
        Some(_) => {
            eprintln!("{}", admin::USAGE);
            ExitCode::from(2)
        }
    }
}

//! The audit log: the events of `rocket_paseto` (logins, failures, refreshes, reuse, logouts,
//! password resets, …) stored in the `app` database through the fairing's events hook, and
//! `GET /admin/audit` to read them.

use std::sync::{Arc, OnceLock};

use rocket::fairing::AdHoc;
use rocket::serde::json::{Json, Value, json};
use rocket::{Route, State, get, routes};
use rocket_db_pools::Database;
use rocket_db_pools::sqlx::{self, Row, SqlitePool};
use rocket_paseto::{CurrentUser, Event, EventKind};

#[cfg(feature = "openapi")]
use rocket_paseto::AuthError;
use time::format_description::well_known::Rfc3339;

use super::db::{Db, User};
use super::error::ApiError;
use super::routes::require_admin;

pub fn routes() -> Vec<Route> {
    routes![audit]
}

const SCHEMA: &str = "CREATE TABLE IF NOT EXISTS audit (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,
    type     TEXT NOT NULL,
    subject  TEXT,
    username TEXT,
    session  TEXT,
    ip       TEXT,
    at       TEXT NOT NULL
)";

/// The most events the table keeps: the oldest go first.
const MAX_EVENTS: i64 = 100_000;

/// The most events one `GET /admin/audit` returns.
const MAX_LIMIT: u32 = 500;

/// Where the events hook writes: the `app` pool, once it is open.
#[derive(Clone, Default)]
pub struct AuditLog(Arc<OnceLock<SqlitePool>>);

impl AuditLog {
    /// The events hook for `PasetoFairing::events`. It runs beside requests, never in their
    /// way: a failed write is logged, and the request it reports on has long been answered.
    /// Events before the pool is open (none: it opens at ignite, before any request) are
    /// logged and skipped.
    pub fn hook(
        &self,
    ) -> impl Fn(Event) -> std::pin::Pin<Box<dyn Future<Output = ()> + Send>> + Send + Sync + 'static
    {
        let pool = self.0.clone();
        move |event| {
            let pool = pool.clone();
            Box::pin(async move {
                let Some(pool) = pool.get() else {
                    rocket::warn!("an audit event came before the database: not recorded");
                    return;
                };
                if let Err(e) = record(pool, event).await {
                    rocket::error!("an audit event was not recorded: {e}");
                }
            })
        }
    }

    /// Creates the table and hands the pool to the hook, at ignite after `Db::init()`.
    pub fn fairing(&self) -> AdHoc {
        let cell = self.0.clone();
        AdHoc::try_on_ignite("Audit log", |rocket| async move {
            let Some(db) = Db::fetch(&rocket) else {
                return Err(rocket);
            };
            if let Err(e) = sqlx::query(SCHEMA).execute(&**db).await {
                rocket::error!("creating the audit table failed: {e}");
                return Err(rocket);
            }
            let _ = cell.set((**db).clone());
            Ok(rocket)
        })
    }
}

/// Stores `event`. A failed login or a throttled one names the account as it was typed; the
/// others name a user id, whose name is looked up now (none once the user is deleted).
async fn record(pool: &SqlitePool, event: Event) -> Result<(), sqlx::Error> {
    let username: Option<String> = match (event.kind, &event.subject) {
        (EventKind::LoginFailed | EventKind::Throttled, Some(name)) => Some(name.clone()),
        (_, Some(id)) => match id.parse::<i64>() {
            Ok(id) => {
                sqlx::query_scalar("SELECT username FROM users WHERE id = ?")
                    .bind(id)
                    .fetch_optional(pool)
                    .await?
            }
            Err(_) => None,
        },
        _ => None,
    };
    let at = event.at.format(&Rfc3339).unwrap_or_default();
    sqlx::query(
        "INSERT INTO audit (type, subject, username, session, ip, at) VALUES (?, ?, ?, ?, ?, ?)",
    )
    .bind(event.kind.as_str())
    .bind(&event.subject)
    .bind(username)
    .bind(&event.session)
    .bind(event.ip.map(|ip| ip.to_string()))
    .bind(at)
    .execute(pool)
    .await?;
    // Bounded: events come from anyone who can send a failed login.
    sqlx::query("DELETE FROM audit WHERE id <= (SELECT MAX(id) FROM audit) - ?")
        .bind(MAX_EVENTS)
        .execute(pool)
        .await
        .map(drop)
}

/// `GET /admin/audit?limit=N` → the newest `N` events first (50 by default, at most 500), each
/// `{"type","username","subject","session","ip","at"}`; admins only.
#[cfg_attr(feature = "openapi", utoipa::path(
    get, path = "/admin/audit", security(("paseto" = [])),
    params(("limit" = Option<u32>, Query, description = "How many events, newest first (50; at most 500).")),
    responses((status = 200, body = Vec<Value>), AuthError),
))]
#[get("/admin/audit?<limit>")]
pub async fn audit(
    limit: Option<u32>,
    user: CurrentUser<User>,
    db: &State<Db>,
) -> Result<Json<Vec<Value>>, ApiError> {
    require_admin(&user)?;
    let pool: &SqlitePool = db;
    let limit = limit.unwrap_or(50).clamp(1, MAX_LIMIT);
    let rows = sqlx::query(
        "SELECT type, subject, username, session, ip, at FROM audit ORDER BY id DESC LIMIT ?",
    )
    .bind(limit)
    .fetch_all(pool)
    .await?;
    let event = |row: &sqlx::sqlite::SqliteRow| -> Result<Value, sqlx::Error> {
        Ok(json!({
            "type": row.try_get::<String, _>("type")?,
            "username": row.try_get::<Option<String>, _>("username")?,
            "subject": row.try_get::<Option<String>, _>("subject")?,
            "session": row.try_get::<Option<String>, _>("session")?,
            "ip": row.try_get::<Option<String>, _>("ip")?,
            "at": row.try_get::<String, _>("at")?,
        }))
    };
    Ok(Json(rows.iter().map(event).collect::<Result<_, _>>()?))
}

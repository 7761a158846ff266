//! The `app` database: its schema, the users table and its queries, and how the token guards
//! and logins read users from it.

use rocket::fairing::{self, AdHoc};
use rocket::request::Request;
use rocket::serde::Serialize;
use rocket::{Build, Rocket};
use rocket_db_pools::Database;
use rocket_db_pools::sqlx::{self, Row, SqlitePool, sqlite::SqliteRow};
use rocket_paseto::{AuthError, AuthUser, LoginClaims};
use serde_json::{Map, Value};

/// The pool of `[<profile>.databases.app]`.
#[derive(Database)]
#[database("app")]
pub struct Db(SqlitePool);

/// `AUTOINCREMENT`: ids, which are token subjects, are never reused, so a deleted user's
/// tokens can never name a later user.
const SCHEMA: &str = "CREATE TABLE IF NOT EXISTS users (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    username      TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    roles         TEXT NOT NULL DEFAULT ''
)";

/// Creates the schema at ignite, after `Db::init()` has opened the pool.
pub fn schema() -> AdHoc {
    AdHoc::try_on_ignite("Database schema", create_schema)
}

async fn create_schema(rocket: Rocket<Build>) -> fairing::Result {
    let Some(db) = Db::fetch(&rocket) else {
        rocket::error!("the `app` database is not initialised: attach `Db::init()` first");
        return Err(rocket);
    };
    match create(db).await {
        Ok(()) => Ok(rocket),
        Err(e) => {
            rocket::error!("creating the database schema failed: {e}");
            Err(rocket)
        }
    }
}

/// Creates the users table unless it exists: at ignite, and by `app add-admin`.
pub async fn create(pool: &SqlitePool) -> Result<(), sqlx::Error> {
    sqlx::query(SCHEMA).execute(pool).await.map(drop)
}

/// A user, as `/me` shows it. Roles are stored space-separated.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(crate = "rocket::serde")]
pub struct User {
    pub id: i64,
    pub username: String,
    pub roles: Vec<String>,
}

impl User {
    fn from_row(row: &SqliteRow) -> Result<Self, sqlx::Error> {
        let roles: String = row.try_get("roles")?;
        Ok(User {
            id: row.try_get("id")?,
            username: row.try_get("username")?,
            roles: roles.split_whitespace().map(str::to_owned).collect(),
        })
    }
}

/// A user's id and password hash, for a login.
pub struct Credentials {
    pub id: i64,
    pub password_hash: String,
}

/// Adds a user; `Ok(None)` when the name is taken (the `UNIQUE` constraint decides, so two
/// concurrent registrations cannot both win).
pub async fn insert(
    db: &SqlitePool,
    username: &str,
    password_hash: &str,
    roles: &[&str],
) -> Result<Option<i64>, sqlx::Error> {
    // `execute`, not `RETURNING` with `fetch_one`: with SQLite, sqlx 0.7 answers that after the
    // first row, before the statement completes, so the insert may not be committed yet when
    // the next request (on another connection) looks for the user.
    let inserted =
        sqlx::query("INSERT INTO users (username, password_hash, roles) VALUES (?, ?, ?)")
            .bind(username)
            .bind(password_hash)
            .bind(roles.join(" "))
            .execute(db)
            .await;
    match inserted {
        Ok(done) => Ok(Some(done.last_insert_rowid())),
        Err(sqlx::Error::Database(e)) if e.is_unique_violation() => Ok(None),
        Err(e) => Err(e),
    }
}

/// The id and password hash of `username`. The pool lends a connection for the query alone:
/// none is held while the password is verified.
pub async fn credentials(
    db: &SqlitePool,
    username: &str,
) -> Result<Option<Credentials>, sqlx::Error> {
    let row = sqlx::query("SELECT id, password_hash FROM users WHERE username = ?")
        .bind(username)
        .fetch_optional(db)
        .await?;
    let Some(row) = row else { return Ok(None) };
    Ok(Some(Credentials {
        id: row.try_get("id")?,
        password_hash: row.try_get("password_hash")?,
    }))
}

/// Replaces a user's password hash; `false` when the user is gone.
pub async fn set_password(
    db: &SqlitePool,
    id: i64,
    password_hash: &str,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query("UPDATE users SET password_hash = ? WHERE id = ?")
        .bind(password_hash)
        .bind(id)
        .execute(db)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Deletes a user; `false` when the user was already gone.
pub async fn delete(db: &SqlitePool, id: i64) -> Result<bool, sqlx::Error> {
    let done = sqlx::query("DELETE FROM users WHERE id = ?")
        .bind(id)
        .execute(db)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Replaces the roles of `username`; the user as stored now, `None` when there is none.
pub async fn set_roles(
    db: &SqlitePool,
    username: &str,
    roles: &[String],
) -> Result<Option<User>, sqlx::Error> {
    sqlx::query("UPDATE users SET roles = ? WHERE username = ?")
        .bind(roles.join(" "))
        .bind(username)
        .execute(db)
        .await?;
    by_username(db, username).await
}

/// Adds `role` to the roles of `username` (one statement, so a concurrent change of its roles
/// is not lost); the user as stored now, `None` when there is none.
pub async fn grant(
    db: &SqlitePool,
    username: &str,
    role: &str,
) -> Result<Option<User>, sqlx::Error> {
    let query = "UPDATE users SET roles = ltrim(roles || ' ' || ?) \
                 WHERE username = ? AND instr(' ' || roles || ' ', ' ' || ? || ' ') = 0";
    sqlx::query(query)
        .bind(role)
        .bind(username)
        .bind(role)
        .execute(db)
        .await?;
    by_username(db, username).await
}

async fn by_username(db: &SqlitePool, username: &str) -> Result<Option<User>, sqlx::Error> {
    let row = sqlx::query("SELECT id, username, roles FROM users WHERE username = ?")
        .bind(username)
        .fetch_optional(db)
        .await?;
    row.as_ref().map(User::from_row).transpose()
}

/// The user a token subject names: subjects are user ids in decimal.
async fn by_subject(pool: &SqlitePool, subject: &str) -> Result<Option<User>, sqlx::Error> {
    let Ok(id) = subject.parse::<i64>() else {
        return Ok(None);
    };
    let row = sqlx::query("SELECT id, username, roles FROM users WHERE id = ?")
        .bind(id)
        .fetch_optional(pool)
        .await?;
    row.as_ref().map(User::from_row).transpose()
}

/// The user of a request's token, for the `CurrentUser<User>` guard and for every refresh: a
/// deleted user's tokens are refused (401), and an unreachable database answers 503.
async fn user_for(subject: &str, request: &Request<'_>) -> Result<Option<User>, AuthError> {
    let Some(db) = Db::fetch(request.rocket()) else {
        return Err(AuthError::NotConfigured);
    };
    by_subject(db, subject).await.map_err(|e| {
        rocket::error!("loading a user failed: {e}");
        AuthError::Unavailable
    })
}

#[rocket::async_trait]
impl AuthUser for User {
    async fn from_subject(subject: &str, request: &Request<'_>) -> Result<Option<Self>, AuthError> {
        user_for(subject, request).await
    }
}

/// Puts the user's roles from the database into the tokens of every login and refresh, as
/// `roles`.
pub struct Roles;

#[rocket::async_trait]
impl LoginClaims for Roles {
    async fn claims(
        &self,
        subject: &str,
        request: &Request<'_>,
    ) -> Result<Map<String, Value>, AuthError> {
        // The user was found a moment ago; gone now, it was deleted during its own login.
        let user = user_for(subject, request)
            .await?
            .ok_or(AuthError::BadCredentials)?;
        let roles = user.roles.into_iter().map(Value::String).collect();
        Ok(Map::from_iter([("roles".to_owned(), Value::Array(roles))]))
    }
}

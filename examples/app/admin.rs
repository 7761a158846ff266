//! `app add-admin <username>`: the one way to make the first admin, from the server's shell
//! rather than from any route.

use std::process::ExitCode;

use rocket::figment::Figment;
use rocket_db_pools::Pool;
use rocket_db_pools::sqlx::SqlitePool;

use super::db::{self, User};
use super::error::ApiError;
use super::{checks, password};

/// What the binary takes besides no arguments (serve).
pub const USAGE: &str = "usage: app                      serve\n       \
                         APP_PASSWORD=… app add-admin <username>";

/// Runs `add-admin` with the arguments after it: prints the user as one JSON line and exits 0,
/// or explains on stderr and exits 1 (2 for a wrong command line).
pub async fn add_admin(args: &[String]) -> ExitCode {
    let [username] = args else {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    };
    let user = run(rocket::Config::figment(), username).await;
    match user.and_then(|user| serde_json::to_string(&user).map_err(|e| e.to_string())) {
        Ok(user) => {
            println!("{user}");
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("app add-admin: {message}");
            ExitCode::FAILURE
        }
    }
}

/// Grants `admin` to `username`, creating the user (with `APP_PASSWORD`) when there is none.
/// An existing user keeps its password: this command cannot end its logins, which a password
/// change must do (`POST /password` does).
async fn run(figment: Figment, username: &str) -> Result<User, String> {
    checks::username(username).map_err(message)?;
    let pool = open(figment).await?;
    let user = grant_or_create(&pool, username).await;
    pool.close().await;
    user
}

async fn grant_or_create(pool: &SqlitePool, username: &str) -> Result<User, String> {
    let failed = |e| format!("the database failed: {e}");
    db::create(pool).await.map_err(failed)?;
    if let Some(user) = db::grant(pool, username, "admin").await.map_err(failed)? {
        if std::env::var_os("APP_PASSWORD").is_some() {
            eprintln!(
                "app add-admin: {username} exists; APP_PASSWORD is ignored, its password kept"
            );
        }
        return Ok(user);
    }
    let password = std::env::var("APP_PASSWORD")
        .map_err(|_| format!("{username} is a new user: set its password in APP_PASSWORD"))?;
    checks::password(&password).map_err(message)?;
    let hash = password::hash(password)
        .await
        .ok_or("hashing the password failed")?;
    match db::insert(pool, username, &hash, &["admin"])
        .await
        .map_err(failed)?
    {
        Some(id) => Ok(User {
            id,
            username: username.to_owned(),
            roles: vec!["admin".into()],
        }),
        // Someone registered the name while the password was hashed: never grant to them.
        None => Err(format!(
            "{username} was registered meanwhile, and not made admin: \
             check who holds it, then run again"
        )),
    }
}

/// The pool of `databases.app`, built as the server's `Db::init()` builds it (one connection
/// is enough here). SQLite waits up to `connect_timeout` seconds for the server's writes.
async fn open(figment: Figment) -> Result<SqlitePool, String> {
    let figment = figment
        .focus("databases.app")
        .join(("max_connections", 1))
        .join(("connect_timeout", 5));
    <SqlitePool as Pool>::init(&figment)
        .await
        .map_err(|e| format!("cannot open the `app` database (databases.app): {e}"))
}

fn message(error: ApiError) -> String {
    match error {
        ApiError::Invalid(_, message) => message.to_owned(),
        other => format!("{other:?}"),
    }
}

//! The routes: accounts, logins, the user's sessions and the admin's view of them.

use rocket::futures::{SinkExt, StreamExt};
use rocket::http::Status;
use rocket::serde::Deserialize;
use rocket::serde::json::{Json, Value, json};
use rocket::{Route, State, delete, get, post, put, routes};
use rocket_paseto::{
    Access, AuthError, CurrentUser, Issuer, LoggedOut, LoginThrottle, Paseto, QueryToken, Refresh,
    Session, Sessions, TokenPair,
};
use rocket_ws::{Channel, Message, WebSocket};

#[cfg(feature = "openapi")]
use rocket_paseto::openapi::PasetoSecurity;

use super::db::{self, Db, User};
use super::error::ApiError;
use super::{account, audit, checks, password};

pub fn routes() -> Vec<Route> {
    let mut routes = routes![
        register,
        login,
        me,
        refresh,
        logout,
        logout_all,
        admin,
        set_roles,
        user_sessions,
        end_user_sessions,
        sessions,
        end_session,
        change_password,
        delete_me,
        ws,
    ];
    routes.extend(account::routes());
    routes.extend(audit::routes());
    #[cfg(feature = "openapi")]
    routes.extend(routes![openapi]);
    routes
}

#[derive(Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(crate = "rocket::serde")]
struct Account {
    username: String,
    password: String,
}

#[derive(Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(crate = "rocket::serde")]
struct NewPassword {
    new_password: String,
}

#[derive(Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(crate = "rocket::serde")]
struct RoleList {
    roles: Vec<String>,
}

/// `POST /register {"username", "password"}` → 201 `{"id", "username"}`, with no roles: roles
/// never come from a public route (`app add-admin` and `PUT /admin/users/<name>/roles` grant
/// them). A taken name is a 409, which tells anyone that the name exists: people registering
/// must learn that their name is taken, and logins answer the same for unknown names and
/// wrong passwords, so this is the one place names show.
#[cfg_attr(feature = "openapi", utoipa::path(
    post, path = "/register", request_body = Account,
    responses((status = 201, body = User), (status = 409), (status = 422)),
))]
#[post("/register", data = "<account>")]
async fn register(
    account: Json<Account>,
    db: &State<Db>,
) -> Result<(Status, Json<Value>), ApiError> {
    let Account { username, password } = account.into_inner();
    checks::username(&username)?;
    checks::password(&password)?;
    let hash = password::hash(password).await.ok_or(ApiError::Internal)?;
    let id = db::insert(db, &username, &hash, &[])
        .await?
        .ok_or(ApiError::Taken)?;
    let user = json!({ "id": id, "username": username });
    Ok((Status::Created, Json(user)))
}

/// `POST /login {"username", "password"}` → a token pair of a new session, its access token
/// fresh. A wrong password and an unknown user get the same answer, after the same work. No
/// database connection is held while the password is verified. After 5 failures of one
/// username (or 20 from one address) the throttle answers 429 instead, before any password
/// work.
#[cfg_attr(feature = "openapi", utoipa::path(
    post, path = "/login", request_body = Account,
    responses((status = 200, body = TokenPair), AuthError),
))]
#[post("/login", data = "<account>")]
async fn login(
    account: Json<Account>,
    throttle: LoginThrottle<'_>,
    db: &State<Db>,
    sessions: Sessions<'_>,
) -> Result<TokenPair, ApiError> {
    let Account { username, password } = account.into_inner();
    let attempt = throttle.check(&username).await?;
    let found = db::credentials(db, &username).await?;
    let (id, hash) = match found {
        Some(user) => (Some(user.id), Some(user.password_hash)),
        None => (None, None),
    };
    let id = match (password::verify(password, hash).await, id) {
        (true, Some(id)) => id,
        _ => {
            attempt.failed().await?;
            return Err(AuthError::BadCredentials.into());
        }
    };
    attempt.succeeded().await?;
    Ok(sessions.login(id.to_string()).fresh().issue().await?)
}

/// `GET /me` → `{"id", "username", "roles"}`, read from the database.
#[cfg_attr(feature = "openapi", utoipa::path(
    get, path = "/me", security(("paseto" = [])),
    responses((status = 200, body = User), AuthError),
))]
#[get("/me")]
fn me(user: CurrentUser<User>) -> Json<User> {
    Json(user.user().clone())
}

/// `POST /refresh` with a refresh token → a new pair. The old refresh token is used up: shown
/// again later, it is refused and its whole session ended.
#[cfg_attr(feature = "openapi", utoipa::path(
    post, path = "/refresh", security(("paseto" = [])),
    responses((status = 200, body = TokenPair), AuthError),
))]
#[post("/refresh")]
async fn refresh(token: Paseto<Refresh>, sessions: Sessions<'_>) -> Result<TokenPair, AuthError> {
    sessions.refresh(&token).await
}

/// `POST /logout` with the access or the refresh token → ends that session.
#[cfg_attr(feature = "openapi", utoipa::path(
    post, path = "/logout", security(("paseto" = [])),
    responses((status = 200, body = LoggedOut), AuthError),
))]
#[post("/logout")]
async fn logout(sessions: Sessions<'_>) -> Result<Json<LoggedOut>, AuthError> {
    Ok(Json(sessions.logout().await?))
}

/// `POST /logout-all` → ends every session of the caller.
#[cfg_attr(feature = "openapi", utoipa::path(
    post, path = "/logout-all", security(("paseto" = [])),
    responses((status = 200, body = Value), AuthError),
))]
#[post("/logout-all")]
async fn logout_all(
    token: Paseto<Access>,
    sessions: Sessions<'_>,
) -> Result<Json<Value>, AuthError> {
    sessions.end_all(&token).await?;
    Ok(Json(json!({ "logged_out": "everywhere" })))
}

/// `GET /admin` → 200 for the `admin` role (a claim of the token), 403 otherwise.
#[cfg_attr(feature = "openapi", utoipa::path(
    get, path = "/admin", security(("paseto" = [])),
    responses((status = 200, body = Value), AuthError),
))]
#[get("/admin")]
fn admin(user: CurrentUser<User>) -> Result<Json<Value>, AuthError> {
    user.token().require_role("admin")?;
    Ok(Json(json!({ "admin": true, "username": user.username })))
}

/// `PUT /admin/users/<username>/roles {"roles"}` → 200 `{"username", "roles"}`: replaces the
/// user's roles, which reach its tokens when they are next issued. For admins only
/// ([`require_admin`]).
#[cfg_attr(feature = "openapi", utoipa::path(
    put, path = "/admin/users/{username}/roles", security(("paseto" = [])),
    params(("username" = String, Path, description = "The user whose roles are set.")),
    request_body = RoleList,
    responses((status = 200, body = Value), (status = 404), (status = 422), AuthError),
))]
#[put("/admin/users/<username>/roles", data = "<body>")]
async fn set_roles(
    username: &str,
    user: CurrentUser<User>,
    body: Json<RoleList>,
    db: &State<Db>,
) -> Result<Json<Value>, ApiError> {
    require_admin(&user)?;
    let roles = checks::roles(body.into_inner().roles)?;
    let updated = db::set_roles(db, username, &roles).await?;
    let updated = updated.ok_or(ApiError::NotFound)?;
    let body = json!({ "username": updated.username, "roles": updated.roles });
    Ok(Json(body))
}

/// Admins only, by the token's `roles` claim and by the database both, so an admin demoted a
/// moment ago is refused at once, not when the token expires.
pub fn require_admin(user: &CurrentUser<User>) -> Result<(), ApiError> {
    user.token().require_role("admin")?;
    match user.roles.iter().any(|role| role == "admin") {
        true => Ok(()),
        false => Err(AuthError::InsufficientScope.into()),
    }
}

/// `GET /admin/users/<username>/sessions` → that user's active logins, for support and
/// incident response (admins only; 404 for an unknown user).
#[cfg_attr(feature = "openapi", utoipa::path(
    get, path = "/admin/users/{username}/sessions", security(("paseto" = [])),
    params(("username" = String, Path, description = "The user whose sessions are listed.")),
    responses((status = 200, body = Vec<Session>), (status = 404), AuthError),
))]
#[get("/admin/users/<username>/sessions")]
async fn user_sessions(
    username: &str,
    user: CurrentUser<User>,
    db: &State<Db>,
    issuer: &Issuer,
) -> Result<Json<Vec<Session>>, ApiError> {
    require_admin(&user)?;
    let id = db::credentials(db, username)
        .await?
        .ok_or(ApiError::NotFound)?
        .id;
    Ok(Json(issuer.sessions_of(&id.to_string()).await?))
}

/// `DELETE /admin/users/<username>/sessions` → ends every login of that user (admins only;
/// 404 for an unknown user).
#[cfg_attr(feature = "openapi", utoipa::path(
    delete, path = "/admin/users/{username}/sessions", security(("paseto" = [])),
    params(("username" = String, Path, description = "The user whose sessions end.")),
    responses((status = 200, body = Value), (status = 404), AuthError),
))]
#[delete("/admin/users/<username>/sessions")]
async fn end_user_sessions(
    username: &str,
    user: CurrentUser<User>,
    db: &State<Db>,
    issuer: &Issuer,
) -> Result<Json<Value>, ApiError> {
    require_admin(&user)?;
    let id = db::credentials(db, username)
        .await?
        .ok_or(ApiError::NotFound)?
        .id;
    issuer.end_sessions_of(&id.to_string()).await?;
    Ok(Json(
        json!({ "username": username, "logged_out": "everywhere" }),
    ))
}

/// `GET /sessions` → the caller's active logins; `current` marks the one asking.
#[cfg_attr(feature = "openapi", utoipa::path(
    get, path = "/sessions", security(("paseto" = [])),
    responses((status = 200, body = Vec<Session>), AuthError),
))]
#[get("/sessions")]
async fn sessions(
    token: Paseto<Access>,
    sessions: Sessions<'_>,
) -> Result<Json<Vec<Session>>, AuthError> {
    Ok(Json(sessions.list(&token).await?))
}

/// `DELETE /sessions/<id>` → ends one of the caller's logins; 404 for any other id.
#[cfg_attr(feature = "openapi", utoipa::path(
    delete, path = "/sessions/{id}", security(("paseto" = [])),
    params(("id" = String, Path, description = "A session id from `GET /sessions`.")),
    responses((status = 200, body = Value), (status = 404), AuthError),
))]
#[delete("/sessions/<id>")]
async fn end_session(
    id: &str,
    token: Paseto<Access>,
    sessions: Sessions<'_>,
) -> Result<Json<Value>, ApiError> {
    match sessions.end(&token, id).await? {
        true => Ok(Json(json!({ "ended": id }))),
        false => Err(ApiError::NotFound),
    }
}

/// `POST /password {"new_password"}` with a fresh access token → a new pair for this session;
/// every other session of the user ends.
#[cfg_attr(feature = "openapi", utoipa::path(
    post, path = "/password", security(("paseto" = [])),
    request_body = NewPassword,
    responses((status = 200, body = TokenPair), (status = 422), AuthError),
))]
#[post("/password", data = "<body>")]
async fn change_password(
    user: CurrentUser<User>,
    body: Json<NewPassword>,
    db: &State<Db>,
    sessions: Sessions<'_>,
) -> Result<TokenPair, ApiError> {
    user.token().require_fresh()?;
    let new_password = body.into_inner().new_password;
    checks::password(&new_password)?;
    let hash = password::hash(new_password)
        .await
        .ok_or(ApiError::Internal)?;
    if !db::set_password(db, user.id, &hash).await? {
        return Err(ApiError::NotFound);
    }
    // After the update, not before: a login with the old password in between is ended too.
    sessions.end_all(&user).await?;
    Ok(sessions
        .login(user.token().subject())
        .fresh()
        .issue()
        .await?)
}

/// `DELETE /me` with a fresh access token → deletes the account. Its tokens are refused from
/// then on: the `CurrentUser` check finds no user, and every login is ended as well.
#[cfg_attr(feature = "openapi", utoipa::path(
    delete, path = "/me", security(("paseto" = [])),
    responses((status = 200, body = Value), AuthError),
))]
#[delete("/me")]
async fn delete_me(
    user: CurrentUser<User>,
    db: &State<Db>,
    sessions: Sessions<'_>,
) -> Result<Json<Value>, ApiError> {
    user.token().require_fresh()?;
    if !db::delete(db, user.id).await? {
        return Err(ApiError::NotFound);
    }
    sessions.end_all(&user).await?;
    Ok(Json(json!({ "deleted": user.id })))
}

/// The OpenAPI document of these routes (built with the `openapi` feature).
#[cfg(feature = "openapi")]
#[derive(utoipa::OpenApi)]
#[openapi(
    paths(
        register,
        login,
        me,
        refresh,
        logout,
        logout_all,
        admin,
        set_roles,
        user_sessions,
        end_user_sessions,
        sessions,
        end_session,
        change_password,
        delete_me,
        account::request_password_reset,
        account::confirm_password_reset,
        account::request_magic_link,
        account::confirm_magic_link,
        audit::audit,
    ),
    modifiers(&PasetoSecurity),
)]
struct ApiDoc;

/// `GET /openapi.json` → the OpenAPI document (with the `openapi` feature).
#[cfg(feature = "openapi")]
#[get("/openapi.json")]
fn openapi() -> Json<utoipa::openapi::OpenApi> {
    Json(<ApiDoc as utoipa::OpenApi>::openapi())
}

/// `GET /ws?access_token=<token>` → a WebSocket: `{"hello": "<username>"}`, then each text
/// message echoed back. Browsers cannot set headers on an upgrade, so the access token comes
/// in the query string (`paseto.access.query`, set in `app()`), which this route alone reads
/// (`QueryToken`); the user guard runs first, so a missing, bad or revoked token gets the
/// usual 401 and no upgrade. The token is checked once, at the upgrade: a logout does not
/// close a connection already open.
#[get("/ws")]
fn ws(user: QueryToken<CurrentUser<User>>, ws: WebSocket) -> Channel<'static> {
    let hello = json!({ "hello": user.username }).to_string();
    ws.channel(move |mut stream| {
        Box::pin(async move {
            stream.send(Message::Text(hello)).await?;
            while let Some(message) = stream.next().await {
                match message? {
                    Message::Text(text) => stream.send(Message::Text(text)).await?,
                    Message::Close(_) => break,
                    _ => {}
                }
            }
            Ok(())
        })
    })
}

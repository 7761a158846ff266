//! A browser app: tokens in cookies, CSRF protection, remember-me and a private-cookie cart.
//!
//! ```sh
//! cargo run --example cookies   # then open http://127.0.0.1:8000 and sign in as test / test
//! ```
//!
//! The page's script reads the `csrf_token` cookie and sends it as `X-CSRF-Token` on every
//! `POST`; the tokens themselves sit in `HttpOnly` cookies no script can read.

use rocket::data::{self, Data, FromData};
use rocket::form::{Form, FromForm};
use rocket::request::Request;
use rocket::response::content::RawHtml;
use rocket::serde::json::{Json, Value, json};
use rocket::serde::{Deserialize, Serialize};
use rocket::{Build, Rocket, get, launch, post, routes};
use rocket_paseto::{
    Access, AuthError, LoginThrottle, Paseto, PasetoCookies, PasetoFairing, Refresh, RememberMe,
    SameOrigin,
};
use subtle::ConstantTimeEq;

#[derive(Deserialize, FromForm)]
#[serde(crate = "rocket::serde")]
struct Login {
    username: String,
    password: String,
    #[serde(default)]
    remember: bool,
}

/// The login body, as JSON or as an HTML form.
struct Credentials(Login);

#[rocket::async_trait]
impl<'r> FromData<'r> for Credentials {
    type Error = ();

    async fn from_data(request: &'r Request<'_>, body: Data<'r>) -> data::Outcome<'r, Self> {
        if request.content_type().is_some_and(|t| t.is_json()) {
            Json::<Login>::from_data(request, body)
                .await
                .map(|j| Credentials(j.into_inner()))
                .map_error(|(status, _)| (status, ()))
        } else {
            Form::<Login>::from_data(request, body)
                .await
                .map(|f| Credentials(f.into_inner()))
                .map_error(|(status, _)| (status, ()))
        }
    }
}

/// The demo's only user: `test` / `test`. A real app checks a password hash instead.
fn check_password(username: &str, password: &str) -> bool {
    bool::from(username.as_bytes().ct_eq(b"test") & password.as_bytes().ct_eq(b"test"))
}

#[get("/")]
fn page() -> RawHtml<&'static str> {
    RawHtml(PAGE)
}

/// `POST /login` (form or JSON `username`, `password`, `remember`): sets the token cookies.
/// `SameOrigin` refuses logins posted by other sites' pages (login CSRF), before the body is read.
/// The throttle answers 429 after 5 failures of one account (or 20 from one address).
#[post("/login", data = "<credentials>")]
async fn login(
    _origin: SameOrigin,
    credentials: Option<Credentials>,
    throttle: LoginThrottle<'_>,
    cookies: PasetoCookies<'_>,
) -> Result<Json<Value>, AuthError> {
    let Some(Credentials(login)) = credentials else {
        return Err(AuthError::BadCredentials);
    };
    let attempt = throttle.check(&login.username).await?;
    if !check_password(&login.username, &login.password) {
        attempt.failed().await?;
        return Err(AuthError::BadCredentials);
    }
    attempt.succeeded().await?;
    cookies.login(&login.username).fresh().issue().await?;
    if login.remember {
        cookies.remember(&login.username)?;
    }
    Ok(Json(json!({ "user": login.username })))
}

/// `GET /user`: whom the access cookie is for.
#[get("/user")]
fn user(token: Paseto<Access>) -> Json<Value> {
    Json(json!({ "user": token.subject() }))
}

#[derive(Deserialize, Serialize)]
#[serde(crate = "rocket::serde")]
struct Note {
    text: String,
}

/// `POST /note`: a state-changing call, so a cookie token needs the CSRF header.
#[post("/note", data = "<note>")]
fn note(token: Paseto<Access>, note: Json<Note>) -> Json<Value> {
    Json(json!({ "user": token.subject(), "saved": note.text }))
}

/// `GET /remembered`: whom the remember-me cookie remembers.
#[get("/remembered")]
fn remembered(user: RememberMe) -> Json<Value> {
    Json(json!({ "user": user.subject() }))
}

/// `POST /refresh`: new access and refresh cookies; the old refresh cookie is used up, and
/// presenting it again signs the session out everywhere (refresh-token rotation).
#[post("/refresh")]
async fn refresh(
    token: Paseto<Refresh>,
    cookies: PasetoCookies<'_>,
) -> Result<Json<Value>, AuthError> {
    cookies.refresh(&token).await?;
    Ok(Json(json!({ "user": token.subject() })))
}

#[derive(Deserialize, Serialize, Default)]
#[serde(crate = "rocket::serde")]
struct Cart {
    items: Vec<String>,
}

/// `GET /cart`: the cart kept in a private cookie.
#[get("/cart")]
fn cart(cookies: PasetoCookies<'_>) -> Json<Cart> {
    Json(cookies.get("cart").unwrap_or_default())
}

/// `POST /cart`: replaces the cart (signed-in users only, so the CSRF check applies).
#[post("/cart", data = "<cart>")]
fn set_cart(
    _user: Paseto<Access>,
    cart: Json<Cart>,
    cookies: PasetoCookies<'_>,
) -> Result<Json<Cart>, AuthError> {
    cookies.add("cart", &*cart)?;
    Ok(cart)
}

/// `POST /logout`: ends the session, from whichever cookie the browser still has
/// (access, refresh or remember-me: copies of the cookies stop working too), and removes every
/// cookie this app sets. Forged cross-site logouts fail the CSRF check.
#[post("/logout")]
async fn logout(cookies: PasetoCookies<'_>) -> Result<Json<Value>, AuthError> {
    let revoked = cookies.logout().await?;
    cookies.remove("cart");
    Ok(Json(json!({ "user": null, "revoked": revoked.refused })))
}

#[launch]
pub fn rocket() -> Rocket<Build> {
    // Revocations in memory unless the configuration chooses a store (`join` fills gaps only).
    let figment = rocket::Config::figment().join(("paseto.revocation.store", "memory"));
    rocket::custom(figment)
        .attach(PasetoFairing::default())
        .register("/", rocket_paseto::catchers())
        .mount(
            "/",
            routes![
                page, login, user, note, remembered, refresh, cart, set_cart, logout
            ],
        )
}

const PAGE: &str = r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>rocket_paseto cookies demo</title>
<style>
  body { font: 16px/1.5 system-ui, sans-serif; max-width: 32rem; margin: 3rem auto; }
  form, section { display: grid; gap: .5rem; }
  [hidden] { display: none; }
</style>
</head>
<body>
<h1>rocket_paseto</h1>
<p id="status">Checking…</p>

<form id="login" hidden>
  <label>Username <input name="username" autocomplete="username" required></label>
  <label>Password <input name="password" type="password" autocomplete="current-password" required></label>
  <label><input name="remember" type="checkbox" value="true"> Remember me</label>
  <button type="submit">Sign in</button>
</form>

<section id="app" hidden>
  <label>Note <input id="note-text" value="hello"></label>
  <button id="note">Save note</button>
  <p id="note-result"></p>
  <button id="logout">Sign out</button>
</section>

<script>
// The CSRF value is the only cookie scripts can read; the tokens stay HttpOnly.
function csrf() {
  const match = document.cookie.match(/(?:^|; )csrf_token=([^;]*)/);
  return match ? decodeURIComponent(match[1]) : "";
}

async function post(path, body) {
  const headers = { "X-CSRF-Token": csrf() };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  return fetch(path, { method: "POST", headers, body: body === undefined ? undefined : JSON.stringify(body) });
}

async function show() {
  let who = await fetch("/user");
  if (who.status === 401) {
    // The access cookie is gone or expired: try the refresh cookie, then remember-me.
    if ((await post("/refresh")).ok) who = await fetch("/user");
    else {
      const remembered = await fetch("/remembered");
      if (remembered.ok) {
        const { user } = await remembered.json();
        document.getElementById("status").textContent = "Welcome back, " + user + " (remembered)";
        document.getElementById("login").hidden = false;
        document.getElementById("app").hidden = true;
        return;
      }
    }
  }
  const signedIn = who.ok;
  document.getElementById("status").textContent =
    signedIn ? "Signed in as " + (await who.json()).user : "Signed out";
  document.getElementById("login").hidden = signedIn;
  document.getElementById("app").hidden = !signedIn;
}

document.getElementById("login").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = new FormData(event.target);
  const response = await post("/login", {
    username: form.get("username"),
    password: form.get("password"),
    remember: form.get("remember") === "true",
  });
  if (!response.ok) document.getElementById("status").textContent = "Wrong username or password";
  else await show();
});

document.getElementById("note").addEventListener("click", async () => {
  const response = await post("/note", { text: document.getElementById("note-text").value });
  document.getElementById("note-result").textContent =
    response.ok ? "Saved: " + (await response.json()).saved : "Refused (" + response.status + ")";
});

document.getElementById("logout").addEventListener("click", async () => {
  await post("/logout");
  await show();
});

show();
</script>
</body>
</html>
"#;

//! Server-rendered pages without JavaScript: a login form, a page for the signed-in user, a
//! plain HTML form that saves a note in a private cookie, and logout, rendered with Tera
//! through `rocket_dyn_templates`.
//!
//! ```sh
//! cargo run --example pages   # then open http://127.0.0.1:8000 and sign in as test / test
//! ```
//!
//! No script sets a CSRF header here: every state-changing form carries the CSRF value as its
//! first field (`_csrf`, from [`PasetoCookies::csrf_input`], rendered by `templates/csrf`), and
//! the guard accepts it in place of the header. When the access cookie runs out, the next page
//! rotates the refresh cookie (`cookies.implicit_refresh`, which needs the revocation store set
//! below), so a visitor stays signed in for the refresh token's lifetime without a refresh
//! route. Try `ROCKET_PASETO='{access={ttl=3}}' cargo run --example pages` to watch it happen.
//!
//! In production, over HTTPS, give the release profile keys and `__Host-` cookie names (the
//! pages never name a cookie, so nothing else changes), and a `template_dir` that exists where
//! the binary runs:
//!
//! ```toml
//! [release]
//! template_dir = "/srv/pages/templates"
//!
//! [release.paseto]
//! local_key = "k4.local.…"          # cargo run --example keygen
//!
//! [release.paseto.cookies]
//! secure = true                     # required by `__Host-` (TLS here or at a proxy)
//! csrf_cookie = "__Host-csrf"
//!
//! [release.paseto.access]
//! cookie = "__Host-access"
//!
//! [release.paseto.refresh]
//! cookie = "__Host-refresh"         # on `Path=/`, as implicit refresh needs
//! ```

use rocket::figment::Figment;
use rocket::form::{Form, FromForm};
use rocket::response::Redirect;
use rocket::{Build, Responder, Rocket, get, launch, post, routes, uri};
use rocket_dyn_templates::{Template, context};
use rocket_paseto::{
    Access, AuthError, AuthFailure, LoginThrottle, Paseto, PasetoCookies, PasetoFairing, SameOrigin,
};
use subtle::ConstantTimeEq;

/// The demo's only user: `test` / `test`. A real app checks a password hash instead.
fn check_password(username: &str, password: &str) -> bool {
    bool::from(username.as_bytes().ct_eq(b"test") & password.as_bytes().ct_eq(b"test"))
}

#[derive(FromForm)]
struct Login {
    username: String,
    password: String,
}

#[derive(FromForm)]
struct Note {
    #[field(validate = len(1..=200))]
    text: String,
}

/// A page, or where to go instead.
#[derive(Responder)]
enum Page {
    Html(Template),
    Redirect(Redirect),
    #[response(status = 401)]
    Refused(Template),
    /// The login form again, with a throttled attempt's 429 and `Retry-After`.
    Throttled(AuthFailure<Template>),
}

/// `GET /`: the signed-in user's page; everyone else is sent to the login form. An expired
/// access cookie is renewed here by the guard, from the refresh cookie.
#[get("/")]
fn home(user: Result<Paseto<Access>, AuthError>, cookies: PasetoCookies<'_>) -> Page {
    let Ok(user) = user else {
        return Page::Redirect(Redirect::to(uri!(login_page)));
    };
    Page::Html(Template::render(
        "home",
        context! {
            user: user.subject(),
            note: cookies.get::<String>("note"),
            csrf: cookies.csrf_input(),
        },
    ))
}

/// `GET /login`: the login form.
#[get("/login")]
fn login_page() -> Template {
    Template::render("login", context! {})
}

/// `POST /login`: checks the password and sets the token cookies. `SameOrigin` refuses logins
/// posted by other sites' pages (login CSRF); there is no token yet to carry a CSRF value. The
/// throttle answers 429 after 5 failures of one account (or 20 from one address).
#[post("/login", data = "<form>")]
async fn login(
    _origin: SameOrigin,
    form: Option<Form<Login>>,
    throttle: LoginThrottle<'_>,
    cookies: PasetoCookies<'_>,
) -> Result<Page, AuthError> {
    let refused = || {
        let error = "Wrong username or password";
        Ok(Page::Refused(Template::render("login", context! { error })))
    };
    let Some(form) = form else {
        return refused();
    };
    let attempt = match throttle.check(&form.username).await {
        Ok(attempt) => attempt,
        Err(e @ AuthError::Throttled(_)) => {
            let error = "Too many failed attempts: try again later";
            let page = Template::render("login", context! { error });
            return Ok(Page::Throttled(e.with_body(page)));
        }
        Err(e) => return Err(e),
    };
    if !check_password(&form.username, &form.password) {
        attempt.failed().await?;
        return refused();
    }
    attempt.succeeded().await?;
    cookies
        .login(form.username.as_str())
        .fresh()
        .issue()
        .await?;
    Ok(Page::Redirect(Redirect::to(uri!(home))))
}

/// `POST /note`: a plain form that changes state; the access guard checks its `_csrf` field.
#[post("/note", data = "<note>")]
fn note(
    _user: Paseto<Access>,
    note: Form<Note>,
    cookies: PasetoCookies<'_>,
) -> Result<Redirect, AuthError> {
    cookies.add("note", &note.text)?;
    Ok(Redirect::to(uri!(home)))
}

/// `POST /logout`: ends the session of every token cookie the browser still has (after the
/// form's `_csrf` field is checked) and removes the cookies.
#[post("/logout")]
async fn logout(cookies: PasetoCookies<'_>) -> Result<Redirect, AuthError> {
    cookies.logout().await?;
    cookies.remove("note");
    Ok(Redirect::to(uri!(login_page)))
}

/// The app on `figment`, with this example's defaults filling its gaps: templates from this
/// directory (run from the repository root), revocations in memory and implicit refresh.
pub fn app(figment: Figment) -> Rocket<Build> {
    let figment = figment
        .join(("template_dir", "examples/pages/templates"))
        .join(("paseto.revocation.store", "memory"))
        .join(("paseto.cookies.implicit_refresh", true));
    rocket::custom(figment)
        .attach(PasetoFairing::default())
        .attach(Template::fairing())
        .register("/", rocket_paseto::catchers())
        .mount("/", routes![home, login_page, login, note, logout])
}

#[launch]
pub fn rocket() -> Rocket<Build> {
    app(rocket::Config::figment())
}

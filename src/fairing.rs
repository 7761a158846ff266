//! The fairing that loads and validates the configuration at ignite.

use std::fmt;
use std::sync::Arc;

use rocket::data::Data;
use rocket::fairing::{self, Fairing, Info};
use rocket::figment::Figment;
use rocket::{Build, Orbit, Request, Response, Rocket};

use crate::config::{Config, ConfigError, PublishSetup, Settings, StoreSetup};
use crate::counters::{CountedStore, Counters};
use crate::csrf;
use crate::events::{self, Event, Events, Hook};
use crate::hooks::{Hooks, ImplicitRefresh, LoginClaims, UserCheck};
use crate::implicit::CookieRefresh;
use crate::issuer::Issuer;
use crate::kind::{Access, KindSpec, REMEMBER_ME, Refresh, SingleUse, TokenKind};
use crate::response::protect_token_cookies;
use crate::revocation::{MemoryStore, Revocation, RevocationStore, Subjects};
use crate::state::AuthState;
use crate::throttle::Throttle;
use crate::user::{AuthUser, Check};

/// Loads `[<profile>.paseto]` at ignite, validates it and every key, and manages an [`Issuer`].
///
/// Launch is refused, with a message naming the field, when anything is wrong. Attach it once:
///
/// ```
/// # use rocket_paseto::PasetoFairing;
/// let rocket = rocket::build().attach(PasetoFairing::default());
/// ```
#[derive(Clone)]
pub struct PasetoFairing {
    kinds: Vec<KindSpec>,
    /// A registration mistake, reported at ignite rather than by a panic.
    invalid: Option<ConfigError>,
    /// A revocation store attached in code.
    store: Option<Arc<dyn RevocationStore>>,
    login_claims: Option<Arc<dyn LoginClaims>>,
    users: Option<Arc<dyn UserCheck>>,
    events: Option<Hook>,
}

impl fmt::Debug for PasetoFairing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PasetoFairing")
            .field("kinds", &self.kinds)
            .field("invalid", &self.invalid)
            .field("store", &self.store.is_some())
            .field("login_claims", &self.login_claims.is_some())
            .field("users", &self.users.is_some())
            .field("events", &self.events.is_some())
            .finish()
    }
}

impl Default for PasetoFairing {
    fn default() -> Self {
        PasetoFairing {
            kinds: vec![
                KindSpec::of::<Access>(false),
                KindSpec::of::<Refresh>(false),
            ],
            invalid: None,
            store: None,
            login_claims: None,
            users: None,
            events: None,
        }
    }
}

impl PasetoFairing {
    /// The fairing with the built-in [`Access`] and [`Refresh`] kinds. Same as `default()`.
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers your own [`TokenKind`], configured under `[paseto.kinds.<NAME>]`.
    ///
    /// A name that is not lowercase letters, digits and `_`, or that is already taken, makes
    /// ignite fail with a message naming it.
    pub fn kind<K: TokenKind>(mut self) -> Self {
        let valid = !K::NAME.is_empty()
            && K::NAME
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        let field = format!("paseto.kinds.{}", K::NAME);
        if !valid {
            self.invalid.get_or_insert(ConfigError::new(
                field,
                "a token kind name must be lowercase letters, digits and `_`",
            ));
        } else if self.kinds.iter().any(|k| k.name == K::NAME)
            || K::NAME == REMEMBER_ME
            || SingleUse::is_reserved(K::NAME)
        {
            self.invalid.get_or_insert(ConfigError::new(
                field,
                "this token kind name is already registered",
            ));
        } else {
            self.kinds.push(KindSpec::of::<K>(true));
        }
        self
    }

    /// Remembers revoked tokens in `store`, e.g. a [`MemoryStore`] shared by several Rocket
    /// instances in one process, a `RedisStore` (feature `redis`) built in
    /// code, or your own [`RevocationStore`]. Which kinds are checked, and what happens when
    /// the store fails, still come from `[paseto.revocation]`, whose `store` must then be unset.
    ///
    /// ```
    /// # use rocket_paseto::PasetoFairing;
    /// use rocket_paseto::revocation::MemoryStore;
    ///
    /// let rocket = rocket::build().attach(PasetoFairing::default().revocation(MemoryStore::new()));
    /// ```
    pub fn revocation(mut self, store: impl RevocationStore) -> Self {
        self.store = Some(Arc::new(store));
        self
    }

    /// Adds the claims of `loader` to both tokens of every login started with
    /// [`Sessions::login`](crate::Sessions::login) or
    /// [`PasetoCookies::login`](crate::PasetoCookies::login), e.g. roles read from a database.
    /// See [`LoginClaims`].
    pub fn login_claims(mut self, loader: impl LoginClaims) -> Self {
        self.login_claims = Some(Arc::new(loader));
        self
    }

    /// Registers your user type for the [`CurrentUser<U>`](crate::CurrentUser) guard, and
    /// checks it whenever a session is refreshed: the guards of refresh tokens and of the
    /// remember-me cookie refuse (401) a token whose subject [`AuthUser::from_subject`] no
    /// longer accepts, so a deleted or disabled user cannot refresh or rotate.
    ///
    /// ```
    /// # use rocket::request::Request;
    /// # use rocket_paseto::{AuthError, AuthUser, PasetoFairing};
    /// # struct User;
    /// # #[rocket::async_trait]
    /// # impl AuthUser for User {
    /// #     async fn from_subject(_: &str, _: &Request<'_>) -> Result<Option<Self>, AuthError> {
    /// #         Ok(Some(User))
    /// #     }
    /// # }
    /// let rocket = rocket::build().attach(PasetoFairing::default().user::<User>());
    /// ```
    pub fn user<U: AuthUser>(mut self) -> Self {
        self.users = Some(Arc::new(Check::<U>::new()));
        self
    }

    /// Sets the events hook: an [`Event`] for each login, failed or throttled login, session
    /// refresh, detected reuse, logout, CSRF failure and failed key fetch. It runs off the
    /// request's path: events wait in a queue (of 1,024) for one task that calls the hook with
    /// each in turn, so a slow hook never delays a request and a failing one never fails it.
    /// What it misses (the queue full, a panic in the hook) is counted in
    /// [`PasetoStats::events_dropped`](crate::PasetoStats::events_dropped). An example:
    /// `docs/security.md`, "Events and tracing".
    pub fn events<F, Fut>(mut self, hook: F) -> Self
    where
        F: Fn(Event) -> Fut + Send + Sync + 'static,
        Fut: std::future::Future<Output = ()> + Send + 'static,
    {
        self.events = Some(events::hook(hook));
        self
    }

    /// Loads the configuration from `figment` outside of Rocket, e.g. for a command-line tool
    /// that mints tokens with the application's settings.
    ///
    /// With `[paseto.discovery]`, no keys are fetched: only those configured are trusted.
    pub fn load(&self, figment: &Figment) -> Result<Issuer, ConfigError> {
        self.state(figment).map(|(state, _)| Issuer::new(state))
    }

    /// Resolves the configuration into the runtime state the guards and the issuer share, and
    /// the key document to publish, if any.
    fn state(
        &self,
        figment: &Figment,
    ) -> Result<(Arc<AuthState>, Option<PublishSetup>), ConfigError> {
        self.invalid.clone().map_or(Ok(()), Err)?;
        for warning in crate::config::unread_tables(figment) {
            rocket::warn!("{warning}");
        }
        let config = Config::from_figment(figment)?;
        let settings = config.resolve(&self.kinds, figment.profile(), self.store.is_some())?;
        for warning in &settings.warnings {
            rocket::warn!("{warning}");
        }
        if settings.ephemeral_local_key {
            warn_ephemeral_key();
        }
        let counters = Arc::new(Counters::default());
        let events = Arc::new(Events::new(self.events.clone()));
        let revocation = self.revocation_of(&settings, &counters)?;
        self.log_store(&settings, figment.profile());
        if settings.http.implicit_refresh && revocation.is_none() {
            return Err(ConfigError::new(
                "paseto.cookies.implicit_refresh",
                "needs a revocation store (`revocation.store` or `PasetoFairing::revocation`): \
                 implicit refresh rotates refresh tokens, with reuse detection",
            ));
        }
        let throttle = throttle_of(&settings, &revocation, &counters)?;
        let implicit_refresh = settings
            .http
            .implicit_refresh
            .then(|| Arc::new(CookieRefresh) as Arc<dyn ImplicitRefresh>);
        let state = AuthState {
            throttle,
            authority: settings.authority,
            kinds: settings.kinds,
            http: settings.http,
            revocation,
            session_ttl: settings.session_ttl,
            rotate: settings.revocation.rotate,
            list_sessions: settings.revocation.max_sessions > 0,
            keep_ip: settings.revocation.keep_ip,
            hooks: Hooks {
                login_claims: self.login_claims.clone(),
                reload_claims: settings.reload_claims,
                users: self.users.clone(),
                implicit_refresh,
            },
            counters,
            #[cfg(feature = "discovery")]
            discovery: settings
                .discovery
                .map(|setup| crate::discovery::Discovery::new(setup, events.clone()))
                .transpose()?
                .map(Arc::new),
            events,
        };
        Ok((Arc::new(state), settings.publish))
    }

    /// Says at launch which store keeps revocations, and warns where a store in this process's
    /// memory meets settings that suggest more than one service or instance.
    fn log_store(&self, settings: &Settings, profile: &rocket::figment::Profile) {
        let setup = &settings.revocation;
        let memory = self.store.is_none() && matches!(setup.store, StoreSetup::Memory);
        let store = match &setup.store {
            _ if self.store.is_some() => "the one attached with `PasetoFairing::revocation`",
            StoreSetup::None => "none (tokens cannot be revoked)",
            StoreSetup::Memory if setup.explicit => "memory (this process only)",
            StoreSetup::Memory => "memory, the default (this process only)",
            #[cfg(feature = "redis")]
            StoreSetup::Redis(_) => "redis",
            #[cfg(feature = "redis")]
            StoreSetup::RedisCluster(_) => "redis-cluster",
        };
        rocket::info!("rocket_paseto: revocation store: {store}");
        let shared: Vec<&str> = [
            ("`paseto.discovery`", settings.discovery.is_some()),
            ("`paseto.publish_keys`", settings.publish.is_some()),
            ("`paseto.cookies.domain`", settings.http.domain.is_some()),
        ]
        .into_iter()
        .filter_map(|(name, set)| set.then_some(name))
        .collect();
        // Outside development, a store nobody chose may run on several instances, which would
        // each take the others' rotations for reuse and miss their logouts.
        if memory && !setup.explicit && profile != rocket::Config::DEBUG_PROFILE {
            rocket::warn!(
                "rocket_paseto: no `revocation.store` is set, so revocations are kept in this \
                 process's memory: right for one instance. With several, set \
                 `revocation.store = \"redis\"` (cargo feature `redis`) shared by all, or \
                 `\"memory\"` to say one instance is meant."
            );
        }
        if memory && !shared.is_empty() {
            rocket::warn!(
                "rocket_paseto: revocations are kept in this process's memory, but {} suggests \
                 more than one service or instance, which would not see each other's logouts. \
                 Share one store: `revocation.store = \"redis\"` (cargo feature `redis`).",
                shared.join(" and ")
            );
        }
    }

    /// The revocation store, from the configuration or attached in code, with its policy.
    fn revocation_of(
        &self,
        settings: &Settings,
        counters: &Arc<Counters>,
    ) -> Result<Option<Revocation>, ConfigError> {
        let setup = &settings.revocation;
        let store: Arc<dyn RevocationStore> = match (&self.store, &setup.store) {
            (Some(_), _) if setup.explicit => {
                return Err(ConfigError::new(
                    "paseto.revocation.store",
                    "a store is already attached with `PasetoFairing::revocation`: set only one",
                ));
            }
            (Some(store), _) => store.clone(),
            (None, StoreSetup::None) if setup.kinds_set => {
                return Err(ConfigError::new(
                    "paseto.revocation.kinds",
                    "no revocation store is configured: set `store`",
                ));
            }
            (None, StoreSetup::None) => return Ok(None),
            (None, StoreSetup::Memory) => Arc::new(MemoryStore::new()),
            #[cfg(feature = "redis")]
            (None, StoreSetup::Redis(redis)) => redis
                .start()
                .map_err(|e| ConfigError::new("paseto.revocation.url", e))?,
            #[cfg(feature = "redis")]
            (None, StoreSetup::RedisCluster(cluster)) => cluster
                .start()
                .map_err(|e| ConfigError::new("paseto.revocation.urls", e))?,
        };
        let subjects = subjects_of(settings)?;
        let rules = settings.authority.rules();
        let longest_ttl = rules.kinds().iter().map(|k| k.ttl()).max();
        Ok(Some(Revocation::new(
            Arc::new(CountedStore::new(store, counters.clone())),
            setup.on_error,
            rules.leeway_limit(),
            longest_ttl.unwrap_or_default(),
            setup.grace,
            subjects,
        )))
    }
}

/// The debug profile's warning without `local_key`, with a block of fresh keys to paste: new
/// each run and never the key in use, so what the log shows guards nothing yet. Keys that have
/// been in a log are for development, so the block is for the debug profile.
fn warn_ephemeral_key() {
    rocket::warn!(
        "paseto.local_key is not set: using an ephemeral key for this run only. Tokens will not \
         survive a restart."
    );
    match crate::config::generate_keys("debug") {
        Ok(block) => rocket::warn_!(
            "For development, add these fresh keys to Rocket.toml (production keys must never \
             have been in a log: see `rocket_paseto::generate_keys`):\n{block}"
        ),
        Err(e) => rocket::warn_!("no keys to suggest: {e}"),
    }
}

#[rocket::async_trait]
impl Fairing for PasetoFairing {
    fn info(&self) -> Info {
        Info {
            name: "PASETO",
            kind: fairing::Kind::Ignite
                | fairing::Kind::Request
                | fairing::Kind::Response
                | fairing::Kind::Liftoff,
        }
    }

    /// Resolves the configuration, fetches discovered keys, and mounts the key document.
    async fn on_ignite(&self, rocket: Rocket<Build>) -> fairing::Result {
        let (state, publish) = match self.state(rocket.figment()) {
            Ok(resolved) => resolved,
            Err(e) => {
                rocket::error!("Invalid PASETO configuration: {e}");
                return Err(rocket);
            }
        };
        #[cfg(feature = "discovery")]
        if let Some(discovery) = &state.discovery
            && let Err(e) = discovery.launch(&state.authority).await
        {
            rocket::error!("{e}");
            return Err(rocket);
        }
        let rocket = match publish {
            Some(setup) => rocket.mount("/", [crate::publish::key_document_route(&setup)]),
            None => rocket,
        };
        Ok(rocket.manage(Issuer::new(state.clone())).manage(state))
    }

    /// Starts refreshing discovered keys in the background and, with the `metrics` feature,
    /// publishing [`PasetoStats`](crate::PasetoStats).
    async fn on_liftoff(&self, _rocket: &Rocket<Orbit>) {
        #[cfg(feature = "discovery")]
        spawn_key_refresh(_rocket);
        #[cfg(feature = "metrics")]
        crate::stats::spawn_publisher(_rocket);
    }

    /// Takes tokens out of the query string before Rocket logs the request line (see
    /// [`QueryToken`](crate::QueryToken)), and reads the CSRF form field of plain HTML form
    /// posts for the guards, which cannot read the body (see `paseto.csrf_field`).
    async fn on_request(&self, request: &mut Request<'_>, data: &mut Data<'_>) {
        // The state lives as long as Rocket, not the request: no borrow of `request` holds it.
        let Some(state) = AuthState::fetch(request.rocket()) else {
            return;
        };
        crate::guard::redact_query_tokens(request, state);
        csrf::read_form_field(request, data, &state.http).await;
    }

    /// Responses that set token cookies must not be kept by any cache (RFC 6749, section 5.1,
    /// for token responses; the same holds for cookies that carry tokens).
    async fn on_response<'r>(&self, request: &'r Request<'_>, response: &mut Response<'r>) {
        protect_token_cookies(request, response);
    }
}

/// Fetches the discovered keys every `refresh_secs` until the server shuts down.
#[cfg(feature = "discovery")]
fn spawn_key_refresh(rocket: &Rocket<Orbit>) {
    let Some(state) = rocket.state::<Arc<AuthState>>().cloned() else {
        return;
    };
    if state.discovery.is_none() {
        return;
    }
    let mut shutdown = rocket.shutdown();
    rocket::tokio::spawn(async move {
        let Some(discovery) = &state.discovery else {
            return;
        };
        loop {
            rocket::tokio::select! {
                _ = rocket::tokio::time::sleep(discovery.refresh_interval()) => {}
                _ = &mut shutdown => return,
            }
            discovery.refresh(&state.authority).await;
        }
    });
}

/// The login throttle: counting in the revocation store if there is one, else in this
/// process, and hashing as the store's subjects are (with keys of its own without keys).
fn throttle_of(
    settings: &Settings,
    revocation: &Option<Revocation>,
    counters: &Arc<Counters>,
) -> Result<Throttle, ConfigError> {
    let (store, on_error, hashes) = match revocation {
        Some(revocation) => {
            let (store, on_error) = revocation.store_and_policy();
            (store, on_error, subjects_of(settings)?)
        }
        None => {
            let hashes = match subjects_of(settings) {
                Ok(hashes) => hashes,
                Err(_) => {
                    Subjects::ephemeral().map_err(|e| ConfigError::new("paseto.throttle", e))?
                }
            };
            let store: Arc<dyn RevocationStore> = Arc::new(MemoryStore::new());
            (store, Default::default(), hashes)
        }
    };
    let setup = settings.throttle.clone();
    Ok(Throttle::new(
        store,
        on_error,
        setup,
        hashes,
        counters.clone(),
    ))
}

/// The keys that hash subjects in the store: the current local key first, then the replaced
/// ones (so that cutoffs written before a key change are still found); or the signing key.
fn subjects_of(settings: &Settings) -> Result<Subjects, ConfigError> {
    let authority = &settings.authority;
    let materials: Vec<&[u8]> = match (authority.local_key(), authority.secret_key()) {
        (Some(local), _) => std::iter::once(local)
            .chain(authority.previous_local_keys())
            .map(|key| key.inner().as_bytes())
            .collect(),
        (None, Some(secret)) => vec![secret.inner().as_bytes()],
        (None, None) => {
            return Err(ConfigError::new(
                "paseto.local_key",
                "a revocation store needs `local_key` or `secret_key`: it keys the hashes of \
                 subjects the store keeps",
            ));
        }
    };
    Subjects::derive(&materials, settings.revocation.max_sessions)
        .map_err(|e| ConfigError::new("paseto.local_key", e))
}

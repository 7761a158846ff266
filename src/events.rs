//! Audit events: [`Event`]s for the hook set with
//! [`PasetoFairing::events`](crate::PasetoFairing::events), delivered off the request's path.
//!
//! Emitting only puts the event in a bounded queue (it never waits and never fails); one task
//! takes events from the queue and calls the hook with each in turn, in a task of its own so a
//! hook that panics is noticed. What cannot be delivered (the queue full, a hook that panicked,
//! no runtime to run the hook on) is counted in
//! [`PasetoStats::events_dropped`](crate::PasetoStats::events_dropped).

use std::fmt;
use std::future::Future;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex, PoisonError};

use rocket::tokio::runtime::Handle;
use rocket::tokio::sync::mpsc::{self, Sender};
use serde::Serialize;
use time::OffsetDateTime;

/// The longest subject an event carries, in bytes: a login's account is whatever the client
/// typed, and an audit log must not grow by what an attacker sends.
const MAX_SUBJECT: usize = 256;

/// `value` cut to at most `max` bytes, at a character boundary.
fn cut(value: &str, max: usize) -> &str {
    let mut end = value.len().min(max);
    while !value.is_char_boundary(end) {
        end -= 1;
    }
    &value[..end]
}

/// How many events may wait for the hook; beyond this they are dropped and counted.
pub(crate) const QUEUE: usize = 1024;

/// Something that happened to an account or a session, for the hook set with
/// [`PasetoFairing::events`](crate::PasetoFairing::events). Never carries a token, a key or a
/// password: only these fields.
///
/// It serialises as a flat JSON object, `kind` in snake case and `at` in RFC 3339:
/// `{"kind":"login","subject":"42","session":"…","ip":"203.0.113.7","at":"…"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Event {
    /// What happened.
    pub kind: EventKind,
    /// The account: the token's subject, or the account a login tried (as given to
    /// [`LoginThrottle::check`](crate::LoginThrottle::check)), cut to 256 bytes. `None` for
    /// [`EventKind::KeyFetchFailed`].
    pub subject: Option<String>,
    /// The session, by the same opaque id as [`Session::id`](crate::Session::id): `None`
    /// without a revocation store, and for events outside a session (a failed login, say).
    pub session: Option<String>,
    /// The client's IP address: the connection's peer, or what a proxy in
    /// `paseto.trusted_proxies` forwards. `None` where the crate is called without the request
    /// (a password reset, an admin's call, a reuse found by the refresh itself, a key fetch),
    /// and for a local test client.
    pub ip: Option<IpAddr>,
    /// When it happened.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
}

/// What an [`Event`] is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum EventKind {
    /// A session started: [`Login::issue`](crate::Login::issue) succeeded.
    Login,
    /// A login failed: [`LoginAttempt::failed`](crate::LoginAttempt::failed).
    LoginFailed,
    /// The [`LoginThrottle`](crate::LoginThrottle) refused a login attempt (429).
    Throttled,
    /// A session was refreshed (bearer, cookie or implicit refresh).
    Refresh,
    /// A replaced refresh token was presented again after the grace window: its session ended.
    ReuseDetected,
    /// A session ended by a logout, by [`Sessions::end`](crate::Sessions::end), or by an admin
    /// ([`Issuer::end_session_of`](crate::Issuer::end_session_of)).
    Logout,
    /// Every session of a subject ended: [`Sessions::end_all`](crate::Sessions::end_all), or
    /// an admin's [`Issuer::end_sessions_of`](crate::Issuer::end_sessions_of).
    LogoutAll,
    /// A password reset token was used ([`Issuer::consume`](crate::Issuer::consume)), which
    /// also ended every session of its subject.
    PasswordReset,
    /// A guard refused a cookie-borne token for a missing or wrong CSRF value.
    CsrfFailed,
    /// Key discovery could not fetch the issuer's keys (the keys fetched before stay).
    KeyFetchFailed,
}

impl EventKind {
    /// Its name, as serialised: `"login"`, `"login_failed"`, `"throttled"`, `"refresh"`,
    /// `"reuse_detected"`, `"logout"`, `"logout_all"`, `"password_reset"`, `"csrf_failed"`,
    /// `"key_fetch_failed"`.
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Login => "login",
            EventKind::LoginFailed => "login_failed",
            EventKind::Throttled => "throttled",
            EventKind::Refresh => "refresh",
            EventKind::ReuseDetected => "reuse_detected",
            EventKind::Logout => "logout",
            EventKind::LogoutAll => "logout_all",
            EventKind::PasswordReset => "password_reset",
            EventKind::CsrfFailed => "csrf_failed",
            EventKind::KeyFetchFailed => "key_fetch_failed",
        }
    }
}

impl fmt::Display for EventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The hook, type-erased.
pub(crate) type Hook = Arc<dyn Fn(Event) -> Pin<Box<dyn Future<Output = ()> + Send>> + Send + Sync>;

/// Wraps a hook as [`PasetoFairing::events`](crate::PasetoFairing::events) takes it.
pub(crate) fn hook<F, Fut>(hook: F) -> Hook
where
    F: Fn(Event) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    Arc::new(move |event| Box::pin(hook(event)))
}

/// The hook and its queue, part of the runtime state.
#[derive(Default)]
pub(crate) struct Events {
    hook: Option<Hook>,
    /// The queue's sending side, once an event has started the delivering task.
    queue: Mutex<Option<Sender<Event>>>,
    dropped: Arc<AtomicU64>,
}

impl Events {
    pub(crate) fn new(hook: Option<Hook>) -> Self {
        Events {
            hook,
            ..Events::default()
        }
    }

    /// Whether a hook is set: without one, nothing is built or sent.
    pub(crate) fn enabled(&self) -> bool {
        self.hook.is_some()
    }

    /// Events that never reached the hook.
    pub(crate) fn dropped(&self) -> u64 {
        self.dropped.load(Relaxed)
    }

    /// Queues an event for the hook; the parts are only computed when a hook is set.
    pub(crate) fn emit(
        &self,
        kind: EventKind,
        subject: Option<&str>,
        session: impl FnOnce() -> Option<String>,
        address: impl FnOnce() -> Option<IpAddr>,
    ) {
        let Some(hook) = &self.hook else {
            return;
        };
        let event = Event {
            kind,
            subject: subject.map(|s| cut(s, MAX_SUBJECT).to_owned()),
            session: session(),
            ip: address(),
            at: OffsetDateTime::now_utc(),
        };
        let mut queue = self.queue.lock().unwrap_or_else(PoisonError::into_inner);
        // Started again when the runtime it ran on has shut down (a test that ignites on one
        // runtime and serves on another).
        if queue.as_ref().is_none_or(Sender::is_closed) {
            *queue = self.start(hook.clone());
        }
        let sent = queue.as_ref().map(|queue| queue.try_send(event));
        if !matches!(sent, Some(Ok(()))) {
            self.dropped.fetch_add(1, Relaxed);
        }
    }

    /// Starts the task that delivers queued events, on the runtime of the event at hand.
    /// `None` outside a Tokio runtime (an [`Issuer`](crate::Issuer) used without Rocket): that
    /// event is counted as dropped.
    fn start(&self, hook: Hook) -> Option<Sender<Event>> {
        let runtime = Handle::try_current().ok()?;
        let (queue, mut events) = mpsc::channel(QUEUE);
        let dropped = self.dropped.clone();
        runtime.spawn(async move {
            while let Some(event) = events.recv().await {
                // Its own task: a panic in the hook ends that task, not this loop.
                // The hook is called inside the task too: one that panics before it returns
                // its future is caught as well.
                let hook = hook.clone();
                if rocket::tokio::spawn(async move { hook(event).await })
                    .await
                    .is_err()
                {
                    dropped.fetch_add(1, Relaxed);
                }
            }
        });
        Some(queue)
    }
}

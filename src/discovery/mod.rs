//! Key discovery (cargo feature `discovery`): the public keys of an issuer, fetched from the
//! document it publishes, at launch, every `refresh_secs`, and when a token names a key not
//! known yet, at most once every `min_refetch_secs`.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use rocket::tokio::sync::Mutex;

use crate::config::{ConfigError, DiscoverySetup};
use crate::events::{EventKind, Events};
use crate::token::{Authority, KeyChange, PublicKey};

mod fetch;

use self::fetch::{FetchError, Fetcher};

/// The discovered keys' source and its fetch schedule.
pub(crate) struct Discovery {
    setup: DiscoverySetup,
    fetcher: Fetcher,
    /// Held for the length of a fetch: callers that find it taken wait for that fetch's keys
    /// instead of starting another.
    turn: Mutex<()>,
    fetching: AtomicBool,
    /// When the last fetch started, in milliseconds since `created` plus one (0: never).
    last_start: AtomicU64,
    /// Fetches finished, successful or not: a waiter that sees it move knows new keys may be in.
    finished: AtomicU64,
    /// Fetches that brought no keys.
    failed: AtomicU64,
    /// When the last fetch that brought keys ended, in Unix seconds (0: never).
    last_success: AtomicU64,
    created: Instant,
    /// Told of each failed fetch.
    events: Arc<Events>,
}

impl Discovery {
    /// Fails when `ca_file` holds no usable root certificate.
    pub(crate) fn new(setup: DiscoverySetup, events: Arc<Events>) -> Result<Self, ConfigError> {
        Ok(Discovery {
            fetcher: Fetcher::new(&setup)?,
            setup,
            turn: Mutex::new(()),
            fetching: AtomicBool::new(false),
            last_start: AtomicU64::new(0),
            finished: AtomicU64::new(0),
            failed: AtomicU64::new(0),
            last_success: AtomicU64::new(0),
            created: Instant::now(),
            events,
        })
    }

    /// The fetch at launch. When it fails, launch goes on only with configured `public_keys`.
    pub(crate) async fn launch(&self, authority: &Authority) -> Result<(), String> {
        let _turn = self.turn.lock().await;
        match self.fetch(authority).await {
            Ok(_) => Ok(()),
            Err(e) if self.setup.has_configured_keys => {
                rocket::warn!(
                    "rocket_paseto: the keys of {} could not be fetched at launch ({e}); going on \
                     with the configured `public_keys` and trying again in {} s",
                    self.setup.issuer,
                    self.setup.refresh.as_secs()
                );
                Ok(())
            }
            Err(e) => Err(format!(
                "paseto.discovery: the keys of {} could not be fetched ({e}), and no \
                 `public_keys` are configured to go on with",
                self.setup.issuer
            )),
        }
    }

    /// How long to wait between two background fetches.
    pub(crate) fn refresh_interval(&self) -> Duration {
        self.setup.refresh
    }

    /// The background fetch; a failure keeps the keys trusted so far.
    pub(crate) async fn refresh(&self, authority: &Authority) {
        let _turn = self.turn.lock().await;
        if let Err(e) = self.fetch(authority).await {
            rocket::warn!(
                "rocket_paseto: the keys of {} could not be refreshed ({e}); keeping the last \
                 ones fetched",
                self.setup.issuer
            );
        }
    }

    /// How many fetches have finished: read before a verification, so that
    /// [`refetch_for_unknown_key`](Self::refetch_for_unknown_key) can tell whether keys may
    /// have changed since.
    pub(crate) fn fetches_finished(&self) -> u64 {
        self.finished.load(Ordering::Acquire)
    }

    /// For a token that names a well-formed key id this service does not know, verified when
    /// `seen` fetches had finished: fetches the keys again unless a fetch started less than
    /// `min_refetch_secs` ago, or waits for the fetch under way. Returns whether new keys may
    /// have come since `seen`, so the token is worth verifying again.
    pub(crate) async fn refetch_for_unknown_key(&self, authority: &Authority, seen: u64) -> bool {
        // A fetch that finished after the verification began may have brought the key.
        if self.fetches_finished() != seen {
            return true;
        }
        // Made-up key ids are refused here, without waiting, between fetches.
        if !self.fetching.load(Ordering::Acquire) && !self.due() {
            return false;
        }
        let _turn = self.turn.lock().await;
        if self.finished.load(Ordering::Acquire) != seen {
            return true;
        }
        if !self.due() {
            return false;
        }
        match self.fetch(authority).await {
            Ok(change) => change.added > 0,
            Err(e) => {
                rocket::warn!(
                    "rocket_paseto: a token names a key of {} not known here, and its keys \
                     could not be fetched ({e})",
                    self.setup.issuer
                );
                false
            }
        }
    }

    /// Whether `min_refetch_secs` have passed since the last fetch started.
    fn due(&self) -> bool {
        let last = self.last_start.load(Ordering::Acquire);
        let window = self.setup.min_refetch.as_millis() as u64;
        last == 0 || self.now_millis().saturating_sub(last) >= window
    }

    fn now_millis(&self) -> u64 {
        (self.created.elapsed().as_millis() as u64).saturating_add(1)
    }

    /// One fetch, its keys put in place of the discovered ones. Called holding `turn`.
    async fn fetch(&self, authority: &Authority) -> Result<KeyChange, FetchError> {
        let _fetching = Fetching::start(&self.fetching);
        self.last_start.store(self.now_millis(), Ordering::Release);
        let fetched = self.fetcher.fetch().await;
        let result = fetched.map(|keys| {
            self.warn_of_own_key(authority, &keys);
            let change = authority.replace_discovered_keys(&self.setup.issuer, keys);
            if change != KeyChange::default() {
                rocket::info!(
                    "rocket_paseto: keys of {}: {} added, {} removed",
                    self.setup.issuer,
                    change.added,
                    change.removed
                );
            }
            change
        });
        match &result {
            Ok(_) => {
                let now = time::OffsetDateTime::now_utc().unix_timestamp();
                self.last_success
                    .store(u64::try_from(now).unwrap_or(0), Ordering::Relaxed);
            }
            Err(_) => {
                self.failed.fetch_add(1, Ordering::Relaxed);
                (self.events).emit(EventKind::KeyFetchFailed, None, || None, || None);
            }
        }
        self.finished.fetch_add(1, Ordering::AcqRel);
        result
    }

    /// A document that lists this service's own signing key, which it does not bind: the
    /// service's own tokens would otherwise turn into the issuer's (and fail where they name
    /// none). Only the key id is logged.
    fn warn_of_own_key(&self, authority: &Authority, keys: &[PublicKey]) {
        let issuer = &self.setup.issuer;
        if let Some(own) = authority.own_key_claimed_by(issuer, keys) {
            rocket::warn!(
                "rocket_paseto: the key document of {issuer} lists this service's own signing \
                 key ({own}); it stays this service's own and does not vouch for {issuer}. Give \
                 this service a signing key of its own, or set `issuer` if it signs for {issuer}"
            );
        }
    }

    /// Fetches made, fetches that failed, and when the last good one ended (Unix seconds, 0
    /// for never): for [`PasetoStats`](crate::PasetoStats).
    pub(crate) fn figures(&self) -> (u64, u64, u64) {
        (
            self.fetches_finished(),
            self.failed.load(Ordering::Relaxed),
            self.last_success.load(Ordering::Relaxed),
        )
    }
}

/// Marks a fetch under way until dropped, even when the request that started it goes away.
struct Fetching<'a>(&'a AtomicBool);

impl<'a> Fetching<'a> {
    fn start(flag: &'a AtomicBool) -> Self {
        flag.store(true, Ordering::Release);
        Fetching(flag)
    }
}

impl Drop for Fetching<'_> {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::token::{KindRules, Purpose, Rules};

    #[rocket::async_test]
    async fn a_fetch_that_ended_after_the_verification_began_is_worth_a_second_look() {
        let setup = DiscoverySetup {
            url: "http://127.0.0.1:1/keys".into(),
            loopback: true,
            issuer: "https://auth.example".into(),
            refresh: Duration::from_secs(300),
            min_refetch: Duration::from_secs(300),
            timeout: Duration::from_millis(500),
            ca_pem: None,
            has_configured_keys: true,
        };
        let discovery = Discovery::new(setup, Default::default()).unwrap();
        let rules = Rules::new(vec![KindRules::new(
            "access",
            Purpose::Public,
            Duration::from_secs(900),
        )]);
        let authority = Authority::new(None, None, vec![], rules);
        let before = discovery.fetches_finished();
        // A fetch ends (here without keys: nothing listens there) while a token naming an
        // unknown key is being verified.
        discovery.refresh(&authority).await;
        assert!(discovery.refetch_for_unknown_key(&authority, before).await);
        // Verified after that fetch, within `min_refetch_secs`: refused without a look.
        let after = discovery.fetches_finished();
        assert_ne!(after, before);
        assert!(!discovery.refetch_for_unknown_key(&authority, after).await);
        assert_eq!(discovery.fetches_finished(), after);
    }
}

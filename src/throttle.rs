//! The login throttle's state: its limits, and failed logins counted per account and per
//! client address in the store. Its guard is [`LoginThrottle`](crate::LoginThrottle).

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use rocket::request::Request;
use time::OffsetDateTime;

use crate::address::{client_address, prefix};
use crate::config::ThrottleSetup;
use crate::counters::Counters;
use crate::revocation::Subjects;
use crate::revocation::{OnError, RevocationStore, StoreError};

/// A counter's store key, and its limit: how many failures within how long.
pub(crate) type Counted = (String, (u64, Duration));

/// The throttle's settings and where it counts, resolved by the fairing.
pub(crate) struct Throttle {
    /// The revocation store, so every instance counts together; or a table in this process.
    store: Arc<dyn RevocationStore>,
    on_error: OnError,
    setup: ThrottleSetup,
    /// Keys the hashes that stand for accounts and addresses in the store.
    hashes: Subjects,
    counters: Arc<Counters>,
}

impl Throttle {
    pub(crate) fn new(
        store: Arc<dyn RevocationStore>,
        on_error: OnError,
        setup: ThrottleSetup,
        hashes: Subjects,
        counters: Arc<Counters>,
    ) -> Self {
        Throttle {
            store,
            on_error,
            setup,
            hashes,
            counters,
        }
    }

    /// The counters of a login of `account` from `address`, with their limits: the account's
    /// first.
    pub(crate) fn counts(&self, account: &str, address: Option<IpAddr>) -> Vec<Counted> {
        let account = self
            .setup
            .account
            .map(|limit| (self.hashes.counter_key("thr:a:", account), limit));
        // An IPv6 client holds a whole /64 at least: counting each address would not slow it.
        let address = address.zip(self.setup.address).map(|(address, limit)| {
            let (v6, kept) = prefix(address, if address.is_ipv4() { 32 } else { 64 });
            let family = if v6 { 6 } else { 4 };
            let key = self
                .hashes
                .counter_key("thr:i:", &format!("{family}:{kept:x}"));
            (key, limit)
        });
        account.into_iter().chain(address).collect()
    }

    /// The client address of `request`, as the throttle counts it.
    pub(crate) fn address_of(&self, request: &Request<'_>) -> Option<IpAddr> {
        client_address(request, &self.setup.proxies)
    }

    /// How long the login of `account` from `address` must wait: zero when neither count has
    /// reached its limit. A store failure that `on_error` says to go on over counts as zero.
    pub(crate) async fn wait(&self, counts: &[Counted]) -> Result<Duration, StoreError> {
        let mut wait = Duration::ZERO;
        for (key, (failures, window)) in counts {
            match self.store.count(key, 0, *window).await {
                Ok((count, end)) if count >= *failures => {
                    let left = end - OffsetDateTime::now_utc();
                    wait = wait.max(left.try_into().unwrap_or(Duration::ZERO));
                }
                Ok(_) => {}
                Err(e) => self.go_on(e)?,
            }
        }
        if !wait.is_zero() {
            self.counters.throttle();
        }
        Ok(wait)
    }

    /// Counts a failure in each of `counts`.
    pub(crate) async fn fail(&self, counts: &[Counted]) -> Result<(), StoreError> {
        for (key, (_, window)) in counts {
            if let Err(e) = self.store.count(key, 1, *window).await {
                self.go_on(e)?;
            }
        }
        Ok(())
    }

    /// Starts the account's count (the first of `counts`, when counted) over.
    pub(crate) async fn succeed(&self, counts: &[Counted]) -> Result<(), StoreError> {
        let Some((key, _)) = counts.first().filter(|_| self.setup.account.is_some()) else {
            return Ok(());
        };
        match self.store.reset(key).await {
            Ok(()) => Ok(()),
            Err(e) => self.go_on(e),
        }
    }

    /// A store failure, following `paseto.revocation.on_error`: `Ok` (go on, unthrottled)
    /// when it says to fail open.
    fn go_on(&self, error: StoreError) -> Result<(), StoreError> {
        match self.on_error {
            OnError::Allow => {
                rocket::warn!(
                    "rocket_paseto: the login throttle could not count ({error}); going on \
                     unthrottled (on_error = \"allow\")"
                );
                Ok(())
            }
            OnError::Reject => Err(error),
        }
    }
}

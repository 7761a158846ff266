//! The `[paseto.throttle]` section, and `paseto.trusted_proxies`.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{Config, ConfigError};
use crate::address::TrustedProxies;

/// The login throttle: `[default.paseto.throttle]`. See [`LoginThrottle`](crate::LoginThrottle).
///
/// A login route that uses the throttle answers 429 with `Retry-After` once an account, or a
/// client address, has failed this often within its window: before any password is checked,
/// even the right one. A successful login resets its account's count.
///
/// ```toml
/// [default.paseto.throttle]
/// account_failures = 5     # per account ...
/// account_window = 300     # ... in 5 minutes
/// address_failures = 20    # per client address ...
/// address_window = 60      # ... in 1 minute
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct ThrottleConfig {
    /// How many failed logins of one account, within `account_window`, refuse its further
    /// logins until that window ends (0 to 1000). `0` turns the account's count off.
    ///
    /// _Default:_ `5`.
    #[serde(default = "account_failures")]
    pub account_failures: u64,
    /// The account's window in seconds (1 to 86400), from its first failed login.
    ///
    /// _Default:_ `300` (5 minutes).
    #[serde(default = "account_window")]
    pub account_window: u64,
    /// How many failed logins from one client address (an IPv6 address counts by its /64),
    /// whatever the accounts, within `address_window`, refuse its further logins until that
    /// window ends (0 to 100000). `0` turns the address's count off.
    ///
    /// _Default:_ `20`.
    #[serde(default = "address_failures")]
    pub address_failures: u64,
    /// The address's window in seconds (1 to 86400), from its first failed login.
    ///
    /// _Default:_ `60` (1 minute).
    #[serde(default = "address_window")]
    pub address_window: u64,
}

fn account_failures() -> u64 {
    5
}
fn account_window() -> u64 {
    300
}
fn address_failures() -> u64 {
    20
}
fn address_window() -> u64 {
    60
}

impl Default for ThrottleConfig {
    fn default() -> Self {
        super::empty_table()
    }
}

/// One count of the throttle: how many failures within how long; `None` when it is off.
pub(crate) type Limit = Option<(u64, Duration)>;

/// The validated throttle settings.
#[derive(Debug, Clone)]
pub(crate) struct ThrottleSetup {
    pub account: Limit,
    pub address: Limit,
    pub proxies: TrustedProxies,
}

/// Validates `[paseto.throttle]` and `trusted_proxies`.
pub(super) fn resolve(config: &Config) -> Result<ThrottleSetup, ConfigError> {
    let throttle = &config.throttle;
    let account = limit(
        "account",
        throttle.account_failures,
        1000,
        throttle.account_window,
    )?;
    let address = limit(
        "address",
        throttle.address_failures,
        100_000,
        throttle.address_window,
    )?;
    let proxies = TrustedProxies::parse(&config.trusted_proxies).map_err(|i| {
        ConfigError::new(
            "paseto.trusted_proxies",
            format_args!(
                "entry {} is not an IP address or a CIDR range (e.g. `10.0.0.0/8`)",
                i + 1
            ),
        )
    })?;
    Ok(ThrottleSetup {
        account,
        address,
        proxies,
    })
}

fn limit(name: &str, failures: u64, most: u64, window: u64) -> Result<Limit, ConfigError> {
    if failures > most {
        return Err(ConfigError::new(
            format!("paseto.throttle.{name}_failures"),
            format_args!("must be at most {most} (0 turns it off)"),
        ));
    }
    if !(1..=86_400).contains(&window) {
        return Err(ConfigError::new(
            format!("paseto.throttle.{name}_window"),
            "must be between 1 and 86400 seconds",
        ));
    }
    Ok((failures > 0).then(|| (failures, Duration::from_secs(window))))
}

//! Publishing [`PasetoStats`] through the `metrics` facade (cargo feature `metrics`).
//!
//! The guards never touch the facade: they add to the crate's own atomics, and a task copies
//! those to the installed recorder once a second (and [`PasetoStats::publish`] on demand, e.g.
//! just before rendering a scrape). A facade call per request would cost a recorder lookup or a
//! dynamic call into whatever recorder is installed; copying absolute values costs nothing per
//! request and works with a recorder installed before or after launch.

use std::sync::Arc;
use std::time::Duration;

use metrics::{Unit, counter, describe_counter, describe_gauge, gauge};
use rocket::{Orbit, Rocket};

use super::PasetoStats;
use crate::state::AuthState;

/// How often the figures are copied to the recorder.
const PUBLISH_INTERVAL: Duration = Duration::from_secs(1);

const TOKENS: &str = "rocket_paseto_tokens_total";
const CACHE_HITS: &str = "rocket_paseto_cache_hits_total";
const CACHE_MISSES: &str = "rocket_paseto_cache_misses_total";
const CACHE_EVICTIONS: &str = "rocket_paseto_cache_evictions_total";
const CACHE_ENTRIES: &str = "rocket_paseto_cache_entries";
const STORE_CALLS: &str = "rocket_paseto_revocation_store_calls_total";
const STORE_ERRORS: &str = "rocket_paseto_revocation_store_errors_total";
const STORE_TIME: &str = "rocket_paseto_revocation_store_microseconds_total";
const LOGINS_THROTTLED: &str = "rocket_paseto_logins_throttled_total";
const KEY_FETCHES: &str = "rocket_paseto_key_fetches_total";
const KEY_FETCH_ERRORS: &str = "rocket_paseto_key_fetch_errors_total";
const KEY_FETCH_LAST_SUCCESS: &str = "rocket_paseto_key_fetch_last_success_timestamp_seconds";
const EVENTS_DROPPED: &str = "rocket_paseto_events_dropped_total";

impl PasetoStats {
    /// Records these figures with the installed [`metrics`] recorder, as counters that only
    /// grow (and gauges for the cache sizes and the last good key fetch). The crate does this once a second on its own;
    /// call it yourself just before rendering a scrape to serve figures of that moment.
    ///
    /// | metric | labels |
    /// |---|---|
    /// | `rocket_paseto_tokens_total` | `outcome`: `accepted`, `missing`, `invalid`, `expired`, `revoked`, `wrong_kind`, `csrf_failed`, `store_unavailable`, `server_error` |
    /// | `rocket_paseto_cache_hits_total`, `_misses_total`, `_evictions_total` | `cache`: `token`, `jar` |
    /// | `rocket_paseto_cache_entries` (gauge) | `cache`: `token`, `jar` |
    /// | `rocket_paseto_revocation_store_calls_total`, `_errors_total`, `_microseconds_total` | — |
    /// | `rocket_paseto_logins_throttled_total` | — |
    /// | `rocket_paseto_key_fetches_total`, `rocket_paseto_key_fetch_errors_total` | — |
    /// | `rocket_paseto_key_fetch_last_success_timestamp_seconds` (gauge) | — |
    /// | `rocket_paseto_events_dropped_total` | — |
    ///
    /// The `key_fetch` metrics appear only on services with key discovery.
    ///
    /// Labels are fixed names: no token, subject or key ever reaches a metric.
    ///
    /// With Prometheus (`metrics-exporter-prometheus`), render the recorder from a route:
    ///
    /// ```
    /// use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
    /// use rocket::State;
    /// use rocket_paseto::{PasetoFairing, PasetoStats};
    ///
    /// /// Serve it only where Prometheus can reach it, e.g. on an internal port or network.
    /// #[rocket::get("/metrics")]
    /// fn metrics(stats: PasetoStats, prometheus: &State<PrometheusHandle>) -> String {
    ///     stats.publish();
    ///     prometheus.render()
    /// }
    ///
    /// let prometheus = PrometheusBuilder::new().install_recorder()?;
    /// let rocket = rocket::build()
    ///     .attach(PasetoFairing::default())
    ///     .manage(prometheus)
    ///     .mount("/", rocket::routes![metrics]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn publish(&self) {
        describe();
        for (outcome, value) in self.tokens_by_outcome() {
            counter!(TOKENS, "outcome" => outcome).absolute(value);
        }
        let caches = [
            ("token", self.cache_hits, self.cache_misses),
            ("jar", self.jar_hits, self.jar_misses),
        ];
        for (cache, hits, misses) in caches {
            counter!(CACHE_HITS, "cache" => cache).absolute(hits);
            counter!(CACHE_MISSES, "cache" => cache).absolute(misses);
        }
        let sizes = [
            ("token", self.cache_evictions, self.cache_entries),
            ("jar", self.jar_evictions, self.jar_entries),
        ];
        for (cache, evictions, entries) in sizes {
            counter!(CACHE_EVICTIONS, "cache" => cache).absolute(evictions);
            gauge!(CACHE_ENTRIES, "cache" => cache).set(entries as f64);
        }
        counter!(STORE_CALLS).absolute(self.store_calls);
        counter!(STORE_ERRORS).absolute(self.store_errors);
        counter!(STORE_TIME).absolute(self.store_micros);
        counter!(LOGINS_THROTTLED).absolute(self.logins_throttled);
        counter!(EVENTS_DROPPED).absolute(self.events_dropped);
        // Only with discovery (which fetches at launch): a service without it has no last good
        // fetch to alert on.
        if self.key_fetches > 0 {
            counter!(KEY_FETCHES).absolute(self.key_fetches);
            counter!(KEY_FETCH_ERRORS).absolute(self.key_fetch_errors);
            gauge!(KEY_FETCH_LAST_SUCCESS).set(self.key_fetch_last_success as f64);
        }
    }

    fn tokens_by_outcome(&self) -> [(&'static str, u64); 9] {
        [
            ("accepted", self.tokens_accepted),
            ("missing", self.tokens_missing),
            ("invalid", self.tokens_invalid),
            ("expired", self.tokens_expired),
            ("revoked", self.tokens_revoked),
            ("wrong_kind", self.tokens_wrong_kind),
            ("csrf_failed", self.tokens_csrf_failed),
            ("store_unavailable", self.tokens_store_unavailable),
            ("server_error", self.tokens_server_error),
        ]
    }
}

/// Gives each metric its help text and unit (recorders keep the first, so repeating is cheap).
fn describe() {
    describe_counter!(
        TOKENS,
        Unit::Count,
        "Token checks by the guards, by outcome"
    );
    describe_counter!(
        CACHE_HITS,
        Unit::Count,
        "Cache lookups that found the token"
    );
    describe_counter!(CACHE_MISSES, Unit::Count, "Cache lookups that did not");
    describe_counter!(
        CACHE_EVICTIONS,
        Unit::Count,
        "Cache entries dropped to make room"
    );
    describe_gauge!(CACHE_ENTRIES, Unit::Count, "Cache entries held");
    describe_counter!(STORE_CALLS, Unit::Count, "Revocation store calls");
    describe_counter!(
        STORE_ERRORS,
        Unit::Count,
        "Revocation store calls that failed"
    );
    describe_counter!(
        STORE_TIME,
        Unit::Microseconds,
        "Time spent in revocation store calls"
    );
    describe_counter!(
        LOGINS_THROTTLED,
        Unit::Count,
        "Login attempts refused by the login throttle"
    );
    describe_counter!(
        EVENTS_DROPPED,
        Unit::Count,
        "Events that never reached the events hook (queue full, or the hook panicked)"
    );
    describe_counter!(
        KEY_FETCHES,
        Unit::Count,
        "Fetches of the issuer's key document"
    );
    describe_counter!(
        KEY_FETCH_ERRORS,
        Unit::Count,
        "Fetches of the issuer's key document that brought no keys"
    );
    describe_gauge!(
        KEY_FETCH_LAST_SUCCESS,
        Unit::Seconds,
        "When the last fetch that brought keys ended (Unix time; 0: never)"
    );
}

/// Publishes the figures of `rocket` every [`PUBLISH_INTERVAL`] until it shuts down.
pub(crate) fn spawn_publisher(rocket: &Rocket<Orbit>) {
    let Some(state) = rocket.state::<Arc<AuthState>>().cloned() else {
        return;
    };
    let shutdown = rocket.shutdown();
    rocket::tokio::spawn(async move {
        let mut ticks = rocket::tokio::time::interval(PUBLISH_INTERVAL);
        loop {
            rocket::tokio::select! {
                _ = ticks.tick() => PasetoStats::of(&state).publish(),
                _ = shutdown.clone() => break,
            }
        }
        PasetoStats::of(&state).publish();
    });
}

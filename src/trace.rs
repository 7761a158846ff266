//! Spans for `tracing` subscribers (cargo feature `tracing`), so OpenTelemetry and other
//! exporters see where time and failures go: `rocket_paseto.guard` around a guard's check,
//! `rocket_paseto.refresh` around a session's refresh, `rocket_paseto.store` around each
//! revocation store call. A failure records its `cause`, a fixed name. No field ever holds a
//! token, a subject or a key.
//!
//! Without the feature each function hands its future back untouched: no code, no dependency.

use std::future::Future;

#[cfg(feature = "tracing")]
use tracing::{Instrument, Span, field::Empty};

/// `future` in the span `rocket_paseto.guard`, with the checked `kind`, and `cause(error)` as
/// its `cause` when it fails.
#[cfg(feature = "tracing")]
pub(crate) fn guard<T, E>(
    kind: &'static str,
    future: impl Future<Output = Result<T, E>>,
    cause: fn(&E) -> &'static str,
) -> impl Future<Output = Result<T, E>> {
    let span = tracing::info_span!("rocket_paseto.guard", kind, cause = Empty);
    in_span(span, future, cause)
}

/// `future` in the span `rocket_paseto.refresh`, with `cause(error)` when it fails.
#[cfg(feature = "tracing")]
pub(crate) fn refresh<T, E>(
    future: impl Future<Output = Result<T, E>>,
    cause: fn(&E) -> &'static str,
) -> impl Future<Output = Result<T, E>> {
    let span = tracing::info_span!("rocket_paseto.refresh", cause = Empty);
    in_span(span, future, cause)
}

/// `future`, the store call `op` (`get`, `insert`, `swap`, …), in the span
/// `rocket_paseto.store`; a failed call's `cause` is `store_error` (the error itself, which
/// may name a server, goes to the log as before).
#[cfg(feature = "tracing")]
pub(crate) fn store<T, E>(
    op: &'static str,
    future: impl Future<Output = Result<T, E>>,
) -> impl Future<Output = Result<T, E>> {
    let span = tracing::debug_span!("rocket_paseto.store", op, cause = Empty);
    in_span(span, future, |_| "store_error")
}

#[cfg(feature = "tracing")]
fn in_span<T, E>(
    span: Span,
    future: impl Future<Output = Result<T, E>>,
    cause: impl Fn(&E) -> &'static str,
) -> impl Future<Output = Result<T, E>> {
    // Boxed: an async block keeps the future it captured and the future it awaits apart, which
    // would double the size of every guard's future (a bigger allocation on every request).
    let instrumented = Box::pin(future).instrument(span.clone());
    async move {
        let result = instrumented.await;
        if let Err(error) = &result {
            span.record("cause", cause(error));
        }
        result
    }
}

#[cfg(not(feature = "tracing"))]
pub(crate) fn guard<F: Future, E>(_: &'static str, future: F, _: fn(&E) -> &'static str) -> F {
    future
}

#[cfg(not(feature = "tracing"))]
pub(crate) fn refresh<F: Future, E>(future: F, _: fn(&E) -> &'static str) -> F {
    future
}

#[cfg(not(feature = "tracing"))]
pub(crate) fn store<F: Future>(_: &'static str, future: F) -> F {
    future
}

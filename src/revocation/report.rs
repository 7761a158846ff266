//! [`LoggedOut`]: what a logout reports.

use serde::Serialize;

/// The session a logout ended: returned by [`Sessions::logout`](crate::Sessions::logout) and
/// [`PasetoCookies::logout`](crate::PasetoCookies::logout).
///
/// A logout always records the token and its whole session, but only the guards of the kinds
/// listed in `paseto.revocation.kinds` consult the store: tokens of other kinds keep working
/// until they expire. This says which.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[non_exhaustive]
pub struct LoggedOut {
    /// How many tokens were presented and revoked with their sessions.
    pub tokens: usize,
    /// The kinds whose tokens of those sessions are refused from now on (the checked kinds),
    /// e.g. `["access", "refresh"]`. Empty when nothing was revoked.
    pub refused: Vec<String>,
    /// The kinds of the presented tokens that still work until they expire, because their
    /// guards do not check the store.
    pub still_valid: Vec<String>,
}

impl LoggedOut {
    pub(crate) fn new(tokens: usize, refused: Vec<String>, still_valid: Vec<String>) -> Self {
        LoggedOut {
            tokens,
            refused,
            still_valid,
        }
    }

    /// Whether every presented token, and its session's checked kinds, is refused from now on.
    pub fn is_complete(&self) -> bool {
        self.tokens > 0 && self.still_valid.is_empty()
    }

    fn merge(&mut self, other: LoggedOut) {
        self.tokens += other.tokens;
        for kind in other.refused {
            if !self.refused.contains(&kind) {
                self.refused.push(kind);
            }
        }
        for kind in other.still_valid {
            if !self.still_valid.contains(&kind) {
                self.still_valid.push(kind);
            }
        }
    }
}

/// Merges the results of several revocations (a logout with several cookies).
pub(crate) fn merge_all(results: impl IntoIterator<Item = LoggedOut>) -> LoggedOut {
    let mut all = LoggedOut::default();
    for result in results {
        all.merge(result);
    }
    all
}

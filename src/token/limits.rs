//! The limits the token core enforces, named so that configuration and errors can cite them.

use std::time::Duration;

/// The default cap on a token's length, in bytes, checked before anything is decoded.
pub const DEFAULT_MAX_TOKEN_LENGTH: usize = 4096;

/// The longest lifetime a token may be given: a year and a day.
pub const MAX_TTL: Duration = Duration::from_secs(366 * 24 * 60 * 60);

/// The most clock skew [`Rules::leeway`](super::Rules::leeway) accepts: ten minutes.
pub const MAX_LEEWAY: Duration = Duration::from_secs(600);

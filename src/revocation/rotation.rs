//! Refresh-token rotation: each family's `rot:` entry, replaced by compare-and-set.

use rocket::futures::future::join;
use time::OffsetDateTime;

use super::{Refusal, Revocation, Standing, key};
use crate::token::{Claims, Rejection};

/// How often a rotation retries after losing a race before giving up with a 503.
const ROTATION_ATTEMPTS: usize = 4;

/// The rotation entry of a family: its current refresh token, the one it replaced, and when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Generation<'a> {
    pub(super) current: &'a str,
    pub(super) previous: &'a str,
    pub(super) at: i64,
}

impl<'a> Generation<'a> {
    pub(super) fn parse(value: &'a str) -> Option<Self> {
        let mut parts = value.split(' ');
        let generation = Generation {
            current: parts.next()?,
            previous: parts.next()?,
            at: parts.next()?.parse().ok()?,
        };
        parts.next().is_none().then_some(generation)
    }

    fn encode(&self) -> String {
        format!("{} {} {}", self.current, self.previous, self.at)
    }
}

impl Revocation {
    /// Marks `claims`' refresh token as replaced by a new one and returns the new one's `jti`,
    /// or, within the grace window of an earlier rotation, that rotation's `jti` (so parallel
    /// refreshes and retries get the same generation). A refresh token replaced longer ago
    /// revokes its whole family. Always fails closed: an exchange that cannot be recorded could
    /// be repeated by a thief without being noticed.
    ///
    /// `seen`: the token's standing as read from the store earlier in the same request (by its
    /// guard), to start from instead of reading it again; the compare-and-set still decides.
    pub(crate) async fn rotate(
        &self,
        claims: &Claims,
        mut seen: Option<Standing>,
    ) -> Result<String, Refusal> {
        let (Some(jti), Some(family)) = (claims.jti.as_deref(), claims.family()) else {
            return Err(Refusal::Revoked(Rejection::MissingClaim("jti")));
        };
        let rotation_key = key("rot:", family);
        let until = self.outlive(self.family_end(claims));
        let mut listed = false;
        for _ in 0..ROTATION_ATTEMPTS {
            let standing = match seen.take() {
                Some(standing) => standing,
                // Boxed: the guard's reading serves most rotations, and this state would
                // widen every refresh's future.
                None => Box::pin(self.check_strictly(claims)).await?,
            };
            let (record, list) = match standing {
                Standing::Superseded { successor } => return Ok(successor),
                Standing::Current { record, list } => (record, list),
                Standing::Unchecked => return Err(Refusal::Unavailable),
            };
            let successor = crate::token::random_id().map_err(|_| Refusal::Unavailable)?;
            let next = Generation {
                current: &successor,
                previous: jti,
                at: OffsetDateTime::now_utc().unix_timestamp(),
            }
            .encode();
            let swap = self
                .store
                .swap(&rotation_key, record.as_deref(), &next, until);
            let swapped = if listed {
                swap.await
            } else {
                // The token is current, so this refresh goes through: its update of the list of
                // logins goes out with the compare-and-set rather than after it.
                listed = true;
                join(swap, self.note_refresh(claims, Some(list))).await.0
            };
            match swapped {
                Ok(true) => return Ok(successor),
                // Another request rotated this family meanwhile: look again.
                Ok(false) => continue,
                Err(e) => {
                    rocket::error!("rocket_paseto: {e}; refusing to rotate a refresh token");
                    return Err(Refusal::Unavailable);
                }
            }
        }
        Err(Refusal::Unavailable)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generations_round_trip_and_refuse_garbage() {
        let generation = Generation {
            current: "b",
            previous: "a",
            at: 1_700_000_000,
        };
        let encoded = generation.encode();
        assert_eq!(Generation::parse(&encoded), Some(generation));
        for bad in ["", "a", "a b", "a b c", "a b 1 d", "a b  1"] {
            assert_eq!(Generation::parse(bad), None, "{bad:?}");
        }
    }
}

//! Logins per subject: the cutoff of a "log out everywhere", and each subject's bounded list of
//! logins (token families). The store sees a keyed hash of the subject, never the subject.
//!
//! | key | value | kept until |
//! |---|---|---|
//! | `cut:<hash>` | the unix time before which the subject's tokens are refused | 366 days (the longest token lifetime), plus twice the leeway |
//! | `old:<hash>` | the start (unix nanoseconds) of the newest login ended to make room for a new one: the subject's logins that started no later are refused | 366 days, plus twice the leeway |
//! | `ses:<hash>` | `s` and one `family,started,last_used,ends` per login | the last login's end, plus twice the leeway |
//!
//! A login's family id carries its start (`~<unix nanoseconds>.<random id>`), so one `old:`
//! entry per subject refuses every login ended for being the oldest: logging in, however
//! often, leaves at most `max_sessions` logins and two entries per subject.

use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use time::OffsetDateTime;

mod record;
mod subjects;

pub(crate) use self::record::{Device, LoginRecord};
use self::record::{encode, parse};
pub(crate) use self::subjects::Subjects;
use super::{Revocation, StoreError, add_saturating, key};
use crate::token::{Claims, IssueError, random_id};

/// How often a list update retries after losing a race with another instance.
const ATTEMPTS: usize = 8;

/// How long a cutoff is kept: no token minted before it can live longer.
const LONGEST_TOKEN: Duration = Duration::from_secs(366 * 86_400);

/// Whether a subject's cutoffs (the values of its `cut:` entries, one per configured local
/// key) refuse the token with `claims`: it was issued before one of them. An unreadable cutoff,
/// or a token without `iat`, is refused.
pub(super) fn cut_off(claims: &Claims, cutoffs: &[Option<String>]) -> bool {
    cutoffs.iter().flatten().any(|value| {
        let Ok(cutoff) = value.parse::<i64>() else {
            return true;
        };
        claims.iat.is_none_or(|iat| iat.unix_timestamp() < cutoff)
    })
}

/// Whether the token with `claims` belongs to a login that started no later than one of the
/// subject's `old:` entries (their values, one per configured local key): a login ended to make
/// room for a newer one, or one older still.
pub(super) fn ended_as_oldest(claims: &Claims, oldest: &[Option<String>]) -> bool {
    let start = claims.fam.as_deref().and_then(login_start);
    start.is_some_and(|start| started_by(start, oldest))
}

/// Whether `start` is no later than one of the `old:` values; an unreadable one refuses all.
fn started_by(start: i64, oldest: &[Option<String>]) -> bool {
    let refuses = |value: &String| value.parse::<i64>().map_or(true, |ended| start <= ended);
    oldest.iter().flatten().any(refuses)
}

/// The family id of a new listed login: `~<start, unix nanoseconds>.<random id>`.
pub(crate) fn login_family() -> Result<String, IssueError> {
    static LAST: AtomicI64 = AtomicI64::new(0);
    let now = i64::try_from(OffsetDateTime::now_utc().unix_timestamp_nanos()).unwrap_or(i64::MAX);
    // Strictly increasing in this process, so no two logins of it share a start.
    let next = |last: i64| now.max(last.saturating_add(1));
    let last = LAST
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |last| Some(next(last)))
        .unwrap_or(now);
    Ok(format!("~{}.{}", next(last), random_id()?))
}

/// When the login of `family` started (unix nanoseconds), for ids from [`login_family`].
fn login_start(family: &str) -> Option<i64> {
    let (start, _) = family.strip_prefix('~')?.split_once('.')?;
    start
        .bytes()
        .all(|b| b.is_ascii_digit())
        .then(|| start.parse().ok())?
}

/// The login a new one (`new`) ends when the list is full: one whose id does not carry its
/// start (from before ids did), the least recently used first; then the one that started
/// first. Never `new` itself.
fn oldest(logins: &[LoginRecord], new: &str) -> Option<usize> {
    let others = logins.iter().enumerate().filter(|(_, l)| l.family != new);
    let order = |l: &LoginRecord| match login_start(&l.family) {
        None => (false, l.last_used),
        Some(start) => (true, start),
    };
    others.min_by_key(|(_, l)| order(l)).map(|(i, _)| i)
}

fn unix(t: OffsetDateTime) -> i64 {
    t.unix_timestamp()
}

impl Revocation {
    /// Lists a new login of `subject`: family `family` (from [`login_family`]), ending at
    /// `ends`, made from `device`. Logins that ended or were revoked are dropped; beyond the bound, the oldest ones
    /// are ended, before the list without them is stored, so no login is ever unlisted while
    /// it works.
    pub(crate) async fn open_login(
        &self,
        subject: &str,
        family: &str,
        ends: OffsetDateTime,
        device: Device,
    ) -> Result<(), StoreError> {
        let list_key = self.subjects.list_key(subject);
        let now = unix(OffsetDateTime::now_utc());
        for _ in 0..ATTEMPTS {
            let (stored, mut logins) = self.read_logins(subject).await?;
            logins.push(LoginRecord {
                family: family.to_owned(),
                started: now,
                last_used: now,
                ends: unix(ends),
                device: device.clone(),
            });
            while logins.len() > self.subjects.max_logins {
                let Some(ended) = oldest(&logins, family).map(|i| logins.remove(i)) else {
                    break;
                };
                self.end_oldest(subject, &ended, login_start(family))
                    .await?;
            }
            if self.store_logins(&list_key, stored, &logins).await? {
                return Ok(());
            }
        }
        Err(StoreError::new("a list of logins kept changing"))
    }

    /// Records that `subject`'s login `family` was just refreshed. A login that is not listed
    /// (a one-off token's own, or from before lists existed) is left alone.
    ///
    /// It runs at every refresh, so it reads the list entry alone and writes it back as it was
    /// stored, ended logins and all: one read and one compare-and-set. The next login prunes
    /// the list, and every reader filters it.
    ///
    /// `seen`: the list entry as read earlier in the same request, to start from.
    async fn touch_login(
        &self,
        subject: &str,
        family: &str,
        mut seen: Option<Option<String>>,
    ) -> Result<(), StoreError> {
        let list_key = self.subjects.list_key(subject);
        let now = unix(OffsetDateTime::now_utc());
        for _ in 0..ATTEMPTS {
            let stored = match seen.take() {
                Some(stored) => stored,
                None => self.get(&[&list_key]).await?.pop().flatten(),
            };
            let mut logins = parse(stored.as_deref());
            match logins.iter_mut().find(|l| l.family == family) {
                Some(login) if login.last_used < now => login.last_used = now,
                _ => return Ok(()),
            }
            if self.store_logins(&list_key, stored, &logins).await? {
                return Ok(());
            }
        }
        Err(StoreError::new("a list of logins kept changing"))
    }

    /// `subject`'s active logins, oldest first.
    pub(crate) async fn logins(&self, subject: &str) -> Result<Vec<LoginRecord>, StoreError> {
        let (_, mut logins) = self.read_logins(subject).await?;
        logins.sort_by_key(|l| l.started);
        Ok(logins)
    }

    /// Ends `subject`'s login whose opaque id is `id`; `None` when it has none such.
    pub(crate) async fn end_login(
        &self,
        subject: &str,
        id: &str,
    ) -> Result<Option<LoginRecord>, StoreError> {
        let (_, logins) = self.read_logins(subject).await?;
        let Some(login) = logins
            .into_iter()
            .find(|l| self.subjects.login_id(&l.family) == id)
        else {
            return Ok(None);
        };
        // Revoked first: a login must never be unlisted while its tokens still work.
        self.revoke_login(&login).await?;
        self.edit_logins(subject, |logins| {
            let before = logins.len();
            logins.retain(|l| l.family != login.family);
            ((), logins.len() != before)
        })
        .await?;
        Ok(Some(login))
    }

    /// Logs `subject` out everywhere: every listed login is revoked by family, then every
    /// token of the subject issued before the cutoff is refused (in the guards of checked
    /// kinds).
    ///
    /// Tokens state their `iat` in whole seconds, so the cutoff is the start of the next second,
    /// and this returns once it has passed (within a second): every token minted before the
    /// call returns is refused, and every token minted after it works.
    pub(crate) async fn end_all(&self, subject: &str) -> Result<(), StoreError> {
        // Listed first: once the cutoff is raised, the list hides the logins it ends.
        let (_, logins) = self.read_logins(subject).await?;
        for login in &logins {
            self.revoke_login(login).await?;
        }
        let cutoff = unix(OffsetDateTime::now_utc()) + 1;
        self.raise_cutoff(subject, cutoff).await?;
        self.edit_logins(subject, |listed| {
            let before = listed.len();
            listed.retain(|l| !logins.iter().any(|ended| ended.family == l.family));
            ((), listed.len() != before)
        })
        .await?;
        let left = OffsetDateTime::from_unix_timestamp(cutoff)
            .map(|at| at - OffsetDateTime::now_utc())
            .unwrap_or_default();
        if left.is_positive() {
            rocket::tokio::time::sleep(left.unsigned_abs()).await;
        }
        Ok(())
    }

    async fn raise_cutoff(&self, subject: &str, cutoff: i64) -> Result<(), StoreError> {
        self.raise(&self.subjects.cutoff_key(subject), cutoff).await
    }

    /// Ends `login`, made room for by a login that started at `new_start`: with one entry per
    /// subject when its id carries its start, since every listed login that started earlier
    /// has been ended already (unless the new login's clock is behind, when that entry would
    /// end the new login too).
    async fn end_oldest(
        &self,
        subject: &str,
        login: &LoginRecord,
        new_start: Option<i64>,
    ) -> Result<(), StoreError> {
        match login_start(&login.family) {
            Some(start) if new_start.is_some_and(|new| start < new) => {
                self.raise(&self.subjects.oldest_key(subject), start).await
            }
            _ => self.revoke_login(login).await,
        }
    }

    /// Raises the number in `key` to `value`, kept longer than any token minted now can live:
    /// such entries only ever grow, so a copy of them is never wrong for long.
    async fn raise(&self, key: &str, value: i64) -> Result<(), StoreError> {
        let until = self.outlive(add_saturating(OffsetDateTime::now_utc(), LONGEST_TOKEN));
        for _ in 0..ATTEMPTS {
            let current = self.get(&[key]).await?.pop().flatten();
            if current.as_deref().and_then(|v| v.parse::<i64>().ok()) >= Some(value) {
                return Ok(());
            }
            let new = value.to_string();
            if self
                .store
                .swap(key, current.as_deref(), &new, until)
                .await?
            {
                return Ok(());
            }
        }
        Err(StoreError::new("a cutoff kept changing"))
    }

    async fn revoke_login(&self, login: &LoginRecord) -> Result<(), StoreError> {
        let ends = OffsetDateTime::from_unix_timestamp(login.ends)
            .unwrap_or_else(|_| OffsetDateTime::now_utc());
        self.store
            .insert(&key("fam:", &login.family), self.outlive(ends))
            .await
    }

    /// Records in the subject's list of logins, when logins are listed, that the login of the
    /// refresh token with `claims` was just refreshed ([`touch_login`](Self::touch_login)),
    /// starting from `seen` when the list was read already. Only bookkeeping: a failure is
    /// logged, and the refresh goes on.
    pub(crate) async fn note_refresh(&self, claims: &Claims, seen: Option<Option<String>>) {
        let Some(family) = claims.family().filter(|_| self.subjects.lists()) else {
            return;
        };
        if let Err(e) = self.touch_login(&claims.sub, family, seen).await {
            rocket::warn!("rocket_paseto: {e}; a session's last use was not recorded");
        }
    }

    /// The `ses:` entry of `subject` as stored, and its logins that are still active: not
    /// ended, not revoked, not before the subject's cutoff, not ended as the oldest.
    async fn read_logins(
        &self,
        subject: &str,
    ) -> Result<(Option<String>, Vec<LoginRecord>), StoreError> {
        let list_key = self.subjects.list_key(subject);
        let cutoff_key = self.subjects.cutoff_key(subject);
        let oldest_keys = self.subjects.oldest_keys(subject);
        let mut keys = vec![list_key.as_str(), cutoff_key.as_str()];
        keys.extend(oldest_keys.iter().map(String::as_str));
        let mut values = self.get(&keys).await?;
        let cutoff = values[1].as_deref().and_then(|v| v.parse::<i64>().ok());
        let oldest = values.split_off(2);
        let stored = values.swap_remove(0);
        let now = unix(OffsetDateTime::now_utc());
        let mut logins = parse(stored.as_deref());
        let ended =
            |l: &LoginRecord| login_start(&l.family).is_some_and(|s| started_by(s, &oldest));
        logins.retain(|l| l.ends > now && cutoff.is_none_or(|c| l.started >= c) && !ended(l));
        if !logins.is_empty() {
            let keys: Vec<String> = logins.iter().map(|l| key("fam:", &l.family)).collect();
            let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
            let revoked = self.get(&keys).await?;
            let mut revoked = revoked.iter();
            logins.retain(|_| revoked.next().is_some_and(Option::is_none));
        }
        Ok((stored, logins))
    }

    /// Stores `logins` as the `ses:` entry `list_key` if it still holds `stored`; `false` when
    /// another instance wrote it in between.
    async fn store_logins(
        &self,
        list_key: &str,
        stored: Option<String>,
        logins: &[LoginRecord],
    ) -> Result<bool, StoreError> {
        let last_end = logins.iter().map(|l| l.ends).max().unwrap_or(0);
        let until = OffsetDateTime::from_unix_timestamp(last_end)
            .unwrap_or(OffsetDateTime::UNIX_EPOCH)
            .max(OffsetDateTime::now_utc());
        let value = encode(logins);
        self.store
            .swap(list_key, stored.as_deref(), &value, self.outlive(until))
            .await
    }

    /// Applies `edit` to `subject`'s active logins and stores the result when `edit` says it
    /// changed them, retrying from a fresh read when another instance wrote in between.
    async fn edit_logins<R>(
        &self,
        subject: &str,
        mut edit: impl FnMut(&mut Vec<LoginRecord>) -> (R, bool),
    ) -> Result<R, StoreError> {
        let list_key = self.subjects.list_key(subject);
        for _ in 0..ATTEMPTS {
            let (stored, mut logins) = self.read_logins(subject).await?;
            let (result, changed) = edit(&mut logins);
            if !changed {
                return Ok(result);
            }
            if self.store_logins(&list_key, stored, &logins).await? {
                return Ok(result);
            }
        }
        Err(StoreError::new("a list of logins kept changing"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn login_ids_carry_increasing_starts_and_the_oldest_goes_first() {
        let ids: Vec<String> = (0..100).map(|_| login_family().unwrap()).collect();
        let starts: Vec<i64> = ids.iter().map(|id| login_start(id).unwrap()).collect();
        assert!(starts.windows(2).all(|w| w[0] < w[1]), "{starts:?}");
        for other in [
            "AbC-_0123456789abcdefgh",
            "~x.a",
            "~-5.a",
            "~+5.a",
            "~5",
            "",
        ] {
            assert_eq!(login_start(other), None, "{other:?}");
        }
        let record = |family: &str, last_used| LoginRecord {
            family: family.into(),
            started: 0,
            last_used,
            ends: 9,
            device: Device::default(),
        };
        let listed = [record("~20.a", 1), record("~10.b", 5), record("~30.new", 0)];
        assert_eq!(oldest(&listed, "~30.new"), Some(1), "the first started");
        let mixed = [record("~10.b", 1), record("legacy", 7), record("old", 6)];
        assert_eq!(
            oldest(&mixed, "~30.new"),
            Some(2),
            "ids without a start first"
        );
        assert_eq!(oldest(&[record("~30.new", 0)], "~30.new"), None);

        let claims = |fam: &str| Claims {
            sub: "alice".into(),
            exp: OffsetDateTime::now_utc(),
            iat: None,
            nbf: None,
            jti: None,
            iss: None,
            aud: vec![],
            kind: "access".into(),
            fresh: None,
            csrf: None,
            fam: Some(fam.into()),
            fam_exp: None,
        };
        let ended = [None, Some("20".to_owned())];
        assert!(ended_as_oldest(&claims("~20.a"), &ended));
        assert!(!ended_as_oldest(&claims("~21.a"), &ended));
        assert!(!ended_as_oldest(&claims("legacy"), &ended));
        assert!(ended_as_oldest(&claims("~21.a"), &[Some("x".into())]));
    }
}

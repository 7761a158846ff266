//! A subject's sessions as its user and admins see them: [`Session`].

use std::net::IpAddr;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::{LoginRecord, Revocation, StoreError};

/// One active session, as its user sees it: [`Sessions::list`](crate::Sessions::list).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[non_exhaustive]
pub struct Session {
    /// An opaque id for [`Sessions::end`](crate::Sessions::end): a keyed hash of the session's internal id.
    pub id: String,
    /// When the session started.
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub created_at: OffsetDateTime,
    /// When it was last refreshed (its start, if never).
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub last_used_at: OffsetDateTime,
    /// When it ends at the latest (`session_ttl` after it started).
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub expires_at: OffsetDateTime,
    /// Whether the token this list was asked with belongs to it.
    pub current: bool,
    /// The `User-Agent` of the request that started it (up to 256 bytes).
    pub user_agent: Option<String>,
    /// The client address that started it: the connection's, or the one a proxy in
    /// `trusted_proxies` forwarded. `None` with `revocation.keep_ip = false`.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub ip: Option<IpAddr>,
    /// The name given with [`Login::label`](crate::Login::label), if any.
    pub label: Option<String>,
}

impl Revocation {
    /// `subject`'s active sessions, oldest first; `current` is the session (family) of the
    /// token asking, if any.
    pub(crate) async fn sessions(
        &self,
        subject: &str,
        current: Option<&str>,
    ) -> Result<Vec<Session>, StoreError> {
        let records = self.logins(subject).await?;
        Ok(records
            .into_iter()
            .map(|record| self.session(record, current))
            .collect())
    }

    fn session(&self, record: LoginRecord, current: Option<&str>) -> Session {
        let time = |t| OffsetDateTime::from_unix_timestamp(t).unwrap_or(OffsetDateTime::UNIX_EPOCH);
        Session {
            id: self.login_id(&record.family),
            created_at: time(record.started),
            last_used_at: time(record.last_used),
            expires_at: time(record.ends),
            current: current == Some(record.family.as_str()),
            user_agent: record.device.user_agent,
            ip: record.device.ip,
            label: record.device.label,
        }
    }
}

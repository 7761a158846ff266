//! One fetch of a key document over HTTPS (or plain HTTP to a loopback host), bounded in time
//! and size, on a blocking thread so the async workers keep serving requests.

use std::time::Duration;

use rocket::tokio::task;

use crate::token::{DocumentError, KeyDocument, PublicKey};

/// The largest key document read, in bytes: 32 keys take about 5 KiB.
pub(crate) const MAX_DOCUMENT_BYTES: u64 = 64 * 1024;

/// Why a fetch brought no keys. The messages name no URL, body or key.
#[derive(Debug, thiserror::Error)]
pub(crate) enum FetchError {
    #[error("the issuer's host could not be reached ({0})")]
    Unreachable(&'static str),
    #[error("no answer within the timeout")]
    Timeout,
    #[error("the issuer answered with status {0}")]
    Status(u16),
    #[error("the key document is larger than {MAX_DOCUMENT_BYTES} bytes")]
    TooLarge,
    #[error(transparent)]
    Document(#[from] DocumentError),
}

/// The HTTP client of one discovery URL: its connections are kept for the next fetch.
pub(crate) struct Fetcher {
    agent: ureq::Agent,
    url: String,
    issuer: String,
}

impl Fetcher {
    /// A client for `url` whose document must name `issuer`, giving up after `timeout`.
    pub(crate) fn new(url: &str, issuer: &str, timeout: Duration, loopback: bool) -> Self {
        let config = ureq::Agent::config_builder()
            .timeout_global(Some(timeout))
            // A redirect could lead anywhere, including to plain HTTP: the URL is the document.
            .max_redirects(0)
            .http_status_as_error(false)
            .https_only(!loopback)
            .user_agent(concat!("rocket_paseto/", env!("CARGO_PKG_VERSION")));
        // An HTTP proxy from the environment is for the outside world, not for this host.
        let config = if loopback { config.proxy(None) } else { config };
        Fetcher {
            agent: config.build().into(),
            url: url.to_owned(),
            issuer: issuer.to_owned(),
        }
    }

    /// Fetches the document and returns its keys, checked against their ids and the issuer.
    pub(crate) async fn fetch(&self) -> Result<Vec<PublicKey>, FetchError> {
        let agent = self.agent.clone();
        let url = self.url.clone();
        let body = task::spawn_blocking(move || get(&agent, &url))
            .await
            .map_err(|_| FetchError::Unreachable("the fetch was interrupted"))??;
        Ok(KeyDocument::keys_for(&body, &self.issuer)?)
    }
}

/// The body of a `200 OK` answer to `GET url`, at most [`MAX_DOCUMENT_BYTES`] long.
fn get(agent: &ureq::Agent, url: &str) -> Result<Vec<u8>, FetchError> {
    let mut response = agent
        .get(url)
        .header("Accept", "application/json")
        .call()
        .map_err(failure)?;
    let status = response.status().as_u16();
    if status != 200 {
        return Err(FetchError::Status(status));
    }
    response
        .body_mut()
        .with_config()
        .limit(MAX_DOCUMENT_BYTES)
        .read_to_vec()
        .map_err(failure)
}

/// The client's error, reduced to what can be logged (its own messages may quote the URL).
fn failure(error: ureq::Error) -> FetchError {
    match error {
        ureq::Error::Timeout(_) => FetchError::Timeout,
        ureq::Error::BodyExceedsLimit(_) => FetchError::TooLarge,
        ureq::Error::HostNotFound => FetchError::Unreachable("host not found"),
        ureq::Error::ConnectionFailed => FetchError::Unreachable("connection failed"),
        ureq::Error::Io(_) => FetchError::Unreachable("connection error"),
        ureq::Error::Tls(_) | ureq::Error::Rustls(_) => FetchError::Unreachable("TLS error"),
        ureq::Error::RequireHttpsOnly(_) => FetchError::Unreachable("not https"),
        _ => FetchError::Unreachable("request failed"),
    }
}

//! One fetch of a key document over HTTPS (or plain HTTP to a loopback host), bounded in time
//! and size, on a blocking thread so the async workers keep serving requests.

use rocket::tokio::task;

use ureq::tls::{PemItem, RootCerts, TlsConfig, parse_pem};

use crate::config::{ConfigError, DiscoverySetup};
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
    /// The client `setup` describes. Its `ca_file`, when set, must hold root certificates
    /// only, at least one.
    pub(crate) fn new(setup: &DiscoverySetup) -> Result<Self, ConfigError> {
        let config = ureq::Agent::config_builder()
            .timeout_global(Some(setup.timeout))
            // A redirect could lead anywhere, including to plain HTTP: the URL is the document.
            .max_redirects(0)
            .http_status_as_error(false)
            .https_only(!setup.loopback)
            .user_agent(concat!("rocket_paseto/", env!("CARGO_PKG_VERSION")));
        // An HTTP proxy from the environment is for the outside world, not for this host.
        let config = if setup.loopback {
            config.proxy(None)
        } else {
            config
        };
        let config = match &setup.ca_pem {
            Some(pem) => {
                let roots = root_certs(pem)?;
                config.tls_config(TlsConfig::builder().root_certs(roots).build())
            }
            None => config,
        };
        Ok(Fetcher {
            agent: config.build().into(),
            url: setup.url.clone(),
            issuer: setup.issuer.clone(),
        })
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

/// The certificates of a `ca_file`. rustls would skip a malformed one without a word, and a
/// private key has no business there, so both are refused here, at ignite.
fn root_certs(pem: &[u8]) -> Result<RootCerts, ConfigError> {
    let refused = |message: &str| ConfigError::new("paseto.discovery.ca_file", message);
    let mut certs = Vec::new();
    for item in parse_pem(pem) {
        match item {
            Ok(PemItem::Certificate(cert)) if is_der_sequence(cert.der()) => certs.push(cert),
            Ok(PemItem::Certificate(_)) => {
                return Err(refused("holds a CERTIFICATE block that is no certificate"));
            }
            Ok(PemItem::PrivateKey(_)) => {
                return Err(refused(
                    "holds a private key: give the root certificates only, and keep the key \
                     where it is",
                ));
            }
            Ok(_) => {}
            Err(_) => return Err(refused("is not a PEM file of certificates")),
        }
    }
    if certs.is_empty() {
        return Err(refused(
            "holds no certificate (a `-----BEGIN CERTIFICATE-----` block)",
        ));
    }
    Ok(RootCerts::from(certs))
}

/// Whether `der` is one DER `SEQUENCE` filling it exactly, as every X.509 certificate is.
fn is_der_sequence(der: &[u8]) -> bool {
    let [0x30, first, rest @ ..] = der else {
        return false;
    };
    let (length, body) = match *first {
        short @ 0..=0x7f => (usize::from(short), rest),
        long @ 0x81..=0x84 => {
            let count = usize::from(long & 0x7f);
            let Some((digits, body)) = rest.split_at_checked(count) else {
                return false;
            };
            let length = digits
                .iter()
                .fold(0usize, |n, &digit| (n << 8) | usize::from(digit));
            (length, body)
        }
        _ => return false,
    };
    length == body.len()
}

/// The client's error, reduced to what can be logged (its own messages may quote the URL).
fn failure(error: ureq::Error) -> FetchError {
    match error {
        ureq::Error::Timeout(_) => FetchError::Timeout,
        ureq::Error::BodyExceedsLimit(_) => FetchError::TooLarge,
        ureq::Error::HostNotFound => FetchError::Unreachable("host not found"),
        ureq::Error::ConnectionFailed => FetchError::Unreachable("connection failed"),
        ureq::Error::Io(_) => FetchError::Unreachable("connection error"),
        ureq::Error::Tls(_) | ureq::Error::Rustls(_) => FetchError::Unreachable(
            "TLS error: is the server's certificate signed by a trusted root? (`ca_file`)",
        ),
        ureq::Error::RequireHttpsOnly(_) => FetchError::Unreachable("not https"),
        _ => FetchError::Unreachable("request failed"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEST_ROOT: &[u8] = include_bytes!("../../tests/tls/ca.pem");
    const TEST_SERVER_KEY: &[u8] = include_bytes!("../../tests/tls/localhost.key");

    fn refusal(pem: &[u8]) -> String {
        let error = root_certs(pem).expect_err("refused");
        assert_eq!(error.field(), "paseto.discovery.ca_file");
        error.to_string()
    }

    #[test]
    fn a_ca_file_holds_root_certificates_only() {
        assert!(matches!(root_certs(TEST_ROOT), Ok(RootCerts::Specific(c)) if c.len() == 1));
        let both = [TEST_ROOT, TEST_SERVER_KEY].concat();
        assert!(refusal(&both).contains("private key"));
        assert!(refusal(TEST_SERVER_KEY).contains("private key"));
        assert!(refusal(b"").contains("no certificate"));
        assert!(refusal(b"k4.public.AAAA").contains("no certificate"));
        let garbled = b"-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n";
        assert!(refusal(garbled).contains("not a PEM file"));
        let not_der = b"-----BEGIN CERTIFICATE-----\naGVsbG8=\n-----END CERTIFICATE-----\n";
        assert!(refusal(not_der).contains("block that is no certificate"));
        // Nothing of the file reaches the message.
        assert!(!refusal(&both).contains("BEGIN"));
    }

    #[test]
    fn der_sequences_fill_their_buffer_exactly() {
        assert!(is_der_sequence(&[0x30, 0x00]));
        assert!(is_der_sequence(&[0x30, 0x02, 0x05, 0x00]));
        assert!(is_der_sequence(
            &[&[0x30, 0x81, 0x80][..], &[0; 0x80]].concat()
        ));
        assert!(is_der_sequence(
            &[&[0x30, 0x82, 0x01, 0x00][..], &[0; 0x100]].concat()
        ));
        assert!(!is_der_sequence(&[]));
        assert!(!is_der_sequence(&[0x30]));
        assert!(!is_der_sequence(&[0x31, 0x00]));
        assert!(!is_der_sequence(&[0x30, 0x03, 0x05, 0x00]));
        assert!(!is_der_sequence(&[0x30, 0x82, 0x01]));
        assert!(!is_der_sequence(&[0x30, 0x80, 0x00, 0x00]));
    }
}

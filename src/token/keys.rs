//! PASETO v4 keys that know their version and purpose, parsed from PASERK or PEM.
//!
//! Every key type here redacts itself in `Debug` and has no `Display`: only its [`KeyId`] (a
//! one-way PASERK identifier) is ever shown. Parsing never echoes its input in errors.

use std::fmt;

use ct_codecs::{Base64UrlSafeNoPadding, Decoder, Encoder};
use pasetors::keys::{AsymmetricPublicKey, AsymmetricSecretKey, SymmetricKey};
use pasetors::paserk::{FormatAsPaserk, Id};
use pasetors::version4::V4;
use zeroize::Zeroizing;

use super::crypto::{LocalOpener, VerifyingKey};

/// Why a key could not be parsed. The message names the problem, never the key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// A PASERK of another type was given, e.g. a `k4.public` key where a `k4.local` one is expected.
    #[error("expected a `{expected}` key, found a `{found}` key")]
    WrongType {
        /// The PASERK type that was expected.
        expected: &'static str,
        /// The PASERK type that was found.
        found: &'static str,
    },
    /// A PASERK of another PASETO version (`k1.` to `k3.`); only v4 is accepted.
    #[error(
        "expected a `{expected}` key, found a key for PASETO {found}; only v4 keys are accepted"
    )]
    WrongVersion {
        /// The PASERK type that was expected.
        expected: &'static str,
        /// The version prefix that was found, e.g. `k3`.
        found: &'static str,
    },
    /// Neither a PASERK string nor a PEM block.
    #[error("expected a `{expected}` PASERK string{}", if *.pem_allowed { " or a PEM block" } else { "" })]
    Unrecognised {
        /// The PASERK type that was expected.
        expected: &'static str,
        /// Whether PEM would have been accepted too.
        pem_allowed: bool,
    },
    /// The key data is not canonical unpadded base64url.
    #[error("the key data is not valid unpadded base64url")]
    Encoding,
    /// The key data has the wrong length.
    #[error("the key is {found} bytes long; a `{expected}` key is {len} bytes")]
    Length {
        /// The PASERK type that was expected.
        expected: &'static str,
        /// The length a key of that type has.
        len: usize,
        /// The length that was found.
        found: usize,
    },
    /// An Ed25519 secret key whose seed is all zeros: anyone could forge its signatures.
    #[error("the Ed25519 seed is all zeros; generate a real key")]
    ZeroSeed,
    /// An all-zero local key: anyone could forge its tokens.
    #[error("the key is all zeros; generate a real key")]
    ZeroKey,
    /// Bytes that are not a usable Ed25519 public key (not a canonical curve point, or one of
    /// small order): such a key can never verify a signature.
    #[error("the bytes are not a usable Ed25519 public key (not a curve point, or a weak one)")]
    WeakPublicKey,
    /// A `k4.secret` whose public half does not belong to its seed.
    #[error("the public half of the secret key does not match its seed")]
    Mismatch,
    /// A PEM block that is not an Ed25519 PKCS#8 private key or SPKI public key.
    #[error("the PEM block is not an Ed25519 {0}")]
    Pem(&'static str),
    /// The system random number generator failed.
    #[error("the system random number generator failed")]
    Random,
}

/// A PASERK key identifier (`k4.lid.…` or `k4.pid.…`): a one-way hash of a key, safe to show.
///
/// Issued tokens carry it as the footer's `kid`, so verifiers pick the right key directly.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct KeyId(String);

impl KeyId {
    fn from_id(id: &Id) -> Self {
        let mut s = String::with_capacity(51);
        // Writing to a String cannot fail.
        let _ = id.fmt(&mut s);
        KeyId(s)
    }

    /// The identifier as a string.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyId({})", self.0)
    }
}

/// A `v4.local` symmetric key: encrypts and decrypts local-purpose tokens.
pub struct LocalKey {
    key: SymmetricKey<V4>,
    id: KeyId,
    opener: LocalOpener,
}

/// A `v4.public` signing key (Ed25519), together with its public half.
pub struct SecretKey {
    key: AsymmetricSecretKey<V4>,
    public: PublicKey,
}

/// A `v4.public` verification key (Ed25519).
#[derive(Clone)]
pub struct PublicKey {
    key: AsymmetricPublicKey<V4>,
    verifying: VerifyingKey,
    id: KeyId,
}

const LOCAL: &str = "k4.local";
const SECRET: &str = "k4.secret";
const PUBLIC: &str = "k4.public";

/// Splits `k4.<type>.<data>`, checking version and type before anything is decoded.
fn paserk_data<'a>(
    input: &'a str,
    expected: &'static str,
    pem_allowed: bool,
) -> Result<&'a str, KeyError> {
    let input = input.trim();
    let unrecognised = KeyError::Unrecognised {
        expected,
        pem_allowed,
    };
    let mut parts = input.splitn(3, '.');
    let (Some(version), Some(kind), Some(data)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(unrecognised);
    };
    let known_kind = ["local", "secret", "public", "lid", "pid", "sid"]
        .into_iter()
        .find(|k| *k == kind);
    let Some(kind) = known_kind else {
        return Err(unrecognised);
    };
    match version {
        "k4" => {}
        "k1" => {
            return Err(KeyError::WrongVersion {
                expected,
                found: "k1",
            });
        }
        "k2" => {
            return Err(KeyError::WrongVersion {
                expected,
                found: "k2",
            });
        }
        "k3" => {
            return Err(KeyError::WrongVersion {
                expected,
                found: "k3",
            });
        }
        _ => return Err(unrecognised),
    }
    if &expected[3..] != kind {
        let found = match kind {
            "local" => LOCAL,
            "secret" => SECRET,
            "public" => PUBLIC,
            "lid" => "k4.lid",
            "pid" => "k4.pid",
            _ => "k4.sid",
        };
        return Err(KeyError::WrongType { expected, found });
    }
    Ok(data)
}

/// Decodes canonical unpadded base64url of exactly `N` bytes.
///
/// `ct-codecs` refuses non-canonical encodings itself (stray low bits in the last character,
/// padding), so one key has exactly one PASERK and therefore one id: see
/// `non_canonical_base64_is_rejected` below.
fn decode_exact<const N: usize>(
    data: &str,
    expected: &'static str,
) -> Result<Zeroizing<[u8; N]>, KeyError> {
    let mut buf = Zeroizing::new([0u8; N]);
    let mut scratch = Zeroizing::new(vec![0u8; data.len()]);
    let decoded =
        Base64UrlSafeNoPadding::decode(&mut scratch, data, None).map_err(|_| KeyError::Encoding)?;
    if decoded.len() != N {
        return Err(KeyError::Length {
            expected,
            len: N,
            found: decoded.len(),
        });
    }
    buf.copy_from_slice(decoded);
    Ok(buf)
}

fn encode(bytes: &[u8]) -> String {
    let len = Base64UrlSafeNoPadding::encoded_len(bytes.len()).unwrap_or(0);
    let mut out = Zeroizing::new(vec![0u8; len]);
    // The buffer is sized for the input, so encoding cannot fail.
    Base64UrlSafeNoPadding::encode_to_str(&mut out, bytes)
        .map(str::to_owned)
        .unwrap_or_default()
}

fn random<const N: usize>() -> Result<Zeroizing<[u8; N]>, KeyError> {
    let mut buf = Zeroizing::new([0u8; N]);
    getrandom::fill(&mut buf[..]).map_err(|_| KeyError::Random)?;
    Ok(buf)
}

impl LocalKey {
    /// A fresh random key from the operating system's CSPRNG.
    pub fn generate() -> Result<Self, KeyError> {
        let bytes = random::<32>()?;
        Self::from_bytes(&bytes)
    }

    /// Parses a `k4.local.…` PASERK.
    pub fn from_paserk(paserk: &str) -> Result<Self, KeyError> {
        let data = paserk_data(paserk, LOCAL, false)?;
        let bytes = decode_exact::<32>(data, LOCAL)?;
        Self::from_bytes(&bytes)
    }

    fn from_bytes(bytes: &[u8; 32]) -> Result<Self, KeyError> {
        if bytes.iter().all(|b| *b == 0) {
            return Err(KeyError::ZeroKey);
        }
        let key = SymmetricKey::<V4>::from(bytes).map_err(|_| KeyError::Length {
            expected: LOCAL,
            len: 32,
            found: bytes.len(),
        })?;
        let id = KeyId::from_id(&Id::from(&key));
        let opener = LocalOpener::new(bytes).ok_or(KeyError::Length {
            expected: LOCAL,
            len: 32,
            found: bytes.len(),
        })?;
        Ok(LocalKey { key, id, opener })
    }

    /// The key's `k4.lid` identifier.
    pub fn id(&self) -> &KeyId {
        &self.id
    }

    /// The key as a `k4.local.…` PASERK. This is secret: store it like a password.
    pub fn to_paserk(&self) -> String {
        format!("{LOCAL}.{}", encode(self.key.as_bytes()))
    }

    pub(crate) fn inner(&self) -> &SymmetricKey<V4> {
        &self.key
    }

    pub(crate) fn opener(&self) -> &LocalOpener {
        &self.opener
    }
}

impl SecretKey {
    /// A fresh random Ed25519 key pair from the operating system's CSPRNG.
    pub fn generate() -> Result<Self, KeyError> {
        let seed = random::<32>()?;
        Self::from_seed(&seed)
    }

    /// Parses a `k4.secret.…` PASERK or a PKCS#8 `-----BEGIN PRIVATE KEY-----` PEM block.
    pub fn parse(input: &str) -> Result<Self, KeyError> {
        if input.trim_start().starts_with("-----") {
            Self::from_pem(input)
        } else {
            Self::from_paserk(input)
        }
    }

    /// Parses a `k4.secret.…` PASERK (the 32-byte seed followed by the 32-byte public key).
    pub fn from_paserk(paserk: &str) -> Result<Self, KeyError> {
        let data = paserk_data(paserk, SECRET, true)?;
        let bytes = decode_exact::<64>(data, SECRET)?;
        Self::from_seed_and_public(&bytes)
    }

    /// Parses an Ed25519 PKCS#8 PEM block (as written by `openssl genpkey -algorithm ed25519`).
    pub fn from_pem(pem: &str) -> Result<Self, KeyError> {
        let pair = ed25519_compact::KeyPair::from_pem(pem.trim()).map_err(|e| match e {
            ed25519_compact::Error::InvalidSeed => KeyError::ZeroSeed,
            _ => KeyError::Pem("PKCS#8 private key"),
        })?;
        let mut bytes = Zeroizing::new([0u8; 64]);
        bytes.copy_from_slice(pair.sk.as_ref());
        Self::from_seed_and_public(&bytes)
    }

    fn from_seed(seed: &[u8; 32]) -> Result<Self, KeyError> {
        if seed.iter().all(|b| *b == 0) {
            return Err(KeyError::ZeroSeed);
        }
        let seed = ed25519_compact::Seed::from_slice(seed).map_err(|_| KeyError::ZeroSeed)?;
        let pair = ed25519_compact::KeyPair::try_from_seed(seed).map_err(|_| KeyError::ZeroSeed)?;
        let mut bytes = Zeroizing::new([0u8; 64]);
        bytes.copy_from_slice(pair.sk.as_ref());
        Self::from_seed_and_public(&bytes)
    }

    fn from_seed_and_public(bytes: &[u8; 64]) -> Result<Self, KeyError> {
        // pasetors panics on an all-zero seed, so this check must come first.
        if bytes[..32].iter().all(|b| *b == 0) {
            return Err(KeyError::ZeroSeed);
        }
        let key = AsymmetricSecretKey::<V4>::from(bytes).map_err(|_| KeyError::Mismatch)?;
        let public = AsymmetricPublicKey::<V4>::try_from(&key).map_err(|_| KeyError::Mismatch)?;
        let public = public
            .as_bytes()
            .try_into()
            .map_err(|_| KeyError::Mismatch)?;
        let public = PublicKey::from_bytes(public)?;
        Ok(SecretKey { key, public })
    }

    /// The public half, for verification and for sharing with verifier-only services.
    pub fn public_key(&self) -> &PublicKey {
        &self.public
    }

    /// The `k4.pid` identifier of the public half: what signed tokens carry as `kid`.
    pub fn id(&self) -> &KeyId {
        self.public.id()
    }

    /// The key as a `k4.secret.…` PASERK. This is secret: store it like a password.
    pub fn to_paserk(&self) -> String {
        format!("{SECRET}.{}", encode(self.key.as_bytes()))
    }

    /// The `k4.sid` identifier of the secret key itself (tokens name the public half instead,
    /// see [`id`](Self::id)); useful to refer to a signing key in a secrets store.
    pub fn secret_id(&self) -> KeyId {
        KeyId::from_id(&Id::from(&self.key))
    }

    pub(crate) fn inner(&self) -> &AsymmetricSecretKey<V4> {
        &self.key
    }
}

impl PublicKey {
    /// Parses a `k4.public.…` PASERK or an SPKI `-----BEGIN PUBLIC KEY-----` PEM block.
    pub fn parse(input: &str) -> Result<Self, KeyError> {
        if input.trim_start().starts_with("-----") {
            Self::from_pem(input)
        } else {
            Self::from_paserk(input)
        }
    }

    /// Parses a `k4.public.…` PASERK.
    pub fn from_paserk(paserk: &str) -> Result<Self, KeyError> {
        let data = paserk_data(paserk, PUBLIC, true)?;
        let bytes = decode_exact::<32>(data, PUBLIC)?;
        Self::from_bytes(&bytes)
    }

    /// Parses an Ed25519 SPKI PEM block (as written by `openssl pkey -pubout`).
    pub fn from_pem(pem: &str) -> Result<Self, KeyError> {
        let key = ed25519_compact::PublicKey::from_pem(pem.trim())
            .map_err(|_| KeyError::Pem("SPKI public key"))?;
        let mut bytes = [0u8; 32];
        bytes.copy_from_slice(key.as_ref());
        Self::from_bytes(&bytes)
    }

    fn from_bytes(bytes: &[u8; 32]) -> Result<Self, KeyError> {
        // Bytes that are not a point, or a small-order one, verify nothing: refuse them at load
        // time instead of silently rejecting every token.
        let verifying = VerifyingKey::new(bytes).ok_or(KeyError::WeakPublicKey)?;
        let key = AsymmetricPublicKey::<V4>::from(bytes).map_err(|_| KeyError::Length {
            expected: PUBLIC,
            len: 32,
            found: bytes.len(),
        })?;
        let id = KeyId::from_id(&Id::from(&key));
        Ok(PublicKey { key, verifying, id })
    }

    /// The key's `k4.pid` identifier.
    pub fn id(&self) -> &KeyId {
        &self.id
    }

    /// The key as a `k4.public.…` PASERK.
    pub fn to_paserk(&self) -> String {
        format!("{PUBLIC}.{}", encode(self.key.as_bytes()))
    }

    /// The key decoded for verification, once.
    pub(crate) fn verifying_key(&self) -> &VerifyingKey {
        &self.verifying
    }
}

impl fmt::Debug for LocalKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LocalKey")
            .field("id", &self.id.0)
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SecretKey")
            .field("id", &self.public.id.0)
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PublicKey")
            .field("id", &self.id.0)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrong_types_and_versions_are_named_without_echoing_input() {
        let public = SecretKey::generate().unwrap().public_key().to_paserk();
        let err = LocalKey::from_paserk(&public).unwrap_err();
        assert_eq!(
            err,
            KeyError::WrongType {
                expected: "k4.local",
                found: "k4.public"
            }
        );
        assert!(!err.to_string().contains(&public[10..]));

        let k3 = "k3.local.cHFyc3R1dnd4eXp7fH1-f4CBgoOEhYaHiImKi4yNjo8";
        assert!(matches!(
            LocalKey::from_paserk(k3),
            Err(KeyError::WrongVersion { found: "k3", .. })
        ));
        assert!(matches!(
            LocalKey::from_paserk("not a key"),
            Err(KeyError::Unrecognised { .. })
        ));
    }

    #[test]
    fn zero_seed_and_zero_key_are_errors_not_panics() {
        let zero_secret = format!("k4.secret.{}", encode(&[0u8; 64]));
        assert_eq!(
            SecretKey::parse(&zero_secret).unwrap_err(),
            KeyError::ZeroSeed
        );
        let zero_local = format!("k4.local.{}", encode(&[0u8; 32]));
        assert_eq!(
            LocalKey::from_paserk(&zero_local).unwrap_err(),
            KeyError::ZeroKey
        );
    }

    #[test]
    fn mismatched_secret_halves_are_rejected() {
        let a = SecretKey::generate().unwrap().to_paserk();
        let b = SecretKey::generate().unwrap().to_paserk();
        let mut bytes = [0u8; 64];
        let mut scratch = [0u8; 64];
        let da = Base64UrlSafeNoPadding::decode(&mut scratch, &a[10..], None).unwrap();
        bytes[..32].copy_from_slice(&da[..32]);
        let db = Base64UrlSafeNoPadding::decode(&mut scratch, &b[10..], None).unwrap();
        bytes[32..].copy_from_slice(&db[32..]);
        let mixed = format!("k4.secret.{}", encode(&bytes));
        assert_eq!(SecretKey::parse(&mixed).unwrap_err(), KeyError::Mismatch);
    }

    #[test]
    fn non_canonical_base64_is_rejected() {
        let key = LocalKey::generate().unwrap().to_paserk();
        // 32 bytes encode to 43 characters; the last one carries 2 padding bits.
        let last = key.as_bytes()[key.len() - 1];
        let flipped = match last {
            b'A' => 'B',
            b'Q' => 'R',
            b'g' => 'h',
            _ => 'x',
        };
        let mut bad = key[..key.len() - 1].to_string();
        bad.push(flipped);
        assert_eq!(LocalKey::from_paserk(&bad).unwrap_err(), KeyError::Encoding);
        let padded = format!("{key}=");
        assert_eq!(
            LocalKey::from_paserk(&padded).unwrap_err(),
            KeyError::Encoding
        );
    }

    #[test]
    fn paserk_round_trips_and_debug_redacts() {
        let local = LocalKey::generate().unwrap();
        let again = LocalKey::from_paserk(&local.to_paserk()).unwrap();
        assert_eq!(local.id(), again.id());
        assert!(local.id().as_str().starts_with("k4.lid."));
        assert!(!format!("{local:?}").contains(&local.to_paserk()[9..]));

        let secret = SecretKey::generate().unwrap();
        let again = SecretKey::parse(&secret.to_paserk()).unwrap();
        assert_eq!(secret.id(), again.id());
        assert!(secret.id().as_str().starts_with("k4.pid."));
        assert!(!format!("{secret:?}").contains(&secret.to_paserk()[10..30]));
        let public = PublicKey::parse(&secret.public_key().to_paserk()).unwrap();
        assert_eq!(public.id(), secret.id());
    }

    #[test]
    fn pem_keys_parse_and_match_their_paserk() {
        let pair = ed25519_compact::KeyPair::from_seed(ed25519_compact::Seed::new([7u8; 32]));
        let secret = SecretKey::parse(&pair.sk.to_pem()).unwrap();
        let public = PublicKey::parse(&pair.pk.to_pem()).unwrap();
        assert_eq!(secret.id(), public.id());
        assert_eq!(
            SecretKey::parse("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----")
                .unwrap_err(),
            KeyError::Pem("PKCS#8 private key")
        );
    }
}

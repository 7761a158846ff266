//! Password hashing: argon2id with a random salt per password, stored as a PHC string, at most
//! one hash per core at a time, each in working memory allocated once and reused.

use std::cell::RefCell;
use std::num::NonZero;
use std::sync::{LazyLock, Mutex, OnceLock, PoisonError};
use std::thread::available_parallelism;

use argon2::password_hash::phc::{Output, ParamsString, PasswordHash, Salt};
use argon2::password_hash::{self, CustomizedPasswordHasher, PasswordVerifier};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use rocket::tokio::sync::{Semaphore, SemaphorePermit};
use rocket::tokio::task::spawn_blocking;

/// Each hash takes 19 MiB and tens of milliseconds of a core, so a flood of logins must not
/// run them all at once: more than one per core gains no throughput, and memory would grow
/// with the flood. Those over the limit wait their turn.
static HASHING: LazyLock<Semaphore> = LazyLock::new(|| {
    let cores = available_parallelism().map_or(1, NonZero::get);
    Semaphore::new(cores)
});

/// The argon2 working areas not in use: at most one per turn. Allocated once and kept, because
/// glibc's allocator, given and then freed 19 MiB blocks many times over, keeps growing the
/// heap instead of reusing them: 24 logins in a row took the app past 200 MB.
static AREAS: Mutex<Vec<Vec<Block>>> = Mutex::new(Vec::new());

/// A hash of a password nobody knows, with the same parameters as real ones: logins of unknown
/// users verify against it, so they take as long as logins with a wrong password.
static DUMMY_HASH: OnceLock<Option<String>> = OnceLock::new();

/// A turn to hash, with a working area. Moved into the blocking task and dropped there, so a
/// request abandoned while its hash runs (the client went away) does not end the turn early.
struct Turn {
    area: Vec<Block>,
    _permit: SemaphorePermit<'static>,
}

impl Drop for Turn {
    fn drop(&mut self) {
        let mut areas = AREAS.lock().unwrap_or_else(PoisonError::into_inner);
        areas.push(std::mem::take(&mut self.area));
    }
}

async fn turn() -> Option<Turn> {
    let permit = HASHING.acquire().await.ok()?;
    let area = AREAS.lock().unwrap_or_else(PoisonError::into_inner).pop();
    Some(Turn {
        area: area.unwrap_or_default(),
        _permit: permit,
    })
}

/// Hashing costs tens of milliseconds of CPU (and 19 MiB of memory) by design: it runs on
/// Rocket's blocking pool, never on the async workers, one per core at a time. `None` when
/// hashing fails.
pub async fn hash(password: String) -> Option<String> {
    let mut turn = turn().await?;
    spawn_blocking(move || hash_now(&mut turn.area, password.as_bytes()))
        .await
        .ok()
        .flatten()
}

/// Whether `password` matches the PHC string `stored`. With no stored hash (an unknown user),
/// a hash is still verified, and the answer is `false`.
pub async fn verify(password: String, stored: Option<String>) -> bool {
    let Some(mut turn) = turn().await else {
        return false;
    };
    spawn_blocking(move || {
        let known = stored.is_some();
        let stored = stored.or_else(|| dummy_hash(&mut turn.area));
        let parsed = stored.as_deref().map(PasswordHash::new);
        let Some(Ok(stored)) = parsed else {
            return false;
        };
        let matches = InArea(RefCell::new(&mut turn.area))
            .verify_password(password.as_bytes(), &stored)
            .is_ok();
        known && matches
    })
    .await
    .unwrap_or(false)
}

/// Computes the dummy hash in the background now, rather than in the first login of an
/// unknown user (whose answer would otherwise be the slower one).
pub fn warm_up() {
    drop(rocket::tokio::spawn(verify(String::new(), None)));
}

fn dummy_hash(area: &mut Vec<Block>) -> Option<String> {
    let hash = DUMMY_HASH.get_or_init(|| {
        let mut secret = [0u8; 32];
        getrandom::fill(&mut secret).ok()?;
        hash_now(area, &secret)
    });
    hash.clone()
}

/// Argon2id (v19, the crate's default parameters: 19 MiB, 2 passes) with a fresh random salt.
fn hash_now(area: &mut Vec<Block>, password: &[u8]) -> Option<String> {
    let mut salt = [0u8; Salt::RECOMMENDED_LENGTH];
    getrandom::fill(&mut salt).ok()?;
    let hasher = InArea(RefCell::new(area));
    let hash = hasher.hash_password_customized(password, &salt, None, None, Params::default());
    hash.ok().map(|hash| hash.to_string())
}

/// Argon2 working in the given area, grown when a stored hash asks for more memory than the
/// defaults. `argon2`'s own hasher, but for where the memory comes from; its verifier (the
/// PHC parsing, and the constant-time comparison) comes with the trait.
struct InArea<'a>(RefCell<&'a mut Vec<Block>>);

impl CustomizedPasswordHasher<PasswordHash> for InArea<'_> {
    type Params = Params;

    fn hash_password_customized(
        &self,
        password: &[u8],
        salt: &[u8],
        algorithm: Option<&str>,
        version: Option<password_hash::Version>,
        params: Params,
    ) -> password_hash::Result<PasswordHash> {
        let algorithm = algorithm.map(Algorithm::try_from).transpose()?;
        let algorithm = algorithm.unwrap_or_default();
        let version = version
            .map(Version::try_from)
            .transpose()?
            .unwrap_or_default();
        let output_len = params.output_len().unwrap_or(Params::DEFAULT_OUTPUT_LEN);
        let mut output = [0u8; Output::MAX_LENGTH];
        let output = output
            .get_mut(..output_len)
            .ok_or(password_hash::Error::OutputSize)?;
        let mut area = self.0.borrow_mut();
        let blocks = params.block_count();
        if area.len() < blocks {
            area.resize(blocks, Block::default());
        }
        let argon2 = Argon2::new(algorithm, version, params.clone());
        argon2.hash_password_into_with_memory(password, salt, output, &mut area[..blocks])?;
        Ok(PasswordHash {
            algorithm: algorithm.ident(),
            version: Some(version.into()),
            params: ParamsString::try_from(&params)?,
            salt: Some(Salt::new(salt)?),
            hash: Some(Output::new(output)?),
        })
    }
}

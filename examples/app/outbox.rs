//! Where the messages to users go: one JSON file per message in the `[app] outbox` directory
//! (`target/outbox` by default). A deployment plugs its mailer in here instead.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

use rocket::fairing::AdHoc;
use rocket::serde::json::json;
use rocket::tokio::fs;
use rocket::tokio::io::AsyncWriteExt;

/// The outbox directory, from `[<profile>.app] outbox`.
pub struct Outbox {
    dir: PathBuf,
    sent: AtomicU64,
}

/// What a message carries: a single-use token for the user, with what it is for.
#[derive(Clone, Copy)]
pub enum Message {
    PasswordReset,
    MagicLink,
}

impl Message {
    fn kind(self) -> &'static str {
        match self {
            Message::PasswordReset => "password_reset",
            Message::MagicLink => "magic_link",
        }
    }
}

/// Reads `[app] outbox` at ignite and manages the [`Outbox`].
pub fn fairing() -> AdHoc {
    AdHoc::on_ignite("Outbox", |rocket| async {
        let dir = rocket
            .figment()
            .extract_inner::<PathBuf>("app.outbox")
            .unwrap_or_else(|_| PathBuf::from("target/outbox"));
        rocket.manage(Outbox {
            dir,
            sent: AtomicU64::new(0),
        })
    })
}

impl Outbox {
    /// Sends `message` with `token` to `username`, in the background: the request that asked
    /// for it answers at once, and the same whether or not a message is sent. The file appears
    /// whole (written aside, then renamed), readable by the server's user alone (`0600`, in a
    /// `0700` directory), and its name never holds the token. A mailer would delete it once
    /// sent.
    pub fn send(&self, username: &str, message: Message, token: String) {
        let body = json!({ "to": username, "kind": message.kind(), "token": token }).to_string();
        let n = self.sent.fetch_add(1, Ordering::Relaxed);
        let stamp = time::OffsetDateTime::now_utc().unix_timestamp_nanos();
        let name = format!("{stamp}-{}-{n}-{}.json", std::process::id(), message.kind());
        let dir = self.dir.clone();
        rocket::tokio::spawn(async move {
            let written = async {
                // Readable by this user alone: the messages hold live tokens.
                fs::DirBuilder::new()
                    .recursive(true)
                    .mode(0o700)
                    .create(&dir)
                    .await?;
                let partial = dir.join(format!(".{name}.partial"));
                let mut file = fs::OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .mode(0o600)
                    .open(&partial)
                    .await?;
                file.write_all(body.as_bytes()).await?;
                file.sync_all().await?;
                fs::rename(&partial, dir.join(&name)).await
            };
            if let Err(e) = written.await {
                rocket::error!("a message could not be written to the outbox: {e}");
            }
        });
    }
}

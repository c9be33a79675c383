//! The admin session on the terminal: while it is not linked, its QR is drawn on the
//! terminal and written to `<data>/admin-qr.png` (refreshed on each rotation); with
//! `run --pair <phone>` a pairing code is printed instead.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use tracing::{info, warn};

use super::Admin;
use crate::chat::PhoneNumber;
use crate::session::Command;
use crate::tenant::TenantId;

/// Where the admin's QR goes.
#[derive(Debug)]
pub struct Console {
    png: PathBuf,
    pair: Option<PhoneNumber>,
    pair_asked: AtomicBool,
}

impl Console {
    /// The console of a data folder.
    pub fn new(data: &Path, pair: Option<PhoneNumber>) -> Console {
        Console {
            png: data.join("admin-qr.png"),
            pair,
            pair_asked: AtomicBool::new(false),
        }
    }

    /// Where the admin QR image is written.
    pub fn png_path(&self) -> &Path {
        &self.png
    }

    /// A new admin QR: printed and written; or, with `--pair`, a pairing code asked.
    pub(crate) fn show_qr(&self, admin: &Admin, code: &str) {
        if let Some(phone) = &self.pair {
            if !self.pair_asked.swap(true, Ordering::Relaxed) {
                let command = Command::PairingCode(phone.as_str().to_owned());
                admin.sessions.command(&TenantId::admin(), command);
            }
            return;
        }
        match crate::qr::terminal(code) {
            Ok(drawing) => {
                println!("\nEscaneie com o WhatsApp do número admin (Aparelhos conectados):");
                println!("{drawing}");
            }
            Err(e) => warn!(error = %e, "admin QR not drawn"),
        }
        match crate::qr::write_png(&self.png, code) {
            Ok(()) => info!(path = %self.png.display(), "admin QR written"),
            Err(e) => warn!(error = %e, "admin QR image not written"),
        }
    }

    /// The admin's pairing code.
    pub(crate) fn show_pair_code(&self, code: &str) {
        let code = super::delivery::dashed(code);
        println!("\nCódigo de pareamento do admin: {code}");
        println!("{}", crate::replies::pair_hint());
        info!("admin pairing code shown");
    }

    /// The admin account is linked: the QR image goes.
    pub(crate) fn linked(&self, me: Option<&str>) {
        let _ = std::fs::remove_file(&self.png);
        let number = me.unwrap_or("?").trim_end_matches("@c.us");
        println!("\nadmin conectado (+{number}). Mande !ajuda para ele pelo seu WhatsApp.");
        info!(number, "admin online");
    }
}

//! Linking pages to phones: link attempts with rotating QR texts, pairing codes,
//! logins, logouts and conflicts.

use std::time::Duration;

use serde_json::json;

use super::address::{chat_id, lid_of};
use super::error::SimError;
use super::world::{
    Account, AccountState, Attempt, Pairing, QrTimings, Sim, World, now_ms, random_b64,
};

/// Ended logins an account remembers, so late pages still hear why.
const ENDED_KEPT: usize = 8;

/// Characters of pairing codes.
const PAIRING_ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTVWXYZ123456789";

/// Why a page was logged out, as `conn.logout_reason` reports it.
pub(crate) const REASON_PHONE: &str = "unpaired";
/// The page itself called `logout()`.
pub(crate) const REASON_PAGE: &str = "user_initiated";
/// The phone linked another page in its place.
pub(crate) const REASON_REPLACED: &str = "replaced";

impl World {
    /// Starts a link attempt for page `page_id` and shows its first QR code.
    pub(crate) fn start_attempt(&mut self, page_id: u64) -> Option<u64> {
        let old = self.pages.get(&page_id)?.attempt;
        if let Some(old) = old {
            self.attempts.remove(&old);
        }
        let id = self.next_id();
        let now = now_ms();
        let attempt = Attempt {
            attempt: id,
            page: page_id,
            qr: None,
            qr_seq: 0,
            idle: false,
            created_ms: now,
            expires_ms: None,
            timings: QrTimings::from(&self.config),
        };
        self.attempts.insert(id, attempt);
        if let Some(page) = self.pages.get_mut(&page_id) {
            page.attempt = Some(id);
        }
        self.pairings.retain(|p| p.page != page_id);
        self.next_qr(id);
        Some(id)
    }

    /// Shows the next QR code of `attempt`, or makes it idle after the last one.
    /// Returns the lifetime of the new code, or `None` when the attempt is over.
    pub(crate) fn next_qr(&mut self, attempt: u64) -> Option<u64> {
        let entry = self.attempts.get(&attempt)?;
        let (page_id, seq, timings) = (entry.page, entry.qr_seq + 1, entry.timings);
        if entry.idle {
            return None;
        }
        if seq > timings.count {
            self.idle(attempt);
            return None;
        }
        let keys = self.pages.get(&page_id)?.keys.clone();
        let life = if seq == 1 {
            timings.first_ms
        } else {
            timings.next_ms
        };
        let reference = format!("2@{}", random_b64(30));
        let code = format!("{reference},{},{},{}", keys[0], keys[1], keys[2]);
        let entry = self.attempts.get_mut(&attempt)?;
        entry.qr = Some(code.clone());
        entry.qr_seq = seq;
        entry.expires_ms = Some(now_ms() + life);
        let data = json!({ "code": code, "ref": reference, "seq": seq, "attempt": attempt });
        self.push(page_id, "qr", data);
        Some(life)
    }

    fn idle(&mut self, attempt: u64) {
        let Some(entry) = self.attempts.get_mut(&attempt) else {
            return;
        };
        entry.idle = true;
        entry.qr = None;
        entry.expires_ms = None;
        let page = entry.page;
        self.push(page, "qr_idle", json!({ "attempt": attempt }));
    }

    /// Links `phone` through the live attempt whose current QR text is `code`.
    /// Returns the page it replaced, which then needs a new attempt.
    pub(crate) fn scan(&mut self, phone: &str, code: &str) -> Result<Option<u64>, SimError> {
        let page = self
            .attempts
            .values()
            .find(|a| !a.idle && a.qr.as_deref() == Some(code))
            .map(|a| a.page)
            .ok_or_else(|| SimError::Conflict("stale or unknown QR code".to_owned()))?;
        Ok(self.link(page, phone))
    }

    /// Links `phone` through its live pairing `code` (dash optional).
    /// Returns the page it replaced, which then needs a new attempt.
    pub(crate) fn pair(&mut self, phone: &str, code: &str) -> Result<Option<u64>, SimError> {
        let wanted: String = code.chars().filter(|c| *c != '-').collect();
        let now = now_ms();
        let page = self
            .pairings
            .iter()
            .find(|p| {
                p.phone == phone && p.expires_ms > now && p.code.eq_ignore_ascii_case(&wanted)
            })
            .map(|p| p.page)
            .ok_or_else(|| SimError::Conflict("wrong or expired pairing code".to_owned()))?;
        Ok(self.link(page, phone))
    }

    /// A pairing code for `phone` asked by page `page_id`; it replaces the QR attempt.
    /// A live code is handed back as is; a new one comes with its lifetime (ms).
    pub(crate) fn pairing_code(
        &mut self,
        page_id: u64,
        phone: &str,
    ) -> Result<(String, Option<u64>), SimError> {
        let now = now_ms();
        let live = self
            .pairings
            .iter()
            .find(|p| p.page == page_id && p.phone == phone && p.expires_ms > now);
        if let Some(live) = live {
            return Ok((live.code.clone(), None));
        }
        let page = self.pages.get_mut(&page_id).ok_or_else(|| gone(page_id))?;
        if page.account.is_some() {
            return Err(SimError::Conflict("page is logged in".to_owned()));
        }
        if let Some(attempt) = page.attempt.take() {
            self.attempts.remove(&attempt);
        }
        let code: String = (0..8)
            .map(|_| char::from(PAIRING_ALPHABET[fastrand::usize(..PAIRING_ALPHABET.len())]))
            .collect();
        let life = self.config.pair_code_ms;
        self.pairings.retain(|p| p.page != page_id);
        self.pairings.push(Pairing {
            page: page_id,
            phone: phone.to_owned(),
            code: code.clone(),
            expires_ms: now + life,
        });
        self.push(
            page_id,
            "pair_code",
            json!({ "code": code, "phone": phone }),
        );
        Ok((code, Some(life)))
    }

    /// Drops pairing `code` of page `page_id` if it is still there: it expired.
    /// Returns whether the page, still waiting to be linked, needs a new attempt.
    pub(crate) fn expire_pairing(&mut self, page_id: u64, code: &str) -> bool {
        let before = self.pairings.len();
        self.pairings
            .retain(|p| !(p.page == page_id && p.code == code));
        let waiting = self
            .pages
            .get(&page_id)
            .is_some_and(|p| p.account.is_none() && p.attempt.is_none());
        before != self.pairings.len() && waiting
    }

    /// Makes page `page_id` the logged-in page of `phone` (a new login). A page that
    /// was logged in as `phone` is logged out (`replaced`) and returned: it needs a new
    /// attempt.
    fn link(&mut self, page_id: u64, phone: &str) -> Option<u64> {
        if let Some(attempt) = self.pages.get_mut(&page_id).and_then(|p| p.attempt.take()) {
            self.attempts.remove(&attempt);
        }
        self.pairings.retain(|p| p.page != page_id);
        let replaced = self.replace_login(page_id, phone);
        let token = random_b64(24);
        let account = self
            .accounts
            .entry(phone.to_owned())
            .or_insert_with(|| new_account(phone));
        account.state = AccountState::Main;
        account.token = token.clone();
        account.pending.clear();
        tracing::info!(phone, page = page_id, "page linked");
        self.push(
            page_id,
            "linked",
            json!({ "account": phone, "token": token }),
        );
        self.bind(page_id, phone);
        replaced
    }

    /// Ends `phone`'s current login, if any, because page `page_id` links in its place.
    /// Returns the page that held it, now logged out.
    fn replace_login(&mut self, page_id: u64, phone: &str) -> Option<u64> {
        let account = self
            .accounts
            .get_mut(phone)
            .filter(|a| a.state != AccountState::LoggedOut)?;
        end_login(account, REASON_REPLACED);
        let previous = account.page.take().filter(|p| *p != page_id)?;
        self.unbind(previous, REASON_REPLACED);
        tracing::info!(phone, page = previous, "login replaced by another page");
        Some(previous)
    }

    /// Why the login `token` of `phone` ended, if this simulator ended it.
    pub(crate) fn ended_reason(&self, phone: &str, token: &str) -> Option<String> {
        let account = self.accounts.get(phone)?;
        let ended = account.ended.iter().rev().find(|(t, _)| t == token);
        ended.map(|(_, reason)| reason.clone())
    }

    /// Attaches logged-in page `page_id` to account `phone`: syncing, queue, main.
    pub(crate) fn bind(&mut self, page_id: u64, phone: &str) {
        let previous = self.accounts.get(phone).and_then(|a| a.page);
        if let Some(previous) = previous.filter(|p| *p != page_id) {
            self.detach(previous);
        }
        let Some(account) = self.accounts.get_mut(phone) else {
            return;
        };
        account.page = Some(page_id);
        account.page_loads += 1;
        let conflicted = account.state == AccountState::Conflict;
        if !conflicted {
            account.state = AccountState::Syncing;
        }
        if let Some(page) = self.pages.get_mut(&page_id) {
            page.account = Some(phone.to_owned());
        }
        let me = json!({ "me": chat_id(phone), "lid": lid_of(phone) });
        self.push(page_id, "session", me);
        if conflicted {
            // Still opened elsewhere: the reload stays in CONFLICT until takeover().
            self.push(page_id, "mode", json!({ "mode": "CONFLICT" }));
            return;
        }
        self.push(page_id, "mode", json!({ "mode": "SYNCING" }));
        self.flush(phone);
        if let Some(account) = self.accounts.get_mut(phone) {
            account.state = AccountState::Main;
        }
        self.push(page_id, "mode", json!({ "mode": "MAIN" }));
    }

    /// Logs page `page_id` out with `reason`; it is left without account.
    fn unbind(&mut self, page_id: u64, reason: &str) {
        if let Some(page) = self.pages.get_mut(&page_id) {
            page.account = None;
        }
        self.push(page_id, "logout", json!({ "reason": reason }));
    }

    /// Ends account `phone`'s login; returns its page, which then needs a new attempt.
    pub(crate) fn logout(&mut self, phone: &str, reason: &str) -> Result<Option<u64>, SimError> {
        let account = self
            .accounts
            .get_mut(phone)
            .filter(|a| a.state != AccountState::LoggedOut)
            .ok_or_else(|| SimError::NotFound(format!("not linked: {phone}")))?;
        end_login(account, reason);
        account.state = AccountState::LoggedOut;
        account.pending.clear();
        let page = account.page.take();
        if let Some(page) = page {
            self.unbind(page, reason);
        }
        tracing::info!(phone, reason, "account logged out");
        Ok(page)
    }

    /// WhatsApp Web opened elsewhere: stream mode `CONFLICT` until `takeover()`.
    pub(crate) fn conflict(&mut self, phone: &str) -> Result<(), SimError> {
        let account = self
            .accounts
            .get_mut(phone)
            .filter(|a| a.state != AccountState::LoggedOut)
            .ok_or_else(|| SimError::NotFound(format!("not linked: {phone}")))?;
        account.state = AccountState::Conflict;
        if let Some(page) = account.page {
            self.push(page, "mode", json!({ "mode": "CONFLICT" }));
        }
        Ok(())
    }

    /// The page takes the session back after a conflict.
    pub(crate) fn takeover(&mut self, page_id: u64) -> Result<(), SimError> {
        let phone = self
            .page_account(page_id)
            .map(|a| a.phone.clone())
            .ok_or_else(|| SimError::Conflict("page is not logged in".to_owned()))?;
        let account = self.accounts.get_mut(&phone);
        if let Some(account) = account.filter(|a| a.state == AccountState::Conflict) {
            account.state = AccountState::Main;
            self.push(page_id, "mode", json!({ "mode": "MAIN" }));
            self.flush(&phone);
        }
        Ok(())
    }
}

/// A new account of `phone`, not linked yet.
fn new_account(phone: &str) -> Account {
    Account {
        phone: phone.to_owned(),
        state: AccountState::Main,
        token: String::new(),
        page: None,
        page_loads: 0,
        pending: Default::default(),
        faults: Default::default(),
        ended: Default::default(),
    }
}

/// Forgets `account`'s login token, remembering why it ended.
fn end_login(account: &mut Account, reason: &str) {
    let token = std::mem::take(&mut account.token);
    if token.is_empty() {
        return;
    }
    account.ended.push_back((token, reason.to_owned()));
    while account.ended.len() > ENDED_KEPT {
        account.ended.pop_front();
    }
}

/// The error for a page the simulator no longer knows.
pub(crate) fn gone(page_id: u64) -> SimError {
    SimError::Gone(format!("unknown page {page_id}: attach again"))
}

/// Rotates the QR codes of `attempt` until it is idle, gone, or the simulator stops.
pub(crate) fn spawn_rotation(sim: &Sim, attempt: u64, first_life: u64) {
    let sim = sim.clone();
    tokio::spawn(async move {
        let mut closed = sim.closed();
        let mut life = first_life;
        loop {
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_millis(life)) => {}
                _ = closed.changed() => return,
            }
            match sim.with(|w| w.next_qr(attempt)) {
                Some(next) => life = next,
                None => return,
            }
        }
    });
}

/// Starts a link attempt for `page_id` with its rotation task.
pub(crate) fn begin_attempt(sim: &Sim, page_id: u64) {
    let started = sim.with(|w| {
        let id = w.start_attempt(page_id)?;
        let life = w.attempts.get(&id)?.expires_ms?.saturating_sub(now_ms());
        Some((id, life))
    });
    if let Some((id, life)) = started {
        spawn_rotation(sim, id, life);
    }
}

/// Ends pairing `code` of page `page_id` after `life` ms unless it was used or replaced;
/// the page then gets a fresh QR attempt, as when the pairing flow ends.
pub(crate) fn spawn_pair_expiry(sim: &Sim, page_id: u64, code: String, life: u64) {
    let sim = sim.clone();
    tokio::spawn(async move {
        let mut closed = sim.closed();
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(life)) => {}
            _ = closed.changed() => return,
        }
        if sim.with(|w| w.expire_pairing(page_id, &code)) {
            tracing::debug!(page = page_id, "pairing code expired");
            begin_attempt(&sim, page_id);
        }
    });
}

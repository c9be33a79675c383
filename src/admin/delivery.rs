//! QR delivery: while a tenant links after `!novo`/`!qr`/`!iniciar`, each QR code goes
//! to the operator who asked, as a PNG made from the exact QR text, with its number in
//! the attempt and until when it is valid; with a phone, a pairing code goes too. When
//! the attempt runs out, a text says so and how to get a new one; once linked, the
//! online alert.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use tracing::{info, warn};

use super::{Admin, Out};
use crate::chat::PhoneNumber;
use crate::replies;
use crate::session::{Command, SessionEvent};
use crate::tenant::{SessionState, TenantId};

/// Tenants linking now, and who waits for their codes.
#[derive(Debug, Default)]
pub struct Deliveries {
    active: Mutex<HashMap<TenantId, Delivery>>,
}

#[derive(Debug, Clone)]
struct Delivery {
    /// The operator's chat.
    to: String,
    /// Pairing by phone number instead of (besides) the QR.
    phone: Option<PhoneNumber>,
    /// Whether the pairing code was asked for already.
    pair_asked: bool,
    /// Whether QR images go to the operator (not when a live link shows them).
    images: bool,
}

impl Deliveries {
    /// Codes of `tenant` go to `to` from now on (a new attempt replaces an old one).
    pub fn begin(&self, tenant: &TenantId, to: &str, phone: Option<PhoneNumber>) {
        let delivery = Delivery {
            to: to.to_owned(),
            phone,
            pair_asked: false,
            images: true,
        };
        self.lock().insert(tenant.clone(), delivery);
    }

    /// Like [`Deliveries::begin`] for a live link: the codes show on the link's page,
    /// so `to` gets only the outcome (online, or the attempt ran out).
    pub fn begin_link(&self, tenant: &TenantId, to: &str) {
        let delivery = Delivery {
            to: to.to_owned(),
            phone: None,
            pair_asked: false,
            images: false,
        };
        self.lock().insert(tenant.clone(), delivery);
    }

    /// Nobody waits for `tenant`'s codes any more.
    pub fn cancel(&self, tenant: &TenantId) {
        self.lock().remove(tenant);
    }

    /// Whether someone waits for `tenant`'s codes.
    pub fn is_active(&self, tenant: &TenantId) -> bool {
        self.lock().contains_key(tenant)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<TenantId, Delivery>> {
        self.active.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Acts on a tenant's session event.
    pub(crate) async fn on_event(&self, admin: &Admin, event: &SessionEvent) {
        let tenant = event.tenant();
        let Some(delivery) = self.lock().get(tenant).cloned() else {
            return;
        };
        match event {
            SessionEvent::Qr { code, seq, .. } if delivery.images => {
                self.qr(admin, tenant, &delivery, code, *seq)
            }
            SessionEvent::PairCode { code, .. } => {
                let text = replies::pair_code(tenant.as_str(), &dashed(code));
                admin.send(&delivery.to, Out::Text(text), fresh_id());
            }
            SessionEvent::State { state, .. } if *state == SessionState::QrExpired => {
                self.cancel(tenant);
                let text = replies::qr_expired(&admin.config.admin.prefix, tenant.as_str());
                admin.send(&delivery.to, Out::Text(text), fresh_id());
            }
            SessionEvent::State { state, .. } if state.is_terminal() => self.cancel(tenant),
            SessionEvent::Online { me, .. } => {
                self.cancel(tenant);
                let phone = me.as_deref().map(|m| m.trim_end_matches("@c.us"));
                let text = replies::online(tenant.as_str(), phone);
                admin.send(&delivery.to, Out::Text(text), fresh_id());
            }
            _ => {}
        }
    }

    fn qr(&self, admin: &Admin, tenant: &TenantId, delivery: &Delivery, code: &str, seq: u32) {
        if let Some(phone) = &delivery.phone
            && !delivery.pair_asked
        {
            if let Some(d) = self.lock().get_mut(tenant) {
                d.pair_asked = true;
            }
            let command = Command::PairingCode(phone.as_str().to_owned());
            admin.sessions.command(tenant, command);
        }
        let png = match crate::qr::png(code) {
            Ok(png) => png,
            Err(e) => return warn!(%tenant, error = %e, "QR image not made"),
        };
        let lifetime = match seq {
            1 => admin.config.whatsapp.qr_first,
            _ => admin.config.whatsapp.qr_next,
        };
        let until = valid_until(lifetime, &admin.config.admin.timezone);
        let caption = replies::qr_caption(tenant.as_str(), seq, &until);
        info!(%tenant, seq, "QR image sent to the operator");
        admin.send(&delivery.to, Out::Image { png, caption }, fresh_id());
    }
}

/// `HH:MM:SS` in the operator's time zone, `lifetime` from now.
fn valid_until(lifetime: Duration, tz: &jiff::tz::TimeZone) -> String {
    let ms = i64::try_from(lifetime.as_millis()).unwrap_or(0);
    let at = jiff::Timestamp::now()
        .checked_add(jiff::SignedDuration::from_millis(ms))
        .unwrap_or_else(|_| jiff::Timestamp::now());
    at.to_zoned(tz.clone()).strftime("%H:%M:%S").to_string()
}

/// `ABCD1234` as `ABCD-1234`.
pub fn dashed(code: &str) -> String {
    let plain: String = code.chars().filter(|c| *c != '-').collect();
    match plain.char_indices().nth(4) {
        Some((at, _)) if plain.chars().count() == 8 => format!("{}-{}", &plain[..at], &plain[at..]),
        _ => plain,
    }
}

/// A new message id for an answer not tied to a message.
pub(crate) fn fresh_id() -> String {
    format!("3EB0{:016X}", fastrand::u64(..))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairing_codes_are_shown_with_a_dash() {
        assert_eq!(dashed("ABCD1234"), "ABCD-1234");
        assert_eq!(dashed("ABCD-1234"), "ABCD-1234");
        assert_eq!(dashed("ABC"), "ABC");
    }
}

//! What the operators are told unasked: a session lost, logged out, crashed, failed, in
//! conflict, sends failing, the disk nearly full; and after orbitbot itself restarts,
//! one summary instead of one alert per session. Each kind is rate-limited per tenant;
//! nothing about the admin session goes through the admin session (no loops).

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use tracing::warn;

use super::Admin;
use crate::client::Notice;
use crate::replies;
use crate::session::SessionEvent;
use crate::tenant::{SessionState, TenantId};

/// The shortest gap between two alerts of one kind about one tenant.
const GAP: Duration = Duration::from_secs(10 * 60);
/// Free space below this share of the disk is "nearly full".
const DISK_LOW_PERCENT: u64 = 5;
/// ... or below this many bytes.
const DISK_LOW_BYTES: u64 = 500 << 20;

/// Alert bookkeeping.
#[derive(Debug, Default)]
pub struct Alerts {
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    last: HashMap<(String, &'static str), Instant>,
    last_error: HashMap<TenantId, String>,
    summary_sent: bool,
}

impl Alerts {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The last error a tenant's session reported, if any.
    pub fn last_error(&self, tenant: &TenantId) -> Option<String> {
        self.lock().last_error.get(tenant).cloned()
    }

    /// Whether an alert of `kind` about `about` may go now (and notes that it does).
    fn due(&self, about: &str, kind: &'static str) -> bool {
        let mut state = self.lock();
        let key = (about.to_owned(), kind);
        let now = Instant::now();
        if state
            .last
            .get(&key)
            .is_some_and(|t| now.duration_since(*t) < GAP)
        {
            return false;
        }
        state.last.insert(key, now);
        true
    }

    /// Acts on a tenant's session event.
    pub(crate) fn on_event(&self, admin: &Admin, event: &SessionEvent) {
        let prefix = &admin.config.admin.prefix;
        match event {
            SessionEvent::State {
                tenant,
                state,
                detail,
            } => {
                if let Some(detail) = detail {
                    self.lock()
                        .last_error
                        .insert(tenant.clone(), detail.clone());
                }
                let why = detail.as_deref().unwrap_or("sem detalhes");
                let id = tenant.as_str();
                let alert = match state {
                    SessionState::LoggedOut => Some(("logout", replies::logged_out(prefix, id))),
                    SessionState::Failed => Some(("failed", replies::failed(prefix, id, why))),
                    SessionState::Crashed => Some(("crashed", replies::crashed(id, why))),
                    SessionState::Conflict => Some(("conflict", replies::conflict(prefix, id))),
                    SessionState::Starting if detail.is_some() => {
                        Some(("unreachable", replies::unreachable(id)))
                    }
                    _ => None,
                };
                if let Some((kind, text)) = alert
                    && self.due(id, kind)
                {
                    admin.tell_operators(&text);
                }
            }
            SessionEvent::SendDone {
                tenant,
                result: Err(why),
                unsent: false,
                ..
            } => {
                self.lock().last_error.insert(tenant.clone(), why.clone());
                if self.due(tenant.as_str(), "send") {
                    admin.tell_operators(&replies::sends_failing(tenant.as_str(), why));
                }
            }
            _ => {}
        }
    }

    /// Acts on a notice from the client pipeline: a spent AI budget (the pipeline sends
    /// it once a day), a failing AI endpoint (rate-limited like the others).
    pub(crate) fn on_notice(&self, admin: &Admin, notice: &Notice) {
        let prefix = &admin.config.admin.prefix;
        match notice {
            Notice::AiBudgetSpent { tenant, budget } => {
                let text = replies::ai_budget_spent(tenant.as_str(), *budget, prefix);
                admin.tell_operators(&text);
            }
            Notice::AiFailed { tenant, error } => {
                if self.due(tenant.as_str(), "ai") {
                    admin.tell_operators(&replies::ai_failing(tenant.as_str(), error));
                }
            }
        }
    }

    /// The admin session came online: the first time in this run, one summary of
    /// every session (orbitbot itself started again).
    pub(crate) fn admin_online(&self, admin: &Admin) {
        {
            let mut state = self.lock();
            if state.summary_sent {
                return;
            }
            state.summary_sent = true;
        }
        let tenants = match admin.store.control().tenants() {
            Ok(tenants) => tenants,
            Err(e) => return warn!(error = %e, "restart summary without tenants"),
        };
        let lines: Vec<String> = tenants
            .iter()
            .map(|t| format!("• {} — {}", t.id, admin.sessions.current(t).label()))
            .collect();
        // NOTE: a first start (no tenant yet) is no restart worth an alert.
        if !lines.is_empty() {
            admin.tell_operators(&replies::restarted(&lines));
        }
    }

    /// Checks the disk of the data folder; alerts when nearly full.
    pub(crate) fn check_disk(&self, admin: &Admin, data: &Path) {
        let Ok(stat) = nix::sys::statvfs::statvfs(data) else {
            return;
        };
        let block = stat.fragment_size();
        let free = stat.blocks_available().saturating_mul(block);
        let total = stat.blocks().saturating_mul(block).max(1);
        let percent = free.saturating_mul(100) / total;
        let low = percent < DISK_LOW_PERCENT || free < DISK_LOW_BYTES;
        if low && self.due("disk", "disk") {
            let text = replies::disk_full(&crate::procmem::human(free), percent);
            admin.tell_operators(&text);
        }
    }
}

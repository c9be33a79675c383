//! The board: what the panel shows live, fed by the admin's event loop. It keeps each
//! tenant's current QR code (for live links) and passes every state change, new code
//! and link on to whoever watches (server-sent events).

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use tokio::sync::broadcast;

use crate::session::SessionEvent;
use crate::tenant::{SessionState, TenantId};

/// Changes kept for slow watchers; one that falls further behind reloads.
const BACKLOG: usize = 256;

/// A QR code a tenant shows now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Code {
    /// The exact QR text.
    pub text: String,
    /// Its number in the attempt, from 1.
    pub seq: u32,
}

/// One change, as watchers get it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// A tenant's session state changed.
    State {
        /// The tenant.
        tenant: TenantId,
        /// The new state.
        state: SessionState,
    },
    /// A tenant shows a new QR code.
    Qr {
        /// The tenant.
        tenant: TenantId,
        /// The code's number.
        seq: u32,
    },
    /// A tenant linked, as this number.
    Online {
        /// The tenant.
        tenant: TenantId,
        /// Its phone, digits only, when known.
        phone: Option<String>,
    },
}

impl Change {
    /// The tenant it is about.
    pub fn tenant(&self) -> &TenantId {
        match self {
            Change::State { tenant, .. } | Change::Qr { tenant, .. } => tenant,
            Change::Online { tenant, .. } => tenant,
        }
    }
}

/// The live view of every tenant.
#[derive(Debug)]
pub struct Board {
    codes: Mutex<HashMap<TenantId, Code>>,
    changes: broadcast::Sender<Change>,
}

impl Default for Board {
    fn default() -> Self {
        Board {
            codes: Mutex::new(HashMap::new()),
            changes: broadcast::channel(BACKLOG).0,
        }
    }
}

impl Board {
    /// Takes a tenant's session event.
    pub fn on_event(&self, event: &SessionEvent) {
        let change = match event {
            SessionEvent::Qr { tenant, code, seq } => {
                let code = Code {
                    text: code.clone(),
                    seq: *seq,
                };
                self.codes().insert(tenant.clone(), code);
                Change::Qr {
                    tenant: tenant.clone(),
                    seq: *seq,
                }
            }
            SessionEvent::State { tenant, state, .. } => {
                if !matches!(state, SessionState::Qr | SessionState::Pairing) {
                    self.codes().remove(tenant);
                }
                Change::State {
                    tenant: tenant.clone(),
                    state: *state,
                }
            }
            SessionEvent::Online { tenant, me, .. } => {
                self.codes().remove(tenant);
                Change::Online {
                    tenant: tenant.clone(),
                    phone: me
                        .as_deref()
                        .map(|m| m.trim_end_matches("@c.us").to_owned()),
                }
            }
            _ => return,
        };
        let _ = self.changes.send(change);
    }

    /// The QR code `tenant` shows now, if it is linking.
    pub fn code(&self, tenant: &TenantId) -> Option<Code> {
        self.codes().get(tenant).cloned()
    }

    /// Every change from now on.
    pub fn watch(&self) -> broadcast::Receiver<Change> {
        self.changes.subscribe()
    }

    fn codes(&self) -> std::sync::MutexGuard<'_, HashMap<TenantId, Code>> {
        self.codes.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_live_while_linking_and_changes_reach_watchers() {
        let board = Board::default();
        let ana = TenantId::parse("ana").unwrap();
        let mut watcher = board.watch();
        let qr = |seq| SessionEvent::Qr {
            tenant: ana.clone(),
            code: format!("code-{seq}"),
            seq,
        };
        board.on_event(&qr(1));
        board.on_event(&qr(2));
        assert_eq!(board.code(&ana).map(|c| c.seq), Some(2));
        let state = |state| SessionEvent::State {
            tenant: ana.clone(),
            state,
            detail: None,
        };
        board.on_event(&state(SessionState::Qr));
        assert!(board.code(&ana).is_some(), "still linking");
        board.on_event(&state(SessionState::Syncing));
        assert!(board.code(&ana).is_none());
        let seen: Vec<Change> = std::iter::from_fn(|| watcher.try_recv().ok()).collect();
        assert_eq!(seen.len(), 4);
        assert_eq!(
            seen[1],
            Change::Qr {
                tenant: ana.clone(),
                seq: 2
            }
        );
    }
}

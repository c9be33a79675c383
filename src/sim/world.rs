//! The simulator's whole state, in memory behind one lock: phones, groups, accounts,
//! attached pages with their event queues, link attempts and messages.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tokio::sync::watch;

use super::message::{InboxEntry, NetMsg};

/// A page that neither polls nor has polled for this long is gone.
const PAGE_LEASE_MS: u64 = 3000;
/// Event kinds that carry network content; they survive a page going away.
const CONTENT_KINDS: &[&str] = &["msg", "edit", "revoke", "ack"];

/// The shared simulator: the world and a signal that something changed.
#[derive(Debug)]
pub(crate) struct Shared {
    world: Mutex<World>,
    changed: watch::Sender<u64>,
    closed: watch::Sender<bool>,
}

/// A handle on the shared simulator, given to every route.
pub(crate) type Sim = Arc<Shared>;

impl Shared {
    /// A new, empty simulator.
    pub(crate) fn new() -> Sim {
        Arc::new(Self {
            world: Mutex::new(World::default()),
            changed: watch::channel(0).0,
            closed: watch::channel(false).0,
        })
    }

    /// Runs `f` on the world (after dropping pages that went away) and wakes pollers.
    pub(crate) fn with<T>(&self, f: impl FnOnce(&mut World) -> T) -> T {
        let out = {
            let mut world = self.world.lock().unwrap_or_else(|p| p.into_inner());
            world.sweep(now_ms());
            f(&mut world)
        };
        self.changed.send_modify(|v| *v = v.wrapping_add(1));
        out
    }

    /// Runs `f` on the world without waking pollers: for reads.
    pub(crate) fn peek<T>(&self, f: impl FnOnce(&mut World) -> T) -> T {
        let mut world = self.world.lock().unwrap_or_else(|p| p.into_inner());
        world.sweep(now_ms());
        f(&mut world)
    }

    /// A receiver that fires on the next change of the world.
    pub(crate) fn subscribe(&self) -> watch::Receiver<u64> {
        self.changed.subscribe()
    }

    /// A receiver that turns `true` when the simulator shuts down.
    pub(crate) fn closed(&self) -> watch::Receiver<bool> {
        self.closed.subscribe()
    }

    /// Tells background tasks to stop.
    pub(crate) fn close(&self) {
        self.closed.send_replace(true);
    }
}

/// Tunable timings (`POST /sim/config`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct SimConfig {
    /// Lifetime of the first QR code of an attempt, ms.
    pub(crate) qr_first_ms: u64,
    /// Lifetime of each later QR code, ms.
    pub(crate) qr_next_ms: u64,
    /// QR codes per attempt before it goes idle.
    pub(crate) qr_count: u32,
    /// Delay before a message is delivered, ms.
    pub(crate) latency_ms: u64,
    /// Delay between the server ack and the delivery ack of a send, ms.
    pub(crate) ack_delay_ms: u64,
    /// Lifetime of a pairing code, ms.
    pub(crate) pair_code_ms: u64,
}

impl Default for SimConfig {
    fn default() -> Self {
        Self {
            qr_first_ms: 60_000,
            qr_next_ms: 20_000,
            qr_count: 6,
            latency_ms: 0,
            ack_delay_ms: 100,
            pair_code_ms: 180_000,
        }
    }
}

/// A virtual phone.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Phone {
    /// Digits.
    pub(crate) phone: String,
    /// `<digits>@c.us`.
    pub(crate) chat_id: String,
    /// `<other digits>@lid`.
    pub(crate) lid: String,
    /// Display name.
    pub(crate) name: Option<String>,
}

/// A group of phones.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Group {
    /// `<digits>@g.us`.
    pub(crate) id: String,
    /// Subject.
    pub(crate) name: Option<String>,
    /// Member digits.
    pub(crate) members: Vec<String>,
}

/// Where an account stands, as `GET /sim/state` shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum AccountState {
    /// Linked, loading its chats.
    Syncing,
    /// Linked and usable.
    Main,
    /// Opened elsewhere; waiting for `takeover()`.
    Conflict,
    /// The phone removed the device (or the page logged out).
    LoggedOut,
}

/// Injected failures of one account (`POST /sim/faults`).
#[derive(Debug, Clone, Default, Serialize)]
pub(crate) struct Faults {
    /// The error of the next failing send.
    pub(crate) send_error: Option<String>,
    /// Successful sends left before it fails.
    pub(crate) after_n: u32,
    /// How media downloads fail: `decrypt` or `expired`.
    pub(crate) media: Option<String>,
}

/// A phone linked to a page (a WhatsApp Web session).
#[derive(Debug)]
pub(crate) struct Account {
    /// The phone's digits.
    pub(crate) phone: String,
    /// Where it stands.
    pub(crate) state: AccountState,
    /// The login token the page keeps in its profile.
    pub(crate) token: String,
    /// The attached page, if any.
    pub(crate) page: Option<u64>,
    /// Logged-in page loads so far.
    pub(crate) page_loads: u32,
    /// Events waiting for a page.
    pub(crate) pending: VecDeque<Value>,
    /// Injected failures.
    pub(crate) faults: Faults,
    /// Logins that ended (token, reason), so a page still holding one hears why.
    pub(crate) ended: VecDeque<(String, String)>,
}

/// One loaded page, logged in or not.
#[derive(Debug)]
pub(crate) struct Page {
    /// The account it is logged into.
    pub(crate) account: Option<String>,
    /// Events not yet acknowledged by the page.
    pub(crate) events: VecDeque<Value>,
    next_seq: u64,
    /// Polls in flight.
    pub(crate) polling: u32,
    /// When the last poll ended, ms.
    pub(crate) last_seen_ms: u64,
    /// Its link attempt while not logged in.
    pub(crate) attempt: Option<u64>,
    /// The page's static keys, part of its QR texts.
    pub(crate) keys: [String; 3],
}

/// A page waiting to be linked, with its rotating QR text.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Attempt {
    /// Attempt number.
    pub(crate) attempt: u64,
    /// The page it belongs to.
    #[serde(skip)]
    pub(crate) page: u64,
    /// The current QR text; none once idle.
    pub(crate) qr: Option<String>,
    /// 1 for the first code, then 2, 3, ...
    pub(crate) qr_seq: u32,
    /// No more codes until `refreshQR()`.
    pub(crate) idle: bool,
    /// Start of the attempt, ms.
    pub(crate) created_ms: u64,
    /// End of the current code, ms.
    pub(crate) expires_ms: Option<u64>,
    /// The timings in force when the attempt started.
    #[serde(skip)]
    pub(crate) timings: QrTimings,
}

/// The QR timings an attempt keeps from the config at its start.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct QrTimings {
    /// Lifetime of the first code, ms.
    pub(crate) first_ms: u64,
    /// Lifetime of each later code, ms.
    pub(crate) next_ms: u64,
    /// Codes before the attempt goes idle.
    pub(crate) count: u32,
}

impl From<&SimConfig> for QrTimings {
    fn from(config: &SimConfig) -> Self {
        Self {
            first_ms: config.qr_first_ms,
            next_ms: config.qr_next_ms,
            count: config.qr_count,
        }
    }
}

/// A pairing code a page asked for.
#[derive(Debug, Clone)]
pub(crate) struct Pairing {
    /// The asking page.
    pub(crate) page: u64,
    /// The phone it is for.
    pub(crate) phone: String,
    /// 8 characters, no dash.
    pub(crate) code: String,
    /// Until when it is valid, ms.
    pub(crate) expires_ms: u64,
}

/// The simulated network.
#[derive(Debug, Default)]
pub(crate) struct World {
    /// Timings.
    pub(crate) config: SimConfig,
    /// Phones by digits.
    pub(crate) phones: BTreeMap<String, Phone>,
    /// Groups by id.
    pub(crate) groups: BTreeMap<String, Group>,
    /// Accounts by phone digits.
    pub(crate) accounts: BTreeMap<String, Account>,
    /// Pages by id.
    pub(crate) pages: BTreeMap<u64, Page>,
    /// Link attempts by id.
    pub(crate) attempts: BTreeMap<u64, Attempt>,
    /// Live pairing codes.
    pub(crate) pairings: Vec<Pairing>,
    /// Every message by key id (the latest version).
    pub(crate) messages: HashMap<String, NetMsg>,
    /// Message keys in sending order (repeated for duplicates).
    pub(crate) order: Vec<String>,
    /// Keys of messages whose read ack was sent.
    pub(crate) read: std::collections::HashSet<String>,
    /// Deliveries per phone digits.
    pub(crate) inboxes: HashMap<String, Vec<InboxEntry>>,
    next_id: u64,
}

impl World {
    /// A fresh number for pages and attempts.
    pub(crate) fn next_id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    /// Queues an event for page `page_id`.
    pub(crate) fn push(&mut self, page_id: u64, kind: &str, data: Value) {
        if let Some(page) = self.pages.get_mut(&page_id) {
            page.next_seq += 1;
            let seq = page.next_seq;
            page.events
                .push_back(json!({ "seq": seq, "kind": kind, "data": data }));
        }
    }

    /// Hands an event to account `phone`'s page, or queues it while none can take it.
    pub(crate) fn deliver(&mut self, phone: &str, kind: &str, data: Value) {
        let Some(account) = self.accounts.get_mut(phone) else {
            return;
        };
        match (account.state, account.page) {
            (AccountState::LoggedOut, _) => {}
            (AccountState::Main | AccountState::Syncing, Some(page)) => {
                self.push(page, kind, data);
            }
            _ => account
                .pending
                .push_back(json!({ "kind": kind, "data": data })),
        }
    }

    /// Sends account `phone`'s queued events to its page, messages as history sync.
    pub(crate) fn flush(&mut self, phone: &str) {
        let Some(account) = self.accounts.get_mut(phone) else {
            return;
        };
        let (Some(page), pending) = (account.page, std::mem::take(&mut account.pending)) else {
            return;
        };
        for mut event in pending {
            if event["kind"] == "msg" {
                event["data"]["isNewMsg"] = json!(false);
            }
            let kind = event["kind"].as_str().unwrap_or_default().to_owned();
            self.push(page, &kind, event["data"].take());
        }
    }

    /// Drops pages that stopped polling; their unread content goes back to the queue.
    fn sweep(&mut self, now: u64) {
        let gone: Vec<u64> = self
            .pages
            .iter()
            .filter(|(_, p)| p.polling == 0 && now.saturating_sub(p.last_seen_ms) > PAGE_LEASE_MS)
            .map(|(id, _)| *id)
            .collect();
        for id in gone {
            self.detach(id);
        }
    }

    /// Removes page `id`, giving its unacknowledged content back to its account.
    pub(crate) fn detach(&mut self, id: u64) {
        let Some(page) = self.pages.remove(&id) else {
            return;
        };
        tracing::debug!(page = id, "page detached");
        if let Some(attempt) = page.attempt {
            self.attempts.remove(&attempt);
        }
        self.pairings.retain(|p| p.page != id);
        let Some(account) = page.account.and_then(|a| self.accounts.get_mut(&a)) else {
            return;
        };
        if account.page != Some(id) {
            return;
        }
        account.page = None;
        let unread = page.events.into_iter().filter(|e| {
            let kind = e["kind"].as_str().unwrap_or_default();
            CONTENT_KINDS.contains(&kind)
        });
        let mut requeued: VecDeque<Value> = unread
            .map(|e| json!({ "kind": e["kind"], "data": e["data"] }))
            .collect();
        requeued.append(&mut account.pending);
        account.pending = requeued;
    }

    /// A new page with no account, returning its id.
    pub(crate) fn new_page(&mut self, now: u64) -> u64 {
        let id = self.next_id();
        let page = Page {
            account: None,
            events: VecDeque::new(),
            next_seq: 0,
            polling: 0,
            last_seen_ms: now,
            attempt: None,
            keys: [random_b64(32), random_b64(32), random_b64(16)],
        };
        self.pages.insert(id, page);
        id
    }

    /// The account attached to page `page_id`, if it is logged in.
    pub(crate) fn page_account(&self, page_id: u64) -> Option<&Account> {
        let phone = self.pages.get(&page_id)?.account.as_ref()?;
        self.accounts.get(phone)
    }
}

/// Now, Unix milliseconds.
pub(crate) fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// `n` random bytes in standard base64.
pub(crate) fn random_b64(n: usize) -> String {
    use base64::Engine as _;
    let bytes: Vec<u8> = (0..n).map(|_| fastrand::u8(..)).collect();
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

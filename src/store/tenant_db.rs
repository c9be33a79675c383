//! One tenant's database: history, logs, outbox, processed ids, the inbound journal,
//! contacts, settings, plugin state.
//!
//! Every query here reads one file, the tenant's own: isolation between tenants holds
//! by construction.

mod copy;
mod pipeline;
mod settings;

pub use copy::CopyStats;
pub use pipeline::{Arrival, Arrived, Completion, KvWrite, Sighting};

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use redb::{Database, Durability, ReadableDatabase, ReadableTable, TableDefinition};
use serde::{Deserialize, Serialize};

use super::StoreResult;
use super::codec::{decode, encode};

const PROCESSED: TableDefinition<&str, u64> = TableDefinition::new("processed");
const HISTORY: TableDefinition<&str, &[u8]> = TableDefinition::new("history");
const HISTORY_ORDER: TableDefinition<u64, &str> = TableDefinition::new("history_order");
const HISTORY_BY_CHAT: TableDefinition<(&str, u64), &str> = TableDefinition::new("history_by_chat");
const LOGS: TableDefinition<u64, &[u8]> = TableDefinition::new("logs");
const OUTBOX: TableDefinition<&str, &[u8]> = TableDefinition::new("outbox");
const OUTBOX_ORDER: TableDefinition<u64, &str> = TableDefinition::new("outbox_order");
const CONTACTS: TableDefinition<&str, &[u8]> = TableDefinition::new("contacts");
const LIDS: TableDefinition<&str, &str> = TableDefinition::new("lids");
const PLUGIN_KV: TableDefinition<(&str, &str), &[u8]> = TableDefinition::new("plugin_kv");
const SETTINGS: TableDefinition<&str, &str> = TableDefinition::new("settings");
/// Inbound messages claimed and not yet fully handled (their replies not yet queued).
const INBOX: TableDefinition<u64, &[u8]> = TableDefinition::new("inbox");
/// Messages as the session took them from the page, until the pipeline records them.
const SPOOL: TableDefinition<&str, &[u8]> = TableDefinition::new("spool");

/// A media attachment as history keeps it: a reference, never the bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MediaRef {
    /// MIME type, e.g. `audio/ogg; codecs=opus`.
    pub mimetype: String,
    /// File name, for documents.
    pub filename: Option<String>,
    /// Size in bytes, when known.
    pub size: Option<u64>,
    /// Where a downloaded copy lives, relative to the tenant's folder.
    pub stored_at: Option<String>,
}

/// One message in a tenant's history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryEntry {
    /// WhatsApp's key id (the same for the phone and LID forms).
    pub id: String,
    /// The chat it belongs to (`…@c.us`, `…@g.us`), as the contact's canonical id.
    pub chat: String,
    /// Who wrote it (the author, in groups).
    pub from: String,
    /// Whether the account itself sent it.
    pub from_me: bool,
    /// WhatsApp's message type (`chat`, `ptt`, `image`, ...).
    pub kind: String,
    /// Text, caption or transcript.
    pub text: Option<String>,
    /// The attachment, if any.
    pub media: Option<MediaRef>,
    /// When it was sent, Unix milliseconds.
    pub t_ms: u64,
    /// Delivery state for our own messages (WhatsApp's ack number).
    #[serde(default)]
    pub ack: i8,
    /// Whether the sender edited it.
    #[serde(default)]
    pub edited: bool,
    /// Whether the sender deleted it for everyone.
    #[serde(default)]
    pub revoked: bool,
    /// Whether `text` was cut to the stored length cap.
    #[serde(default)]
    pub truncated: bool,
}

/// One log record of a tenant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogRecord {
    /// When, Unix milliseconds.
    pub t_ms: u64,
    /// `ERROR`, `WARN`, `INFO`, `DEBUG` or `TRACE`.
    pub level: String,
    /// The module that logged it.
    pub target: String,
    /// The message with its fields.
    pub message: String,
}

/// Where an outbound message stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutboxState {
    /// Written, not yet confirmed sent.
    Pending,
    /// WhatsApp took it.
    Sent,
    /// Sending failed for good; the reason is kept.
    Failed(String),
}

/// One outbound message, written before it is sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboxEntry {
    /// The deterministic message id it is sent with.
    pub id: String,
    /// The chat it goes to.
    pub to: String,
    /// The text (or caption).
    pub text: String,
    /// The attachment, if any.
    pub media: Option<MediaRef>,
    /// When it was queued, Unix milliseconds.
    pub created_ms: u64,
    /// Where it stands.
    pub state: OutboxState,
    /// Send attempts so far.
    #[serde(default)]
    pub attempts: u32,
    /// Waits behind normal sends (a "voltamos" after downtime).
    #[serde(default)]
    pub low_priority: bool,
}

/// One person the tenant talks with, known by phone, LID or both.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Contact {
    /// The canonical chat id: `<phone>@c.us` when the phone is known, else the LID.
    pub chat: String,
    /// The phone's digits, once known.
    pub phone: Option<String>,
    /// The LID (`…@lid`), once known.
    pub lid: Option<String>,
    /// The name the contact shows (`pushName`).
    pub name: Option<String>,
    /// First message seen, Unix milliseconds.
    pub first_seen_ms: u64,
    /// Last message seen, Unix milliseconds.
    pub last_seen_ms: u64,
}

/// A tenant's database (`<data>/tenants/<tenant>.redb`).
pub struct TenantDb {
    db: Database,
    log_keep: u64,
    /// The write stall of the fault hook, in milliseconds (0: none).
    stall_ms: Arc<AtomicU64>,
}

impl TenantDb {
    /// Opens or creates the file and its tables; keeps at most `log_keep` log records.
    /// Every write transaction first waits `stall_ms` (a fault hook for tests).
    pub(super) fn open(
        path: &Path,
        log_keep: u64,
        stall_ms: Arc<AtomicU64>,
    ) -> StoreResult<TenantDb> {
        let db = Database::create(path)?;
        let txn = db.begin_write()?;
        txn.open_table(PROCESSED)?;
        txn.open_table(HISTORY)?;
        txn.open_table(HISTORY_ORDER)?;
        txn.open_table(HISTORY_BY_CHAT)?;
        txn.open_table(LOGS)?;
        txn.open_table(OUTBOX)?;
        txn.open_table(OUTBOX_ORDER)?;
        txn.open_table(CONTACTS)?;
        txn.open_table(LIDS)?;
        txn.open_table(PLUGIN_KV)?;
        txn.open_table(SETTINGS)?;
        txn.open_table(INBOX)?;
        txn.open_table(SPOOL)?;
        txn.commit()?;
        Ok(TenantDb {
            db,
            log_keep,
            stall_ms,
        })
    }

    /// A write transaction, after the fault hook's stall if one is set.
    fn begin_write(&self) -> StoreResult<redb::WriteTransaction> {
        let stall = self.stall_ms.load(Ordering::Relaxed);
        if stall > 0 {
            std::thread::sleep(std::time::Duration::from_millis(stall));
        }
        Ok(self.db.begin_write()?)
    }

    /// Claims an inbound message id: `true` for the first claim only, ever.
    pub fn claim(&self, msg_id: &str, now_ms: u64) -> StoreResult<bool> {
        let txn = self.begin_write()?;
        {
            let mut table = txn.open_table(PROCESSED)?;
            if table.get(msg_id)?.is_some() {
                return Ok(false);
            }
            table.insert(msg_id, now_ms)?;
        }
        txn.commit()?;
        Ok(true)
    }

    /// Whether a message id was claimed.
    pub fn is_claimed(&self, msg_id: &str) -> StoreResult<bool> {
        let txn = self.db.begin_read()?;
        Ok(txn.open_table(PROCESSED)?.get(msg_id)?.is_some())
    }

    /// Records a message; a second record of the same id replaces the first and keeps
    /// its place. Returns whether the id was new.
    pub fn record_message(&self, entry: &HistoryEntry) -> StoreResult<bool> {
        let txn = self.begin_write()?;
        let is_new = {
            let mut history = txn.open_table(HISTORY)?;
            let existing = history.get(entry.id.as_str())?.map(|v| v.value().to_vec());
            let is_new = existing.is_none();
            if is_new {
                let mut order = txn.open_table(HISTORY_ORDER)?;
                let seq = order.last()?.map_or(1, |(k, _)| k.value() + 1);
                order.insert(seq, entry.id.as_str())?;
                let mut by_chat = txn.open_table(HISTORY_BY_CHAT)?;
                by_chat.insert((entry.chat.as_str(), seq), entry.id.as_str())?;
            }
            history.insert(entry.id.as_str(), encode(entry).as_slice())?;
            is_new
        };
        txn.commit()?;
        Ok(is_new)
    }

    /// Changes a recorded message in place (ack, edit, revoke); `false` if unknown.
    pub fn update_message(
        &self,
        msg_id: &str,
        change: impl FnOnce(&mut HistoryEntry),
    ) -> StoreResult<bool> {
        self.update_record(HISTORY, "history", msg_id, change)
    }

    /// Reads, changes and writes back one JSON record in one transaction.
    fn update_record<T: serde::Serialize + serde::de::DeserializeOwned>(
        &self,
        table: TableDefinition<&str, &[u8]>,
        name: &'static str,
        key: &str,
        change: impl FnOnce(&mut T),
    ) -> StoreResult<bool> {
        let txn = self.begin_write()?;
        {
            let mut table = txn.open_table(table)?;
            let Some(bytes) = table.get(key)?.map(|v| v.value().to_vec()) else {
                return Ok(false);
            };
            let mut record: T = decode(name, &bytes)?;
            change(&mut record);
            table.insert(key, encode(&record).as_slice())?;
        }
        txn.commit()?;
        Ok(true)
    }

    /// One recorded message.
    pub fn message(&self, msg_id: &str) -> StoreResult<Option<HistoryEntry>> {
        let txn = self.db.begin_read()?;
        let table = txn.open_table(HISTORY)?;
        let found = table.get(msg_id)?;
        found.map(|v| decode("history", v.value())).transpose()
    }

    /// The newest `limit` messages, of one chat or of all, oldest first.
    pub fn history(&self, chat: Option<&str>, limit: usize) -> StoreResult<Vec<HistoryEntry>> {
        self.history_page(chat, 0, limit)
    }

    /// Like [`TenantDb::history`], skipping the newest `skip` first: a page of
    /// `limit` messages, oldest first.
    pub fn history_page(
        &self,
        chat: Option<&str>,
        skip: usize,
        limit: usize,
    ) -> StoreResult<Vec<HistoryEntry>> {
        let txn = self.db.begin_read()?;
        let history = txn.open_table(HISTORY)?;
        let mut ids = Vec::new();
        match chat {
            Some(chat) => {
                let by_chat = txn.open_table(HISTORY_BY_CHAT)?;
                for row in by_chat
                    .range((chat, 0)..=(chat, u64::MAX))?
                    .rev()
                    .skip(skip)
                    .take(limit)
                {
                    ids.push(row?.1.value().to_owned());
                }
            }
            None => {
                let order = txn.open_table(HISTORY_ORDER)?;
                for row in order.range(..)?.rev().skip(skip).take(limit) {
                    ids.push(row?.1.value().to_owned());
                }
            }
        }
        let mut out = Vec::with_capacity(ids.len());
        for id in ids.iter().rev() {
            if let Some(v) = history.get(id.as_str())? {
                out.push(decode("history", v.value())?);
            }
        }
        Ok(out)
    }

    /// How many messages were recorded with a time at or after `since_ms` (looking at
    /// the newest `cap` rows at most), and the time of the newest.
    pub fn activity_since(&self, since_ms: u64, cap: usize) -> StoreResult<(usize, Option<u64>)> {
        let txn = self.db.begin_read()?;
        let order = txn.open_table(HISTORY_ORDER)?;
        let history = txn.open_table(HISTORY)?;
        let (mut count, mut newest) = (0, None);
        for row in order.range(..)?.rev().take(cap) {
            let id = row?.1.value().to_owned();
            let Some(v) = history.get(id.as_str())? else {
                continue;
            };
            let entry: HistoryEntry = decode("history", v.value())?;
            newest = newest.max(Some(entry.t_ms));
            if entry.t_ms >= since_ms {
                count += 1;
            }
        }
        Ok((count, newest))
    }

    /// Appends log records, pruning the oldest beyond the tenant's bound.
    pub fn append_logs(&self, records: &[LogRecord]) -> StoreResult<()> {
        let mut txn = self.begin_write()?;
        // NOTE: logs are a diagnostic aid; losing the last few on a power cut is fine,
        // and skipping the fsync keeps logging cheap. The next durable commit of this
        // database persists them.
        let _ = txn.set_durability(Durability::None);
        {
            let mut table = txn.open_table(LOGS)?;
            let mut seq = table.last()?.map_or(0, |(k, _)| k.value());
            for record in records {
                seq += 1;
                table.insert(seq, encode(record).as_slice())?;
            }
            let floor = seq.saturating_sub(self.log_keep);
            if table.first()?.is_some_and(|(k, _)| k.value() <= floor) {
                table.retain_in(..=floor, |_, _| false)?;
            }
        }
        txn.commit()?;
        Ok(())
    }

    /// The newest `limit` log records, oldest first.
    pub fn logs(&self, limit: usize) -> StoreResult<Vec<LogRecord>> {
        let txn = self.db.begin_read()?;
        let table = txn.open_table(LOGS)?;
        let mut out = Vec::new();
        for row in table.range(..)?.rev().take(limit) {
            out.push(decode("logs", row?.1.value())?);
        }
        out.reverse();
        Ok(out)
    }

    /// Queues an outbound message; `false` (and no change) if its id is already queued.
    pub fn enqueue(&self, entry: &OutboxEntry) -> StoreResult<bool> {
        let txn = self.begin_write()?;
        {
            let mut outbox = txn.open_table(OUTBOX)?;
            if outbox.get(entry.id.as_str())?.is_some() {
                return Ok(false);
            }
            outbox.insert(entry.id.as_str(), encode(entry).as_slice())?;
            let mut order = txn.open_table(OUTBOX_ORDER)?;
            let seq = order.last()?.map_or(1, |(k, _)| k.value() + 1);
            order.insert(seq, entry.id.as_str())?;
        }
        txn.commit()?;
        Ok(true)
    }

    /// Changes an outbox entry (state, attempts); `false` if unknown.
    pub fn update_outbox(
        &self,
        msg_id: &str,
        change: impl FnOnce(&mut OutboxEntry),
    ) -> StoreResult<bool> {
        self.update_record(OUTBOX, "outbox", msg_id, change)
    }

    /// One outbox entry.
    pub fn outbox_entry(&self, msg_id: &str) -> StoreResult<Option<OutboxEntry>> {
        let txn = self.db.begin_read()?;
        let table = txn.open_table(OUTBOX)?;
        let found = table.get(msg_id)?;
        found.map(|v| decode("outbox", v.value())).transpose()
    }

    /// Entries still pending, in the order they were queued.
    pub fn pending_outbox(&self) -> StoreResult<Vec<OutboxEntry>> {
        let txn = self.db.begin_read()?;
        let order = txn.open_table(OUTBOX_ORDER)?;
        let outbox = txn.open_table(OUTBOX)?;
        let mut out = Vec::new();
        for row in order.range(..)? {
            let (_, id) = row?;
            let Some(v) = outbox.get(id.value())? else {
                continue;
            };
            let entry: OutboxEntry = decode("outbox", v.value())?;
            if entry.state == OutboxState::Pending {
                out.push(entry);
            }
        }
        Ok(out)
    }

    /// Notes that a LID belongs to a phone (learnt from `senderPn`), and merges the
    /// contact known by the LID alone into the one known by phone.
    pub fn link_lid(&self, lid: &str, phone: &str, now_ms: u64) -> StoreResult<Contact> {
        let chat = format!("{phone}@c.us");
        let txn = self.begin_write()?;
        let contact = {
            let mut lids = txn.open_table(LIDS)?;
            lids.insert(lid, chat.as_str())?;
            let mut contacts = txn.open_table(CONTACTS)?;
            let by_lid = take_contact(&mut contacts, lid)?;
            let by_phone = read_contact(&contacts, &chat)?;
            let mut merged = merge_contacts(by_phone, by_lid, &chat, now_ms);
            merged.phone = Some(phone.to_owned());
            merged.lid = Some(lid.to_owned());
            contacts.insert(chat.as_str(), encode(&merged).as_slice())?;
            merged
        };
        txn.commit()?;
        Ok(contact)
    }

    /// The canonical chat id of an address: a known LID maps to its phone's chat.
    pub fn canonical_chat(&self, chat: &str) -> StoreResult<String> {
        let txn = self.db.begin_read()?;
        let lids = txn.open_table(LIDS)?;
        let found = lids.get(chat)?.map(|v| v.value().to_owned());
        Ok(found.unwrap_or_else(|| chat.to_owned()))
    }

    /// Notes a message from a contact; creates the contact on first sight.
    /// Returns the contact and whether it was new.
    pub fn touch_contact(
        &self,
        chat: &str,
        name: Option<&str>,
        now_ms: u64,
    ) -> StoreResult<(Contact, bool)> {
        let txn = self.begin_write()?;
        let result = {
            let canonical = txn
                .open_table(LIDS)?
                .get(chat)?
                .map(|v| v.value().to_owned());
            let key = canonical.unwrap_or_else(|| chat.to_owned());
            let mut contacts = txn.open_table(CONTACTS)?;
            let existing = read_contact(&contacts, &key)?;
            let is_new = existing.is_none();
            let mut contact = existing.unwrap_or_else(|| new_contact(&key, now_ms));
            contact.last_seen_ms = now_ms;
            if let Some(name) = name {
                contact.name = Some(name.to_owned());
            }
            contacts.insert(key.as_str(), encode(&contact).as_slice())?;
            (contact, is_new)
        };
        txn.commit()?;
        Ok(result)
    }

    /// A contact by any of its addresses.
    pub fn contact(&self, chat: &str) -> StoreResult<Option<Contact>> {
        let key = self.canonical_chat(chat)?;
        let txn = self.db.begin_read()?;
        read_contact(&txn.open_table(CONTACTS)?, &key)
    }

    /// A plugin's stored value.
    pub fn kv_get(&self, plugin: &str, key: &str) -> StoreResult<Option<Vec<u8>>> {
        let txn = self.db.begin_read()?;
        let table = txn.open_table(PLUGIN_KV)?;
        Ok(table.get((plugin, key))?.map(|v| v.value().to_vec()))
    }

    /// Stores a plugin's value.
    pub fn kv_set(&self, plugin: &str, key: &str, value: &[u8]) -> StoreResult<()> {
        let txn = self.begin_write()?;
        txn.open_table(PLUGIN_KV)?.insert((plugin, key), value)?;
        txn.commit()?;
        Ok(())
    }

    /// Removes a plugin's value; `true` if there was one.
    pub fn kv_remove(&self, plugin: &str, key: &str) -> StoreResult<bool> {
        let txn = self.begin_write()?;
        let removed = txn.open_table(PLUGIN_KV)?.remove((plugin, key))?.is_some();
        txn.commit()?;
        Ok(removed)
    }
}

fn new_contact(chat: &str, now_ms: u64) -> Contact {
    let phone = chat.strip_suffix("@c.us").map(str::to_owned);
    let lid = chat.ends_with("@lid").then(|| chat.to_owned());
    Contact {
        chat: chat.to_owned(),
        phone,
        lid,
        name: None,
        first_seen_ms: now_ms,
        last_seen_ms: now_ms,
    }
}

fn read_contact(
    table: &impl ReadableTable<&'static str, &'static [u8]>,
    key: &str,
) -> StoreResult<Option<Contact>> {
    let found = table.get(key)?;
    found.map(|v| decode("contacts", v.value())).transpose()
}

fn take_contact(
    table: &mut redb::Table<&'static str, &'static [u8]>,
    key: &str,
) -> StoreResult<Option<Contact>> {
    let removed = table.remove(key)?;
    removed.map(|v| decode("contacts", v.value())).transpose()
}

/// One contact out of the phone form and the LID form of the same person.
fn merge_contacts(
    by_phone: Option<Contact>,
    by_lid: Option<Contact>,
    chat: &str,
    now_ms: u64,
) -> Contact {
    let mut merged = by_phone.unwrap_or_else(|| new_contact(chat, now_ms));
    if let Some(other) = by_lid {
        merged.first_seen_ms = merged.first_seen_ms.min(other.first_seen_ms);
        merged.last_seen_ms = merged.last_seen_ms.max(other.last_seen_ms);
        merged.name = merged.name.or(other.name);
    }
    merged.chat = chat.to_owned();
    merged
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(n: u64) -> LogRecord {
        LogRecord {
            t_ms: n,
            level: "INFO".into(),
            target: "t".into(),
            message: format!("linha {n}"),
        }
    }

    #[test]
    fn logs_are_bounded_oldest_pruned() {
        let dir = tempfile::tempdir().unwrap();
        let stall = Arc::default();
        let db = TenantDb::open(&dir.path().join("t.redb"), 5, stall).unwrap();
        for n in 1..=4 {
            db.append_logs(&[record(n)]).unwrap();
        }
        db.append_logs(&(5..=9).map(record).collect::<Vec<_>>())
            .unwrap();
        let kept: Vec<u64> = db.logs(100).unwrap().iter().map(|r| r.t_ms).collect();
        assert_eq!(kept, [5, 6, 7, 8, 9]);
        assert_eq!(db.logs(2).unwrap()[0].message, "linha 8");
    }
}

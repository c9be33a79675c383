//! What the client pipeline writes: arrivals (history, contact, claim and journal in
//! one transaction), completions (replies queued and journal cleared in one
//! transaction), and our own messages as they come back.
//!
//! NOTE: the session spools each message before it acknowledges it to the page, so a
//! crash between the page and the pipeline loses nothing; the pipeline's arrival
//! commit clears the spool. A message is claimed and journaled in the same commit that
//! records it, and
//! its journal entry goes in the same commit that queues its replies. A crash between
//! the two leaves the journal entry, which is handled again on the next start: no
//! reply is lost, and none is queued twice.

use redb::{ReadableDatabase, ReadableTable, WriteTransaction};

use super::{
    CONTACTS, HISTORY, HISTORY_BY_CHAT, HISTORY_ORDER, HistoryEntry, INBOX, LIDS, OUTBOX,
    OUTBOX_ORDER, OutboxEntry, PLUGIN_KV, PROCESSED, SETTINGS, SPOOL, TenantDb, merge_contacts,
    new_contact, read_contact, take_contact,
};
use crate::store::StoreResult;
use crate::store::codec::{decode, encode};

/// An inbound message to record and claim.
#[derive(Debug, Clone)]
pub struct Arrival {
    /// The history row; its `chat` and `from` may be LIDs, mapped here to the contact.
    pub entry: HistoryEntry,
    /// The person who wrote it (the author, in groups).
    pub sender: Option<Sighting>,
    /// What to journal for handling, encoded by the caller; `None`: record only.
    pub job: Option<Vec<u8>>,
}

/// A contact seen on a message.
#[derive(Debug, Clone)]
pub struct Sighting {
    /// The address it wrote from (`…@c.us` or `…@lid`).
    pub address: String,
    /// The name it shows.
    pub name: Option<String>,
    /// The phone's digits, when the address is a LID and WhatsApp told the phone.
    pub phone: Option<String>,
}

/// How an arrival was taken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Arrived {
    /// The message id.
    pub id: String,
    /// `false` for a message claimed before (a duplicate): nothing was written.
    pub fresh: bool,
    /// The chat, as the contact's canonical id.
    pub chat: String,
    /// The sender, as the contact's canonical id.
    pub from: String,
    /// Whether this was the contact's first message.
    pub new_contact: bool,
    /// The journal entry to complete, when a job was journaled.
    pub job: Option<u64>,
}

/// A plugin-state change made together with a completion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KvWrite {
    /// Sets `plugin`/`key` to a value.
    Set(String, String, Vec<u8>),
    /// Removes `plugin`/`key`.
    Remove(String, String),
    /// Adds to the decimal counter at `plugin`/`key` (absent counts as 0).
    Add(String, String, u64),
}

/// What one completion writes, all in one transaction.
#[derive(Debug, Clone, Default)]
pub struct Completion {
    /// Journal entries handled.
    pub done: Vec<u64>,
    /// Journal entries kept for a later step, with what they hold now.
    pub later: Vec<(u64, Vec<u8>)>,
    /// Replies to queue.
    pub replies: Vec<OutboxEntry>,
    /// Plugin-state changes.
    pub kv: Vec<KvWrite>,
    /// Settings set (`Some`) or cleared (`None`).
    pub settings: Vec<(String, Option<String>)>,
}

impl TenantDb {
    /// Keeps messages taken from the page (by id, encoded by the caller) until the
    /// pipeline has them: one transaction.
    pub fn spool(&self, messages: &[(String, Vec<u8>)]) -> StoreResult<()> {
        let txn = self.begin_write()?;
        {
            let mut spool = txn.open_table(SPOOL)?;
            for (id, bytes) in messages {
                spool.insert(id.as_str(), bytes.as_slice())?;
            }
        }
        txn.commit()?;
        Ok(())
    }

    /// Messages spooled and not yet received (left by a crash).
    pub fn spooled(&self) -> StoreResult<Vec<Vec<u8>>> {
        let txn = self.db.begin_read()?;
        let spool = txn.open_table(SPOOL)?;
        let mut out = Vec::new();
        for row in spool.iter()? {
            out.push(row?.1.value().to_vec());
        }
        Ok(out)
    }

    /// Records, claims and journals inbound messages, and clears the spool of every
    /// message the pipeline took (`taken`, kept or not), in one transaction.
    pub fn receive(
        &self,
        arrivals: Vec<Arrival>,
        taken: &[String],
        now_ms: u64,
    ) -> StoreResult<Vec<Arrived>> {
        let txn = self.begin_write()?;
        let mut out = Vec::with_capacity(arrivals.len());
        for arrival in arrivals {
            out.push(receive_one(&txn, arrival, now_ms)?);
        }
        {
            let mut spool = txn.open_table(SPOOL)?;
            for id in taken {
                spool.remove(id.as_str())?;
            }
        }
        txn.commit()?;
        Ok(out)
    }

    /// Journaled messages not yet completed, oldest first.
    pub fn pending_jobs(&self) -> StoreResult<Vec<(u64, Vec<u8>)>> {
        let txn = self.db.begin_read()?;
        let inbox = txn.open_table(INBOX)?;
        let mut out = Vec::new();
        for row in inbox.range(..)? {
            let (seq, job) = row?;
            out.push((seq.value(), job.value().to_vec()));
        }
        Ok(out)
    }

    /// Completes journaled messages in one transaction: entries done are cleared, the
    /// ones kept for a later step are rewritten, their replies queued in the outbox
    /// (an id already there is left alone), and plugin state and settings written.
    pub fn complete(&self, c: &Completion) -> StoreResult<()> {
        let txn = self.begin_write()?;
        {
            let mut inbox = txn.open_table(INBOX)?;
            for seq in &c.done {
                inbox.remove(seq)?;
            }
            for (seq, job) in &c.later {
                inbox.insert(seq, job.as_slice())?;
            }
            let mut outbox = txn.open_table(OUTBOX)?;
            let mut order = txn.open_table(OUTBOX_ORDER)?;
            for entry in &c.replies {
                if outbox.get(entry.id.as_str())?.is_some() {
                    continue;
                }
                outbox.insert(entry.id.as_str(), encode(entry).as_slice())?;
                let seq = order.last()?.map_or(1, |(k, _)| k.value() + 1);
                order.insert(seq, entry.id.as_str())?;
            }
            let mut table = txn.open_table(PLUGIN_KV)?;
            for write in &c.kv {
                apply(&mut table, write)?;
            }
            let mut settings = txn.open_table(SETTINGS)?;
            for (key, value) in &c.settings {
                match value {
                    Some(value) => settings.insert(key.as_str(), value.as_str())?,
                    None => settings.remove(key.as_str())?,
                };
            }
        }
        txn.commit()?;
        Ok(())
    }

    /// Records one of the account's own messages (our reply's echo, or one typed on
    /// the phone); a row already there keeps its place and gains the higher ack.
    pub fn record_outgoing(&self, mut entry: HistoryEntry) -> StoreResult<()> {
        let txn = self.begin_write()?;
        {
            entry.chat = canonical(&txn, &entry.chat)?;
            let mut history = txn.open_table(HISTORY)?;
            let existing = history.get(entry.id.as_str())?.map(|v| v.value().to_vec());
            match existing {
                Some(bytes) => {
                    let old: HistoryEntry = decode("history", &bytes)?;
                    entry.ack = entry.ack.max(old.ack);
                    entry.chat = old.chat;
                    entry.t_ms = old.t_ms;
                    entry.text = entry.text.or(old.text);
                }
                None => {
                    drop(history);
                    index_message(&txn, &entry)?;
                    history = txn.open_table(HISTORY)?;
                }
            }
            history.insert(entry.id.as_str(), encode(&entry).as_slice())?;
        }
        txn.commit()?;
        Ok(())
    }

    /// Every value a plugin stored under keys starting with `prefix`.
    pub fn kv_scan(&self, plugin: &str, prefix: &str) -> StoreResult<Vec<(String, Vec<u8>)>> {
        let txn = self.db.begin_read()?;
        let table = txn.open_table(PLUGIN_KV)?;
        let mut out = Vec::new();
        for row in table.range((plugin, prefix)..)? {
            let (key, value) = row?;
            let (p, k) = key.value();
            if p != plugin || !k.starts_with(prefix) {
                break;
            }
            out.push((k.to_owned(), value.value().to_vec()));
        }
        Ok(out)
    }
}

fn receive_one(txn: &WriteTransaction, arrival: Arrival, now_ms: u64) -> StoreResult<Arrived> {
    let Arrival {
        mut entry,
        sender,
        job,
    } = arrival;
    let mut processed = txn.open_table(PROCESSED)?;
    if processed.get(entry.id.as_str())?.is_some() {
        return Ok(Arrived {
            id: entry.id,
            fresh: false,
            chat: entry.chat,
            from: entry.from,
            new_contact: false,
            job: None,
        });
    }
    processed.insert(entry.id.as_str(), now_ms)?;
    drop(processed);

    let new_contact = match &sender {
        Some(sighting) => see_contact(txn, sighting, entry.t_ms.max(1))?,
        None => false,
    };
    entry.chat = canonical(txn, &entry.chat)?;
    entry.from = canonical(txn, &entry.from)?;
    index_message(txn, &entry)?;
    txn.open_table(HISTORY)?
        .insert(entry.id.as_str(), encode(&entry).as_slice())?;

    let job = match job {
        Some(bytes) => {
            let mut inbox = txn.open_table(INBOX)?;
            let seq = inbox.last()?.map_or(1, |(k, _)| k.value() + 1);
            inbox.insert(seq, bytes.as_slice())?;
            Some(seq)
        }
        None => None,
    };
    Ok(Arrived {
        id: entry.id,
        fresh: true,
        chat: entry.chat,
        from: entry.from,
        new_contact,
        job,
    })
}

/// The contact an address belongs to (a known LID maps to its phone's chat).
fn canonical(txn: &WriteTransaction, address: &str) -> StoreResult<String> {
    let lids = txn.open_table(LIDS)?;
    let found = lids.get(address)?.map(|v| v.value().to_owned());
    Ok(found.unwrap_or_else(|| address.to_owned()))
}

/// Notes a contact (learning its LID's phone when told); `true` if it is new.
fn see_contact(txn: &WriteTransaction, seen: &Sighting, t_ms: u64) -> StoreResult<bool> {
    let mut contacts = txn.open_table(CONTACTS)?;
    let lid_phone = seen
        .phone
        .as_deref()
        .filter(|_| seen.address.ends_with("@lid"));
    let (key, mut contact, is_new) = match lid_phone {
        Some(phone) => {
            let chat = format!("{phone}@c.us");
            txn.open_table(LIDS)?
                .insert(seen.address.as_str(), chat.as_str())?;
            let by_lid = take_contact(&mut contacts, &seen.address)?;
            let by_phone = read_contact(&contacts, &chat)?;
            let is_new = by_lid.is_none() && by_phone.is_none();
            let mut merged = merge_contacts(by_phone, by_lid, &chat, t_ms);
            merged.phone = Some(phone.to_owned());
            merged.lid = Some(seen.address.clone());
            (chat, merged, is_new)
        }
        None => {
            let key = canonical(txn, &seen.address)?;
            let existing = read_contact(&contacts, &key)?;
            let is_new = existing.is_none();
            let contact = existing.unwrap_or_else(|| new_contact(&key, t_ms));
            (key, contact, is_new)
        }
    };
    contact.last_seen_ms = contact.last_seen_ms.max(t_ms);
    if let Some(name) = &seen.name {
        contact.name = Some(name.clone());
    }
    contacts.insert(key.as_str(), encode(&contact).as_slice())?;
    Ok(is_new)
}

/// Gives a new history row its place in the order and chat indexes.
fn index_message(txn: &WriteTransaction, entry: &HistoryEntry) -> StoreResult<()> {
    let mut order = txn.open_table(HISTORY_ORDER)?;
    let seq = order.last()?.map_or(1, |(k, _)| k.value() + 1);
    order.insert(seq, entry.id.as_str())?;
    txn.open_table(HISTORY_BY_CHAT)?
        .insert((entry.chat.as_str(), seq), entry.id.as_str())?;
    Ok(())
}

type KvTable<'t> = redb::Table<'t, (&'static str, &'static str), &'static [u8]>;

fn apply(table: &mut KvTable<'_>, write: &KvWrite) -> StoreResult<()> {
    match write {
        KvWrite::Set(plugin, key, value) => {
            table.insert((plugin.as_str(), key.as_str()), value.as_slice())?;
        }
        KvWrite::Remove(plugin, key) => {
            table.remove((plugin.as_str(), key.as_str()))?;
        }
        KvWrite::Add(plugin, key, n) => {
            let now = table
                .get((plugin.as_str(), key.as_str()))?
                .and_then(|v| std::str::from_utf8(v.value()).ok()?.parse::<u64>().ok())
                .unwrap_or(0);
            let sum = now.saturating_add(*n).to_string();
            table.insert((plugin.as_str(), key.as_str()), sum.as_bytes())?;
        }
    }
    Ok(())
}

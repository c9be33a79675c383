//! A consistent online copy of a tenant database, for backups.
//!
//! NOTE: redb has no backup API, and copying the file while a writer commits can give a
//! torn copy. A read transaction is one snapshot, though: every table is read inside a
//! single one and written into a fresh database, so the copy holds exactly the data
//! committed before it began, while the tenant goes on writing.

use std::fs::{File, OpenOptions};
use std::path::Path;

use redb::backends::FileBackend;
use redb::{
    Database, Durability, Key, ReadTransaction, ReadableDatabase, ReadableTable, TableDefinition,
    Value, WriteTransaction,
};

use super::{
    CONTACTS, HISTORY, HISTORY_BY_CHAT, HISTORY_ORDER, INBOX, LIDS, LOGS, OUTBOX, OUTBOX_ORDER,
    PLUGIN_KV, PROCESSED, SETTINGS, SPOOL, TenantDb,
};
use crate::store::{StoreError, StoreResult};

/// Key and value bytes written per write transaction of a copy: large transactions
/// keep the copy fast, the bound keeps its memory in check for big tenants.
const BATCH_BYTES: u64 = 64 << 20;

/// What a copy wrote.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CopyStats {
    /// Rows copied, all tables together.
    pub rows: u64,
    /// Key and value bytes copied (the file is larger: pages and indexes).
    pub bytes: u64,
}

impl TenantDb {
    /// Copies every table, as of one snapshot, into a new database file at `dest`
    /// (which must not exist). Writers go on meanwhile; what they commit after the
    /// copy began is not in it. A failed copy leaves no file behind.
    pub fn copy_to(&self, dest: &Path) -> StoreResult<CopyStats> {
        let snapshot = self.db.begin_read()?;
        let file = create_new(dest)?;
        let result = Database::builder()
            .create_with_backend(FileBackend::new(file))
            .map_err(StoreError::from)
            .and_then(|out| copy_snapshot(&snapshot, &out));
        if result.is_err() {
            let _ = std::fs::remove_file(dest);
        }
        result
    }
}

/// Creates the destination file, refusing one that exists.
fn create_new(dest: &Path) -> StoreResult<File> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .open(dest)
        .map_err(|source| StoreError::Io {
            path: dest.to_owned(),
            source,
        })
}

/// Copies every table of the snapshot into `out`.
///
/// NOTE: this list must name every table of a tenant database; a unit test compares
/// it with the tables redb lists in a database `TenantDb::open` made.
fn copy_snapshot(snapshot: &ReadTransaction, out: &Database) -> StoreResult<CopyStats> {
    let mut sink = Sink::new(out);
    copy_table(snapshot, &mut sink, PROCESSED)?;
    copy_table(snapshot, &mut sink, HISTORY)?;
    copy_table(snapshot, &mut sink, HISTORY_ORDER)?;
    copy_table(snapshot, &mut sink, HISTORY_BY_CHAT)?;
    copy_table(snapshot, &mut sink, LOGS)?;
    copy_table(snapshot, &mut sink, OUTBOX)?;
    copy_table(snapshot, &mut sink, OUTBOX_ORDER)?;
    copy_table(snapshot, &mut sink, CONTACTS)?;
    copy_table(snapshot, &mut sink, LIDS)?;
    copy_table(snapshot, &mut sink, PLUGIN_KV)?;
    copy_table(snapshot, &mut sink, SETTINGS)?;
    copy_table(snapshot, &mut sink, INBOX)?;
    copy_table(snapshot, &mut sink, SPOOL)?;
    sink.finish()
}

/// Copies one table, row by row in key order, committing a batch whenever
/// [`BATCH_BYTES`] were written. The table is created even when empty.
fn copy_table<K: Key + 'static, V: Value + 'static>(
    snapshot: &ReadTransaction,
    sink: &mut Sink<'_>,
    def: TableDefinition<K, V>,
) -> StoreResult<()> {
    let source = snapshot.open_table(def)?;
    let mut rows = source.iter()?;
    loop {
        let txn = sink.take_txn()?;
        let mut table = txn.open_table(def)?;
        let mut full = false;
        for row in rows.by_ref() {
            let (key, value) = row?;
            let (key, value) = (key.value(), value.value());
            let len = K::as_bytes(&key).as_ref().len() + V::as_bytes(&value).as_ref().len();
            table.insert(key, value)?;
            full = sink.count(len as u64);
            if full {
                break;
            }
        }
        drop(table);
        if !full {
            sink.keep(txn);
            return Ok(());
        }
        txn.commit()?;
    }
}

/// The destination side of a copy: the open write transaction and the counts.
struct Sink<'db> {
    db: &'db Database,
    txn: Option<WriteTransaction>,
    stats: CopyStats,
    batch: u64,
}

impl<'db> Sink<'db> {
    fn new(db: &'db Database) -> Self {
        Self {
            db,
            txn: None,
            stats: CopyStats::default(),
            batch: 0,
        }
    }

    /// The open write transaction, or a new one for a new batch.
    fn take_txn(&mut self) -> StoreResult<WriteTransaction> {
        if let Some(txn) = self.txn.take() {
            return Ok(txn);
        }
        self.batch = 0;
        let mut txn = self.db.begin_write()?;
        // NOTE: the file is nobody's until the copy ends; batches need no fsync of their
        // own, the final durable commit persists all of them.
        set_durability(&mut txn, Durability::None)?;
        Ok(txn)
    }

    /// Keeps a batch that is not full for the next table.
    fn keep(&mut self, txn: WriteTransaction) {
        self.txn = Some(txn);
    }

    /// Counts one row of `len` bytes; `true` when the batch is full.
    fn count(&mut self, len: u64) -> bool {
        self.stats.rows += 1;
        self.stats.bytes += len;
        self.batch += len;
        self.batch >= BATCH_BYTES
    }

    /// Commits what is left, durably, and returns the counts.
    fn finish(mut self) -> StoreResult<CopyStats> {
        let mut txn = self.take_txn()?;
        set_durability(&mut txn, Durability::Immediate)?;
        txn.commit()?;
        Ok(self.stats)
    }
}

fn set_durability(txn: &mut WriteTransaction, durability: Durability) -> StoreResult<()> {
    txn.set_durability(durability)
        .map_err(|e| StoreError::Db(e.into()))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU64, Ordering};

    use redb::TableHandle;

    use super::*;
    use crate::store::tenant_db::{Arrival, HistoryEntry, KvWrite, LogRecord, OutboxEntry};
    use crate::store::tenant_db::{Completion, OutboxState, Sighting};

    type Rows = Vec<(Vec<u8>, Vec<u8>)>;

    fn open(path: &Path) -> TenantDb {
        TenantDb::open(path, 1_000, Arc::default()).unwrap()
    }

    fn message(id: &str) -> HistoryEntry {
        HistoryEntry {
            id: id.into(),
            chat: "5511999990000@c.us".into(),
            from: "5511999990000@c.us".into(),
            from_me: false,
            kind: "chat".into(),
            text: Some("oi".into()),
            media: None,
            t_ms: 10,
            ack: 0,
            edited: false,
            revoked: false,
            truncated: false,
        }
    }

    fn reply(id: &str) -> OutboxEntry {
        OutboxEntry {
            id: id.into(),
            to: "5511999990000@c.us".into(),
            text: "olá".into(),
            media: None,
            created_ms: 11,
            state: OutboxState::Pending,
            attempts: 0,
            low_priority: false,
        }
    }

    /// Writes at least one row into every table, through the public API.
    fn fill(db: &TenantDb) {
        db.claim("claimed", 1).unwrap();
        db.record_message(&message("m1")).unwrap();
        let log = LogRecord {
            t_ms: 1,
            level: "INFO".into(),
            target: "t".into(),
            message: "linha".into(),
        };
        db.append_logs(&[log]).unwrap();
        db.enqueue(&reply("r1")).unwrap();
        db.link_lid("123@lid", "5511999990000", 5).unwrap();
        db.kv_set("agenda", "k", b"v").unwrap();
        db.set_setting("grupos", "sim").unwrap();
        db.spool(&[("s1".into(), b"spooled".to_vec())]).unwrap();
        let sender = Sighting {
            address: "5511888880000@c.us".into(),
            name: Some("Ana".into()),
            phone: None,
        };
        let arrival = Arrival {
            entry: message("m2"),
            sender: Some(sender),
            job: Some(b"job".to_vec()),
        };
        db.receive(vec![arrival], &[], 12).unwrap();
    }

    fn dump<K: Key + 'static, V: Value + 'static>(
        txn: &ReadTransaction,
        def: TableDefinition<K, V>,
        out: &mut BTreeMap<String, Rows>,
    ) {
        let table = txn.open_table(def).unwrap();
        let rows = table.iter().unwrap().map(|row| {
            let (k, v) = row.unwrap();
            let k = K::as_bytes(&k.value()).as_ref().to_vec();
            (k, V::as_bytes(&v.value()).as_ref().to_vec())
        });
        out.insert(def.name().to_owned(), rows.collect());
    }

    /// Every table's rows, as bytes, by table name.
    fn dump_all(db: &Database) -> BTreeMap<String, Rows> {
        let txn = db.begin_read().unwrap();
        let mut out = BTreeMap::new();
        dump(&txn, PROCESSED, &mut out);
        dump(&txn, HISTORY, &mut out);
        dump(&txn, HISTORY_ORDER, &mut out);
        dump(&txn, HISTORY_BY_CHAT, &mut out);
        dump(&txn, LOGS, &mut out);
        dump(&txn, OUTBOX, &mut out);
        dump(&txn, OUTBOX_ORDER, &mut out);
        dump(&txn, CONTACTS, &mut out);
        dump(&txn, LIDS, &mut out);
        dump(&txn, PLUGIN_KV, &mut out);
        dump(&txn, SETTINGS, &mut out);
        dump(&txn, INBOX, &mut out);
        dump(&txn, SPOOL, &mut out);
        out
    }

    fn table_names(db: &Database) -> Vec<String> {
        let txn = db.begin_read().unwrap();
        let names = txn.list_tables().unwrap().map(|t| t.name().to_owned());
        let mut names: Vec<String> = names.collect();
        names.sort();
        assert_eq!(txn.list_multimap_tables().unwrap().count(), 0);
        names
    }

    #[test]
    fn copy_holds_every_table_row_for_row() {
        let dir = tempfile::tempdir().unwrap();
        let db = open(&dir.path().join("t.redb"));
        fill(&db);
        let dest = dir.path().join("copy.redb");

        let stats = db.copy_to(&dest).unwrap();

        let source_tables = table_names(&db.db);
        let source = dump_all(&db.db);
        // A table added to the database but not to these lists fails here.
        assert_eq!(source.keys().cloned().collect::<Vec<_>>(), source_tables);
        assert!(source.values().all(|rows| !rows.is_empty()), "{source:?}");
        let copy = Database::open(&dest).unwrap();
        assert_eq!(table_names(&copy), source_tables);
        assert_eq!(dump_all(&copy), source);
        let rows: usize = source.values().map(Vec::len).sum();
        assert_eq!(stats.rows, rows as u64);
        assert!(stats.bytes > 0);
    }

    #[test]
    fn copy_refuses_an_existing_file_and_keeps_it() {
        let dir = tempfile::tempdir().unwrap();
        let db = open(&dir.path().join("t.redb"));
        let dest = dir.path().join("copy.redb");
        std::fs::write(&dest, b"keep me").unwrap();

        assert!(matches!(db.copy_to(&dest), Err(StoreError::Io { .. })));
        assert_eq!(std::fs::read(&dest).unwrap(), b"keep me");
    }

    #[test]
    fn copy_commits_in_batches() {
        let dir = tempfile::tempdir().unwrap();
        let db = open(&dir.path().join("t.redb"));
        let big = vec![7u8; 1 << 20];
        let kv: Vec<KvWrite> = (0..70)
            .map(|n| KvWrite::Set("p".into(), format!("k{n:03}"), big.clone()))
            .collect();
        db.complete(&Completion {
            kv,
            ..Completion::default()
        })
        .unwrap();
        let dest = dir.path().join("copy.redb");

        let stats = db.copy_to(&dest).unwrap();

        assert!(stats.bytes > BATCH_BYTES, "{stats:?}");
        let copy = Database::open(&dest).unwrap();
        assert_eq!(dump_all(&copy), dump_all(&db.db));
    }

    /// Each write puts one row into three tables in one transaction: a torn copy would
    /// show the tables at different counts.
    fn writer(db: Arc<TenantDb>, done: Arc<AtomicU64>) -> std::thread::JoinHandle<()> {
        std::thread::spawn(move || {
            for n in 0..200u64 {
                let set = KvWrite::Set("w".into(), format!("w{n:03}"), vec![1]);
                let c = Completion {
                    replies: vec![reply(&format!("w{n:03}"))],
                    kv: vec![set],
                    ..Completion::default()
                };
                db.complete(&c).unwrap();
                done.store(n + 1, Ordering::SeqCst);
            }
        })
    }

    #[test]
    fn copy_is_one_snapshot_while_writes_commit() {
        let dir = tempfile::tempdir().unwrap();
        let db = Arc::new(open(&dir.path().join("t.redb")));
        let kv: Vec<KvWrite> = (0..10_000)
            .map(|n| KvWrite::Set("base".into(), format!("{n:05}"), vec![2; 64]))
            .collect();
        db.complete(&Completion {
            kv,
            ..Completion::default()
        })
        .unwrap();
        let done = Arc::new(AtomicU64::new(0));
        let handle = writer(Arc::clone(&db), Arc::clone(&done));
        while done.load(Ordering::SeqCst) == 0 {
            std::thread::yield_now();
        }
        let dest = dir.path().join("copy.redb");

        let stats = db.copy_to(&dest).unwrap();
        let during = done.load(Ordering::SeqCst);
        handle.join().unwrap();

        let copy = dump_all(&Database::open(&dest).unwrap());
        let written: Vec<Vec<u8>> = copy["outbox"].iter().map(|(k, _)| k.clone()).collect();
        let k = written.len();
        let prefix: Vec<Vec<u8>> = (0..k).map(|n| format!("w{n:03}").into_bytes()).collect();
        assert_eq!(
            written, prefix,
            "the copy holds the first {k} writes, in full"
        );
        assert_eq!(copy["outbox_order"].len(), k);
        assert_eq!(copy["plugin_kv"].len(), 10_000 + k);
        assert_eq!(stats.rows, (10_000 + 3 * k) as u64);
        assert!(k >= 1);
        assert!(
            during > k as u64,
            "writes committed while the copy ran: {during} > {k}"
        );
        assert_eq!(
            db.pending_outbox().unwrap().len(),
            200,
            "the live tenant lost nothing"
        );
    }
}

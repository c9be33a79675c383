//! Backup benchmark (prints figures; asserts nothing).
//!
//! `cargo bench --bench backup` builds one tenant, `loja`, with 100 000 history rows
//! (pt-BR texts of 20–300 characters from about 1 000 contacts, their contact rows,
//! some log rows) and a fake browser profile of 50 MiB (many small files and a few
//! large ones, half random bytes), then measures:
//! - `backup::take` without sessions (no browser here), three times: time, archive
//!   size, database and profile sizes, rows per second; min and median;
//! - the reply latency of the client pipeline (a `!ping` dispatched → its `SendText`
//!   handed to a stand-in session) at 20 messages per second from distinct contacts,
//!   for 10 s with no backup, then for 10 s with backups from 2 s in (one after another
//!   until the end: one takes about a second, too few messages for a p99); p50, p99
//!   and max of each, the latter over the messages sent while a backup ran.
//!
//! `ORBITBOT_BENCH_ROWS=20000 ORBITBOT_BENCH_PROFILE_MB=10 ORBITBOT_BENCH_PING_SECS=4`
//! shorten a run.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::collections::{HashMap, HashSet};
use std::io::Write;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use orbitbot::backup;
use orbitbot::bridge::event::{BridgeEvent, InboundMessage};
use orbitbot::client::catalog::Catalog;
use orbitbot::client::{Outlet, Pipeline, reply_id};
use orbitbot::config::Config;
use orbitbot::session::{Command, SessionEvent};
use orbitbot::store::{Arrival, HistoryEntry, LogRecord, MediaRef, Sighting, Store};
use orbitbot::tenant::TenantId;
use serde_json::json;
use tokio::sync::mpsc;
use tokio::time::MissedTickBehavior;

/// The tenant's own number.
const ACCOUNT: &str = "5511999990010";
/// History rows written per `TenantDb::receive` call (one transaction).
const BATCH: usize = 5_000;
/// Distinct contacts in the history.
const CONTACTS: usize = 1_000;
/// Log rows (the tenant keeps 10 000 at most).
const LOG_ROWS: u64 = 3_000;
/// Backups measured.
const REPEATS: usize = 3;
/// `!ping` messages per second in the latency runs.
const PINGS_PER_SEC: u64 = 20;
/// When the backup starts in the second latency run.
const BACKUP_AFTER: Duration = Duration::from_secs(2);

const COMMANDS: &str = "[[command]]\nname = \"ping\"\nhelp = \"Teste\"\nreply = \"pong\"\n";

const WORDS: &[&str] = &[
    "olá",
    "bom",
    "dia",
    "boa",
    "tarde",
    "noite",
    "pedido",
    "entrega",
    "quanto",
    "custa",
    "o",
    "a",
    "de",
    "do",
    "da",
    "para",
    "com",
    "você",
    "vocês",
    "amanhã",
    "hoje",
    "cardápio",
    "preço",
    "pix",
    "cartão",
    "obrigado",
    "obrigada",
    "por",
    "favor",
    "confirmar",
    "endereço",
    "rua",
    "número",
    "horário",
    "aberto",
    "fechado",
    "promoção",
    "frete",
    "grátis",
    "tamanho",
    "cor",
    "disponível",
    "estoque",
    "chegou",
    "ainda",
    "não",
    "sim",
    "quero",
    "gostaria",
    "saber",
    "se",
    "tem",
    "pode",
    "mandar",
    "foto",
    "valor",
    "total",
    "desconto",
    "troca",
    "devolução",
    "prazo",
    "dias",
    "úteis",
    "semana",
    "sábado",
    "domingo",
    "loja",
    "retirar",
    "no",
    "local",
    "aguardo",
    "retorno",
    "tudo",
    "certo",
    "beleza",
    "combinado",
    "até",
    "mais",
    "tchau",
    "é",
    "que",
    "um",
    "uma",
    "meu",
    "minha",
    "já",
    "paguei",
    "comprovante",
    "segue",
    "entregador",
    "atrasou",
    "cadê",
    "vocês",
    "fazem",
    "encomenda",
    "bolo",
    "chocolate",
    "morango",
    "salgados",
    "cento",
    "festa",
    "aniversário",
    "sexta-feira",
    "às",
    "horas",
];
const FIRST: &[&str] = &[
    "Ana",
    "João",
    "Maria",
    "José",
    "Francisca",
    "Antônio",
    "Adriana",
    "Carlos",
    "Juliana",
    "Paulo",
    "Márcia",
    "Lucas",
    "Fernanda",
    "Pedro",
    "Patrícia",
    "Rafael",
    "Aline",
    "Bruno",
    "Camila",
    "Thiago",
    "Letícia",
    "Gabriel",
    "Beatriz",
    "Rodrigo",
    "Luíza",
    "Mateus",
];
const LAST: &[&str] = &[
    "Silva",
    "Santos",
    "Oliveira",
    "Souza",
    "Rodrigues",
    "Ferreira",
    "Alves",
    "Pereira",
    "Lima",
    "Gomes",
    "Costa",
    "Ribeiro",
    "Martins",
    "Carvalho",
    "Araújo",
    "Melo",
    "Barbosa",
    "Conceição",
];
const DDD: &[u32] = &[11, 21, 31, 41, 47, 48, 51, 61, 62, 71, 81, 85, 91, 92];

struct Bench {
    _dir: tempfile::TempDir,
    config: Arc<Config>,
    store: Arc<Store>,
    id: TenantId,
}

struct Person {
    /// `<phone>@c.us`.
    chat: String,
    /// The address it writes from: its LID for about one in ten, else `chat`.
    address: String,
    phone: String,
    name: String,
}

fn env_num(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(default)
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

fn now_ms() -> u64 {
    u64::try_from(jiff::Timestamp::now().as_millisecond()).unwrap()
}

/// A temp data folder with a config, the `!ping` command, the store and tenant `loja`.
fn setup() -> Bench {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("commands")).unwrap();
    std::fs::write(dir.path().join("commands/bench.toml"), COMMANDS).unwrap();
    let text = "[admin]\noperators = [\"5511999990000\"]\n\
                [whatsapp]\nurl = \"http://127.0.0.1:9\"\nengine = \"simulator\"\n\
                chromium = \"/bin/false\"\nchromedriver = \"/bin/false\"\n\
                [limits]\nmin_gap_ms = 0\n";
    std::fs::write(dir.path().join("admin.toml"), text).unwrap();
    let config = Arc::new(Config::load(&dir.path().join("admin.toml")).unwrap());
    let store = Arc::new(Store::open(&config.paths.data).unwrap());
    let id = TenantId::parse("loja").unwrap();
    store.create_tenant(&id, now_ms()).unwrap();
    store
        .control()
        .set_phone(&id, Some(ACCOUNT.to_owned()))
        .unwrap();
    Bench {
        _dir: dir,
        config,
        store,
        id,
    }
}

/// A pt-BR text of 20 to 300 characters.
fn text(rng: &mut fastrand::Rng) -> String {
    let target = rng.usize(20..=300);
    let mut out = String::with_capacity(target + 16);
    while out.chars().count() < target {
        if !out.is_empty() {
            out.push_str(match rng.u8(..20) {
                0 => ", ",
                1 => ". ",
                2 => "? ",
                _ => " ",
            });
        }
        out.push_str(WORDS[rng.usize(..WORDS.len())]);
    }
    let mut cut: String = out.chars().take(target).collect();
    if let Some(first) = cut.chars().next() {
        let upper: String = first.to_uppercase().collect();
        cut.replace_range(..first.len_utf8(), &upper);
    }
    cut
}

fn people(rng: &mut fastrand::Rng) -> Vec<Person> {
    let mut phones = HashSet::new();
    let mut out = Vec::with_capacity(CONTACTS);
    while out.len() < CONTACTS {
        let ddd = DDD[rng.usize(..DDD.len())];
        let phone = format!("55{ddd}9{:08}", rng.u32(..100_000_000));
        if !phones.insert(phone.clone()) {
            continue;
        }
        let chat = format!("{phone}@c.us");
        let address = match rng.u8(..10) {
            0 => format!(
                "{:015}@lid",
                rng.u64(100_000_000_000_000..1_000_000_000_000_000)
            ),
            _ => chat.clone(),
        };
        let name = format!(
            "{} {}",
            FIRST[rng.usize(..FIRST.len())],
            LAST[rng.usize(..LAST.len())]
        );
        out.push(Person {
            chat,
            address,
            phone,
            name,
        });
    }
    out
}

/// One history row (and its sender) about `person`, sent at `t_ms`.
fn arrival(rng: &mut fastrand::Rng, i: usize, person: &Person, t_ms: u64) -> Arrival {
    let from_me = rng.u8(..100) < 35;
    let (kind, text, media) = match rng.u8(..100) {
        0..85 => ("chat", Some(text(rng)), None),
        85..93 => {
            let caption = rng.bool().then(|| text(rng));
            let media = MediaRef {
                mimetype: "image/jpeg".into(),
                filename: None,
                size: Some(rng.u64(20_000..400_000)),
                stored_at: None,
            };
            ("image", caption, Some(media))
        }
        93..98 => {
            let media = MediaRef {
                mimetype: "audio/ogg; codecs=opus".into(),
                filename: None,
                size: Some(rng.u64(5_000..200_000)),
                stored_at: None,
            };
            ("ptt", Some(text(rng)), Some(media))
        }
        _ => {
            let media = MediaRef {
                mimetype: "application/pdf".into(),
                filename: Some(format!("pedido-{}.pdf", rng.u32(1_000..99_999))),
                size: Some(rng.u64(30_000..2_000_000)),
                stored_at: None,
            };
            ("document", None, Some(media))
        }
    };
    let (chat, from, sender) = match from_me {
        true => (person.chat.clone(), format!("{ACCOUNT}@c.us"), None),
        false => {
            let sighting = Sighting {
                address: person.address.clone(),
                name: Some(person.name.clone()),
                phone: person
                    .address
                    .ends_with("@lid")
                    .then(|| person.phone.clone()),
            };
            (
                person.address.clone(),
                person.address.clone(),
                Some(sighting),
            )
        }
    };
    let id = match from_me {
        true => format!("3EB0{i:08X}{:08X}", rng.u32(..)),
        false => format!("3A{i:08X}{:010X}", rng.u64(..1 << 40)),
    };
    let entry = HistoryEntry {
        id,
        chat,
        from,
        from_me,
        kind: kind.into(),
        text,
        media,
        t_ms,
        ack: if from_me { 3 } else { 0 },
        edited: false,
        revoked: false,
        truncated: false,
    };
    Arrival {
        entry,
        sender,
        job: None,
    }
}

/// Writes `rows` history rows and some log rows into the tenant's database.
fn fill_history(bench: &Bench, rows: usize, rng: &mut fastrand::Rng) -> Duration {
    let started = Instant::now();
    let db = bench.store.tenant(&bench.id).unwrap();
    let people = people(rng);
    let span_ms: u64 = 180 * 24 * 3_600 * 1_000;
    let first_ms = now_ms() - span_ms;
    let mut batch = Vec::with_capacity(BATCH);
    for i in 0..rows {
        // Skewed: a few contacts write much more than most.
        let who = ((rng.f64().powi(2)) * CONTACTS as f64) as usize;
        let t_ms = first_ms + (i as u64) * span_ms / rows.max(1) as u64;
        batch.push(arrival(rng, i, &people[who.min(CONTACTS - 1)], t_ms));
        if batch.len() == BATCH || i + 1 == rows {
            db.receive(std::mem::take(&mut batch), &[], now_ms())
                .unwrap();
        }
    }
    let mut logs = Vec::new();
    for n in 0..LOG_ROWS {
        let person = &people[rng.usize(..CONTACTS)];
        let message = match n % 3 {
            0 => format!(
                "resposta enviada to={} id=3EB0{:016X}",
                person.chat,
                rng.u64(..)
            ),
            1 => format!("mensagem recebida from={} kind=chat", person.chat),
            _ => format!("comando !ping de {} respondido em 4 ms", person.phone),
        };
        logs.push(LogRecord {
            t_ms: first_ms + n * span_ms / LOG_ROWS,
            level: if n % 50 == 0 { "WARN" } else { "INFO" }.into(),
            target: "orbitbot::client::worker".into(),
            message,
        });
        if logs.len() == 500 {
            db.append_logs(&std::mem::take(&mut logs)).unwrap();
        }
    }
    if !logs.is_empty() {
        db.append_logs(&logs).unwrap();
    }
    started.elapsed()
}

/// `len` random-ish bytes: 4 KiB blocks, about half random, half repeated text (a
/// Chromium profile is part compressed data, part plain records).
fn blob(rng: &mut fastrand::Rng, len: usize) -> Vec<u8> {
    const PLAIN: &[u8] = b"{\"key\":\"web.whatsapp.com\",\"value\":{\"id\":\"false_5511@c.us\",\
                           \"t\":1735689600,\"ack\":3}}\n";
    let mut out = Vec::with_capacity(len);
    while out.len() < len {
        let block = (len - out.len()).min(4_096);
        match rng.bool() {
            true => out.extend((0..block).map(|_| rng.u8(..))),
            false => out.extend(PLAIN.iter().cycle().take(block)),
        }
    }
    out
}

/// A fake browser profile of about `total` bytes: 30 % in files of 1–32 KiB under
/// Chromium-like folders, 70 % in six large files. Returns its size and file count.
fn make_profile(root: &Path, total: u64, rng: &mut fastrand::Rng) -> (u64, usize) {
    const FOLDERS: &[&str] = &[
        "Default/IndexedDB/https_web.whatsapp.com_0.indexeddb.leveldb",
        "Default/IndexedDB/https_web.whatsapp.com_0.indexeddb.blob/1/00",
        "Default/Service Worker/CacheStorage/5e1d7d2c0f1f",
        "Default/Service Worker/ScriptCache",
        "Default/Local Storage/leveldb",
        "Default/Cache/Cache_Data",
        "Default/Code Cache/js",
        "Default/Code Cache/wasm",
        "Default/GPUCache",
    ];
    let (mut bytes, mut files) = (0u64, 0usize);
    let mut write = |path: &Path, data: &[u8]| {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        let mut file = std::fs::File::create(path).unwrap();
        file.write_all(data).unwrap();
        bytes += data.len() as u64;
        files += 1;
    };
    let small_total = total * 3 / 10;
    let mut small = 0u64;
    let mut n = 0usize;
    while small < small_total {
        let len = rng.usize(1_024..=32 * 1_024);
        let folder = FOLDERS[rng.usize(..FOLDERS.len())];
        write(
            &root.join(folder).join(format!("{n:06x}_0")),
            &blob(rng, len),
        );
        small += len as u64;
        n += 1;
    }
    let large = usize::try_from(total.saturating_sub(small) / 6).unwrap();
    for k in 0..6 {
        let folder = FOLDERS[k % 3];
        write(
            &root.join(folder).join(format!("{:06}.ldb", 100 + k)),
            &blob(rng, large),
        );
    }
    (bytes, files)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let at = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[at.min(sorted.len() - 1)]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1_000.0
}

/// Stands in for the sessions: notes when each `SendText` is handed over, and reports
/// it done (as a session would) through `done`.
struct TimedOutlet {
    handed: Arc<Mutex<HashMap<String, Instant>>>,
    done: mpsc::UnboundedSender<(TenantId, String)>,
}

impl Outlet for TimedOutlet {
    fn send(&self, tenant: &TenantId, command: Command) -> bool {
        if let Command::SendText { id, .. } = command {
            let at = Instant::now();
            self.handed.lock().unwrap().insert(id.clone(), at);
            let _ = self.done.send((tenant.clone(), id));
        }
        true
    }
}

/// One latency run: every reply's latency, sorted, and those of the messages sent
/// while a backup ran; the backups taken (archive size, time).
struct Latencies {
    all: Vec<Duration>,
    during: Vec<Duration>,
    backups: Vec<(u64, Duration)>,
}

fn ping(tenant: &TenantId, msg_id: &str, from: &str) -> SessionEvent {
    let now = jiff::Timestamp::now().as_second();
    let value = json!({
        "id": msg_id,
        "chatId": from,
        "from": from,
        "to": format!("{ACCOUNT}@c.us"),
        "fromMe": false,
        "isGroup": false,
        "type": "chat",
        "text": "!ping",
        "t": now,
        "pushName": "Cliente",
        "mentions": [],
        "hasMedia": false,
        "isNew": true,
    });
    let msg: InboundMessage = serde_json::from_value(value).unwrap();
    SessionEvent::Inbound {
        tenant: tenant.clone(),
        event: BridgeEvent::Message(Box::new(msg)),
    }
}

/// Backups taken one after another, in another task, until `until` (each archive
/// removed once written: names carry the second); the time window of each, and its
/// size.
fn backups_until(
    bench: &Bench,
    until: Instant,
) -> tokio::task::JoinHandle<Vec<(Instant, Instant, u64)>> {
    let (config, store, id) = (
        Arc::clone(&bench.config),
        Arc::clone(&bench.store),
        bench.id.clone(),
    );
    tokio::spawn(async move {
        let mut windows = Vec::new();
        loop {
            let begin = Instant::now();
            let taken = backup::take(&config, &store, None, &id, None)
                .await
                .unwrap();
            windows.push((begin, Instant::now(), taken.size));
            let path = backup::tenant_dir(&config.paths.backups, &id).join(&taken.name);
            std::fs::remove_file(path).unwrap();
            if Instant::now() >= until {
                return windows;
            }
        }
    })
}

/// Sends `!ping` at 20/s from distinct contacts for `secs` and times each reply; with
/// `with_backup`, backups run back to back from 2 s in until the end (the last one
/// finishing, messages still flowing).
async fn latency_run(
    bench: &Bench,
    pipeline: &Pipeline,
    handed: &Mutex<HashMap<String, Instant>>,
    run: u32,
    secs: u64,
    with_backup: bool,
) -> Latencies {
    let mut sent: Vec<(String, Instant)> = Vec::new();
    let mut tick = tokio::time::interval(Duration::from_millis(1_000 / PINGS_PER_SEC));
    tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut task: Option<tokio::task::JoinHandle<Vec<(Instant, Instant, u64)>>> = None;
    let started = Instant::now();
    let end = started + Duration::from_secs(secs);
    for k in 0u64.. {
        tick.tick().await;
        if with_backup && task.is_none() && started.elapsed() >= BACKUP_AFTER {
            task = Some(backups_until(bench, end));
        }
        let running = task.as_ref().is_some_and(|t| !t.is_finished());
        if Instant::now() >= end && !running {
            break;
        }
        let msg_id = format!("3A{run:02X}{k:06X}{:010X}", fastrand::u64(..1 << 40));
        let from = format!("55{}9{run}{k:07}@c.us", DDD[(k as usize) % DDD.len()]);
        let reply = reply_id(&bench.id, &msg_id, 0);
        let at = Instant::now();
        pipeline.dispatch(ping(&bench.id, &msg_id, &from));
        sent.push((reply, at));
    }
    // Every reply in, or a minute at most.
    let wait = Instant::now();
    while wait.elapsed() < Duration::from_secs(60) {
        let all_in = {
            let map = handed.lock().unwrap();
            sent.iter().all(|(id, _)| map.contains_key(id))
        };
        if all_in {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let windows = match task {
        Some(task) => task.await.unwrap(),
        None => Vec::new(),
    };
    let map = handed.lock().unwrap();
    let (mut all, mut during) = (Vec::new(), Vec::new());
    let mut missing = 0;
    for (id, at) in &sent {
        let Some(done) = map.get(id) else {
            missing += 1;
            continue;
        };
        let latency = done.duration_since(*at);
        all.push(latency);
        if windows
            .iter()
            .any(|(begin, end, _)| at >= begin && at <= end)
        {
            during.push(latency);
        }
    }
    if missing > 0 {
        println!("  ({missing} of {} replies never came)", sent.len());
    }
    all.sort();
    during.sort();
    Latencies {
        all,
        during,
        backups: windows
            .into_iter()
            .map(|(begin, end, size)| (size, end - begin))
            .collect(),
    }
}

fn triple(sorted: &[Duration]) -> String {
    format!(
        "{:.1}/{:.1}/{:.1}",
        ms(percentile(sorted, 0.5)),
        ms(percentile(sorted, 0.99)),
        ms(sorted.last().copied().unwrap_or_default())
    )
}

async fn run() {
    let rows = usize::try_from(env_num("ORBITBOT_BENCH_ROWS", 100_000)).unwrap();
    let profile_mb = env_num("ORBITBOT_BENCH_PROFILE_MB", 50);
    let ping_secs = env_num("ORBITBOT_BENCH_PING_SECS", 10);
    let mut rng = fastrand::Rng::with_seed(7);
    let bench = setup();
    println!(
        "backup benchmark: tenant loja, {rows} history rows, {profile_mb} MiB profile, \
         {} cores",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );

    let filled = fill_history(&bench, rows, &mut rng);
    let db_bytes = std::fs::metadata(bench.store.tenant_db_path(&bench.id))
        .unwrap()
        .len();
    println!(
        "  history written         {rows} rows in {:.1} s ({:.0} rows/s, batches of {BATCH}); \
         db file {:.1} MiB",
        filled.as_secs_f64(),
        rows as f64 / filled.as_secs_f64(),
        mib(db_bytes)
    );
    let profile = bench.config.paths.tokens.join("loja").join("profile");
    let (profile_bytes, profile_files) = make_profile(&profile, profile_mb << 20, &mut rng);
    println!(
        "  profile written         {profile_files} files, {:.1} MiB",
        mib(profile_bytes)
    );

    let mut took = Vec::new();
    let mut sizes = Vec::new();
    let mut copy_bytes = 0;
    for n in 1..=REPEATS {
        let started = Instant::now();
        let taken = backup::take(&bench.config, &bench.store, None, &bench.id, None)
            .await
            .unwrap();
        let wall = started.elapsed();
        // Outside the timing: the archive verified (what a restore does first), then
        // removed (names carry the second: the next one would clash).
        let path = backup::tenant_dir(&bench.config.paths.backups, &bench.id).join(&taken.name);
        let checked = Instant::now();
        let manifest = backup::verify(&path).unwrap();
        let verified = checked.elapsed();
        let db_copy = manifest
            .entries
            .iter()
            .find(|e| e.path == backup::DB_ENTRY)
            .map_or(0, |e| e.size);
        std::fs::remove_file(&path).unwrap();
        copy_bytes = db_copy;
        println!(
            "  backup {n}                {:.2} s (db part {:.2} s, profile {:.2} s) → {:.1} MiB, \
             {:.0} rows/s; db copy {:.1} MiB; verify {:.2} s",
            wall.as_secs_f64(),
            (taken.took - taken.paused).as_secs_f64(),
            taken.paused.as_secs_f64(),
            mib(taken.size),
            rows as f64 / wall.as_secs_f64(),
            mib(db_copy),
            verified.as_secs_f64()
        );
        took.push(wall);
        sizes.push(taken.size);
    }
    took.sort();
    let median = took[took.len() / 2];
    let archive = sizes[sizes.len() / 2];
    println!(
        "  backup time             min {:.2} s, median {:.2} s of {REPEATS}; archive {:.1} MiB \
         ({:.0} % of db + profile)",
        took[0].as_secs_f64(),
        median.as_secs_f64(),
        mib(archive),
        archive as f64 * 100.0 / (db_bytes + profile_bytes) as f64
    );

    // The client pipeline with a stand-in session.
    let handed = Arc::new(Mutex::new(HashMap::new()));
    let (done_tx, mut done_rx) = mpsc::unbounded_channel();
    let outlet: Arc<dyn Outlet> = Arc::new(TimedOutlet {
        handed: Arc::clone(&handed),
        done: done_tx,
    });
    let catalog = Catalog::load(&bench.config.paths.commands).unwrap();
    let pipeline = Arc::new(Pipeline::new(
        Arc::clone(&bench.config),
        Arc::clone(&bench.store),
        outlet,
        catalog,
        None,
    ));
    let feedback = Arc::clone(&pipeline);
    let pump = tokio::spawn(async move {
        while let Some((tenant, id)) = done_rx.recv().await {
            feedback.dispatch(SessionEvent::SendDone {
                tenant,
                id,
                result: Ok(()),
                unsent: false,
            });
        }
    });
    pipeline.dispatch(SessionEvent::Online {
        tenant: bench.id.clone(),
        me: Some(format!("{ACCOUNT}@c.us")),
        lid: None,
    });
    // Warm-up: the worker starts and the first transactions are done.
    let _ = latency_run(&bench, &pipeline, &handed, 0, 1, false).await;
    let idle = latency_run(&bench, &pipeline, &handed, 1, ping_secs, false).await;
    let busy = latency_run(&bench, &pipeline, &handed, 2, ping_secs, true).await;
    println!(
        "  reply latency, idle     p50/p99/max {} ms ({} messages)",
        triple(&idle.all),
        idle.all.len()
    );
    let mut times: Vec<Duration> = busy.backups.iter().map(|b| b.1).collect();
    times.sort();
    println!(
        "  reply latency, backups  p50/p99/max {} ms ({} messages sent during {} backups back \
         to back, median {:.2} s each, {:.1} MiB); whole run {} ms",
        triple(&busy.during),
        busy.during.len(),
        times.len(),
        percentile(&times, 0.5).as_secs_f64(),
        mib(busy.backups.first().map_or(0, |b| b.0)),
        triple(&busy.all)
    );
    pump.abort();

    let p50 = |l: &[Duration]| ms(percentile(l, 0.5));
    let p99 = |l: &[Duration]| ms(percentile(l, 0.99));
    println!();
    println!(
        "rows {rows} · db {:.1} MiB (copy {:.1} MiB) · profile {:.1} MiB → archive {:.1} MiB \
         in {:.2} s (median of {REPEATS})",
        mib(db_bytes),
        mib(copy_bytes),
        mib(profile_bytes),
        mib(archive),
        median.as_secs_f64()
    );
    println!(
        "reply latency p50/p99/max: idle {} ms · during backups {} ms (×{:.1} p50, ×{:.1} p99)",
        triple(&idle.all),
        triple(&busy.during),
        p50(&busy.during) / p50(&idle.all),
        p99(&busy.during) / p99(&idle.all)
    );
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(run());
}

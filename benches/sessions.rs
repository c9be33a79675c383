//! Session engine benchmark on the simulator (prints figures; asserts nothing).
//!
//! `cargo bench --bench sessions` measures, for 1, 10 and 20 sessions:
//! - the PSS of each session's chromedriver + Chromium tree (from
//!   `/proc/<pid>/smaps_rollup`), and of a bare Chromium on a blank page started beside
//!   them (PSS splits shared pages among every process using them), with the ratio;
//! - this process's RSS (orbitbot's session code plus the in-process simulator);
//! - start → first QR event;
//! - simulator message → Rust event latency (p50, p99);
//!
//! and a small soak (F14): 5 sessions stopped and started again 10 times, with the
//! RSS before and after and the browser processes left over.
//!
//! `ORBITBOT_BENCH_SIZES=1,5` and `ORBITBOT_BENCH_CYCLES=3` shorten a run.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use orbitbot::bridge::event::BridgeEvent;
use orbitbot::bridge::{Browser, BrowserOptions, group};
use orbitbot::config::Config;
use orbitbot::session::process::ProfilePaths;
use orbitbot::session::{SessionEvent, Sessions};
use orbitbot::sim::Simulator;
use orbitbot::store::Store;
use orbitbot::tenant::{SessionState, TenantId};
use serde_json::{Value, json};
use tokio::sync::mpsc;

struct Bench {
    _dir: tempfile::TempDir,
    sim: Simulator,
    http: reqwest::Client,
    config: Arc<Config>,
    store: Arc<Store>,
    sessions: Sessions,
    events: mpsc::Receiver<SessionEvent>,
}

impl Bench {
    async fn new() -> Bench {
        let sim = Simulator::start("127.0.0.1:0".parse().unwrap())
            .await
            .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let text = format!(
            "[admin]\noperators = [\"5511999990000\"]\n[whatsapp]\nurl = \"{}\"\n\
             engine = \"simulator\"\n[limits]\nmin_gap_ms = 50\ntyping_ms_per_char = 0\n",
            sim.url()
        );
        std::fs::write(dir.path().join("admin.toml"), text).unwrap();
        let config = Arc::new(Config::load(&dir.path().join("admin.toml")).unwrap());
        let store = Arc::new(Store::open(&config.paths.data).unwrap());
        let (tx, events) = mpsc::channel(4_096);
        let sessions = Sessions::new(Arc::clone(&config), Arc::clone(&store), tx).unwrap();
        Bench {
            _dir: dir,
            sim,
            http: reqwest::Client::new(),
            config,
            store,
            sessions,
            events,
        }
    }

    async fn post(&self, path: &str, body: Value) -> Value {
        let url = format!("http://{}{path}", self.sim.addr());
        let res = self.http.post(url).json(&body).send().await.unwrap();
        assert!(res.status().is_success(), "{path}");
        res.json().await.unwrap()
    }

    async fn next(&mut self) -> SessionEvent {
        let got = tokio::time::timeout(Duration::from_secs(120), self.events.recv()).await;
        got.expect("an event in time").expect("the channel open")
    }

    fn pgid(&self, id: &TenantId) -> u32 {
        let paths = ProfilePaths::new(&self.config.paths.tokens, &self.config.paths.data, id);
        let text = std::fs::read_to_string(paths.pgid_file).unwrap();
        text.split_whitespace().next().unwrap().parse().unwrap()
    }
}

fn phone(i: usize) -> String {
    format!("55119{i:08}")
}

/// Proportional set size of every process of a group, in KiB.
fn group_pss_kib(pgid: u32) -> u64 {
    group::members(pgid)
        .into_iter()
        .filter_map(|pid| std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup")).ok())
        .filter_map(|text| field_kib(&text, "Pss:"))
        .sum()
}

fn field_kib(text: &str, name: &str) -> Option<u64> {
    let line = text.lines().find(|l| l.starts_with(name))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn own_rss_kib() -> u64 {
    field_kib(
        &std::fs::read_to_string("/proc/self/status").unwrap(),
        "VmRSS:",
    )
    .unwrap_or(0)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let at = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[at.min(sorted.len() - 1)]
}

fn ms(d: Duration) -> String {
    format!("{:.0} ms", d.as_secs_f64() * 1_000.0)
}

/// A bare Chromium (same flags, fresh profile) on a blank page, running beside the
/// sessions so that shared pages are split the same way.
async fn bare_chromium() -> (Browser, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let options = BrowserOptions::new(dir.path().join("profile"));
    let browser = Browser::launch(&options).await.unwrap();
    browser.goto("about:blank").await.unwrap();
    (browser, dir)
}

/// Starts `n` sessions, links them and prints their figures.
async fn sessions_figures(n: usize) {
    let mut bench = Bench::new().await;
    let rss_before = own_rss_kib();
    let mut tenants = Vec::new();
    let started = Instant::now();
    for i in 0..n {
        bench
            .post("/sim/phones", json!({ "phone": phone(i) }))
            .await;
        let id = TenantId::parse(&format!("cliente{i}")).unwrap();
        bench.store.create_tenant(&id, 1).unwrap();
        bench.sessions.start(&id);
        tenants.push(id);
    }
    let mut first_qr = Vec::new();
    let mut seen_qr = std::collections::HashSet::new();
    let mut online = 0;
    while online < n {
        match bench.next().await {
            // A session restarted under load shows a new first QR: scan that one too.
            SessionEvent::Qr {
                tenant,
                code,
                seq: 1,
            } => {
                if seen_qr.insert(tenant.clone()) {
                    first_qr.push(started.elapsed());
                }
                let i = tenants.iter().position(|t| *t == tenant).unwrap();
                bench
                    .post("/sim/scan", json!({ "phone": phone(i), "code": code }))
                    .await;
            }
            SessionEvent::Online { .. } => online += 1,
            _ => {}
        }
    }
    let linked = started.elapsed();
    let (bare, _bare_dir) = bare_chromium().await;
    tokio::time::sleep(Duration::from_secs(2)).await;

    let pss: Vec<u64> = tenants
        .iter()
        .map(|id| group_pss_kib(bench.pgid(id)))
        .collect();
    let bare_kib = group_pss_kib(u32::try_from(bare.pgid()).unwrap());
    bare.close().await.unwrap();
    let mean_pss = pss.iter().sum::<u64>() / n as u64;
    let latencies = message_latencies(&mut bench, n).await;
    let rss_after = own_rss_kib();

    first_qr.sort();
    println!("sessions: {n}");
    println!(
        "  start → first QR      p50 {}  max {}",
        ms(percentile(&first_qr, 0.5)),
        ms(first_qr[n - 1])
    );
    println!("  all online after      {}", ms(linked));
    println!(
        "  PSS per session       {:.1} MiB (bare Chromium beside them {:.1} MiB, ratio {:.2})",
        mean_pss as f64 / 1024.0,
        bare_kib as f64 / 1024.0,
        mean_pss as f64 / bare_kib as f64
    );
    println!(
        "  this process RSS      {:.1} MiB → {:.1} MiB",
        rss_before as f64 / 1024.0,
        rss_after as f64 / 1024.0
    );
    println!(
        "  message → event       p50 {}  p99 {}  ({} messages)",
        ms(percentile(&latencies, 0.5)),
        ms(percentile(&latencies, 0.99)),
        latencies.len()
    );
    bench.sessions.stop_all().await;
    bench.sim.shutdown().await;
}

/// Posts messages one at a time, round robin over the sessions, and times each from the
/// post to its `chat.new_message` event in Rust.
async fn message_latencies(bench: &mut Bench, n: usize) -> Vec<Duration> {
    let sender = "5511988880000";
    bench.post("/sim/phones", json!({ "phone": sender })).await;
    let mut out = Vec::new();
    for k in 0..(n * 10).clamp(50, 200) {
        let body = format!("bench {k}");
        let sent = Instant::now();
        bench
            .post(
                "/sim/messages",
                json!({ "from": sender, "to": phone(k % n), "body": body }),
            )
            .await;
        loop {
            if let SessionEvent::Inbound {
                event: BridgeEvent::Message(m),
                ..
            } = bench.next().await
                && m.text.as_deref() == Some(body.as_str())
            {
                out.push(sent.elapsed());
                break;
            }
        }
    }
    out.sort();
    out
}

/// F14: stop and start the same sessions again and again; memory and processes must
/// not grow.
async fn soak(n: usize, cycles: usize) {
    let mut bench = Bench::new().await;
    let mut tenants = Vec::new();
    for i in 0..n {
        bench
            .post("/sim/phones", json!({ "phone": phone(i) }))
            .await;
        let id = TenantId::parse(&format!("soak{i}")).unwrap();
        bench.store.create_tenant(&id, 1).unwrap();
        tenants.push(id);
    }
    let mut rss = Vec::new();
    for cycle in 0..cycles {
        for id in &tenants {
            bench.sessions.start(id);
        }
        let mut waiting = n;
        while waiting > 0 {
            match bench.next().await {
                SessionEvent::Qr {
                    tenant,
                    code,
                    seq: 1,
                } if cycle == 0 => {
                    let i = tenants.iter().position(|t| *t == tenant).unwrap();
                    bench
                        .post("/sim/scan", json!({ "phone": phone(i), "code": code }))
                        .await;
                }
                SessionEvent::Online { .. } => waiting -= 1,
                _ => {}
            }
        }
        bench.sessions.stop_all().await;
        while bench.events.try_recv().is_ok() {}
        rss.push(own_rss_kib());
    }
    let stopped = tenants
        .iter()
        .filter(|id| {
            bench.store.control().tenant(id).unwrap().unwrap().state == SessionState::Stopped
        })
        .count();
    let tokens = bench.config.paths.tokens.display().to_string();
    let left = std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| std::fs::read(e.ok()?.path().join("cmdline")).ok())
        .filter(|cmd| String::from_utf8_lossy(cmd).contains(&tokens))
        .count();
    let warm = rss[rss.len().min(2) - 1];
    let last = *rss.last().unwrap();
    println!("soak: {n} sessions × {cycles} stop/start cycles");
    println!(
        "  RSS after warm-up {:.1} MiB, at the end {:.1} MiB ({:+.1} %)",
        warm as f64 / 1024.0,
        last as f64 / 1024.0,
        (last as f64 - warm as f64) * 100.0 / warm as f64
    );
    println!("  sessions stopped cleanly: {stopped}/{n}; browser processes left: {left}");
    bench.sim.shutdown().await;
}

fn env_list(name: &str, default: &[usize]) -> Vec<usize> {
    std::env::var(name)
        .ok()
        .map(|v| v.split(',').filter_map(|x| x.trim().parse().ok()).collect())
        .unwrap_or_else(|| default.to_vec())
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        for n in env_list("ORBITBOT_BENCH_SIZES", &[1, 10, 20]) {
            sessions_figures(n).await;
        }
        let cycles = env_list("ORBITBOT_BENCH_CYCLES", &[10])[0];
        soak(5, cycles).await;
    });
}

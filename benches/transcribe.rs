//! Transcription benchmark (prints figures; asserts nothing).
//!
//! `cargo bench --bench transcribe` makes pt-BR voice notes of about 4, 16 and 31 s at
//! run time (espeak-ng → opusenc, like WhatsApp's), then for the f16 model
//! (`models/ggml-base.bin`) and the quantized one (`models/ggml-base-q8_0.bin`):
//! - loads it: time, and resident memory before and after;
//! - decodes and transcribes each note alone (median of `ORBITBOT_BENCH_REPEATS`,
//!   default 3): seconds, real-time factor (time / audio length);
//! - transcribes two notes at once through the shared transcriber with 2 workers:
//!   wall time and the real-time factor of the pair;
//! - the peak resident memory of the process so far;
//!
//! and compares the words each model heard (the share of the f16 words the q8_0
//! transcript has too), so the faster model is kept only if it hears the same.
//! A note alone uses 2 threads; through the transcriber, each of its 2 workers gets
//! its share of the cores.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::collections::HashSet;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use orbitbot::tenant::TenantId;
use orbitbot::transcribe::decode;
use orbitbot::transcribe::model::Whisper;
use orbitbot::transcribe::pool::Transcriber;

/// A sentence of about 5 s; notes repeat it.
const SENTENCE: &str = "Bom dia, eu gostaria de saber o preço da entrega para amanhã.";

fn main() {
    let repeats: usize = std::env::var("ORBITBOT_BENCH_REPEATS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3);
    let notes: Vec<(usize, Vec<u8>)> = [1, 4, 8]
        .into_iter()
        .map(|times| (times, voice_note(&vec![SENTENCE; times].join(" "))))
        .collect();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut heard = Vec::new();
    for file in ["ggml-base.bin", "ggml-base-q8_0.bin"] {
        println!("\n== {file}");
        heard.push(run_model(&root.join("models").join(file), &notes, repeats));
    }
    let (f16, q8) = (&heard[0], &heard[1]);
    for ((a, b), (times, _)) in f16.iter().zip(q8).zip(&notes) {
        println!(
            "words in common, note x{times}: {:.0} % of the f16 words",
            100.0 * overlap(a, b)
        );
    }
}

/// Loads one model and measures it; returns what it heard in each note.
fn run_model(path: &Path, notes: &[(usize, Vec<u8>)], repeats: usize) -> Vec<String> {
    let before = rss_mib("VmRSS");
    let started = Instant::now();
    let whisper = Arc::new(Whisper::load(path).expect("run scripts/model/fetch first"));
    println!(
        "load {:.0} ms, RSS {before:.0} → {:.0} MiB",
        started.elapsed().as_secs_f64() * 1_000.0,
        rss_mib("VmRSS")
    );
    let mut heard = Vec::new();
    for (times, bytes) in notes {
        let audio = decode::decode(bytes, Some("audio/ogg"), Duration::from_secs(120)).unwrap();
        let seconds = audio.seconds();
        let mut took = Vec::new();
        let mut text = String::new();
        for _ in 0..repeats {
            let t = Instant::now();
            let again = decode::decode(bytes, Some("audio/ogg"), Duration::from_secs(120)).unwrap();
            text = whisper.transcribe(&again.samples, "pt", 2).unwrap().text;
            took.push(t.elapsed().as_secs_f64());
        }
        took.sort_by(f64::total_cmp);
        let median = took[took.len() / 2];
        println!(
            "note x{times} ({seconds:.1} s): {median:.2} s, RTF {:.2}  \"{}…\"",
            median / f64::from(seconds),
            text.chars().take(60).collect::<String>()
        );
        heard.push(text);
    }
    two_at_once(&whisper, &notes[1].1);
    println!("peak RSS so far {:.0} MiB", rss_mib("VmHWM"));
    heard
}

/// Two notes of two tenants through the transcriber with 2 workers.
fn two_at_once(whisper: &Arc<Whisper>, bytes: &[u8]) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let transcriber = Arc::new(Transcriber::start(Arc::clone(whisper), 2));
    let audio = decode::decode(bytes, Some("audio/ogg"), Duration::from_secs(120)).unwrap();
    let seconds = f64::from(audio.seconds());
    let started = Instant::now();
    runtime.block_on(async {
        let mut tasks = Vec::new();
        for name in ["loja-a", "loja-b"] {
            let (t, a) = (Arc::clone(&transcriber), audio.clone());
            let tenant = TenantId::parse(name).unwrap();
            tasks.push(tokio::spawn(
                async move { t.transcribe(&tenant, a, "pt").await },
            ));
        }
        for task in tasks {
            task.await.unwrap().unwrap();
        }
    });
    let wall = started.elapsed().as_secs_f64();
    println!(
        "two x{:.1} s notes at once: {wall:.2} s wall, RTF {:.2} for the pair",
        seconds,
        wall / (2.0 * seconds)
    );
}

/// The share of `a`'s words that `b` has too.
fn overlap(a: &str, b: &str) -> f64 {
    let words = |t: &str| -> HashSet<String> {
        t.to_lowercase()
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .map(str::to_owned)
            .collect()
    };
    let (a, b) = (words(a), words(b));
    if a.is_empty() {
        return 1.0;
    }
    a.intersection(&b).count() as f64 / a.len() as f64
}

/// A line of `/proc/self/status` (`VmRSS`, `VmHWM`) in MiB.
fn rss_mib(key: &str) -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix(key)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

/// Speech made now: espeak-ng (pt-br) then opusenc, like a WhatsApp voice note.
fn voice_note(text: &str) -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let (wav, ogg) = (dir.path().join("n.wav"), dir.path().join("n.ogg"));
    let spoke = Command::new("espeak-ng")
        .args(["-v", "pt-br", "-w"])
        .arg(&wav)
        .arg(text)
        .status()
        .expect("apt install espeak-ng");
    assert!(spoke.success());
    let encoded = Command::new("opusenc")
        .args(["--quiet", "--bitrate", "16", "--downmix-mono"])
        .arg(&wav)
        .arg(&ogg)
        .status()
        .expect("apt install opus-tools");
    assert!(encoded.success());
    std::fs::read(&ogg).unwrap()
}

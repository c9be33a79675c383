//! The real Whisper model that `scripts/model/fetch` installs in `models/`: its facts,
//! Portuguese speech made with espeak-ng transcribed by the f16 and the q8_0 files, and
//! `orbitbot model check|fetch`.

use std::path::{Path, PathBuf};
use std::process::Command;

use orbitbot::transcribe::model::{self, ModelError, SAMPLE_RATE, Whisper};

use crate::common::{orbitbot, text, write_config};

/// sha256 of `models/ggml-base.bin`, as pinned in `scripts/model/fetch`.
const F16_SHA256: &str = "c0db470711f9496ec80feedb59b0916f10a0c301218e7254a61e7d3d1890dc6d";

const SPEECH: &str = "Bom dia, eu gostaria de marcar uma consulta para amanhã.";
/// Words of [`SPEECH`] that Whisper base hears in espeak-ng's voice.
///
/// NOTE: not "consulta": espeak-ng says [kõsuwta] and base hears "o maconso tapar" with
/// the f16 and the q8_0 file alike, as does CTranslate2 running the very same weights, so
/// the model, not the conversion, misses it. Slower speech only sometimes mends it.
const HEARD: [&str; 3] = ["bom dia", "gostaria", "marcar"];

/// A model file installed by the set-up.
fn installed(name: &str) -> PathBuf {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("models")
        .join(name);
    assert!(
        path.is_file(),
        "{} is missing: run scripts/model/fetch",
        path.display()
    );
    path
}

#[test]
fn the_fetched_model_is_whisper_base_multilingual() {
    let facts = model::inspect(&installed("ggml-base.bin")).unwrap();
    assert!(facts.multilingual);
    assert_eq!(facts.n_vocab, 51_865);
    assert_eq!((facts.n_audio_layer, facts.n_text_layer), (6, 6));
    assert_eq!(facts.n_mels, 80);
    assert_eq!(facts.kind, "f16");
    assert_eq!(facts.bytes, 147_951_465);
    assert_eq!(facts.sha256, F16_SHA256);

    let quantized = model::inspect(&installed("ggml-base-q8_0.bin")).unwrap();
    assert_eq!(quantized.kind, "q8_0");
    assert!(quantized.multilingual);
    assert!(
        quantized.bytes < facts.bytes * 6 / 10,
        "{}",
        quantized.bytes
    );
}

#[test]
fn portuguese_speech_is_transcribed_by_the_f16_and_the_q8_0_model() {
    let dir = tempfile::tempdir().unwrap();
    let samples = speak(dir.path(), SPEECH);
    for name in ["ggml-base.bin", "ggml-base-q8_0.bin"] {
        let whisper = Whisper::load(&installed(name)).unwrap();
        let transcript = whisper.transcribe(&samples, "pt", 2).unwrap();
        let said = transcript.text.to_lowercase();
        eprintln!(
            "{name}: {:.1} s in {:?} (RTF {:.2}): {said}",
            transcript.audio_seconds,
            transcript.took,
            transcript.real_time_factor()
        );
        for word in HEARD {
            assert!(said.contains(word), "{name}: {word:?} in {said}");
        }
        assert_eq!(transcript.language, "pt");
        assert!(
            transcript.audio_seconds > 2.0,
            "{}",
            transcript.audio_seconds
        );
    }
}

#[test]
fn a_missing_model_is_named_with_the_fetch_command() {
    let dir = tempfile::tempdir().unwrap();
    let err = Whisper::load(&dir.path().join("ggml-base.bin")).unwrap_err();
    assert!(matches!(err, ModelError::Missing { .. }), "{err:?}");
}

#[test]
fn model_check_prints_the_facts_and_transcribes_silence() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path());
    let model = installed("ggml-base.bin");
    let out = orbitbot(
        &config,
        &["model", "check", "--model", model.to_str().unwrap()],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let shown = text(&out.stdout);
    for expected in [
        "tipo: f16",
        "vocabulário: 51865 tokens (multilíngue)",
        "camadas: 6 no codificador, 6 no decodificador",
        F16_SHA256,
        "carregado em",
        "1 s de silêncio transcrito",
    ] {
        assert!(shown.contains(expected), "{expected:?} in {shown}");
    }
    assert!(shown.ends_with("ok\n"), "{shown}");
}

#[test]
fn model_check_of_the_configured_missing_model_names_the_fetch_command() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path());
    let out = orbitbot(&config, &["model", "check"]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    let expected = dir.path().join("models/ggml-base-q8_0.bin");
    assert!(err.contains(&expected.display().to_string()), "{err}");
    assert!(err.contains("`orbitbot model fetch`"), "{err}");
}

#[test]
fn model_fetch_says_where_it_looked_for_the_script() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path());
    let out = Command::new(env!("CARGO_BIN_EXE_orbitbot"))
        .current_dir(dir.path())
        .args(["--config", "admin.toml", "model", "fetch"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(err.contains("não encontrei scripts/model/fetch"), "{err}");
    assert!(config.exists());
}

/// `text` spoken by espeak-ng's Brazilian voice, as 16 kHz mono samples.
fn speak(dir: &Path, text: &str) -> Vec<f32> {
    let wav = dir.join("speech.wav");
    let status = Command::new("espeak-ng")
        .args(["-v", "pt-br", "-w"])
        .arg(&wav)
        .arg(text)
        .status()
        .expect("espeak-ng (apt espeak-ng; scripts/setup installs it)");
    assert!(status.success());
    let (rate, samples) = read_wav(&std::fs::read(&wav).unwrap());
    resample(&samples, rate, SAMPLE_RATE)
}

/// A 16-bit PCM mono WAV file's sample rate and samples in [-1, 1].
fn read_wav(bytes: &[u8]) -> (u32, Vec<f32>) {
    assert_eq!(&bytes[..4], b"RIFF");
    assert_eq!(&bytes[8..12], b"WAVE");
    let (mut rate, mut at) = (0, 12);
    while at + 8 <= bytes.len() {
        let id = &bytes[at..at + 4];
        let len = u32::from_le_bytes(bytes[at + 4..at + 8].try_into().unwrap()) as usize;
        let body = &bytes[at + 8..(at + 8).saturating_add(len).min(bytes.len())];
        if id == b"fmt " {
            assert_eq!(u16::from_le_bytes([body[0], body[1]]), 1, "PCM");
            assert_eq!(u16::from_le_bytes([body[2], body[3]]), 1, "mono");
            assert_eq!(u16::from_le_bytes([body[14], body[15]]), 16, "16-bit");
            rate = u32::from_le_bytes(body[4..8].try_into().unwrap());
        } else if id == b"data" {
            let samples = body
                .chunks_exact(2)
                .map(|s| f32::from(i16::from_le_bytes([s[0], s[1]])) / 32_768.0)
                .collect();
            return (rate, samples);
        }
        at += 8 + len + len % 2;
    }
    panic!("no data chunk");
}

/// Linear interpolation from `from` Hz to `to` Hz (enough for speech in a test).
fn resample(samples: &[f32], from: u32, to: u32) -> Vec<f32> {
    if from == to {
        return samples.to_vec();
    }
    let out_len = (samples.len() as u64 * u64::from(to) / u64::from(from)) as usize;
    let step = f64::from(from) / f64::from(to);
    (0..out_len)
        .map(|i| {
            let pos = i as f64 * step;
            let k = pos as usize;
            let frac = (pos - k as f64) as f32;
            let a = samples[k];
            let b = *samples.get(k + 1).unwrap_or(&a);
            a + (b - a) * frac
        })
        .collect()
}

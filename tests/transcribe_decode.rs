//! Decoding real voice notes and audio files, made at test time from espeak-ng speech.

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use orbitbot::transcribe::decode::{self, Audio, DecodeError, Format, SAMPLE_RATE};

use crate::support::speech;

const PTT: Option<&str> = Some("audio/ogg; codecs=opus");
const MAX: Duration = Duration::from_secs(30);
const SENTENCE: &str = "Olá, boa tarde! Eu queria saber se a loja abre amanhã de manhã \
    e quanto custa a entrega para o centro da cidade.";

/// One spoken sentence in every format, made once for the whole module.
struct Fixtures {
    wav: Vec<u8>,
    seconds: f64,
    note: Vec<u8>,
    m4a: Vec<u8>,
    mp3: Vec<u8>,
}

fn fixtures() -> &'static Fixtures {
    static FIXTURES: OnceLock<Fixtures> = OnceLock::new();
    FIXTURES.get_or_init(|| {
        let wav = speech::speech_wav(SENTENCE);
        Fixtures {
            seconds: speech::wav_seconds(&wav),
            wav,
            note: speech::voice_note(SENTENCE),
            m4a: speech::m4a(SENTENCE),
            mp3: speech::mp3(SENTENCE),
        }
    })
}

/// `sentences` copies of the sentence: about 6 s each.
fn long_text(sentences: usize) -> String {
    vec![SENTENCE; sentences].join(" ")
}

fn decoded(bytes: &[u8], mimetype: Option<&str>) -> Audio {
    decode::decode(bytes, mimetype, MAX).unwrap()
}

#[test]
fn each_format_is_sniffed_from_its_bytes() {
    let f = fixtures();
    assert_eq!(decode::sniff(&f.note), Some(Format::OggOpus));
    assert_eq!(decode::sniff(&f.m4a), Some(Format::Mp4));
    assert_eq!(decode::sniff(&f.mp3), Some(Format::Mp3));
    assert_eq!(decode::sniff(&f.wav), Some(Format::Wav));
}

#[test]
fn each_format_decodes_to_16k_mono_of_the_spoken_length() {
    let f = fixtures();
    let cases = [
        ("voice note", &f.note, PTT),
        ("m4a", &f.m4a, Some("audio/mp4")),
        ("mp3", &f.mp3, Some("audio/mpeg")),
        ("wav", &f.wav, None),
    ];
    for (name, bytes, mimetype) in cases {
        let audio = decoded(bytes, mimetype);
        let seconds = audio.samples.len() as f64 / f64::from(SAMPLE_RATE);
        let off = (seconds - f.seconds).abs();
        eprintln!("{name}: {seconds:.3} s decoded, the WAV {:.3} s", f.seconds);
        assert!(
            off <= 0.15,
            "{name}: {seconds:.3} s, the WAV {:.3} s",
            f.seconds
        );
        assert!(
            audio.samples.iter().all(|s| (-1.0..=1.0).contains(s)),
            "{name}"
        );
    }
}

#[test]
fn each_format_follows_the_wav_energy_envelope() {
    let f = fixtures();
    let reference = envelope(&decoded(&f.wav, None));
    let others = [("voice note", &f.note), ("m4a", &f.m4a), ("mp3", &f.mp3)];
    for (name, bytes) in others {
        let other = envelope(&decoded(bytes, None));
        let similarity = best_correlation(&reference, &other);
        assert!(similarity > 0.9, "{name}: correlation {similarity:.3}");
        let level = mean(&other) / mean(&reference);
        eprintln!("{name}: envelope correlation {similarity:.3}, level ratio {level:.2}");
        assert!(
            (0.7..1.4).contains(&level),
            "{name}: level ratio {level:.2}"
        );
    }
}

#[test]
fn a_document_audio_ogg_decodes_the_same_as_the_ptt() {
    let f = fixtures();
    let ptt = decoded(&f.note, PTT);
    assert_eq!(decoded(&f.note, Some("audio/ogg")), ptt);
    assert_eq!(decoded(&f.note, Some("application/octet-stream")), ptt);
    assert_eq!(decoded(&f.note, None), ptt);
}

#[test]
fn a_damaged_voice_note_is_corrupt() {
    let note = &fixtures().note;
    let mut flipped = note.clone();
    for at in (note.len() / 3..note.len() * 2 / 3).step_by(997) {
        flipped[at] ^= 0x5A;
    }
    let err = decode::decode(&flipped, PTT, MAX).unwrap_err();
    assert!(matches!(err, DecodeError::Corrupt(_)), "flipped: {err:?}");

    let mut cut = note.len() * 3 / 5;
    while note[cut..].starts_with(b"OggS") {
        cut += 1;
    }
    let err = decode::decode(&note[..cut], PTT, MAX).unwrap_err();
    assert!(matches!(err, DecodeError::Corrupt(_)), "truncated: {err:?}");
    assert!(err.to_string().starts_with("áudio corrompido"), "{err}");
}

#[test]
fn a_40_second_note_is_too_long_for_a_30_second_cap() {
    let wav = speech::speech_wav(&long_text(7));
    let spoken = speech::wav_seconds(&wav);
    assert!(spoken > 40.0, "the text speaks for {spoken:.1} s only");
    let note = speech::voice_note(&long_text(7));

    let err = decode::decode(&note, PTT, MAX).unwrap_err();
    let DecodeError::TooLong {
        seconds,
        max_seconds,
    } = err
    else {
        panic!("{err:?}");
    };
    assert_eq!(max_seconds, 30);
    // The whole length: refused from the last page's granule, not after decoding 30 s.
    let off = (f64::from(seconds) - spoken).abs();
    assert!(off < 0.15, "{seconds} s for {spoken} s");
}

#[test]
fn unknown_bytes_and_a_video_without_audio_are_unsupported() {
    let text = b"%PDF-1.7 this is a document, not audio".repeat(20);
    let err = decode::decode(&text, Some("application/pdf"), MAX).unwrap_err();
    assert!(matches!(err, DecodeError::Unsupported { .. }), "{err:?}");
    let err = decode::decode(&text, PTT, MAX).unwrap_err();
    assert!(matches!(err, DecodeError::Unsupported { .. }), "{err:?}");

    let video = speech::video_only_mp4();
    assert_eq!(decode::sniff(&video), Some(Format::Mp4));
    let err = decode::decode(&video, Some("video/mp4"), MAX).unwrap_err();
    let DecodeError::Unsupported { what } = err else {
        panic!("{err:?}");
    };
    assert_eq!(what, "MP4 sem faixa de áudio");
}

/// Truncated, bit-flipped and partly random copies of real files: an error or audio,
/// never a panic.
#[test]
fn damaged_files_of_every_format_never_panic() {
    let f = fixtures();
    let mut rng = fastrand::Rng::with_seed(2024);
    for bytes in [&f.note, &f.m4a, &f.mp3, &f.wav] {
        for round in 0..120 {
            let damaged = mangle(bytes, &mut rng, round);
            let _ = decode::decode(&damaged, None, MAX);
        }
    }
}

/// Prints how long about 30 s of speech takes in each format (run with `--nocapture`,
/// in release for the real figure).
#[test]
fn half_a_minute_decodes_quickly() {
    let text = long_text(5);
    let wav = speech::speech_wav(&text);
    let files = [
        ("ogg/opus", speech::voice_note(&text)),
        ("m4a", speech::m4a(&text)),
        ("mp3", speech::mp3(&text)),
        ("wav", wav.clone()),
    ];
    let cap = Duration::from_secs(60);
    for (name, bytes) in files {
        let start = Instant::now();
        let audio = decode::decode(&bytes, None, cap).unwrap();
        let took = start.elapsed();
        eprintln!(
            "decode {name}: {:.1} s of audio in {took:?}",
            audio.seconds()
        );
        // Generous: a debug build with the dependencies at opt-level 1.
        assert!(took < Duration::from_secs(10), "{name}: {took:?}");
    }
}

/// One damaged copy of `good`: cut short, bits flipped, or a run of random bytes.
fn mangle(good: &[u8], rng: &mut fastrand::Rng, round: usize) -> Vec<u8> {
    let mut bytes = good.to_vec();
    match round % 3 {
        0 => bytes.truncate(rng.usize(..good.len())),
        1 => {
            for _ in 0..rng.usize(1..8) {
                let at = rng.usize(..bytes.len());
                bytes[at] ^= 1 << rng.u8(..8);
            }
        }
        _ => {
            let start = rng.usize(..bytes.len());
            let end = (start + rng.usize(1..256)).min(bytes.len());
            bytes[start..end].iter_mut().for_each(|b| *b = rng.u8(..));
        }
    }
    bytes
}

/// RMS over 50 ms windows.
fn envelope(audio: &Audio) -> Vec<f64> {
    let window = SAMPLE_RATE as usize / 20;
    audio
        .samples
        .chunks(window)
        .map(|w| (w.iter().map(|&s| f64::from(s * s)).sum::<f64>() / w.len() as f64).sqrt())
        .collect()
}

/// The best Pearson correlation of two envelopes shifted by up to 100 ms either way
/// (AAC keeps its encoder delay: symphonia does not read MP4 edit lists).
fn best_correlation(a: &[f64], b: &[f64]) -> f64 {
    (-2i32..=2)
        .map(|shift| {
            let (a, b) = match usize::try_from(shift) {
                Ok(s) => (a, b.get(s..).unwrap_or_default()),
                Err(_) => (
                    a.get(shift.unsigned_abs() as usize..).unwrap_or_default(),
                    b,
                ),
            };
            let n = a.len().min(b.len());
            pearson(&a[..n], &b[..n])
        })
        .fold(f64::MIN, f64::max)
}

fn pearson(a: &[f64], b: &[f64]) -> f64 {
    let (ma, mb) = (mean(a), mean(b));
    let cov: f64 = a.iter().zip(b).map(|(x, y)| (x - ma) * (y - mb)).sum();
    let var = |v: &[f64], m: f64| v.iter().map(|x| (x - m).powi(2)).sum::<f64>();
    cov / (var(a, ma) * var(b, mb)).sqrt()
}

fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len().max(1) as f64
}

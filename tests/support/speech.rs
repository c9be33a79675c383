//! Spoken pt-BR test audio made at test time: espeak-ng speaks, opusenc and ffmpeg
//! encode, each in a temp dir. Nothing is downloaded; a missing tool fails the test with
//! the apt package to install.

use std::path::Path;
use std::process::Command;

/// `text` spoken by espeak-ng (voice `pt-br`) as a 22.05 kHz mono 16-bit WAV.
pub(crate) fn speech_wav(text: &str) -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let wav = dir.path().join("fala.wav");
    speak(text, &wav);
    std::fs::read(wav).unwrap()
}

/// `text` as a WhatsApp-like voice note: OGG/Opus, 16 kb/s, mono.
pub(crate) fn voice_note(text: &str) -> Vec<u8> {
    encoded(text, "nota.ogg", |wav, out| {
        let args = ["--quiet", "--bitrate", "16", "--downmix-mono"];
        run(
            "opusenc",
            "opus-tools",
            Command::new("opusenc").args(args).arg(wav).arg(out),
        );
    })
}

/// `text` as an m4a (AAC-LC, 64 kb/s), like audio from an iPhone.
pub(crate) fn m4a(text: &str) -> Vec<u8> {
    encoded(text, "audio.m4a", |wav, out| {
        ffmpeg(wav, &["-c:a", "aac", "-b:a", "64k"], out)
    })
}

/// `text` as an mp3 (LAME, 48 kb/s).
pub(crate) fn mp3(text: &str) -> Vec<u8> {
    encoded(text, "audio.mp3", |wav, out| {
        ffmpeg(wav, &["-c:a", "libmp3lame", "-b:a", "48k"], out)
    })
}

/// An mp4 with a video track and no audio, which no decoder should take for audio.
pub(crate) fn video_only_mp4() -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("video.mp4");
    let input = ["-f", "lavfi", "-i", "testsrc=duration=1:size=64x64:rate=10"];
    let args = ["-hide_banner", "-loglevel", "error", "-y"];
    let mut cmd = Command::new("ffmpeg");
    cmd.args(args)
        .args(input)
        .args(["-c:v", "mpeg4", "-an"])
        .arg(&out);
    run("ffmpeg", "ffmpeg", &mut cmd);
    std::fs::read(out).unwrap()
}

/// The length of a WAV in seconds, as `soxi -D` reads it.
pub(crate) fn wav_seconds(wav: &[u8]) -> f64 {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("medir.wav");
    std::fs::write(&path, wav).unwrap();
    let out = run("soxi", "sox", Command::new("soxi").arg("-D").arg(&path));
    out.trim().parse().unwrap()
}

/// Speaks `text` to a WAV, then encodes it to `name` with `encode(wav, out)`.
fn encoded(text: &str, name: &str, encode: impl FnOnce(&Path, &Path)) -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let wav = dir.path().join("fala.wav");
    let out = dir.path().join(name);
    speak(text, &wav);
    encode(&wav, &out);
    std::fs::read(out).unwrap()
}

fn speak(text: &str, wav: &Path) {
    let mut cmd = Command::new("espeak-ng");
    cmd.args(["-v", "pt-br", "-w"]).arg(wav).arg(text);
    run("espeak-ng", "espeak-ng", &mut cmd);
}

fn ffmpeg(input: &Path, codec: &[&str], out: &Path) {
    let mut cmd = Command::new("ffmpeg");
    cmd.args(["-hide_banner", "-loglevel", "error", "-y", "-i"])
        .arg(input);
    cmd.args(codec).arg(out);
    run("ffmpeg", "ffmpeg", &mut cmd);
}

/// Runs `cmd` to success and returns its stdout; a missing tool names its apt package.
fn run(tool: &str, package: &str, cmd: &mut Command) -> String {
    let out = match cmd.output() {
        Ok(out) => out,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
            panic!("{tool} não está instalado: apt-get install -y {package}")
        }
        Err(err) => panic!("{tool} não rodou: {err}"),
    };
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "{tool} falhou ({}): {stderr}",
        out.status
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

use super::*;

const MAX: Duration = Duration::from_secs(30);

/// A 16-bit PCM WAV of `frames` per channel, every channel the same 440 Hz tone.
fn wav(rate: u32, channels: u16, seconds: f32) -> Vec<u8> {
    let frames = (rate as f32 * seconds) as u32;
    let data_len = frames * u32::from(channels) * 2;
    let mut out = Vec::with_capacity(44 + data_len as usize);
    out.extend_from_slice(b"RIFF");
    out.extend_from_slice(&(36 + data_len).to_le_bytes());
    out.extend_from_slice(b"WAVEfmt ");
    out.extend_from_slice(&16u32.to_le_bytes());
    out.extend_from_slice(&1u16.to_le_bytes());
    out.extend_from_slice(&channels.to_le_bytes());
    out.extend_from_slice(&rate.to_le_bytes());
    out.extend_from_slice(&(rate * u32::from(channels) * 2).to_le_bytes());
    out.extend_from_slice(&(channels * 2).to_le_bytes());
    out.extend_from_slice(&16u16.to_le_bytes());
    out.extend_from_slice(b"data");
    out.extend_from_slice(&data_len.to_le_bytes());
    for i in 0..frames {
        let t = i as f32 / rate as f32;
        let value = (0.5 * (2.0 * std::f32::consts::PI * 440.0 * t).sin() * 32767.0) as i16;
        for _ in 0..channels {
            out.extend_from_slice(&value.to_le_bytes());
        }
    }
    out
}

fn rms(samples: &[f32]) -> f32 {
    (samples.iter().map(|s| s * s).sum::<f32>() / samples.len().max(1) as f32).sqrt()
}

#[test]
fn a_wav_decodes_to_16k_mono_of_the_same_length() {
    for (rate, channels) in [
        (16_000, 1),
        (22_050, 1),
        (44_100, 2),
        (48_000, 2),
        (8_000, 1),
    ] {
        let audio = decode(&wav(rate, channels, 1.5), Some("audio/wav"), MAX).unwrap();
        assert!(
            (audio.seconds() - 1.5).abs() < 0.001,
            "{rate}/{channels}: {audio:?}"
        );
        let level = rms(&audio.samples[2_000..22_000]);
        assert!(
            (level - 0.354).abs() < 0.01,
            "{rate}/{channels}: rms {level}"
        );
    }
}

#[test]
fn audio_reports_its_length_not_its_samples() {
    let audio = Audio {
        samples: vec![0.0; 24_000],
    };
    assert_eq!(audio.seconds(), 1.5);
    assert_eq!(
        format!("{audio:?}"),
        "Audio { samples: 24000, seconds: 1.5 }"
    );
}

#[test]
fn no_bytes_is_empty_and_a_wav_without_frames_too() {
    assert!(matches!(decode(&[], None, MAX), Err(DecodeError::Empty)));
    assert!(matches!(
        decode(&wav(16_000, 1, 0.0), None, MAX),
        Err(DecodeError::Empty)
    ));
}

#[test]
fn unknown_bytes_are_unsupported_whatever_the_mimetype() {
    let err = decode(b"not audio at all, just text", Some("audio/ogg"), MAX).unwrap_err();
    let DecodeError::Unsupported { what } = err else {
        panic!("{err:?}");
    };
    assert_eq!(what, "formato desconhecido (audio/ogg)");
    let err = decode(&[7; 4_000], Some("audio/mpeg"), MAX).unwrap_err();
    assert!(matches!(err, DecodeError::Unsupported { .. }), "{err:?}");
    let err = decode(b"fLaC\0\0\0\x22 and more", Some("audio/flac"), MAX).unwrap_err();
    assert!(matches!(err, DecodeError::Unsupported { what } if what == "FLAC"));
}

#[test]
fn a_long_wav_is_refused_from_its_header() {
    let bytes = wav(8_000, 1, 4.0);
    let err = decode(&bytes, None, Duration::from_secs(2)).unwrap_err();
    let DecodeError::TooLong {
        seconds,
        max_seconds,
    } = err
    else {
        panic!("{err:?}");
    };
    assert_eq!(max_seconds, 2);
    assert!((seconds - 4.0).abs() < 0.01, "{seconds}");
    assert_eq!(err_text(&bytes), "áudio longo demais: 4.0 s (máximo 2 s)");
}

fn err_text(bytes: &[u8]) -> String {
    decode(bytes, None, Duration::from_secs(2))
        .unwrap_err()
        .to_string()
}

#[test]
fn a_header_that_understates_still_stops_at_the_cap() {
    // The data chunk claims one second; the bytes hold four.
    let mut bytes = wav(8_000, 1, 4.0);
    bytes[40..44].copy_from_slice(&16_000u32.to_le_bytes());
    bytes[4..8].copy_from_slice(&(36u32 + 16_000).to_le_bytes());
    let audio = decode(&bytes, None, Duration::from_secs(2));
    // Either symphonia keeps to the declared chunk (one second) or it reads on and the
    // cap stops it: never four seconds of audio.
    match audio {
        Ok(audio) => assert!(audio.seconds() <= 2.0, "{audio:?}"),
        Err(err) => assert!(matches!(err, DecodeError::TooLong { .. }), "{err:?}"),
    }
}

#[test]
fn a_sniffed_container_its_reader_cannot_open_is_corrupt() {
    let bytes = wav(16_000, 1, 1.0);
    let err = decode(&bytes[..20], None, MAX).unwrap_err();
    assert!(
        matches!(&err, DecodeError::Corrupt(why) if why.starts_with("WAV: ")),
        "{err:?}"
    );
    let err = decode(b"\0\0\0\x18ftypM4A \0\0\0\0M4A isom", None, MAX).unwrap_err();
    assert!(
        matches!(&err, DecodeError::Corrupt(why) if why.starts_with("MP4: ")),
        "{err:?}"
    );
}

#[test]
fn the_samples_stay_finite_and_in_range() {
    let mut samples = vec![0.5, 1.5, -3.0, f32::NAN, f32::INFINITY, -0.25];
    sanitize(&mut samples);
    assert_eq!(samples, vec![0.5, 1.0, -1.0, 0.0, 0.0, -0.25]);
}

#[test]
fn errors_read_in_portuguese() {
    let unsupported = DecodeError::Unsupported {
        what: "FLAC".into(),
    };
    assert_eq!(
        unsupported.to_string(),
        "formato de áudio não suportado: FLAC"
    );
    assert_eq!(DecodeError::Empty.to_string(), "áudio vazio");
    let corrupt = DecodeError::Corrupt("página truncada".into());
    assert_eq!(corrupt.to_string(), "áudio corrompido: página truncada");
}

/// Truncations, flipped bits and random bytes in a real container: an error or audio,
/// never a panic.
#[test]
fn damaged_wavs_never_panic() {
    let good = wav(22_050, 2, 0.3);
    let mut rng = fastrand::Rng::with_seed(9);
    for round in 0..300 {
        let bytes = mangle(&good, &mut rng, round);
        let _ = decode(&bytes, Some("audio/wav"), MAX);
    }
}

/// One damaged copy of `good`: cut short, bits flipped, or a run of random bytes.
pub(super) fn mangle(good: &[u8], rng: &mut fastrand::Rng, round: usize) -> Vec<u8> {
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
            let end = (start + rng.usize(1..64)).min(bytes.len());
            bytes[start..end].iter_mut().for_each(|b| *b = rng.u8(..));
        }
    }
    bytes
}

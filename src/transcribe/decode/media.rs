//! m4a/AAC, mp3 and WAV through `symphonia`: decoded, mixed to mono, brought to 16 kHz.

use std::io::Cursor;
use std::panic::{self, AssertUnwindSafe};

use symphonia::core::audio::GenericAudioBufferRef;
use symphonia::core::codecs::audio::{AudioCodecParameters, AudioDecoder, AudioDecoderOptions};
use symphonia::core::errors::Error as MediaError;
use symphonia::core::formats::probe::Hint as ProbeHint;
use symphonia::core::formats::{FormatOptions, FormatReader, Track, TrackType};
use symphonia::core::io::MediaSourceStream;
use symphonia::core::meta::MetadataOptions;

use super::{Cap, DecodeError, Decoded, Format, SAMPLE_RATE, magic, resample};

/// Packets that fail to decode are skipped, up to this share of the stream.
const MAX_BAD_SHARE: usize = 10;

/// What guides the probe: the sniffed container, or the mimetype for unsniffed bytes.
#[derive(Debug, Clone, Copy)]
pub(super) enum Hint<'a> {
    /// The magic numbers named the container.
    Sniffed(Format),
    /// Nothing was sniffed; the mimetype WhatsApp sent, if any.
    Mime(Option<&'a str>),
}

impl Hint<'_> {
    /// The container's name for messages.
    fn label(self) -> &'static str {
        match self {
            Hint::Sniffed(Format::Mp4) => "MP4",
            Hint::Sniffed(Format::Mp3) => "MP3",
            Hint::Sniffed(Format::Wav) => "WAV",
            Hint::Sniffed(Format::OggOpus) => "OGG",
            Hint::Mime(_) => "o arquivo",
        }
    }

    /// Corrupt audio, the container named.
    fn corrupt(self, why: &str) -> DecodeError {
        DecodeError::Corrupt(format!("{}: {why}", self.label()))
    }

    /// The hint for `symphonia`'s probe, which tries the hinted reader first.
    fn probe_hint(self) -> ProbeHint {
        let mut hint = ProbeHint::new();
        match self {
            Hint::Sniffed(Format::Mp4) => hint.with_extension("m4a"),
            Hint::Sniffed(Format::Mp3) => hint.with_extension("mp3"),
            Hint::Sniffed(Format::Wav) => hint.with_extension("wav"),
            Hint::Mime(Some(mime)) => hint.mime_type(&magic::essence(mime)),
            Hint::Sniffed(Format::OggOpus) | Hint::Mime(None) => &mut hint,
        };
        hint
    }
}

/// Decodes the first audio track to 16 kHz mono, refusing it early if the container
/// declares it longer than the cap.
pub(super) fn decode(bytes: &[u8], hint: Hint<'_>, cap: &Cap) -> Decoded {
    // NOTE: hostile bytes reach third-party demuxers here; should one of them panic, the
    // tenant's task must go on, so the panic becomes a corrupt-audio error.
    let unguarded = AssertUnwindSafe(|| decode_unguarded(bytes, hint, cap));
    match panic::catch_unwind(unguarded) {
        Ok(decoded) => decoded,
        Err(_) => Err(hint.corrupt("o decodificador falhou")),
    }
}

/// Probe, pick the track, decode its packets, resample.
fn decode_unguarded(bytes: &[u8], hint: Hint<'_>, cap: &Cap) -> Decoded {
    let source = MediaSourceStream::new(Box::new(Cursor::new(bytes)), Default::default());
    let (format, metadata) = (FormatOptions::default(), MetadataOptions::default());
    let probe = symphonia::default::get_probe();
    let mut reader = probe
        .probe(&hint.probe_hint(), source, format, metadata)
        .map_err(|err| probe_error(err, hint))?;

    let (track_id, params) = audio_track(reader.as_ref(), hint, cap)?;
    let codecs = symphonia::default::get_codecs();
    let options = AudioDecoderOptions::default();
    let mut decoder = match codecs.make_audio_decoder(&params, &options) {
        Err(MediaError::Unsupported(_)) => return Err(unsupported_codec(hint)),
        other => other.map_err(|err| error(err, hint))?,
    };

    let mono = decode_packets(reader.as_mut(), decoder.as_mut(), track_id, cap, hint)?;
    Ok(resample::to_rate(&mono.samples, mono.rate, SAMPLE_RATE))
}

/// The default audio track's id and parameters, its declared length checked.
fn audio_track(
    reader: &dyn FormatReader,
    hint: Hint<'_>,
    cap: &Cap,
) -> Result<(u32, AudioCodecParameters), DecodeError> {
    let no_audio = || DecodeError::Unsupported {
        what: format!("{} sem faixa de áudio", hint.label()),
    };
    let track = reader
        .default_track(TrackType::Audio)
        .ok_or_else(no_audio)?;
    let params = track.codec_params.as_ref().and_then(|p| p.audio());
    let params = params.ok_or_else(no_audio)?.clone();

    if let Some(seconds) = declared_seconds(track, &params) {
        cap.check_declared(seconds)?;
    }
    Ok((track.id, params))
}

/// The track's length as the container states it (counted or estimated), in seconds.
fn declared_seconds(track: &Track, params: &AudioCodecParameters) -> Option<f32> {
    if let (Some(frames), Some(rate)) = (track.num_frames, params.sample_rate) {
        return (rate > 0).then(|| (frames as f64 / f64::from(rate)) as f32);
    }
    let (duration, base) = (track.duration?, track.time_base?);
    let tick = f64::from(base.numer.get()) / f64::from(base.denom.get());
    Some((duration.get() as f64 * tick) as f32)
}

/// Decodes every packet of the track to mono at the source rate.
fn decode_packets(
    reader: &mut dyn FormatReader,
    decoder: &mut dyn AudioDecoder,
    track_id: u32,
    cap: &Cap,
    hint: Hint<'_>,
) -> Result<Mono, DecodeError> {
    let mut mono = Mono::default();
    let mut tally = Tally::default();

    while let Some(packet) = reader.next_packet().map_err(|err| error(err, hint))? {
        if packet.track_id != track_id {
            continue;
        }
        match decoder.decode(&packet) {
            Ok(buffer) => mono.push(&buffer, hint)?,
            // A damaged frame, skipped as players do; damage can also look like a codec
            // feature nobody implements.
            Err(MediaError::DecodeError(_)) => tally.bad += 1,
            Err(MediaError::Unsupported(what)) => tally.unsupported(what),
            Err(err) => return Err(error(err, hint)),
        }
        tally.packets += 1;
        cap.check_decoded(mono.samples.len() as u64, mono.rate)?;
    }
    tally.verdict(hint)?;
    Ok(mono)
}

/// Packets that would not decode, out of how many.
#[derive(Debug, Default)]
struct Tally {
    packets: usize,
    bad: usize,
    /// What the first packet refused as unsupported asked for.
    unsupported: Option<&'static str>,
}

impl Tally {
    fn unsupported(&mut self, what: &'static str) {
        self.bad += 1;
        self.unsupported.get_or_insert(what);
    }

    /// A few bad packets pass; more is corrupt audio, or unsupported audio when no
    /// packet decoded and some asked for an unimplemented feature.
    fn verdict(&self, hint: Hint<'_>) -> Result<(), DecodeError> {
        if self.bad * MAX_BAD_SHARE <= self.packets {
            return Ok(());
        }
        match self.unsupported {
            Some(what) if self.bad == self.packets => Err(DecodeError::Unsupported {
                what: format!("{} ({what})", hint.label()),
            }),
            _ => {
                let why = format!("{} de {} pacotes não decodificam", self.bad, self.packets);
                Err(hint.corrupt(&why))
            }
        }
    }
}

/// Mono samples at the source rate, growing packet by packet.
#[derive(Debug, Default)]
struct Mono {
    samples: Vec<f32>,
    /// The source rate; 0 until the first packet decodes.
    rate: u32,
    /// One packet's interleaved samples, reused.
    scratch: Vec<f32>,
}

impl Mono {
    /// Appends one decoded packet, its channels averaged.
    fn push(
        &mut self,
        buffer: &GenericAudioBufferRef<'_>,
        hint: Hint<'_>,
    ) -> Result<(), DecodeError> {
        let rate = buffer.spec().rate();
        let channels = buffer.spec().channels().count();
        if rate == 0 || channels == 0 {
            return Err(hint.corrupt("sem taxa ou sem canais"));
        }
        if self.rate != 0 && self.rate != rate {
            return Err(hint.corrupt("a taxa de amostragem muda no meio"));
        }
        self.rate = rate;

        buffer.copy_to_vec_interleaved(&mut self.scratch);
        let frames = self.scratch.chunks_exact(channels);
        let scale = 1.0 / channels as f32;
        self.samples
            .extend(frames.map(|frame| frame.iter().sum::<f32>() * scale));
        Ok(())
    }
}

/// A container whose audio codec is not one we decode (ALAC, AMR, Opus in MP4, …).
fn unsupported_codec(hint: Hint<'_>) -> DecodeError {
    DecodeError::Unsupported {
        what: format!("{} com um codec de áudio sem suporte", hint.label()),
    }
}

/// The probe's error as ours. Bytes sniffed as a container that its reader then cannot
/// open are a damaged file (an m4a cut before its `moov` index, say), not a new format.
fn probe_error(err: MediaError, hint: Hint<'_>) -> DecodeError {
    match hint {
        Hint::Sniffed(_) => hint.corrupt(&err.to_string()),
        Hint::Mime(_) => error(err, hint),
    }
}

/// A `symphonia` error as ours: unsupported stays so, everything else is corrupt audio.
fn error(err: MediaError, hint: Hint<'_>) -> DecodeError {
    match err {
        MediaError::Unsupported(what) => DecodeError::Unsupported {
            what: format!("{} ({what})", hint.label()),
        },
        other => hint.corrupt(&other.to_string()),
    }
}

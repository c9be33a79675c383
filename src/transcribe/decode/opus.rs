//! OGG/Opus, the voice-note format, decoded by `opus-pure` straight to 16 kHz mono.
//!
//! Opus decodes at whatever rate it is asked for, so no resampler is involved, and one
//! mono decoder folds a stereo stream down itself. `Trim` drops the encoder delay
//! (pre-skip) from the front and the padding the last page's granule excludes from the
//! back.

use opus_pure::{MAX_PACKET_SAMPLES, OggOpusReader, OggPacket, OpusDecoder, OpusHead, Trim};

use super::{Cap, DecodeError, Decoded, SAMPLE_RATE};

/// Bytes in an OGG page header before its segment table.
const HEADER: usize = 27;
/// The longest OGG page: the header, 255 lacing values and 255 segments of 255 bytes.
const MAX_PAGE: usize = HEADER + 255 + 255 * 255;
/// OGG granule positions count 48 kHz samples, whatever the stream's rate.
const GRANULE_RATE: f32 = 48_000.0;

/// Decodes an OGG/Opus stream to 16 kHz mono, refusing it early if its last page
/// declares it longer than the cap.
pub(super) fn decode(bytes: &[u8], cap: &Cap) -> Decoded {
    let mut reader = OggOpusReader::new(bytes).map_err(corrupt)?;
    let head = reader.head().clone();
    if let Some(seconds) = declared_seconds(bytes, head.pre_skip) {
        cap.check_declared(seconds)?;
    }

    let mut decoder = mono_decoder(&head)?;
    let mut trim = Trim::new(&head, SAMPLE_RATE as i32, 1).map_err(corrupt)?;
    let mut block = vec![0.0f32; MAX_PACKET_SAMPLES];
    let mut packet = OggPacket::default();
    let mut samples = Vec::new();

    while reader.read_packet_into(&mut packet).map_err(corrupt)? {
        // An empty packet would ask the decoder to conceal a loss; there is nothing in it.
        let n = if packet.data.is_empty() {
            0
        } else {
            let max = MAX_PACKET_SAMPLES;
            decoder
                .decode(&packet.data, max, &mut block)
                .map_err(corrupt)?
        };
        samples.extend_from_slice(trim.keep(&packet, &block[..n]));
        cap.check_decoded(samples.len() as u64, SAMPLE_RATE)?;
    }
    Ok(samples)
}

/// A 16 kHz mono decoder with the header's output gain; surround streams are refused.
fn mono_decoder(head: &OpusHead) -> Result<OpusDecoder, DecodeError> {
    if head.mapping_family != 0 {
        return Err(DecodeError::Unsupported {
            what: format!("OGG/Opus com {} canais", head.channel_count),
        });
    }
    let mut decoder = OpusDecoder::new(SAMPLE_RATE as i32, 1).map_err(corrupt)?;
    decoder.gain_q8 = i32::from(head.output_gain_q8);
    Ok(decoder)
}

/// The length the stream declares: the granule position of its last intact page, less
/// the pre-skip.
fn declared_seconds(bytes: &[u8], pre_skip: u16) -> Option<f32> {
    let first = bytes.len().saturating_sub(MAX_PAGE);
    let last = bytes.len().saturating_sub(HEADER);
    let granule = (first..=last)
        .rev()
        .filter(|&at| bytes[at..].starts_with(b"OggS"))
        .find_map(|at| page_granule(&bytes[at..]))?;
    let samples = granule.saturating_sub(i64::from(pre_skip)).max(0);
    Some(samples as f32 / GRANULE_RATE)
}

/// The granule position of a whole page at the start of `bytes` whose CRC holds.
fn page_granule(bytes: &[u8]) -> Option<i64> {
    let segments = usize::from(*bytes.get(HEADER - 1)?);
    let table = bytes.get(HEADER..HEADER + segments)?;
    let body: usize = table.iter().map(|&len| usize::from(len)).sum();
    let page = bytes.get(..HEADER + segments + body)?;

    let stored = u32::from_le_bytes(page.get(22..26)?.try_into().ok()?);
    let granule = i64::from_le_bytes(page.get(6..14)?.try_into().ok()?);
    (page[4] == 0 && granule >= 0 && crc(page) == stored).then_some(granule)
}

/// The OGG page checksum: CRC-32, polynomial 0x04C11DB7, unreflected, over the page with
/// its checksum field read as zeros.
fn crc(page: &[u8]) -> u32 {
    page.iter().enumerate().fold(0, |crc, (at, &byte)| {
        let byte = if (22..26).contains(&at) { 0 } else { byte };
        let mut crc = crc ^ (u32::from(byte) << 24);
        for _ in 0..8 {
            let carry = crc & 0x8000_0000 != 0;
            crc = (crc << 1) ^ if carry { 0x04C1_1DB7 } else { 0 };
        }
        crc
    })
}

fn corrupt(err: opus_pure::Error) -> DecodeError {
    DecodeError::Corrupt(format!("OGG/Opus: {err}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use opus_pure::{Application, MAX_PACKET_BYTES, OggOpusWriter, OpusEncoder};
    use std::time::Duration;

    /// `seconds` of a 440 Hz tone as OGG/Opus at 16 kHz with `channels` channels.
    fn tone_ogg(seconds: f32, channels: usize) -> Vec<u8> {
        let frame = 320;
        let total = (seconds * 16_000.0) as usize;
        let mut encoder = OpusEncoder::new(16_000, channels, Application::Voip).unwrap();
        let head = OpusHead::for_encoder(&encoder, 16_000);
        let mut writer = OggOpusWriter::new(Vec::new(), head).unwrap();
        let mut packet = vec![0u8; MAX_PACKET_BYTES];
        for start in (0..total).step_by(frame) {
            let block: Vec<f32> = (start..start + frame)
                .flat_map(|i| {
                    let t = i as f32 / 16_000.0;
                    let s = 0.5 * (2.0 * std::f32::consts::PI * 440.0 * t).sin();
                    std::iter::repeat_n(s, channels)
                })
                .collect();
            let n = encoder.encode(&block, frame, &mut packet).unwrap();
            writer.write_packet(&packet[..n]).unwrap();
        }
        writer.finish().unwrap()
    }

    fn cap(secs: u64) -> Cap {
        Cap::new(Duration::from_secs(secs))
    }

    #[test]
    fn mono_and_stereo_decode_to_their_length_at_16k() {
        for channels in [1, 2] {
            let samples = decode(&tone_ogg(2.0, channels), &cap(30)).unwrap();
            let seconds = samples.len() as f32 / 16_000.0;
            assert!((seconds - 2.0).abs() < 0.03, "{channels} ch: {seconds} s");
            let power = samples.iter().map(|s| s * s).sum::<f32>() / samples.len() as f32;
            let rms = power.sqrt();
            assert!((0.25..0.45).contains(&rms), "{channels} ch: rms {rms}");
        }
    }

    #[test]
    fn the_last_page_declares_the_length() {
        let bytes = tone_ogg(3.0, 1);
        let pre_skip = OggOpusReader::new(&bytes[..]).unwrap().head().pre_skip;
        let seconds = declared_seconds(&bytes, pre_skip).unwrap();
        assert!((seconds - 3.0).abs() < 0.03, "{seconds}");
    }

    #[test]
    fn a_declared_length_over_the_cap_is_refused_before_decoding() {
        let err = decode(&tone_ogg(3.0, 1), &cap(1)).unwrap_err();
        let DecodeError::TooLong {
            seconds,
            max_seconds,
        } = err
        else {
            panic!("{err:?}");
        };
        assert_eq!(max_seconds, 1);
        assert!(seconds > 2.9, "{seconds}");
    }

    #[test]
    fn without_a_trusted_last_page_an_earlier_one_counts_and_the_cap_stops_decoding() {
        let mut bytes = tone_ogg(3.0, 1);
        let end = bytes.len() - 1;
        bytes[end] ^= 0xFF;
        let earlier = declared_seconds(&bytes, 0).unwrap();
        assert!(earlier < 2.9, "{earlier}");

        // Under the earlier page's length, inside the slack for declared lengths.
        let cap = Cap::new(Duration::from_secs_f32(earlier / 1.04));
        let err = decode(&bytes, &cap).unwrap_err();
        assert!(matches!(err, DecodeError::TooLong { seconds, .. } if seconds < earlier));
    }

    #[test]
    fn a_flipped_byte_or_a_cut_is_corrupt() {
        let bytes = tone_ogg(2.0, 1);
        let mut flipped = bytes.clone();
        flipped[bytes.len() / 2] ^= 0x40;
        assert!(matches!(
            decode(&flipped, &cap(30)),
            Err(DecodeError::Corrupt(_))
        ));
        let cut = &bytes[..bytes.len() / 2 + 7];
        assert!(matches!(
            decode(cut, &cap(30)),
            Err(DecodeError::Corrupt(_))
        ));
    }

    #[test]
    fn damaged_notes_never_panic() {
        let good = tone_ogg(0.6, 2);
        let mut rng = fastrand::Rng::with_seed(16);
        for round in 0..300 {
            let bytes = crate::transcribe::decode::tests::mangle(&good, &mut rng, round);
            let _ = decode(&bytes, &cap(30));
        }
    }

    #[test]
    fn the_page_checksum_matches_the_writer() {
        let bytes = tone_ogg(0.5, 1);
        assert!(page_granule(&bytes).is_some(), "the first page's CRC holds");
    }
}

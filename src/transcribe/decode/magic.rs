//! Magic numbers: which container the bytes are, and what to call the ones we don't read.

use super::Format;

/// Bytes in an OGG page header before its segment table.
const OGG_HEADER: usize = 27;

/// The container, sniffed from the bytes (magic numbers), the mimetype only a hint.
///
/// `OggS` counts as [`Format::OggOpus`] unless its first packet is another codec's
/// header (Vorbis, FLAC, Speex, Theora): a damaged first page still goes to the Opus
/// decoder, which calls it corrupt rather than unsupported.
pub fn sniff(bytes: &[u8]) -> Option<Format> {
    if bytes.starts_with(b"OggS") {
        return ogg_codec(bytes).is_none().then_some(Format::OggOpus);
    }
    if bytes.len() >= 12 && &bytes[4..8] == b"ftyp" {
        return Some(Format::Mp4);
    }
    if bytes.len() >= 12 && bytes.starts_with(b"RIFF") && &bytes[8..12] == b"WAVE" {
        return Some(Format::Wav);
    }
    if bytes.starts_with(b"ID3") || is_mp3_frame(bytes) {
        return Some(Format::Mp3);
    }
    None
}

/// The codec of an OGG stream whose first packet is not Opus, by its header's name.
fn ogg_codec(bytes: &[u8]) -> Option<&'static str> {
    const CODECS: [(&[u8], &str); 5] = [
        (b"\x01vorbis", "OGG/Vorbis"),
        (b"\x7fFLAC", "OGG/FLAC"),
        (b"Speex   ", "OGG/Speex"),
        (b"\x80theora", "OGG/Theora"),
        (b"OpusHead", ""),
    ];
    let segments = usize::from(*bytes.get(OGG_HEADER - 1)?);
    let packet = bytes.get(OGG_HEADER + segments..)?;
    let (_, name) = CODECS.iter().find(|(magic, _)| packet.starts_with(magic))?;
    (!name.is_empty()).then_some(name)
}

/// An MPEG audio layer III frame header: sync, a real version, a usable bitrate and rate.
fn is_mp3_frame(bytes: &[u8]) -> bool {
    let [0xFF, b1, b2, ..] = *bytes else {
        return false;
    };
    let sync = b1 & 0xE0 == 0xE0;
    let version_ok = (b1 >> 3) & 0b11 != 0b01;
    let layer_three = (b1 >> 1) & 0b11 == 0b01;
    let bitrate_ok = b2 >> 4 != 0b1111;
    let rate_ok = (b2 >> 2) & 0b11 != 0b11;
    sync && version_ok && layer_three && bitrate_ok && rate_ok
}

/// Raw AAC in ADTS frames (`audio/aac`): sync and layer 0.
pub(super) fn is_adts(bytes: &[u8]) -> bool {
    matches!(*bytes, [0xFF, b1, ..] if b1 & 0xF6 == 0xF0)
}

/// Whether a mimetype names audio that `symphonia` may read (for bytes not sniffed).
pub(super) fn is_audio_mime(mimetype: &str) -> bool {
    const KNOWN: [&str; 10] = [
        "audio/mpeg",
        "audio/mp3",
        "audio/mp4",
        "audio/m4a",
        "audio/x-m4a",
        "audio/aac",
        "audio/x-aac",
        "audio/wav",
        "audio/x-wav",
        "audio/wave",
    ];
    KNOWN.contains(&essence(mimetype).as_str())
}

/// The mimetype without parameters, lowercase: `audio/ogg; codecs=opus` → `audio/ogg`.
pub(super) fn essence(mimetype: &str) -> String {
    let head = mimetype.split(';').next().unwrap_or_default();
    head.trim().to_ascii_lowercase()
}

/// What to call bytes this decoder does not read, for [`super::DecodeError::Unsupported`].
pub(super) fn describe(bytes: &[u8], mimetype: Option<&str>) -> String {
    if let Some(name) = known_other(bytes) {
        return name.to_owned();
    }
    match mimetype.map(essence).filter(|m| !m.is_empty()) {
        Some(mime) => format!("formato desconhecido ({mime})"),
        None => "formato desconhecido".to_owned(),
    }
}

/// The name of a container or codec we recognise but do not decode.
fn known_other(bytes: &[u8]) -> Option<&'static str> {
    const MAGICS: [(&[u8], &str); 5] = [
        (b"fLaC", "FLAC"),
        (b"#!AMR", "AMR"),
        (b"\x1A\x45\xDF\xA3", "WebM/Matroska"),
        (b"caff", "CAF"),
        (b"FORM", "AIFF"),
    ];
    if bytes.starts_with(b"OggS") {
        return Some(ogg_codec(bytes).unwrap_or("OGG"));
    }
    if is_adts(bytes) {
        return Some("AAC (ADTS)");
    }
    let (_, name) = MAGICS.iter().find(|(magic, _)| bytes.starts_with(magic))?;
    Some(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An OGG first page whose single packet starts with `packet`.
    fn ogg_page(packet: &[u8]) -> Vec<u8> {
        let mut page = b"OggS".to_vec();
        page.resize(OGG_HEADER - 1, 0);
        page.push(1);
        page.push(packet.len() as u8);
        page.extend_from_slice(packet);
        page
    }

    #[test]
    fn ogg_opus_is_told_from_other_ogg_codecs() {
        assert_eq!(sniff(&ogg_page(b"OpusHead\x01\x01")), Some(Format::OggOpus));
        assert_eq!(sniff(&ogg_page(b"\x01vorbis\0\0")), None);
        assert_eq!(describe(&ogg_page(b"\x01vorbis\0\0"), None), "OGG/Vorbis");
        assert_eq!(describe(&ogg_page(b"\x7fFLAC\x01"), None), "OGG/FLAC");
    }

    #[test]
    fn a_damaged_or_short_ogg_goes_to_the_opus_decoder() {
        assert_eq!(sniff(b"OggS"), Some(Format::OggOpus));
        assert_eq!(sniff(&ogg_page(b"garbage!")), Some(Format::OggOpus));
    }

    #[test]
    fn mp4_wav_and_mp3_by_their_magic() {
        assert_eq!(sniff(b"\0\0\0\x1cftypM4A \0\0\0\0"), Some(Format::Mp4));
        assert_eq!(sniff(b"RIFF\x24\0\0\0WAVEfmt "), Some(Format::Wav));
        assert_eq!(sniff(b"ID3\x04\0\0\0\0\0\x23"), Some(Format::Mp3));
        // MPEG-1 layer III, 128 kb/s, 44.1 kHz; MPEG-2 layer III, 32 kb/s, 22.05 kHz.
        assert_eq!(sniff(&[0xFF, 0xFB, 0x90, 0x64]), Some(Format::Mp3));
        assert_eq!(sniff(&[0xFF, 0xF3, 0x40, 0xC4]), Some(Format::Mp3));
    }

    #[test]
    fn riff_that_is_not_wave_and_frames_that_are_not_layer_three() {
        assert_eq!(sniff(b"RIFF\x24\0\0\0AVI LIST"), None);
        // ADTS AAC has layer 0; a bad bitrate index is no frame at all.
        assert_eq!(sniff(&[0xFF, 0xF1, 0x50, 0x80]), None);
        assert_eq!(sniff(&[0xFF, 0xFB, 0xF0, 0x64]), None);
        assert!(is_adts(&[0xFF, 0xF1, 0x50, 0x80]));
        assert!(is_adts(&[0xFF, 0xF9, 0x50, 0x80]));
    }

    #[test]
    fn unknown_bytes_and_the_others_we_name() {
        assert_eq!(sniff(b"hello, world"), None);
        assert_eq!(sniff(&[]), None);
        assert_eq!(describe(b"fLaC\0\0\0\x22", None), "FLAC");
        assert_eq!(describe(b"#!AMR\n", None), "AMR");
        assert_eq!(describe(b"\x1A\x45\xDF\xA3\x01", None), "WebM/Matroska");
        assert_eq!(describe(b"hello", None), "formato desconhecido");
        let text = describe(b"hello", Some("Audio/X-Foo; q=1"));
        assert_eq!(text, "formato desconhecido (audio/x-foo)");
    }

    #[test]
    fn audio_mimetypes_symphonia_may_read() {
        assert!(is_audio_mime("audio/mpeg"));
        assert!(is_audio_mime("audio/mp4; codecs=mp4a.40.2"));
        assert!(is_audio_mime("Audio/AAC"));
        assert!(!is_audio_mime("audio/ogg; codecs=opus"));
        assert!(!is_audio_mime("application/pdf"));
    }
}

//! A model file's facts, read from its ggml header and its bytes, without loading it.

use std::fmt;
use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::ModelError;

/// The ggml magic number, stored little-endian as the file's first four bytes.
const GGML_MAGIC: u32 = 0x6767_6d6c;
/// The magic number plus eleven 32-bit hyper-parameters.
const HEADER_LEN: usize = 4 + 11 * 4;
/// whisper.cpp's quantize tool stores `ftype + version * 1000`.
const QUANT_VERSION_FACTOR: i32 = 1000;
/// Multilingual Whisper vocabularies have at least this many tokens (whisper.cpp's rule).
const MULTILINGUAL_VOCAB: i32 = 51_865;

/// What a model file is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelFacts {
    /// The file.
    pub path: PathBuf,
    /// Its size.
    pub bytes: u64,
    /// The sha256 of its bytes, lowercase hex.
    pub sha256: String,
    /// How its weights are stored: `f16`, `q8_0`, `q5_0`, ...
    pub kind: String,
    /// Tokens in the vocabulary.
    pub n_vocab: i32,
    /// Encoder layers (6 for `base`).
    pub n_audio_layer: i32,
    /// Decoder layers.
    pub n_text_layer: i32,
    /// Mel bands of its input.
    pub n_mels: i32,
    /// Whether it knows other languages than English.
    pub multilingual: bool,
}

impl fmt::Display for ModelFacts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let languages = if self.multilingual {
            "multilíngue"
        } else {
            "só inglês"
        };
        writeln!(f, "modelo: {}", self.path.display())?;
        writeln!(f, "tamanho: {} bytes", self.bytes)?;
        writeln!(f, "sha256: {}", self.sha256)?;
        writeln!(f, "tipo: {}", self.kind)?;
        writeln!(f, "vocabulário: {} tokens ({languages})", self.n_vocab)?;
        writeln!(
            f,
            "camadas: {} no codificador, {} no decodificador",
            self.n_audio_layer, self.n_text_layer
        )?;
        writeln!(f, "bandas mel: {}", self.n_mels)
    }
}

/// Reads the facts of the model at `path`: its header, size and sha256.
pub fn inspect(path: &Path) -> Result<ModelFacts, ModelError> {
    let header = read_header(path)?;
    let (bytes, sha256) = hash_file(path).map_err(|e| unreadable(path, &e))?;
    Ok(ModelFacts {
        path: path.to_owned(),
        bytes,
        sha256,
        kind: kind(header.ftype),
        n_vocab: header.n_vocab,
        n_audio_layer: header.n_audio_layer,
        n_text_layer: header.n_text_layer,
        n_mels: header.n_mels,
        multilingual: header.n_vocab >= MULTILINGUAL_VOCAB,
    })
}

/// The hyper-parameters at the start of a ggml Whisper file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Header {
    /// Tokens in the vocabulary.
    pub(crate) n_vocab: i32,
    /// Encoder layers.
    pub(crate) n_audio_layer: i32,
    /// Decoder layers.
    pub(crate) n_text_layer: i32,
    /// Mel bands.
    pub(crate) n_mels: i32,
    /// Weight storage, with the quantization version in its thousands.
    pub(crate) ftype: i32,
}

/// Reads and checks the header of the file at `path`.
pub(crate) fn read_header(path: &Path) -> Result<Header, ModelError> {
    let mut file = File::open(path).map_err(|e| match e.kind() {
        io::ErrorKind::NotFound => ModelError::Missing {
            path: path.to_owned(),
        },
        _ => unreadable(path, &e),
    })?;
    let mut buf = [0u8; HEADER_LEN];
    file.read_exact(&mut buf).map_err(|e| match e.kind() {
        io::ErrorKind::UnexpectedEof => invalid(path, "arquivo curto demais"),
        _ => unreadable(path, &e),
    })?;
    parse_header(&buf).map_err(|reason| invalid(path, reason))
}

/// Parses the magic number and the eleven hyper-parameters.
fn parse_header(buf: &[u8; HEADER_LEN]) -> Result<Header, &'static str> {
    let words: Vec<[u8; 4]> = buf
        .chunks_exact(4)
        .map(|c| [c[0], c[1], c[2], c[3]])
        .collect();
    if words[0] == *b"GGUF" {
        return Err("é um arquivo GGUF; o whisper.cpp lê o formato ggml antigo");
    }
    if u32::from_le_bytes(words[0]) != GGML_MAGIC {
        return Err("não começa com a assinatura ggml");
    }
    let values: Vec<i32> = words[1..].iter().map(|w| i32::from_le_bytes(*w)).collect();
    if values.iter().any(|&v| v < 0) || values[..10].contains(&0) {
        return Err("cabeçalho com valores impossíveis");
    }
    // Order: n_vocab, n_audio_ctx, n_audio_state, n_audio_head, n_audio_layer,
    // n_text_ctx, n_text_state, n_text_head, n_text_layer, n_mels, ftype.
    Ok(Header {
        n_vocab: values[0],
        n_audio_layer: values[4],
        n_text_layer: values[8],
        n_mels: values[9],
        ftype: values[10],
    })
}

/// ggml's name for a file type, without the quantization version.
fn kind(ftype: i32) -> String {
    let name = match ftype % QUANT_VERSION_FACTOR {
        0 => "f32",
        1 => "f16",
        2 => "q4_0",
        3 => "q4_1",
        7 => "q8_0",
        8 => "q5_0",
        9 => "q5_1",
        10 => "q2_k",
        11 => "q3_k",
        12 => "q4_k",
        13 => "q5_k",
        14 => "q6_k",
        other => return format!("ftype {other}"),
    };
    name.to_owned()
}

/// The size and sha256 (lowercase hex) of a file.
fn hash_file(path: &Path) -> io::Result<(u64, String)> {
    let mut file = File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut bytes = 0u64;
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        bytes += n as u64;
    }
    let hex = hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    Ok((bytes, hex))
}

fn invalid(path: &Path, reason: &str) -> ModelError {
    ModelError::Invalid {
        path: path.to_owned(),
        reason: reason.to_owned(),
    }
}

fn unreadable(path: &Path, error: &io::Error) -> ModelError {
    invalid(path, &format!("não foi possível lê-lo: {error}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A header: magic, then the given hyper-parameters (11 values).
    fn header_bytes(magic: u32, values: [i32; 11]) -> Vec<u8> {
        let mut out = magic.to_le_bytes().to_vec();
        for v in values {
            out.extend_from_slice(&v.to_le_bytes());
        }
        out
    }

    const BASE: [i32; 11] = [51_865, 1500, 512, 8, 6, 448, 512, 8, 6, 80, 1];

    #[test]
    fn inspect_reads_the_header_and_hashes_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tiny.bin");
        let mut bytes = header_bytes(GGML_MAGIC, BASE);
        bytes.extend_from_slice(b"the rest");
        std::fs::write(&path, &bytes).unwrap();

        let facts = inspect(&path).unwrap();
        assert_eq!(facts.bytes, 56);
        assert_eq!(facts.kind, "f16");
        assert_eq!(
            (
                facts.n_vocab,
                facts.n_audio_layer,
                facts.n_text_layer,
                facts.n_mels
            ),
            (51_865, 6, 6, 80)
        );
        assert!(facts.multilingual);
        let expected: String = Sha256::digest(&bytes)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(facts.sha256, expected);
        assert!(facts.to_string().contains("multilíngue"), "{facts}");
    }

    #[test]
    fn quantized_and_english_only_files_are_told_apart() {
        let mut values = BASE;
        values[0] = 51_864;
        values[10] = 2007;
        let header = parse_header(&header_bytes(GGML_MAGIC, values).try_into().unwrap());
        let header = header.unwrap();
        assert_eq!(kind(header.ftype), "q8_0");
        assert!(header.n_vocab < MULTILINGUAL_VOCAB);
        assert_eq!(kind(1008), "q5_0");
        assert_eq!(kind(99), "ftype 99");
    }

    #[test]
    fn a_bad_magic_is_invalid() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bad.bin");
        std::fs::write(&path, header_bytes(0x1234_5678, BASE)).unwrap();
        let err = inspect(&path).unwrap_err();
        assert!(
            matches!(&err, ModelError::Invalid { reason, .. } if reason.contains("ggml")),
            "{err:?}"
        );
        assert!(err.to_string().contains("orbitbot model fetch"), "{err}");

        std::fs::write(&path, b"GGUF and more bytes than a header needs, surely.").unwrap();
        let err = inspect(&path).unwrap_err();
        assert!(err.to_string().contains("GGUF"), "{err}");
    }

    #[test]
    fn a_short_file_or_zero_sizes_are_invalid() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("short.bin");
        std::fs::write(&path, GGML_MAGIC.to_le_bytes()).unwrap();
        let err = inspect(&path).unwrap_err();
        assert!(err.to_string().contains("curto demais"), "{err}");

        let mut values = BASE;
        values[4] = 0;
        std::fs::write(&path, header_bytes(GGML_MAGIC, values)).unwrap();
        assert!(matches!(inspect(&path), Err(ModelError::Invalid { .. })));
    }

    #[test]
    fn a_missing_file_names_the_fetch_command() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("models/ggml-base.bin");
        let err = inspect(&path).unwrap_err();
        assert!(matches!(&err, ModelError::Missing { path: p } if *p == path));
        let message = err.to_string();
        assert!(message.contains("orbitbot model fetch"), "{message}");
        assert!(message.contains("models/ggml-base.bin"), "{message}");
    }
}

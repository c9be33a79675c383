//! QR codes for linking a WhatsApp account: a PNG to forward to the operator, and a
//! terminal drawing for the shell.
//!
//! WhatsApp's link texts (`2@<ref>,<key>,<key>,<key>`) are about 200 to 250 bytes; at
//! error correction level M that is a code of about 60 modules, drawn here with a quiet
//! zone of four modules on every side.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use image::{ExtendedColorType, ImageEncoder, Luma};
use qrcode::{Color, EcLevel, QrCode};

/// Light modules around the code on every side, as the QR standard asks.
const QUIET_ZONE: usize = 4;

/// The smallest side of a module in the PNG, in pixels.
const MIN_MODULE_PX: u32 = 6;

/// The PNG is drawn at least this wide (quiet zone included) when the code is small.
const TARGET_WIDTH_PX: u32 = 480;

/// Why a QR code could not be made.
#[derive(Debug, thiserror::Error)]
pub enum QrError {
    /// The text does not fit in the largest QR code.
    #[error("texto longo demais para um QR code ({len} bytes)")]
    TooLong {
        /// The text's length in bytes.
        len: usize,
    },
    /// The QR encoder refused the text for another reason.
    #[error("não consegui gerar o QR code: {0}")]
    Encode(qrcode::types::QrError),
    /// The PNG could not be encoded.
    #[error("não consegui gerar a imagem do QR code: {0}")]
    Image(#[from] image::ImageError),
    /// A file operation failed.
    #[error("erro de arquivo em {}: {source}", .path.display())]
    Io {
        /// The path involved.
        path: PathBuf,
        /// What the system said.
        source: std::io::Error,
    },
}

/// The QR code of exactly `text`, at error correction level M.
fn encode(text: &str) -> Result<QrCode, QrError> {
    QrCode::with_error_correction_level(text.as_bytes(), EcLevel::M).map_err(|e| match e {
        qrcode::types::QrError::DataTooLong => QrError::TooLong { len: text.len() },
        other => QrError::Encode(other),
    })
}

/// The side of a module in pixels for a code `modules` wide (quiet zone included).
fn module_px(modules: u32) -> u32 {
    TARGET_WIDTH_PX.div_ceil(modules.max(1)).max(MIN_MODULE_PX)
}

/// A PNG image of the QR code of exactly `text`: black on white, a quiet zone of four
/// modules, and modules of at least 6 px (about 500 px wide for a WhatsApp link text),
/// large enough for a phone camera to read from a forwarded image.
pub fn png(text: &str) -> Result<Vec<u8>, QrError> {
    let code = encode(text)?;
    let modules = u32::try_from(code.width() + 2 * QUIET_ZONE).unwrap_or(u32::MAX);
    let px = module_px(modules);
    let img = code
        .render::<Luma<u8>>()
        .quiet_zone(true)
        .module_dimensions(px, px)
        .build();

    let mut out = Vec::new();
    image::codecs::png::PngEncoder::new(&mut out).write_image(
        img.as_raw(),
        img.width(),
        img.height(),
        ExtendedColorType::L8,
    )?;
    Ok(out)
}

/// The QR code of exactly `text` drawn with Unicode half blocks (`▀`, `▄`, `█` and
/// space), two module rows per line, each line ending in `\n`, quiet zone included.
///
/// Drawn for a dark terminal: light modules and the quiet zone are blocks (the light
/// text colour) and dark modules are spaces (the dark background), so a phone sees
/// dark modules on a light field, as on paper. On a light terminal the code comes out
/// inverted, which some scanners do not read.
pub fn terminal(text: &str) -> Result<String, QrError> {
    let code = encode(text)?;
    let grid = Grid::new(&code);
    let mut out = String::with_capacity(grid.side * (grid.side / 2 + 2) * 3);
    for top in (0..grid.side).step_by(2) {
        for x in 0..grid.side {
            out.push(half_block(grid.light(x, top), grid.light(x, top + 1)));
        }
        out.push('\n');
    }
    Ok(out)
}

/// The character showing two stacked modules, drawing the light ones.
fn half_block(top_light: bool, bottom_light: bool) -> char {
    match (top_light, bottom_light) {
        (true, true) => '█',
        (true, false) => '▀',
        (false, true) => '▄',
        (false, false) => ' ',
    }
}

/// A code's modules with the quiet zone around them.
struct Grid {
    colors: Vec<Color>,
    width: usize,
    side: usize,
}

impl Grid {
    fn new(code: &QrCode) -> Grid {
        Grid {
            colors: code.to_colors(),
            width: code.width(),
            side: code.width() + 2 * QUIET_ZONE,
        }
    }

    /// Whether the module at (`x`, `y`) is light; the quiet zone is light, and rows
    /// below the drawing (the last line's lower half) count as background, not light.
    fn light(&self, x: usize, y: usize) -> bool {
        if y >= self.side {
            return false;
        }
        let inside = |v: usize| (QUIET_ZONE..QUIET_ZONE + self.width).contains(&v);
        if !inside(x) || !inside(y) {
            return true;
        }
        let i = (y - QUIET_ZONE) * self.width + (x - QUIET_ZONE);
        self.colors[i] == Color::Light
    }
}

/// Writes [`png`] of `text` to `path` atomically: a temporary file in the same folder,
/// flushed to disk, then renamed over `path`. The folder must exist.
pub fn write_png(path: &Path, text: &str) -> Result<(), QrError> {
    let bytes = png(text)?;
    let tmp = temp_path(path);
    let written = write_synced(&tmp, &bytes).and_then(|()| {
        std::fs::rename(&tmp, path).map_err(|source| QrError::Io {
            path: path.to_owned(),
            source,
        })
    });
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written
}

/// A fresh temporary name beside `path`.
fn temp_path(path: &Path) -> PathBuf {
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let unique = format!(".{name}.{}.{:x}.tmp", std::process::id(), fastrand::u64(..));
    path.with_file_name(unique)
}

/// Writes `bytes` to a new file at `path` and waits until they are on disk.
fn write_synced(path: &Path, bytes: &[u8]) -> Result<(), QrError> {
    let io = |source| QrError::Io {
        path: path.to_owned(),
        source,
    };
    let mut file = File::create_new(path).map_err(io)?;
    file.write_all(bytes).map_err(io)?;
    file.sync_all().map_err(io)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A link text shaped like WhatsApp's: a ref and three base64 keys (fake ones).
    const LINK: &str = concat!(
        "2@Qm9vdHN0cmFwUmVmZXJlbmNlRm9yVGVzdGluZ09ubHkxMjM0NTY3ODkwYWJjZGVm",
        "Z2hpamtsbW5vcHFyc3R1dnd4eXo+/Tm9ub2U=,",
        "dGhpcyBpcyBhIGZha2Ugbm9pc2Uga2V5IGZvciB0ZXN0cw==,",
        "cHVibGljIGlkZW50aXR5IGtleSBmb3IgdGVzdHMgb25seQ==,",
        "YWR2LXNlY3JldC1rZXktZm9yLXRlc3Qtb25seQ==",
    );

    fn decode_image(img: image::GrayImage) -> String {
        let mut prepared = rqrr::PreparedImage::prepare(img);
        let grids = prepared.detect_grids();
        assert_eq!(grids.len(), 1, "one QR code in the image");
        grids[0].decode().unwrap().1
    }

    fn decode_png(bytes: &[u8]) -> String {
        decode_image(image::load_from_memory(bytes).unwrap().to_luma8())
    }

    #[test]
    fn png_decodes_to_the_exact_text() {
        assert!((200..=260).contains(&LINK.len()), "{}", LINK.len());
        let bytes = png(LINK).unwrap();
        assert_eq!(decode_png(&bytes), LINK);
    }

    #[test]
    fn png_has_a_readable_size_and_a_quiet_zone() {
        let img = image::load_from_memory(&png(LINK).unwrap())
            .unwrap()
            .to_luma8();
        let side = u32::try_from(encode(LINK).unwrap().width() + 2 * QUIET_ZONE).unwrap();
        assert_eq!(img.width(), img.height());
        assert!((400..=600).contains(&img.width()), "{} px", img.width());
        assert_eq!(img.width() % side, 0);
        let px = img.width() / side;
        assert!(px >= MIN_MODULE_PX);
        let (m, w) = (4 * px, img.width());
        let in_margin = |x: u32, y: u32| x < m || y < m || x >= w - m || y >= w - m;
        assert!(
            img.enumerate_pixels()
                .all(|(x, y, p)| !in_margin(x, y) || p.0[0] == 255)
        );
        assert!(img.pixels().all(|p| p.0[0] == 0 || p.0[0] == 255));
    }

    #[test]
    fn short_and_tiny_texts_still_get_big_modules() {
        let img = image::load_from_memory(&png("x").unwrap()).unwrap();
        assert!(img.width() >= TARGET_WIDTH_PX);
        assert_eq!(module_px(177 + 8), MIN_MODULE_PX);
    }

    #[test]
    fn too_long_text_is_refused() {
        let text = "a".repeat(5000);
        let err = png(&text).unwrap_err();
        assert!(matches!(err, QrError::TooLong { len: 5000 }));
        assert!(err.to_string().contains("longo demais"));
        assert!(terminal(&text).is_err());
    }

    #[test]
    fn terminal_has_the_expected_size_and_characters() {
        let drawing = terminal(LINK).unwrap();
        let side = encode(LINK).unwrap().width() + 2 * QUIET_ZONE;
        let lines: Vec<&str> = drawing.lines().collect();
        assert_eq!(lines.len(), side.div_ceil(2));
        assert!(lines.iter().all(|l| l.chars().count() == side));
        assert!(
            drawing
                .chars()
                .all(|c| matches!(c, '▀' | '▄' | '█' | ' ' | '\n'))
        );
        assert!(drawing.ends_with('\n'));
        // The quiet zone: the first two lines are solid light blocks.
        assert!(lines[..2].iter().all(|l| l.chars().all(|c| c == '█')));
    }

    /// Whether a half block lights its upper or its lower module.
    fn lit(c: char, lower: bool) -> bool {
        matches!((c, lower), ('█', _) | ('▀', false) | ('▄', true))
    }

    /// The picture a phone sees of a drawing on a dark terminal: blocks white, spaces
    /// black, `px` pixels per module.
    fn seen_on_dark_terminal(drawing: &str, px: usize) -> image::GrayImage {
        let rows: Vec<Vec<char>> = drawing.lines().map(|l| l.chars().collect()).collect();
        let (w, h) = (rows[0].len() * px, 2 * rows.len() * px);
        let (w, h) = (u32::try_from(w).unwrap(), u32::try_from(h).unwrap());
        image::GrayImage::from_fn(w, h, |x, y| {
            let (col, row) = (x as usize / px, y as usize / px);
            let light = lit(rows[row / 2][col], row % 2 == 1);
            Luma([if light { 255 } else { 0 }])
        })
    }

    #[test]
    fn terminal_drawing_decodes_to_the_exact_text() {
        let drawing = terminal(LINK).unwrap();
        assert_eq!(decode_image(seen_on_dark_terminal(&drawing, 8)), LINK);
    }

    #[test]
    fn terminal_draws_dark_modules_as_spaces() {
        let drawing = terminal(LINK).unwrap();
        let line = drawing.lines().nth(QUIET_ZONE / 2).unwrap();
        // Rows 4 and 5 start with the top-left finder pattern: a dark column at x = 4,
        // then light at x = 5 on row 5 only.
        let chars: Vec<char> = line.chars().collect();
        assert_eq!(&chars[..6], &['█', '█', '█', '█', ' ', '▄']);
    }

    #[test]
    fn write_png_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("qr.png");
        write_png(&path, LINK).unwrap();
        write_png(&path, LINK).unwrap();
        assert_eq!(decode_png(&std::fs::read(&path).unwrap()), LINK);
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(names.len(), 1, "no temporary file left behind");
    }

    #[test]
    fn write_png_into_a_missing_folder_fails_cleanly() {
        let dir = tempfile::tempdir().unwrap();
        let err = write_png(&dir.path().join("no/qr.png"), LINK).unwrap_err();
        assert!(matches!(err, QrError::Io { .. }));
        assert!(err.to_string().starts_with("erro de arquivo em"));
    }
}

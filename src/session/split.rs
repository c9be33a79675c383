//! Long texts become several messages, cut where a reader would cut them.
//!
//! A text over the limit is cut at paragraph breaks; a paragraph still too long at
//! sentence ends; a sentence at word boundaries; a word at grapheme boundaries, so an
//! accent or an emoji sequence (👨‍👩‍👧) is never broken.
//! When there are several parts each ends with a counter, `(2/5)`, and still fits the
//! limit.

use unicode_segmentation::UnicodeSegmentation;

/// The most characters WhatsApp users comfortably receive in one message (F21).
pub const MAX_MESSAGE_CHARS: usize = 4_000;

/// Room kept for the `\n(i/n)` counter.
const COUNTER_ROOM: usize = 16;

/// Splits `text` into messages of at most `limit` characters (at least 64), in order.
pub fn split_message(text: &str, limit: usize) -> Vec<String> {
    let limit = limit.max(64);
    if text.chars().count() <= limit {
        return vec![text.to_owned()];
    }
    let mut parts = Vec::new();
    split_at_level(text, limit - COUNTER_ROOM, Level::Paragraph, &mut parts);
    let total = parts.len();
    if total > 1 {
        for (i, part) in parts.iter_mut().enumerate() {
            part.push_str(&format!("\n({}/{total})", i + 1));
        }
    }
    parts
}

#[derive(Clone, Copy)]
enum Level {
    Paragraph,
    Sentence,
    Word,
    Grapheme,
}

impl Level {
    fn units(self, text: &str) -> Vec<&str> {
        match self {
            Self::Paragraph => text.split_inclusive("\n\n").collect(),
            Self::Sentence => text.split_sentence_bounds().collect(),
            Self::Word => text.split_word_bounds().collect(),
            Self::Grapheme => text.graphemes(true).collect(),
        }
    }

    fn finer(self) -> Level {
        match self {
            Self::Paragraph => Self::Sentence,
            Self::Sentence => Self::Word,
            Self::Word | Self::Grapheme => Self::Grapheme,
        }
    }
}

/// Packs the units of `text` at `level` greedily into parts of at most `budget`
/// characters; a unit too long on its own is split at the next finer level.
fn split_at_level(text: &str, budget: usize, level: Level, out: &mut Vec<String>) {
    let mut current = String::new();
    let mut current_len = 0;
    for unit in level.units(text) {
        let len = unit.chars().count();
        let finest = matches!(level, Level::Grapheme);
        if len > budget && !finest {
            flush(&mut current, &mut current_len, out);
            split_at_level(unit, budget, level.finer(), out);
            // The last piece stays open, so a short unit after it (a signature, say)
            // joins it instead of going alone.
            if let Some(last) = out.pop() {
                current = last + &unit[unit.trim_end().len()..];
                current_len = current.chars().count();
            }
            continue;
        }
        if current_len + len > budget {
            flush(&mut current, &mut current_len, out);
        }
        current.push_str(unit);
        current_len += len;
    }
    flush(&mut current, &mut current_len, out);
}

fn flush(current: &mut String, current_len: &mut usize, out: &mut Vec<String>) {
    let trimmed = current.trim();
    if !trimmed.is_empty() {
        out.push(trimmed.to_owned());
    }
    current.clear();
    *current_len = 0;
}

/// The id of part `index` (from 0) of a split text: the first keeps the caller's id,
/// the others get `-2`, `-3`, ...
pub fn part_id(id: &str, index: usize) -> String {
    match index {
        0 => id.to_owned(),
        n => format!("{id}-{}", n + 1),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn without_counters(parts: &[String]) -> Vec<String> {
        let total = parts.len();
        let strip = |(i, p): (usize, &String)| {
            let counter = format!("\n({}/{total})", i + 1);
            p.strip_suffix(&counter).unwrap_or(p).to_owned()
        };
        parts.iter().enumerate().map(strip).collect()
    }

    #[test]
    fn a_short_paragraph_after_a_long_one_joins_its_last_part() {
        let long = "Uma frase de teste com acentuação. ".repeat(300);
        let text = format!("{}\n\n— Ana 🍰", long.trim_end());
        let parts = split_message(&text, 4_000);
        assert_eq!(
            parts.len(),
            3,
            "{:?}",
            parts.iter().map(|p| p.len()).collect::<Vec<_>>()
        );
        assert!(parts[2].ends_with("\n\n— Ana 🍰\n(3/3)"), "{:?}", parts[2]);
        assert!(parts.iter().all(|p| p.chars().count() <= 4_000));
    }

    #[test]
    fn short_text_is_one_message_without_counter() {
        assert_eq!(split_message("Olá! Tudo bem?", 4_000), ["Olá! Tudo bem?"]);
    }

    #[test]
    fn cuts_at_paragraphs_first() {
        let para = "Parágrafo com acentuação. ".repeat(3);
        let text = format!("{para}\n\n{para}\n\n{para}");
        let parts = split_message(&text, 100);
        assert_eq!(parts.len(), 3);
        assert!(parts[0].ends_with("acentuação.\n(1/3)"), "{:?}", parts[0]);
        assert!(parts.iter().all(|p| p.chars().count() <= 100));
    }

    #[test]
    fn long_paragraph_cuts_at_sentences() {
        let text =
            "Primeira frase aqui. Segunda frase, mais longa, aqui. Terceira frase. ".repeat(4);
        let parts = split_message(&text, 80);
        for part in without_counters(&parts) {
            assert!(part.ends_with('.'), "cut mid-sentence: {part:?}");
        }
    }

    #[test]
    fn seventy_thousand_chars_with_emoji_and_a_long_word() {
        let family = "👨‍👩‍👧";
        let mut text = String::new();
        while text.chars().count() < 65_000 {
            text.push_str(&format!(
                "Olá, ação e coração {family}. Frase com ç e ã.\n\n"
            ));
        }
        text.push_str(&format!("{}{family}", "x".repeat(5_000)));
        let parts = split_message(&text, MAX_MESSAGE_CHARS);
        assert!(parts.len() >= 18, "{}", parts.len());
        for part in &parts {
            assert!(part.chars().count() <= MAX_MESSAGE_CHARS);
        }
        let total = parts.len();
        assert!(parts[total - 1].ends_with(&format!("({total}/{total})")));
        // Nothing lost or broken: the graphemes joined back equal the original's, spaces aside.
        let joined: String = without_counters(&parts).concat();
        let squash = |s: &str| s.split_whitespace().collect::<String>();
        assert_eq!(squash(&joined), squash(&text));
        assert_eq!(joined.matches(family).count(), text.matches(family).count());
    }
}

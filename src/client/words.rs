//! Command words: how a typed `!Menu` becomes the name `menu`.
//!
//! People type commands on phones: upper case, accents composed or not, invisible marks
//! pasted from other apps, no-break spaces. [`normalize`] erases those differences,
//! [`fold`] also drops accents (for keywords), [`parse_command`] splits `!name args`, and
//! [`closest`] finds the command someone probably meant.

use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

/// The longest command name, in characters.
const MAX_NAME: usize = 32;

/// The largest edit distance [`closest`] still calls a typo.
const MAX_TYPO: usize = 2;

/// A command typed on a phone: `!name arg1 arg2`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parsed {
    /// The command word, [`normalize`]d, without the prefix.
    pub name: String,
    /// The words after the name, split on any whitespace, invisible marks removed.
    pub args: Vec<String>,
    /// Everything after the name as typed, trimmed (for free text).
    pub rest: String,
}

/// Whether `c` is a mark that shows nothing: zero-width spaces and joiners, word joiners,
/// the byte-order mark, the soft hyphen and the bidirectional controls.
pub fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{200B}'..='\u{200F}'
            | '\u{2060}'..='\u{2064}'
            | '\u{FEFF}'
            | '\u{00AD}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2066}'..='\u{2069}'
    )
}

/// The text in NFC with invisible marks removed; case and accents kept.
pub fn clean(text: &str) -> String {
    text.chars().filter(|c| !is_invisible(*c)).nfc().collect()
}

/// The text in NFC, invisible marks removed, lower-cased: how command words compare.
pub fn normalize(word: &str) -> String {
    clean(word).to_lowercase().nfc().collect()
}

/// [`normalize`] with accents removed (`CARDÁPIO` → `cardapio`): how keywords compare.
pub fn fold(text: &str) -> String {
    normalize(text)
        .nfd()
        .filter(|c| !is_combining_mark(*c))
        .nfc()
        .collect()
}

/// Whether `word` is a valid command name: `^[a-z0-9][a-z0-9_-]{0,31}$`.
pub fn is_command_name(word: &str) -> bool {
    let bytes = word.as_bytes();
    let first_ok = bytes
        .first()
        .is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
    let rest_ok = bytes
        .iter()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-_".contains(b));
    first_ok && rest_ok && bytes.len() <= MAX_NAME
}

/// Splits `!name args` when `text` starts with `prefix` (case-insensitive) directly
/// followed by a name; leading spaces and invisible marks are ignored.
pub fn parse_command(text: &str, prefix: &str) -> Option<Parsed> {
    let text = text.trim_start_matches(|c: char| c.is_whitespace() || is_invisible(c));
    let after = strip_prefix(text, prefix)?;

    let word_end = after.find(char::is_whitespace).unwrap_or(after.len());
    let (word, tail) = after.split_at(word_end);
    let name = normalize(word);
    if name.is_empty() {
        return None;
    }

    let args = tail
        .split(char::is_whitespace)
        .map(clean)
        .filter(|arg| !arg.is_empty())
        .collect();
    let rest = tail.trim_matches(|c: char| c.is_whitespace() || is_invisible(c));
    Some(Parsed {
        name,
        args,
        rest: rest.to_owned(),
    })
}

/// The text after `prefix`, compared case-insensitively; `None` without it.
fn strip_prefix<'t>(text: &'t str, prefix: &str) -> Option<&'t str> {
    let count = prefix.chars().count();
    if count == 0 {
        return None;
    }
    let end = text
        .char_indices()
        .nth(count)
        .map_or(text.len(), |(at, _)| at);
    let (head, after) = text.split_at(end);
    (head.to_lowercase() == prefix.to_lowercase()).then_some(after)
}

/// The candidate nearest to `word` by edit distance, if it is a plausible typo: at most
/// two edits and fewer edits than `word` has characters. Ties go to the first.
pub fn closest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let word: Vec<char> = normalize(word).chars().collect();
    let mut best: Option<(usize, &'a str)> = None;
    for candidate in candidates {
        let other: Vec<char> = normalize(candidate).chars().collect();
        let distance = levenshtein(&word, &other);
        if best.is_none_or(|(d, _)| distance < d) {
            best = Some((distance, candidate));
        }
    }
    best.filter(|(d, _)| *d <= MAX_TYPO && *d < word.len())
        .map(|(_, candidate)| candidate)
}

/// How many single-character insertions, deletions and substitutions turn `a` into `b`.
fn levenshtein(a: &[char], b: &[char]) -> usize {
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut current = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let substitute = previous[j] + usize::from(ca != cb);
            let delete = previous[j + 1] + 1;
            let insert = current[j] + 1;
            current.push(substitute.min(delete).min(insert));
        }
        previous = current;
    }
    previous[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(text: &str, prefix: &str) -> (String, Vec<String>, String) {
        let p = parse_command(text, prefix).unwrap();
        (p.name, p.args, p.rest)
    }

    #[test]
    fn composed_and_decomposed_accents_compare_equal() {
        let composed = "aj\u{00FA}da";
        let decomposed = "aju\u{0301}da";
        assert_eq!(normalize(composed), normalize(decomposed));
        assert_eq!(normalize(decomposed), "ajúda");
        assert_eq!(parse_command("!AJU\u{0301}DA", "!").unwrap().name, "ajúda");
    }

    #[test]
    fn invisible_marks_are_stripped() {
        assert_eq!(parse_command("!me\u{200B}nu", "!").unwrap().name, "menu");
        assert_eq!(normalize("\u{FEFF}me\u{00AD}n\u{2066}u\u{202E}"), "menu");
        assert_eq!(parse_command("\u{200E} !menu", "!").unwrap().name, "menu");
    }

    #[test]
    fn upper_case_names_are_lowered() {
        assert_eq!(parse_command("!MENU", "!").unwrap().name, "menu");
    }

    #[test]
    fn arguments_split_on_any_whitespace() {
        let text = "!enviar x\u{00A0}55 11\u{2007}texto  com espaços ";
        let (name, args, rest) = parsed(text, "!");
        assert_eq!(name, "enviar");
        assert_eq!(args, ["x", "55", "11", "texto", "com", "espaços"]);
        assert_eq!(rest, "x\u{00A0}55 11\u{2007}texto  com espaços");
        let (_, args, rest) = parsed("!menu\n", "!");
        assert!(args.is_empty() && rest.is_empty());
        let (_, args, _) = parsed("!x a\u{200B} b", "!");
        assert_eq!(args, ["a", "b"]);
    }

    #[test]
    fn other_prefixes_work_and_compare_case_insensitively() {
        assert_eq!(parsed("/menu hoje", "/").0, "menu");
        assert_eq!(parsed("#Ajuda", "#").0, "ajuda");
        assert_eq!(parsed("Bot:menu", "bot:").0, "menu");
        assert_eq!(parsed("!!menu", "!!").0, "menu");
        assert!(parse_command("!menu", "/").is_none());
    }

    #[test]
    fn a_prefix_without_a_name_is_not_a_command() {
        for text in [
            "!",
            "! menu",
            "!\u{00A0}menu",
            "!\u{200B}",
            "menu",
            "",
            "oi !menu",
        ] {
            assert!(parse_command(text, "!").is_none(), "{text:?}");
        }
        assert!(parse_command("menu", "").is_none());
    }

    #[test]
    fn fold_drops_accents_and_case() {
        assert_eq!(fold("CARDÁPIO"), "cardapio");
        assert_eq!(fold("Promoção"), "promocao");
        assert_eq!(fold("cardápio"), fold("CARDAPIO"));
    }

    #[test]
    fn command_names_follow_the_rule() {
        for good in ["menu", "a", "2via", "horario-de_verao", &"a".repeat(32)] {
            assert!(is_command_name(good), "{good}");
        }
        for bad in [
            "",
            "-menu",
            "_x",
            "Menu",
            "cardápio",
            "a b",
            "a.b",
            &"a".repeat(33),
        ] {
            assert!(!is_command_name(bad), "{bad}");
        }
    }

    #[test]
    fn closest_suggests_plausible_typos_only() {
        let names = ["menu", "ajuda", "horario", "atendente"];
        assert_eq!(closest("meun", names), Some("menu"));
        assert_eq!(closest("AJUDAA", names), Some("ajuda"));
        assert_eq!(closest("horário", names), Some("horario"));
        assert_eq!(closest("xyzxyz", names), None);
        assert_eq!(closest("me", names), None);
        assert_eq!(closest("ab", ["a", "b"]), Some("a"));
        assert_eq!(closest("x", ["y"]), None);
        assert_eq!(closest("menu", []), None);
    }

    #[test]
    fn levenshtein_counts_edits() {
        let chars = |s: &str| s.chars().collect::<Vec<_>>();
        assert_eq!(levenshtein(&chars("kitten"), &chars("sitting")), 3);
        assert_eq!(levenshtein(&chars(""), &chars("abc")), 3);
        assert_eq!(levenshtein(&chars("ção"), &chars("cao")), 2);
    }
}

use super::*;
use crate::ai::persona::Personas;
use crate::store::MediaRef;

const CONTACT: &str = "5511988887777@c.us";

/// A text row `id` from the contact, or from the account when `from_me`.
fn row(id: &str, from_me: bool, text: &str) -> HistoryEntry {
    HistoryEntry {
        id: id.to_owned(),
        chat: CONTACT.to_owned(),
        from: if from_me { "me@c.us" } else { CONTACT }.to_owned(),
        from_me,
        kind: "chat".to_owned(),
        text: Some(text.to_owned()).filter(|t| !t.is_empty()),
        media: None,
        t_ms: 1_000,
        ack: 0,
        edited: false,
        revoked: false,
        truncated: false,
    }
}

/// A media row of `kind` from the contact, with an optional caption and file name.
fn media(kind: &str, caption: Option<&str>, filename: Option<&str>) -> HistoryEntry {
    let mut entry = row(kind, false, caption.unwrap_or_default());
    entry.kind = kind.to_owned();
    entry.media = Some(MediaRef {
        mimetype: "application/octet-stream".to_owned(),
        filename: filename.map(str::to_owned),
        size: Some(10),
        stored_at: None,
    });
    entry
}

/// The turns as (role, content) pairs.
fn pairs(turns: &[ChatMessage]) -> Vec<(Role, &str)> {
    turns.iter().map(|t| (t.role, t.content.as_str())).collect()
}

/// The contents of the turns.
fn contents(turns: &[ChatMessage]) -> Vec<&str> {
    turns.iter().map(|t| t.content.as_str()).collect()
}

fn persona(signature: Option<&str>) -> Persona {
    let mut persona = Personas::empty().default_persona();
    persona.signature = signature.map(str::to_owned);
    persona
}

#[test]
fn turns_are_oldest_first_with_roles_and_stop_at_the_current_message() {
    let history = [
        row("1", false, "oi"),
        row("2", true, "Olá! Como posso ajudar?"),
        row("3", false, "tem pão?"),
        row("4", false, "e leite?"),
    ];
    assert_eq!(
        pairs(&turns(&history, "3", 10, None)),
        [
            (Role::User, "oi"),
            (Role::Assistant, "Olá! Como posso ajudar?")
        ]
    );
    assert_eq!(turns(&history, "4", 10, None).len(), 3);
    assert_eq!(turns(&history, "nenhum", 10, None).len(), 4);
    assert!(turns(&history, "1", 10, None).is_empty());
}

#[test]
fn only_the_last_turns_are_kept() {
    let history: Vec<_> = (1..=6)
        .map(|i| row(&i.to_string(), false, &format!("m{i}")))
        .collect();
    assert_eq!(contents(&turns(&history, "6", 3, None)), ["m3", "m4", "m5"]);
    assert!(turns(&history, "6", 0, None).is_empty());
}

#[test]
fn in_groups_only_the_author_and_the_account_count() {
    let mut other = row("2", false, "eu também quero");
    other.from = "5511900000000@c.us".to_owned();
    let history = [
        row("1", false, "quero pão"),
        other,
        row("3", true, "Claro!"),
    ];
    let group = turns(&history, "x", 10, Some(CONTACT));
    assert_eq!(contents(&group), ["quero pão", "Claro!"]);
    assert_eq!(turns(&history, "x", 10, None).len(), 3);
}

#[test]
fn deleted_and_empty_rows_are_skipped() {
    let mut revoked = row("2", false, "apagada");
    revoked.revoked = true;
    let history = [
        row("1", false, "oi"),
        revoked,
        row("3", false, "  "),
        row("4", true, ""),
    ];
    assert_eq!(contents(&turns(&history, "x", 10, None)), ["oi"]);
    let limited = [
        row("1", false, "oi"),
        row("2", false, ""),
        row("3", false, ""),
    ];
    assert_eq!(contents(&turns(&limited, "x", 1, None)), ["oi"]);
}

#[test]
fn media_become_placeholders_by_kind() {
    let history = [
        media("image", None, None),
        media("image", Some(" olha isso "), None),
        media("ptt", None, None),
        media("audio", Some("transcrição"), None),
        media("video", None, None),
        media("sticker", None, None),
        media("document", None, Some("orçamento.pdf")),
        media("document", None, None),
        media("location", None, None),
        media("vcard", None, None),
        media("poll_creation", None, None),
    ];
    assert_eq!(
        contents(&turns(&history, "x", 20, None)),
        [
            "[imagem]",
            "[imagem] olha isso",
            "[áudio]",
            "[áudio] transcrição",
            "[vídeo]",
            "[figurinha]",
            "[documento: orçamento.pdf]",
            "[documento]",
            "[localização]",
            "[contato]",
            "[mídia]",
        ]
    );
    let mut location = row("l", false, "");
    location.kind = "location".to_owned();
    let mut button = row("b", false, "Sim");
    button.kind = "buttons_response".to_owned();
    assert_eq!(
        contents(&turns(&[location, button], "x", 5, None)),
        ["[localização]", "Sim"]
    );
}

#[test]
fn base64_is_never_sent() {
    let blob = "QUJD".repeat(50);
    let history = [
        row("1", false, &blob),
        media("image", Some("data:image/png;base64,iVBOR"), None),
        row("3", false, &format!("veja {blob} ok")),
    ];
    let sent = turns(&history, "x", 10, None);
    assert_eq!(contents(&sent), ["[mídia]", "[imagem]", "[mídia]"]);
    assert!(sent.iter().all(|t| !t.content.contains("QUJD")));
}

#[test]
fn what_looks_like_base64() {
    assert!(looks_like_base64(&"a".repeat(200)));
    assert!(!looks_like_base64(&"a".repeat(199)));
    assert!(looks_like_base64(&format!("x {}+/=_-", "A1".repeat(98))));
    assert!(!looks_like_base64(&"abcd ".repeat(100)));
    assert!(!looks_like_base64(&format!(
        "{}.{}",
        "a".repeat(150),
        "a".repeat(150)
    )));
    assert!(looks_like_base64("  DATA:text/plain,oi"));
    assert!(!looks_like_base64("dados: oi"));
    assert!(!looks_like_base64("ç"));
    assert!(!looks_like_base64(""));
}

#[test]
fn a_long_turn_is_cut() {
    let long = "é".repeat(TURN_CHARS + 500);
    let sent = turns(&[row("1", false, &long)], "x", 5, None);
    let content = &sent[0].content;
    assert_eq!(content.chars().count(), TURN_CHARS);
    assert!(content.ends_with("é…"));
    let exact = "é".repeat(TURN_CHARS);
    assert_eq!(
        turns(&[row("1", false, &exact)], "x", 5, None)[0].content,
        exact
    );
}

#[test]
fn the_oldest_turns_are_dropped_to_fit() {
    let history: Vec<_> = (0..20)
        .map(|i| {
            row(
                &i.to_string(),
                false,
                &format!("{i:02}{}", "é".repeat(TURN_CHARS - 2)),
            )
        })
        .collect();
    let sent = turns(&history, "x", 50, None);
    assert_eq!(sent.len(), PROMPT_CHARS / TURN_CHARS);
    assert!(sent[0].content.starts_with("04"));
    assert!(sent[15].content.starts_with("19"));

    let mut over = history[..16].to_vec();
    over.push(row("extra", false, "a"));
    let sent = turns(&over, "x", 50, None);
    assert_eq!(sent.len(), 16);
    assert!(sent[0].content.starts_with("01") && sent[15].content == "a");
}

#[test]
fn a_request_has_the_system_prompt_the_turns_and_the_message() {
    let mut persona = persona(None);
    persona.temperature = Some(0.4);
    let turns = vec![
        ChatMessage::new(Role::User, "oi"),
        ChatMessage::new(Role::Assistant, "Olá!"),
    ];
    let request = chat_request(&persona, "padaria", turns, "  tem pão?  ");
    assert_eq!(request.temperature, Some(0.4));
    let system = system_prompt(&persona, "padaria");
    assert_eq!(
        pairs(&request.messages),
        [
            (Role::System, system.as_str()),
            (Role::User, "oi"),
            (Role::Assistant, "Olá!"),
            (Role::User, "tem pão?"),
        ]
    );
}

#[test]
fn a_request_cuts_the_message_and_fits_the_turns() {
    let persona = persona(None);
    let ask = "á".repeat(ASK_CHARS + 1);
    let big = vec![ChatMessage::new(Role::User, "b".repeat(PROMPT_CHARS)); 2];
    let request = chat_request(&persona, "padaria", big, &ask);
    assert_eq!(request.messages.len(), 3);
    let last = &request.messages[2].content;
    assert_eq!(last.chars().count(), ASK_CHARS);
    assert!(last.ends_with("á…"));
    assert_eq!(request.temperature, None);

    let encoded = chat_request(&persona, "padaria", Vec::new(), &"QUJD".repeat(60));
    assert_eq!(encoded.messages[1].content, "[mídia]");
}

#[test]
fn answers_are_trimmed_and_signed() {
    assert_eq!(finish_answer("  Oi!\n", &persona(None)), "Oi!");
    let signed = persona(Some("— Loja da Ana"));
    assert_eq!(finish_answer("\nOi!  ", &signed), "Oi!\n\n— Loja da Ana");
    assert_eq!(finish_answer(" \n ", &signed), "");
}

#[test]
fn a_long_answer_is_cut_between_graphemes() {
    let family = "👨\u{200D}👩\u{200D}👧";
    assert_eq!(family.chars().count(), 5);

    // The family would cross the limit: it goes whole.
    let text = format!("{}{family}b", "a".repeat(ANSWER_CHARS - 3));
    let cut = finish_answer(&text, &persona(None));
    assert_eq!(cut, format!("{}…", "a".repeat(ANSWER_CHARS - 3)));

    // The family fits: it stays whole.
    let text = format!("{}{family}bcd", "a".repeat(ANSWER_CHARS - 7));
    let cut = finish_answer(&text, &persona(Some("— Ana")));
    assert_eq!(
        cut,
        format!("{}{family}b…\n\n— Ana", "a".repeat(ANSWER_CHARS - 7))
    );
    let answer = cut.strip_suffix("\n\n— Ana").unwrap();
    assert_eq!(answer.chars().count(), ANSWER_CHARS);

    let exact = "a".repeat(ANSWER_CHARS);
    assert_eq!(finish_answer(&exact, &persona(None)), exact);
}

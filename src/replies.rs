//! Every pt-BR text orbitbot writes to a WhatsApp chat, in one place.
//!
//! Words that outside tests rely on (DESIGN.md §7) are kept: `comando desconhecido`.

/// An unknown command, with the closest known one when there is one.
pub fn unknown_command(prefix: &str, word: &str, suggestion: Option<&str>) -> String {
    let hint = suggestion.map_or(String::new(), |s| format!(" Você quis dizer {prefix}{s}?"));
    format!("❓ comando desconhecido: {prefix}{word}.{hint} Mande {prefix}ajuda para ver a lista.")
}

/// A contact tried a command it is not allowed to use.
pub fn denied(prefix: &str, name: &str) -> String {
    format!("🚫 Você não tem permissão para usar {prefix}{name}.")
}

/// The one short answer to a contact whose messages waited while the bot was away.
pub fn back_again() -> &'static str {
    "Voltamos! 😊 Desculpe a demora. Como posso ajudar?"
}

/// A contact asked for an AI command on a tenant without AI.
pub fn ai_unavailable(prefix: &str) -> String {
    format!(
        "🤖 A IA não está disponível neste número. \
         Mande {prefix}ajuda para ver os comandos."
    )
}

/// The owner paused the whole bot.
pub fn paused(prefix: &str) -> String {
    format!(
        "⏸️ Robô pausado: ninguém recebe respostas automáticas \
         até você mandar {prefix}retomar."
    )
}

/// The owner resumed the whole bot.
pub fn resumed() -> &'static str {
    "▶️ Robô ligado de novo: respondendo normalmente."
}

/// The owner resumed the bot for one contact.
pub fn resumed_contact(number: &str) -> String {
    format!("▶️ O robô voltou a responder {number}.")
}

/// The owner's `!retomar` named something that is not a phone number.
pub fn resume_usage(prefix: &str) -> String {
    format!(
        "Não entendi o número. Use {prefix}retomar para ligar o robô, ou \
         {prefix}retomar 5511988887777 para voltar a responder uma pessoa."
    )
}

/// To a contact who asked for a person.
pub fn attendant_called() -> &'static str {
    "🙋 Certo! Chamei um atendente; ele vai responder aqui em breve."
}

/// To the owner, when a contact asked for a person.
pub fn attendant_wanted(prefix: &str, name: &str, contact: &str, number: &str) -> String {
    format!(
        "🙋 {name} ({contact}) pediu um atendente. O robô fica quieto com essa pessoa \
         por 24 h ou até você mandar {prefix}retomar {number}."
    )
}

/// The header of the generated help.
pub fn help_header() -> &'static str {
    "📋 *Comandos*"
}

/// The footer of the generated help.
pub fn help_footer(prefix: &str) -> String {
    format!("Detalhes de um comando: {prefix}ajuda <comando>")
}

/// The details of one command in the help.
pub fn help_detail(usage: &str, help: &str, aliases: &[String], prefix: &str) -> String {
    let mut text = format!("*{usage}*\n{help}");
    if !aliases.is_empty() {
        let list: Vec<String> = aliases.iter().map(|a| format!("{prefix}{a}")).collect();
        text.push_str(&format!("\nTambém: {}", list.join(", ")));
    }
    text
}

/// The business hours, and whether it is open now.
pub fn hours(hours: &str, open: bool) -> String {
    let now = if open { "abertos" } else { "fechados" };
    format!("🕒 Nosso horário: {hours}. Agora estamos {now}.")
}

/// A tenant without business hours.
pub fn always_open() -> &'static str {
    "🕒 Atendemos todos os dias, a qualquer hora."
}

/// The `{horario}` of a tenant without business hours.
pub fn any_time() -> &'static str {
    "todos os dias, a qualquer hora"
}

/// `{nome}` of a contact who shows no name.
pub fn unnamed_contact() -> &'static str {
    "cliente"
}

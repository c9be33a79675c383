//! Every pt-BR text orbitbot writes to a WhatsApp chat, in one place.
//!
//! Words that outside tests rely on (DESIGN.md §7) are kept: `comando desconhecido`.

/// `1 cliente`, `2 clientes`.
pub fn count(n: usize, one: &str, many: &str) -> String {
    match n {
        1 => format!("1 {one}"),
        n => format!("{n} {many}"),
    }
}

/// A number with pt-BR thousands dots: `50.000`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push('.');
        }
        out.push(c);
    }
    out
}

/// An unknown command, with the closest known one when there is one.
pub fn unknown_command(prefix: &str, word: &str, suggestion: Option<&str>) -> String {
    // A long word is cut: nobody makes the account send pages of it back.
    let word: String = match word.chars().nth(30) {
        Some(_) => word.chars().take(30).chain(['…']).collect(),
        None => word.to_owned(),
    };
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

/// The AI endpoint failed: the contact's fallback answer.
pub fn ai_failed(prefix: &str) -> String {
    format!(
        "🤖 Desculpe, não consegui responder agora. Tente de novo daqui a pouco \
         ou mande {prefix}ajuda para ver os comandos."
    )
}

/// The tenant's AI spent today's budget: what a contact asking the AI is told.
pub fn ai_resting(prefix: &str) -> String {
    format!(
        "🤖 O assistente automático está em pausa por hoje. Mande {prefix}ajuda para \
         ver os comandos ou {prefix}atendente para falar com uma pessoa."
    )
}

/// For the operators: a tenant's AI spent its daily budget.
pub fn ai_budget_spent(tenant: &str, budget: u64, prefix: &str) -> String {
    format!(
        "🤖 {tenant} usou o limite diário da IA ({} tokens); até amanhã o robô só \
         responde a comandos. Para mudar: {prefix}config {tenant} ia.tokens_dia <número>",
        thousands(budget)
    )
}

/// For the operators: a tenant's AI endpoint failed.
pub fn ai_failing(tenant: &str, error: &str) -> String {
    format!(
        "⚠️ Falha na IA de {tenant}: {error}. Os contatos recebem um pedido de \
         desculpas em vez da resposta."
    )
}

/// A persona was chosen.
pub fn persona_set(tenant: &str, chosen: &str) -> String {
    format!("🎭 Persona de {tenant}: {chosen}.")
}

/// The persona in use and the named ones to choose from.
pub fn persona_shown(tenant: &str, current: &str, names: &[&str], usage: &str) -> String {
    let names = if names.is_empty() {
        "(nenhuma em commands/personas)".to_owned()
    } else {
        names.join(", ")
    };
    format!("🎭 Persona de {tenant}: {current}.\nDisponíveis: {names}.\nPara mudar: {usage}")
}

/// For the operators: personas are kept, but AI is off in `admin.toml`.
pub fn ai_off_note() -> &'static str {
    "ℹ️ A IA está desligada: falta a seção [ai] no admin.toml. A persona fica guardada."
}

/// A voice note that could not be downloaded, decrypted or decoded (F18).
pub fn voice_unreadable() -> &'static str {
    "🎤 Não consegui ouvir seu áudio, pode reenviar? Se preferir, escreva a mensagem."
}

/// A voice note gone from WhatsApp's servers (F19).
pub fn voice_expired() -> &'static str {
    "🎤 Áudio antigo indisponível, reenvie por favor."
}

/// A voice note over `[transcription] max_seconds`.
pub fn voice_too_long(max_seconds: u64) -> String {
    format!(
        "🎤 Seu áudio é longo demais para eu ouvir (máximo {max_seconds} s). \
         Mande um mais curto ou escreva, por favor."
    )
}

/// Transcription is off or failing.
pub fn voice_unavailable() -> &'static str {
    "🎤 Não consigo ouvir áudios agora. Escreva a mensagem, por favor."
}

/// `!transcrever` without a quoted message.
pub fn transcribe_usage(prefix: &str) -> String {
    format!(
        "🎤 Para transcrever, responda ao áudio (segure a mensagem › Responder) \
         com {prefix}transcrever."
    )
}

/// `!transcrever` quoting a message that is not a voice note.
pub fn voice_not_a_note(prefix: &str) -> String {
    format!(
        "🎤 A mensagem respondida não é um áudio. Responda a um áudio com \
         {prefix}transcrever."
    )
}

/// An operator's voice note that could not be heard.
pub fn operator_voice_unheard(why: &str) -> String {
    format!("🎤 Não consegui ouvir o áudio ({why}). Escreva o comando, por favor.")
}

/// The command an operator's voice note seems to be, waiting for `sim`.
pub fn operator_voice_heard(command: &str) -> String {
    format!("🎤 Entendi: {command}\nResponda *sim* para executar (vale 5 min) ou *não*.")
}

/// An operator's voice note that names no command.
pub fn operator_voice_no_command(transcript: &str, prefix: &str) -> String {
    format!(
        "🎤 Ouvi “{transcript}”, mas não é um comando. Fale o nome do comando primeiro \
         (ex.: “status loja da ana”) ou escreva {prefix}ajuda."
    )
}

/// What a voice note said, sent back when the tenant wants it (`transcricao.eco`).
pub fn voice_echo(text: &str) -> String {
    format!("🎤 Transcrição: {text}")
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
pub fn attendant_wanted(prefix: &str, name: &str, number: &str) -> String {
    format!(
        "🙋 {name} ({number}) pediu um atendente. O robô fica quieto com essa pessoa \
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

/// An admin-chat message that is not a command.
pub fn admin_hint(prefix: &str) -> String {
    format!("Sou o orbitbot. Mande {prefix}ajuda para ver os comandos.")
}

/// A command that arrived after the stale window (orbitbot was down): not run.
pub fn late_command(command: &str) -> String {
    format!(
        "⏱️ \"{command}\" chegou atrasado e não foi executado. \
         Mande de novo se ainda quiser."
    )
}

/// To someone who is not an operator (once a day).
pub fn not_an_operator() -> &'static str {
    "Olá! Este número é de uso interno e não responde mensagens. 🙏"
}

/// A command used the wrong way: what is wrong, the usage and the help.
pub fn usage(what: &str, usage: &str, help: &str) -> String {
    format!("⚠️ {what}\nUso: {usage}\n{help}")
}

/// Something broke inside a command.
pub fn internal_error() -> &'static str {
    "❌ Erro interno ao executar o comando; os detalhes estão no log do servidor."
}

/// A command needs a tenant and got none.
pub fn missing_tenant() -> &'static str {
    "Falta o nome do cliente."
}

/// A command got more arguments than it takes.
pub fn too_many_args() -> &'static str {
    "Argumentos demais."
}

/// A command named a tenant that does not exist.
pub fn tenant_not_found(prefix: &str, tenant: &str) -> String {
    format!("cliente {tenant} não encontrado; veja a lista com {prefix}clientes")
}

/// A count argument out of range.
pub fn bad_count(text: &str, max: usize) -> String {
    format!("\"{text}\" não é uma quantidade válida: use um número de 1 a {max}.")
}

/// The header of the operator's `!ajuda`.
pub fn admin_help_header() -> &'static str {
    "📋 *Comandos do operador*"
}

/// A tenant name with a space in it (`!novo cliente X`).
pub fn name_with_space(rule: &str) -> String {
    format!("O nome do cliente não pode ter espaços. {rule}")
}

/// `!novo` beyond `[limits] max_tenants`.
pub fn too_many_tenants(max: u32) -> String {
    format!("🚫 Limite de {max} clientes atingido ([limits] max_tenants).")
}

/// `!novo` done: the QR follows.
pub fn created(tenant: &str, pairing: bool) -> String {
    let how = if pairing {
        "o QR e o código de pareamento chegam"
    } else {
        "o QR chega"
    };
    format!("✅ Cliente {tenant} criado. Abrindo o WhatsApp Web; {how} em instantes.")
}

/// `!qr` on a tenant: a new attempt starts.
pub fn new_attempt(tenant: &str) -> String {
    format!("🔄 Gerando um QR novo para {tenant}…")
}

/// `!link` when `[panel]` is not set.
pub fn panel_off() -> &'static str {
    "O painel está desligado: configure [panel] (listen, base_url) no admin.toml e \
     reinicie o orbitbot para usar links de QR."
}

/// `!link`'s answer: the URL to forward, until when it works.
pub fn live_link(tenant: &str, url: &str, until: &str, prefix: &str) -> String {
    format!(
        "🔗 Link do QR de {tenant}: {url}\n\
         Encaminhe ao cliente: a página mostra o QR atual e se atualiza sozinha. \
         Vale até {until} ou até conectar; um novo {prefix}link {tenant} cancela este."
    )
}

/// `!qr` on a tenant that is linked.
pub fn already_online(tenant: &str) -> String {
    format!("{tenant} já está online; não precisa de QR.")
}

/// The caption of a QR image (keep: tenant id, `#<seq>`, `válido até`).
pub fn qr_caption(tenant: &str, seq: u32, until: &str) -> String {
    format!(
        "📱 QR de {tenant} #{seq} — válido até {until}. No celular do cliente: WhatsApp › \
         Aparelhos conectados › Conectar aparelho."
    )
}

/// A pairing code (keep: `código`, `XXXX-XXXX`).
pub fn pair_code(tenant: &str, code: &str) -> String {
    format!(
        "🔢 Código de pareamento de {tenant}: {code}\nNo celular do cliente: WhatsApp › \
         Aparelhos conectados › Conectar com número de telefone."
    )
}

/// A link attempt ran out of codes (keep: `expirou`, `!qr <tenant>`).
pub fn qr_expired(prefix: &str, tenant: &str) -> String {
    format!("⌛ O QR de {tenant} expirou. Para um novo, mande {prefix}qr {tenant}")
}

/// A tenant got linked (keep: tenant id, `online`).
pub fn online(tenant: &str, phone: Option<&str>) -> String {
    match phone {
        Some(phone) => format!("✅ {tenant} online (+{phone})"),
        None => format!("✅ {tenant} online"),
    }
}

/// The phone removed a tenant's device (keep: `desconectado`).
pub fn logged_out(prefix: &str, tenant: &str) -> String {
    format!("📴 {tenant} foi desconectado pelo celular — use {prefix}qr {tenant}")
}

/// A tenant's browser crashed too often.
pub fn failed(prefix: &str, tenant: &str, why: &str) -> String {
    format!("❌ {tenant} falhou e parou de tentar ({why}). Use {prefix}iniciar {tenant}")
}

/// A tenant's browser crashed; it restarts.
pub fn crashed(tenant: &str, why: &str) -> String {
    format!("⚠️ {tenant}: o navegador caiu ({why}); reiniciando sozinho.")
}

/// WhatsApp Web was opened elsewhere for a tenant.
pub fn conflict(prefix: &str, tenant: &str) -> String {
    format!(
        "⚠️ {tenant}: o WhatsApp Web foi aberto em outro lugar. \
         Use {prefix}iniciar {tenant} para retomar aqui."
    )
}

/// WhatsApp Web cannot be reached for a tenant.
pub fn unreachable(tenant: &str) -> String {
    format!("⚠️ {tenant}: sem conexão com o WhatsApp Web; tentando de novo.")
}

/// Sends of a tenant fail.
pub fn sends_failing(tenant: &str, why: &str) -> String {
    format!("⚠️ {tenant}: mensagens não estão saindo ({why}).")
}

/// The disk holding the data folder is nearly full.
pub fn disk_full(free: &str, percent: u64) -> String {
    format!("💾 Disco quase cheio: restam {free} ({percent}%). Libere espaço.")
}

/// After orbitbot started again (keep: `reiniciado`, the sessions).
pub fn restarted(sessions: &[String]) -> String {
    match sessions.is_empty() {
        true => "🔄 orbitbot reiniciado. Nenhum cliente ainda.".to_owned(),
        false => format!("🔄 orbitbot reiniciado. Sessões:\n{}", sessions.join("\n")),
    }
}

/// How to type a pairing code on the phone.
pub fn pair_hint() -> &'static str {
    "No celular: WhatsApp › Aparelhos conectados › Conectar com número de telefone."
}

/// `!permitir`/`!negar` named something that is neither a command nor a feature.
pub fn unknown_item(word: &str, features: &str) -> String {
    format!(
        "\"{word}\" não é um comando nem um recurso. Recursos: {features}; \
         comandos: os de !ajuda do cliente."
    )
}

/// `!remover` without `confirmar`.
pub fn confirm_removal(prefix: &str, tenant: &str) -> String {
    format!(
        "⚠️ Isso apaga {tenant}: sessão, perfil e histórico. \
         Para confirmar: {prefix}remover {tenant} confirmar"
    )
}

/// A restore over an existing tenant without `substituir`.
pub fn restore_needs_replace(prefix: &str, tenant: &str, name: &str) -> String {
    format!(
        "{tenant} já existe. Para substituir os dados atuais por este backup: \
         {prefix}restaurar {tenant} {name} substituir"
    )
}

/// A tenant without archives.
pub fn no_backups(tenant: &str) -> String {
    format!("Nenhum backup de {tenant} ainda.")
}

/// An archive name that is not one of the tenant's.
pub fn unknown_backup(prefix: &str, tenant: &str, name: &str) -> String {
    format!("Não há backup \"{name}\" de {tenant}. Veja a lista com {prefix}backups {tenant}")
}

/// A backup taken: name, size and time taken.
pub fn backup_taken(tenant: &str, taken: &crate::backup::Taken) -> String {
    format!(
        "💾 Backup de {tenant}: {} ({}) em {:.1} s (sessão pausada {:.1} s).",
        taken.name,
        crate::procmem::human(taken.size),
        taken.took.as_secs_f64(),
        taken.paused.as_secs_f64()
    )
}

/// A restore done.
pub fn restored(tenant: &str, restored: &crate::backup::Restored) -> String {
    let how = if restored.created {
        "criado e restaurado"
    } else {
        "restaurado"
    };
    format!(
        "♻️ {tenant} {how} de {}; a sessão está iniciando.",
        restored.name
    )
}

/// A tenant's archives, newest first.
pub fn backups_list(tenant: &str, list: &[crate::backup::ArchiveInfo]) -> String {
    if list.is_empty() {
        return no_backups(tenant);
    }
    let now = crate::clock::now_ms();
    let mut lines = vec![format!("💾 Backups de {tenant} ({})", list.len())];
    for a in list {
        let age = age(now.saturating_sub(a.created_ms));
        let size = crate::procmem::human(a.size);
        lines.push(format!("• {} — {size}, há {age}", a.name));
    }
    lines.join("\n")
}

/// `2 h 5 min`, `40 s`, `3 d 4 h`.
pub fn age(ms: u64) -> String {
    let s = ms / 1_000;
    match s {
        0..60 => format!("{s} s"),
        60..3_600 => format!("{} min", s / 60),
        3_600..86_400 => format!("{} h {} min", s / 3_600, s % 3_600 / 60),
        _ => format!("{} d {} h", s / 86_400, s % 86_400 / 3_600),
    }
}

/// A scheduled backup failed.
pub fn daily_backup_failed(tenant: &str, why: &str) -> String {
    format!("❌ Backup diário de {tenant} falhou: {why}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands_take_dots() {
        let shown: Vec<String> = [0, 999, 1_000, 50_000, 1_234_567]
            .into_iter()
            .map(thousands)
            .collect();
        assert_eq!(shown, ["0", "999", "1.000", "50.000", "1.234.567"]);
    }
}

//! `!config <cliente> <chave> [valor|padrao]`: one of the tenant's documented
//! settings, validated; without a value, shows it.

use super::registry::{
    Answer, CommandError, Invocation, Run, Spec, existing, rest_after, tenant_arg,
};
use super::{Admin, Asker, Out};
use crate::client::settings::{KEYS, SettingKey, validate};

/// The declaration.
pub(super) const SPEC: Spec = Spec {
    name: "config",
    aliases: &["configurar", "set"],
    usage: "<cliente> <chave> [valor|padrao]",
    help: "Muda um ajuste do cliente (grupos, horario, ausencia, saudacao, comando.<nome>, ...).",
    about_tenant: true,
    run: Run::Now(run),
};

fn run(admin: &Admin, _: &Asker, inv: &Invocation) -> Answer {
    let id = tenant_arg(inv, 0)?;
    let (_, db) = existing(admin, &id)?;
    let Some(word) = inv.args.get(1) else {
        return Err(CommandError::Usage(keys_list()));
    };
    if crate::client::words::fold(word) == crate::ai::persona::SETTING {
        let prefix = &admin.config.admin.prefix;
        let hint = format!("A persona se escolhe com {prefix}persona {id} <nome|texto>.");
        return Err(CommandError::Refused(hint));
    }
    let key = SettingKey::parse(word).map_err(|e| CommandError::Refused(e.to_string()))?;
    let key = command_key(admin, key)?;
    let name = key.name();
    let value = rest_after(inv, 2);
    if value.is_empty() {
        let current = db.settings()?.get(&name).cloned();
        let shown = current.unwrap_or_else(|| "(padrão)".to_owned());
        return Ok(vec![Out::Text(format!("⚙️ {id} {name} = {shown}"))]);
    }
    if crate::client::words::fold(value) == "padrao" {
        db.clear_setting(&name)?;
        return Ok(vec![Out::Text(format!("⚙️ {id} {name} voltou ao padrão."))]);
    }
    let stored = validate(&key, value).map_err(|e| CommandError::Refused(e.to_string()))?;
    db.set_setting(&name, &stored)?;
    Ok(vec![Out::Text(format!("⚙️ {id} {name} = {stored}"))])
}

/// `comando.<x>` names a command of the catalog (an alias becomes its name).
fn command_key(admin: &Admin, key: SettingKey) -> Result<SettingKey, CommandError> {
    let SettingKey::Comando(word) = key else {
        return Ok(key);
    };
    match admin.pipeline.catalog().command(&word) {
        Some(spec) => Ok(SettingKey::Comando(spec.name.clone())),
        None => Err(CommandError::Refused(format!(
            "Não há comando de cliente \"{word}\" (veja commands/*.toml)."
        ))),
    }
}

fn keys_list() -> String {
    let keys: Vec<String> = KEYS
        .iter()
        .map(|(k, what)| format!("{k}: {what}"))
        .collect();
    format!("Falta a chave. Chaves:\n{}", keys.join("\n"))
}

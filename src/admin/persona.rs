//! `!persona <cliente> [nome|texto]`: the tenant's AI persona, a named one from
//! `commands/personas/*.toml` or a description in the operator's words; without a
//! value, the one in use and the named ones.

use super::registry::{
    Answer, CommandError, Invocation, Run, Spec, existing, rest_after, tenant_arg,
};
use super::{Admin, Asker, Out};
use crate::ai::persona::SETTING;
use crate::replies;

/// The declaration.
pub(super) const SPEC: Spec = Spec {
    name: "persona",
    aliases: &["personalidade"],
    usage: "<cliente> [nome|texto]",
    help: "Escolhe como a IA do cliente fala: uma persona de commands/personas ou um texto.",
    about_tenant: true,
    run: Run::Now(run),
};

fn run(admin: &Admin, _: &Asker, inv: &Invocation) -> Answer {
    let id = tenant_arg(inv, 0)?;
    let (_, db) = existing(admin, &id)?;
    let catalog = admin.pipeline.catalog();
    let personas = catalog.personas();
    let text = rest_after(inv, 1);
    let mut outs = Vec::new();
    if text.is_empty() {
        let stored = db.settings()?.remove(SETTING);
        let current = personas.resolve(stored.as_deref()).describe();
        let names: Vec<&str> = personas.list().iter().map(|p| p.name.as_str()).collect();
        let usage = format!("{}persona {id} <nome|texto>", admin.config.admin.prefix);
        let shown = replies::persona_shown(id.as_str(), &current, &names, &usage);
        outs.push(Out::Text(shown));
    } else {
        let choice = personas
            .choose(text)
            .map_err(|e| CommandError::Refused(e.to_string()))?;
        match choice.stored() {
            Some(value) => db.set_setting(SETTING, &value)?,
            None => {
                db.clear_setting(SETTING)?;
            }
        }
        let set = replies::persona_set(id.as_str(), &choice.describe(personas));
        outs.push(Out::Text(set));
    }
    if admin.config.ai.is_none() {
        outs.push(Out::Text(replies::ai_off_note().to_owned()));
    }
    Ok(outs)
}

//! `!link <cliente>`: a live QR link for the client (the web panel's `/l/<token>`),
//! instead of images that go stale in seconds. Starts a linking attempt when none is
//! running; a new link revokes the previous one.

use super::registry::{
    Answer, BoxFuture, CommandError, Invocation, Run, Spec, at_most, existing, tenant_arg,
};
use super::{Admin, Asker, Out};
use crate::replies;
use crate::tenant::SessionState;

/// The declaration.
pub(super) const SPEC: Spec = Spec {
    name: "link",
    aliases: &["linkqr"],
    usage: "<cliente>",
    help: "Cria um link com o QR ao vivo para o cliente escanear (precisa do painel).",
    about_tenant: true,
    run: Run::Later(start),
};

fn start<'a>(admin: &'a Admin, asker: &'a Asker, inv: &'a Invocation) -> BoxFuture<'a, Answer> {
    Box::pin(run(admin, asker, inv))
}

async fn run(admin: &Admin, asker: &Asker, inv: &Invocation) -> Answer {
    at_most(inv, 1)?;
    let id = tenant_arg(inv, 0)?;
    let (record, _) = existing(admin, &id)?;
    let Some(panel) = &admin.config.panel else {
        return Err(CommandError::Refused(replies::panel_off().to_owned()));
    };
    let running = admin.sessions.state(&id);
    if running.unwrap_or(record.state) == SessionState::Online {
        return Err(CommandError::Refused(replies::already_online(id.as_str())));
    }
    let chat = Some(asker.chat.as_str()).filter(|c| !c.is_empty());
    let (token, link) = crate::panel::links::create(&admin.store, &id, panel.link_ttl, chat)?;
    admin.delivery.begin_link(&id, &asker.chat);
    if running.is_none_or(SessionState::is_terminal) {
        admin.sessions.stop(&id).await;
        admin.sessions.start(&id);
    }
    let url = format!(
        "{}/l/{token}",
        panel.base_url.as_str().trim_end_matches('/')
    );
    let until = crate::clock::local_time(link.expires_ms, &admin.config.admin.timezone);
    let prefix = &admin.config.admin.prefix;
    let text = replies::live_link(id.as_str(), &url, &until, prefix);
    Ok(vec![Out::Text(text)])
}

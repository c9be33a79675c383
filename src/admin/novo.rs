//! `!novo <cliente> [telefone]`: creates a tenant, starts its session, and the QR (and
//! with a phone, a pairing code) follows in this chat.

use super::registry::{Answer, CommandError, Invocation, Run, Spec, phone_after, tenant_arg};
use super::{Admin, Asker, Out};
use crate::chat::PhoneNumber;
use crate::replies;
use crate::store::StoreError;
use crate::tenant::{TenantId, TenantIdError};

/// The declaration.
pub(super) const SPEC: Spec = Spec {
    name: "novo",
    aliases: &["new", "criar"],
    usage: "<cliente> [telefone]",
    help: "Cria um cliente e manda o QR (com telefone, também o código de pareamento).",
    about_tenant: true,
    run: Run::Now(run),
};

fn run(admin: &Admin, asker: &Asker, inv: &Invocation) -> Answer {
    if inv.args.is_empty() {
        // F16: the name to choose comes with its rule.
        return Err(CommandError::Usage(TenantIdError::Empty.to_string()));
    }
    let id = tenant_arg(inv, 0)?;
    let phone = phone_arg(inv).map_err(|()| space_in_name(inv))?;
    let tenants = admin.store.control().tenants()?;
    if tenants.iter().any(|t| t.id == id) {
        // Before the limit: a duplicate always answers `já existe` (DESIGN.md §7).
        return Err(StoreError::TenantExists(id).into());
    }
    let limit = admin.config.limits.max_tenants;
    if u32::try_from(tenants.len()).unwrap_or(u32::MAX) >= limit {
        return Err(CommandError::Refused(replies::too_many_tenants(limit)));
    }
    admin.store.create_tenant(&id, crate::clock::now_ms())?;
    admin.delivery.begin(&id, &asker.chat, phone.clone());
    admin.sessions.start(&id);
    Ok(vec![Out::Text(replies::created(
        id.as_str(),
        phone.is_some(),
    ))])
}

/// The optional phone (spaces allowed); `Err` when what follows the name is no phone
/// (a name with a space).
fn phone_arg(inv: &Invocation) -> Result<Option<PhoneNumber>, ()> {
    phone_after(inv, 1).transpose().map_err(drop)
}

/// The whole name as typed, refused with the rule.
fn space_in_name(inv: &Invocation) -> CommandError {
    let name = inv.args.join(" ");
    let rule = TenantId::parse(&name)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    CommandError::Refused(replies::name_with_space(&rule))
}

//! `!ajuda [comando]`: the operator commands, made from their declarations.

use super::registry::{Answer, BoxFuture, Invocation, Spec, help};
use super::{Admin, Asker};

/// The declaration.
pub(super) const SPEC: Spec = Spec {
    name: "ajuda",
    aliases: &["help", "comandos"],
    usage: "[comando]",
    help: "Lista os comandos, ou explica um deles.",
    about_tenant: false,
    run: start,
};

fn start<'a>(admin: &'a Admin, _: &'a Asker, inv: &'a Invocation) -> BoxFuture<'a, Answer> {
    Box::pin(std::future::ready(help(admin, inv)))
}

//! `!ajuda [comando]`: the operator commands, made from their declarations.

use super::registry::{Run, Spec, help};

/// The declaration.
pub(super) const SPEC: Spec = Spec {
    name: "ajuda",
    aliases: &["help", "comandos"],
    usage: "[comando]",
    help: "Lista os comandos, ou explica um deles.",
    about_tenant: false,
    run: Run::Now(help),
};

//! The client side: what a tenant's WhatsApp answers and how it is configured.
//!
//! - [`words`]: command words (normalizing, accent folding, `!name args`, suggestions).
//! - [`template`]: reply texts with `{nome}`-style variables.
//! - [`hours`]: business hours (`seg-sex 08:00-18:00`) and whether a moment is inside.
//! - [`settings`]: the per-tenant settings of `!config` (DESIGN.md §7).
//! - [`catalog`]: the client commands declared in `commands/*.toml`.

pub mod catalog;
pub mod hours;
pub mod settings;
pub mod template;
pub mod words;

//! The client pipeline: what a client's WhatsApp answers by itself.
//!
//! - [`classify`]: every inbound event sorted before any logic; the default is ignore.
//! - [`pipeline`]: one worker per tenant, fed by the tenant's session events.
//! - [`permissions`]: what each tenant and each contact may use.
//! - [`catalog`]: client commands and plugins from `commands/*.toml`.
//! - [`words`]: command words (normalizing, accent folding, `!name args`, suggestions).
//! - [`template`]: reply texts with `{nome}`-style variables.
//! - [`hours`]: business hours (`seg-sex 08:00-18:00`) and whether a moment is inside.
//! - [`settings`]: the per-tenant settings of `!config` (DESIGN.md §7).
//! - `listen`: voice notes downloaded, decoded and transcribed before they are
//!   answered as text.
//! - `assist`: AI answers in a lane per tenant: one question per contact at a time,
//!   the daily token budget, the fallback when the endpoint fails.

mod assist;
pub mod catalog;
pub mod classify;
mod handle;
pub mod hours;
pub(crate) mod listen;
pub mod permissions;
pub mod pipeline;
mod plugins;
pub mod settings;
pub mod template;
pub mod words;
mod worker;

pub use assist::{daily_budget, tokens_today};
pub use handle::{is_stale, reply_id};
pub use pipeline::{Notice, Outlet, Pipeline};
pub use worker::TEXT_CAP;

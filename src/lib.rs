//! orbitbot: many clients' WhatsApp accounts on one server, run from the operator's own
//! WhatsApp.
//!
//! The modules, one concern each:
//!
//! - [`cli`]: the command line (`run`, `check-config`, `tenants`, `model`) and what each
//!   prints.
//! - [`config`]: `admin.toml` read in two stages into a validated [`config::Config`].
//! - [`tenant`]: [`tenant::TenantId`], the only way a tenant name reaches a path, and
//!   tenant records with their session states.
//! - [`chat`]: WhatsApp addresses, [`chat::PhoneNumber`] and [`chat::ChatId`].
//! - [`store`]: redb, one control database and one database per tenant; the data
//!   folder's lock; tenant log records.
//! - [`backup`]: a tenant's backup archive (`.tar.zst`): writing, verifying, extracting,
//!   naming and retention.
//! - [`control`]: the control socket through which shell subcommands reach `run`.
//! - [`run`]: the long-running service and its orderly shutdown.
//! - [`session`]: one supervised browser session per tenant, its queue and processes.
//! - [`clock`]: wall-clock helpers (stored times are UTC milliseconds).
//! - [`bridge`]: chromedriver and Chromium per session, the `__wab` page bridge.
//! - [`sim`]: the WhatsApp simulator (`orbitbot simulator`), its page and fake engine.
//! - [`client`]: the client pipeline: filters, commands and plugins, permissions,
//!   history, exactly-once replies.
//! - [`ai`]: AI replies on an OpenAI-compatible endpoint, with a persona per tenant.
//! - [`transcribe`]: voice notes to text with a local Whisper model.
//! - [`replies`]: every pt-BR text written to a WhatsApp chat.
//! - [`demo`]: `orbitbot demo`, the whole story on the simulator, step by step.
//! - [`admin`]: the operator's control plane: commands from the admin chat, QR
//!   delivery, alerts, the admin QR on the terminal.
//! - [`qr`]: QR codes for linking an account, as a PNG image or drawn in a terminal.
//! - [`procmem`]: the memory (PSS) of a process group, for `!status`.
//! - [`panel`]: the optional web panel: login, live tenant states, live QR links.

pub mod admin;
pub mod ai;
pub mod backup;
pub mod bridge;
pub mod chat;
pub mod cli;
pub mod client;
pub mod clock;
pub mod config;
pub mod control;
pub mod demo;
pub mod panel;
pub mod procmem;
pub mod qr;
pub mod replies;
pub mod run;
pub mod session;
pub mod sim;
pub mod store;
pub mod tenant;
pub mod transcribe;

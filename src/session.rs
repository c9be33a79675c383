//! Sessions: one browser per tenant, its processes, its state and its send queue.
//!
//! - [`supervisor`]: one task per session: states, restarts, events, commands.
//! - [`registry`]: every session by tenant; the restart rules at start-up.
//! - [`process`]: profile ownership, process groups, no orphan browser on any path.
//! - [`pace`]: when the next send of a tenant may go (gap, cap per minute, typing).
//! - [`split`]: long texts cut into messages at paragraph, sentence, word, grapheme.

pub mod pace;
pub mod process;
mod queue;
pub mod registry;
mod round;
pub mod split;
pub mod supervisor;

pub use registry::{SessionError, Sessions};
pub use supervisor::{Command, MediaFile, SendOpts, SessionEvent, SessionHandle, SessionSpec};

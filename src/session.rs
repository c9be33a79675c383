//! Sessions: one browser per tenant, its processes, its state and its send queue.
//!
//! - [`process`]: profile ownership, process groups, no orphan browser on any path.
//! - [`pace`]: when the next send of a tenant may go (gap, cap per minute, typing).
//! - [`split`]: long texts cut into messages at paragraph, sentence, word, grapheme.

pub mod pace;
pub mod process;
pub mod split;

//! Sessions: one browser per tenant, its processes, its state and its send queue.
//!
//! - [`process`]: profile ownership, process groups, no orphan browser on any path.

pub mod process;

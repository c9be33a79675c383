//! The client side: what a tenant's WhatsApp answers and how it is configured.
//!
//! - [`words`]: command words (normalizing, accent folding, `!name args`, suggestions).
//! - [`template`]: reply texts with `{nome}`-style variables.
//! - [`hours`]: business hours (`seg-sex 08:00-18:00`) and whether a moment is inside.

pub mod hours;
pub mod template;
pub mod words;

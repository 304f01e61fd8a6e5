//! Taskotron's domain vocabulary.
//!
//! The words every other crate speaks: [`ItemType`] and [`Item`] (what a check is
//! about), [`Nvr`] and [`Evr`] (how RPM names builds), [`Outcome`] (the ordered
//! verdict ladder of ResultYAML and ResultsDB) and [`CheckName`].
//!
//! Architecture invariant: this crate does no IO, spawns nothing and knows no wire
//! format beyond plain serde derives. Parsing here never panics: bad input is a
//! typed error that names what was wrong.

mod item;
mod nvr;
mod outcome;

pub use item::{CheckName, CheckNameError, Item, ItemType, UnknownItemType};
pub use nvr::{Evr, Nvr, NvrError};
pub use outcome::{Outcome, UnknownOutcome};

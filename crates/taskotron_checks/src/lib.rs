//! The built-in checks besides depcheck: upgradepath and rpmlint's output turned into results.
//!
//! [`upgradepath`] and [`rpmlint`] are pure (no IO): they decide from what
//! they are handed. [`koji`] is the thin adapter that fetches upgradepath's
//! inputs from Bodhi and Koji; rpmlint itself is run by the caller, through
//! `taskotron_runner::process`.

pub mod koji;
pub mod rpmlint;
pub mod upgradepath;

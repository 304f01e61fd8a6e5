//! Taskotron's tidy tests, in the style of rust-analyzer's `xtask/src/tidy.rs`.
//!
//! This crate exists for its tests and has no code: `tests/tidy.rs` checks the
//! house rules on the whole workspace during the normal `cargo test --workspace`
//! run. It checks the forbidden dependency edges (through `cargo tree -i` and
//! `cargo metadata`), the `//!` doc at the top of every crate, the absence of
//! `#[should_panic]` and `#[ignore]`, that only `taskotron_runner` spawns
//! processes and only the store talks SQL, trailing whitespace, and the README's
//! build and test commands. Each check lists every violation with its crate or
//! `file:line`.

//! RPM semantics, as rpm and libsolv implement them, for the checks.
//!
//! - [`rpmvercmp`] compares version strings exactly as rpm's `rpmvercmp`
//!   (tilde, caret, separators, numeric against alphabetic segments); it
//!   passes all 91 vectors of rpm's own `tests/rpmvercmp.at`.
//!   [`evr_cmp`] orders `[epoch:]version[-release]`.
//! - [`Dep`] is a simple dependency (`name [op evr]`, from a spec-style
//!   string or rpm-md attributes); [`Dep::overlaps`] is rpm's
//!   `rpmverOverlap`: an unversioned side matches anything, a missing epoch
//!   is 0, and a side without a release matches any release when its range
//!   includes equality.
//! - [`Rich`] is a rich (boolean) dependency: parsed with the offset of
//!   every error, printed back in rpm's syntax, and evaluated against a
//!   [`World`] that says which packages provide a simple dependency.
//!
//! Architecture invariant: pure domain code, no IO, no async; parsing never
//! panics, whatever the input.

mod dep;
mod rich;
mod vercmp;

pub use dep::{Dep, DepError, Op, RangeRef, range_refs_overlap, ranges_overlap};
pub use rich::{Rich, RichError, World};
pub use taskotron_types::Evr;
pub use vercmp::{as_int, evr_cmp, rpmvercmp};

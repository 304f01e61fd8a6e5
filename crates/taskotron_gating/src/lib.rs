//! Gating: policies in Greenwave's YAML format, and the decisions made from
//! them, the latest results and the waivers.
//!
//! [`parse_policies`] reads a policy file (a stream of `--- !Policy`
//! documents) and returns every [`Policy`], or every problem at once with
//! its line and column. [`Policy::applies`] says whether a policy applies to
//! a decision context, product version, subject type and package, with
//! Greenwave's glob matching ([`fnmatch`]). [`decide`] turns the policies,
//! the latest results and the waivers the server looked up into Greenwave's
//! requirements and summary.
//!
//! Architecture invariant: pure domain code, no IO; parsing never panics.

mod decision;
mod glob;
mod lint;
mod policy;

pub use decision::{
    Decision, Kind, LatestResult, Outcomes, Request, Requirement, Subject, Waiver, decide,
};
pub use glob::{any_match, fnmatch};
pub use lint::{Finding, lint};
pub use policy::{Applies, Origin, Policy, Rule, parse_policies};

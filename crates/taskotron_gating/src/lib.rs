//! Gating: policies in Greenwave's YAML format, and the decisions made from
//! them, the latest results and the waivers.
//!
//! [`parse_policies`] reads a policy file (a stream of `--- !Policy`
//! documents) and returns every [`Policy`], or every problem at once with
//! its line and column. [`Policy::applies`] says whether a policy applies to
//! a decision context, product version, subject type and package, with
//! Greenwave's glob matching ([`fnmatch`]). [`decide`] turns the policies,
//! the latest results and the waivers the server looked up into Greenwave's
//! requirements and summary, and [`explain`] says in plain words why a
//! requirement blocks and what to do. [`SubjectTypes`] holds Greenwave's
//! subject types (Fedora's built in), and [`parse_source`] /
//! [`fill_template`] find a package's `gating.yaml` for a `!RemoteRule`.
//!
//! Architecture invariant: pure domain code, no IO; parsing never panics.

mod decision;
mod explain;
mod glob;
mod lint;
mod policy;
mod remote;
mod subject;

pub use decision::{
    Decision, Kind, LatestResult, Outcomes, Request, Requirement, Subject, Waiver, decide,
};
pub use explain::{Action, ActiveCheck, Explanation, explain};
pub use glob::{any_match, fnmatch};
pub use lint::{Finding, lint};
pub use policy::{Applies, Origin, Policy, Rule, parse_policies};
pub use remote::{Source, default_template, fill_template, parse_source, product_version_of_nvr};
pub use subject::{ResultQuery, SubjectType, SubjectTypes, WaivePermission, may_waive};

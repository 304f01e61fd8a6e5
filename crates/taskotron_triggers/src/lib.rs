//! Trigger rules, with the meaning taskotron-trigger gave them: a YAML list
//! of `{when: QUERY, do: [ACTION, …]}` evaluated against each event.
//!
//! An event reaches the rules as a [`Fact`]: a flat JSON object naming the
//! event's `message_type` (`KojiBuildPackageCompleted`, `KojiTagChanged`,
//! `BodhiUpdateReady`, `ComposeCompleted`, or anything another source sends),
//! the item it is about (`item`, `item_type`, `item_revision`) and whatever
//! else the source knows (`name`, `tag`, `release`, …). A rule's `when` is a
//! Mongo-style query over those fields ([`query`]); its `do` list names the
//! tasks to run, per architecture, or dist-git repositories to discover
//! tasks in ([`rules`]). [`plan`] turns one fact into the jobs the rules ask
//! for, deduplicated, with nothing but pure data in and out: the scheduler
//! adapter stores them.

mod fact;
pub mod plan;
pub mod query;
pub mod rules;

pub use fact::{Fact, FactError, distgit_branch, message_type};
pub use plan::{Discovery, Plan, PlanContext, PlannedJob, plan};
pub use query::Query;
pub use rules::{Action, ActionKind, Rule, RuleSet, parse_rules};

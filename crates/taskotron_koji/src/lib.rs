//! Koji, Fedora's build system, as Taskotron reads it.
//!
//! - [`KojiClient`]: the hub's XML-RPC API. Typed calls for what the
//!   scheduler and the directives need (`getBuild`, `listBuilds`,
//!   `listTagged`, `getLatestBuilds`, `queryHistory` of tag listings,
//!   `getLastEvent`, `listRPMs`, `getTaskInfo`) and `multiCall`; Koji's
//!   keyword arguments, `<i8>` and `<nil/>`; faults as [`FaultKind`]s;
//!   retries with backoff on transport errors, 5xx and `ServerOffline`.
//! - [`PathInfo`] and [`Downloader`]: files from the kojipkgs tree, fetched
//!   into a cache shared between jobs, several at once, each checked
//!   against the size and payload hash Koji gives before anyone sees it.
//! - [`value`]: XML-RPC values to JSON and back, which the fake hub of
//!   `taskotron fake-infra` uses as well.

mod client;
mod download;
mod error;
mod types;
pub mod value;

pub use client::{
    BuildRef, Call, Decoded, KojiClient, ListBuilds, ListTagged, TagHistory, decode_response,
};
pub use download::{Check, Download, Downloader, NoProgress, PathInfo, Progress};
pub use error::{FaultKind, KojiError, KojiFault};
pub use taskotron_net::Retry;
pub use types::{Build, BuildState, Epoch, Event, Rpm, TagListing, TaskInfo};

//! Repository metadata readers, for the checks that need a repository's
//! packages (depcheck first).
//!
//! - [`open_repo`] opens a repository directory (`repodata/repomd.xml`,
//!   then its primary.xml) or a bare primary.xml file, checking the
//!   primary's checksum against repomd.xml. Compression (gzip, xz, zstd or
//!   none) is told by the first bytes, never by the name. The XML is
//!   streamed with quick-xml and never held whole in memory.
//! - With a cache directory, the parsed repository is stored there in a
//!   compact binary file named by the sha256 of repomd.xml (of the file,
//!   for a bare primary) and read back the next time; a corrupt or outdated
//!   cache file is ignored and rewritten, never an error.
//! - [`Repo::load_filelists`] reads filelists.xml only when asked, and
//!   merges every file into the packages by pkgid (or NEVRA).
//! - [`read_rpm_file`] and [`Repo::add_rpm_file`] read local RPM files with
//!   the `rpm` crate into the same model, with the dependencies createrepo_c
//!   would write for them.
//! - [`read_primary`] and [`read_filelists`] read from any reader.
//!
//! The model is made for a dependency solver: a [`Repo`] holds its
//! [`Package`]s, their [`Dependency`] entries and [`FileEntry`]s in flat
//! arrays, with every string interned once and known by a [`Sym`].
//! Dependencies keep `taskotron_rpm`'s [`Op`](taskotron_rpm::Op); rich
//! ones (a name starting with `(`) are parsed with
//! [`taskotron_rpm::Rich`], and one that does not parse becomes a
//! [`Problem`] of its package instead of failing the load.
//!
//! Errors are [`RepoError`]s that name the file and, for XML, the position
//! (byte offset, and line and column when the file can be read again) and
//! what is wrong. Bad input never panics (the primary reader is fuzzed).

mod cache;
mod decompress;
mod error;
mod filelists;
mod intern;
mod model;
mod open;
mod primary;
mod repomd;
mod rpmfile;
mod xml;

pub use decompress::Compression;
pub use error::{Position, RepoError, XmlErrorKind};
pub use filelists::read_filelists;
pub use intern::Sym;
pub use model::{
    CacheStatus, Constraint, DepKind, Dependency, FileEntry, FileKind, Package, Problem, Repo,
};
pub use open::open_repo;
pub use primary::read_primary;
pub use rpmfile::read_rpm_file;

//! The one error type of the crate: every variant names the file.

use std::fmt;
use std::io;
use std::path::PathBuf;

use crate::decompress::Compression;

/// Why repository metadata or an RPM file could not be read.
///
/// Every variant names the file; XML problems also say where in the
/// (decompressed) document they are and what is wrong.
#[derive(Debug, thiserror::Error)]
pub enum RepoError {
    /// The file could not be opened or read.
    #[error("{path}: {source}", path = .path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// What the system said.
        #[source]
        source: io::Error,
    },
    /// A path that is neither a repository directory nor a metadata file.
    #[error("{path}: {why}", path = .path.display())]
    NotARepo {
        /// The path given.
        path: PathBuf,
        /// What was expected there.
        why: String,
    },
    /// The file starts like no format this crate reads.
    #[error("{path}: {why}", path = .path.display())]
    UnknownFormat {
        /// The file.
        path: PathBuf,
        /// What its first bytes look like.
        why: String,
    },
    /// The compressed data is truncated or corrupt.
    #[error("{path}: corrupt or truncated {compression} data: {source}", path = .path.display())]
    Decompress {
        /// The file.
        path: PathBuf,
        /// The compression found by its magic bytes.
        compression: Compression,
        /// What the decompressor said.
        #[source]
        source: io::Error,
    },
    /// The XML is malformed, or is well-formed but not valid rpm-md.
    #[error("{path}: {position}: {kind}", path = .path.display())]
    Xml {
        /// The file.
        path: PathBuf,
        /// Where in the decompressed document.
        position: Position,
        /// What is wrong (boxed: it is the largest part of the error).
        kind: Box<XmlErrorKind>,
    },
    /// A file's checksum is not the one repomd.xml gives for it.
    #[error(
        "{path}: {algorithm} checksum mismatch: repomd.xml says {expected}, the file has {actual}",
        path = .path.display()
    )]
    Checksum {
        /// The file.
        path: PathBuf,
        /// `sha256`, `sha512`, …
        algorithm: String,
        /// What repomd.xml says.
        expected: String,
        /// What the file hashes to.
        actual: String,
    },
    /// repomd.xml has no record of a kind this crate needs.
    #[error("{path}: no <data type=\"{record}\"> record", path = .path.display())]
    MissingRecord {
        /// The repomd.xml file.
        path: PathBuf,
        /// `primary`.
        record: &'static str,
    },
    /// filelists.xml lists a package that primary.xml does not have.
    #[error(
        "{path}: package {nevra} (pkgid {pkgid}) is not in the primary metadata",
        path = .path.display()
    )]
    UnknownPackage {
        /// The filelists file.
        path: PathBuf,
        /// The package's NEVRA.
        nevra: String,
        /// Its pkgid.
        pkgid: String,
    },
    /// The file is not a readable RPM package.
    #[error("{path}: not a readable RPM package: {why}", path = .path.display())]
    Rpm {
        /// The file.
        path: PathBuf,
        /// What the RPM reader said.
        why: String,
    },
    /// The metadata holds more strings than the model can index (4 GiB).
    #[error("{path}: too much metadata: more than 4 GiB of distinct strings", path = .path.display())]
    TooLarge {
        /// The file being read.
        path: PathBuf,
    },
}

/// Where an XML problem is: the byte offset into the decompressed document,
/// and the line and column when the file could be read again to count them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    /// Byte offset into the decompressed XML, from 0.
    pub offset: u64,
    /// Line (from 1) and column (from 1, in bytes), when known.
    pub line_column: Option<(u64, u64)>,
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line_column {
            Some((line, column)) => {
                write!(f, "line {line}, column {column} (byte {})", self.offset)
            }
            None => write!(f, "byte {}", self.offset),
        }
    }
}

/// What is wrong with an XML document.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum XmlErrorKind {
    /// Not well-formed XML (what quick-xml said), or XML that ends early.
    #[error("{0}")]
    Syntax(String),
    /// The document element is not the expected one.
    #[error("expected a <{expected}> document, found <{found}>")]
    WrongRoot {
        /// What this reader reads.
        expected: &'static str,
        /// What the document is.
        found: String,
    },
    /// An element lacks an attribute it needs.
    #[error("<{element}> has no `{attribute}` attribute")]
    MissingAttribute {
        /// The element.
        element: &'static str,
        /// The attribute.
        attribute: &'static str,
    },
    /// An attribute's value is not one this reader understands.
    #[error("<{element}> has {attribute}=\"{value}\"; expected {expected}")]
    BadAttribute {
        /// The element.
        element: &'static str,
        /// The attribute.
        attribute: &'static str,
        /// Its value.
        value: String,
        /// What it may be.
        expected: &'static str,
    },
    /// A package lacks an element it needs.
    #[error("<package> has no <{0}>")]
    MissingElement(&'static str),
    /// An entity reference that is not one of XML's predefined ones.
    #[error("unknown entity `&{0};`")]
    UnknownEntity(String),
    /// The document's `packages` count is not the number of packages in it.
    #[error("the document says it has {declared} packages but has {found}")]
    PackageCount {
        /// The `packages` attribute.
        declared: u64,
        /// How many `<package>` elements were read.
        found: u64,
    },
}

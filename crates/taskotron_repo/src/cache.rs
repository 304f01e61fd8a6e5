//! The on-disk cache of parsed metadata: one file per repository state,
//! named by the sha256 of its repomd.xml (or of its bare primary file).
//!
//! A cache file is `MAGIC`, the format version (u32, little endian), the
//! CRC-32 of the payload (u32), the payload's length (u64), and the payload:
//! the key and the repository's data, in postcard. A file that is missing
//! any of this, or of another version, is ignored and rewritten; it is never
//! an error.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::model::{Repo, RepoData};

const MAGIC: &[u8; 8] = b"TKREPO\x00\x1a";

/// Bump whenever `RepoData` or anything in it changes shape.
pub(crate) const FORMAT_VERSION: u32 = 1;

const HEADER: usize = 8 + 4 + 4 + 8;

#[derive(Serialize)]
struct PayloadRef<'a> {
    key: &'a str,
    data: &'a RepoData,
}

#[derive(Deserialize)]
struct Payload {
    key: String,
    data: RepoData,
}

/// What looking in the cache found.
#[derive(Debug)]
pub(crate) enum Lookup {
    Hit(Box<RepoData>),
    Miss,
    /// A file that cannot be used, and why.
    Bad(String),
}

pub(crate) fn file_name(dir: &Path, key: &str, what: &str) -> PathBuf {
    dir.join(format!("{key}.{what}.cache"))
}

pub(crate) fn encode(key: &str, data: &RepoData) -> Result<Vec<u8>, String> {
    let payload = postcard::to_stdvec(&PayloadRef { key, data }).map_err(|err| err.to_string())?;
    let mut out = Vec::with_capacity(HEADER + payload.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    out.extend_from_slice(&crc32fast::hash(&payload).to_le_bytes());
    out.extend_from_slice(&(payload.len() as u64).to_le_bytes());
    out.extend_from_slice(&payload);
    Ok(out)
}

/// The data in a cache file's bytes, if they are whole, of this version,
/// and for `key` (any key when `None`).
pub(crate) fn decode(bytes: &[u8], key: Option<&str>) -> Result<RepoData, String> {
    let header = bytes
        .get(..HEADER)
        .ok_or("the file is shorter than its header")?;
    let (magic, rest) = header.split_at(8);
    if magic != MAGIC {
        return Err("not a taskotron_repo cache file".to_owned());
    }
    let word = |at: usize| {
        rest.get(at..at + 4)
            .and_then(|it| <[u8; 4]>::try_from(it).ok())
    };
    let version = word(0).map(u32::from_le_bytes).ok_or("short header")?;
    if version != FORMAT_VERSION {
        return Err(format!("format version {version}, not {FORMAT_VERSION}"));
    }
    let crc = word(4).map(u32::from_le_bytes).ok_or("short header")?;
    let len = rest
        .get(8..16)
        .and_then(|it| <[u8; 8]>::try_from(it).ok())
        .map(u64::from_le_bytes)
        .ok_or("short header")?;
    let payload = &bytes[HEADER..];
    if payload.len() as u64 != len {
        return Err(format!(
            "payload is {} bytes, the header says {len}",
            payload.len()
        ));
    }
    if crc32fast::hash(payload) != crc {
        return Err("the payload's CRC-32 does not match".to_owned());
    }
    let Payload { key: stored, data } =
        postcard::from_bytes(payload).map_err(|err| format!("undecodable: {err}"))?;
    if let Some(key) = key
        && key != stored
    {
        return Err(format!("made for {stored}, not {key}"));
    }
    data.validate()?;
    Ok(data)
}

pub(crate) fn load(dir: &Path, key: &str, what: &str) -> Lookup {
    let path = file_name(dir, key, what);
    match fs::read(&path) {
        Ok(bytes) => match decode(&bytes, Some(key)) {
            Ok(data) => Lookup::Hit(Box::new(data)),
            Err(why) => {
                tracing::warn!(cache.path = %path.display(), "ignoring the repository cache file: {why}");
                Lookup::Bad(why)
            }
        },
        Err(err) if err.kind() == io::ErrorKind::NotFound => Lookup::Miss,
        Err(err) => {
            tracing::warn!(cache.path = %path.display(), "cannot read the repository cache file: {err}");
            Lookup::Bad(err.to_string())
        }
    }
}

/// Write the cache file through a temporary file in the same directory,
/// renamed over the old one when whole.
pub(crate) fn store(dir: &Path, key: &str, what: &str, data: &RepoData) -> Result<(), String> {
    let bytes = encode(key, data)?;
    let path = file_name(dir, key, what);
    let write = || -> io::Result<()> {
        fs::create_dir_all(dir)?;
        let mut file = tempfile::Builder::new()
            .prefix(".tmp-")
            .suffix(".cache")
            .tempfile_in(dir)?;
        file.write_all(&bytes)?;
        file.as_file().sync_data()?;
        file.persist(&path).map_err(|err| err.error)?;
        Ok(())
    };
    write().map_err(|err| {
        tracing::warn!(cache.path = %path.display(), "cannot write the repository cache file: {err}");
        format!("{}: {err}", path.display())
    })
}

impl Repo {
    /// The repository as bytes of the cache format (for tests and tools;
    /// [`open_repo`](crate::open_repo) writes the cache files itself).
    pub fn to_cache_bytes(&self) -> Vec<u8> {
        // postcard into a Vec fails only when the serializer refuses a
        // value, which this model has none of.
        encode("", &self.data).unwrap_or_default()
    }

    /// A repository from bytes of the cache format; `Err` says why they are
    /// not a whole, valid cache of this format version.
    pub fn from_cache_bytes(bytes: &[u8]) -> Result<Repo, String> {
        decode(bytes, None).map(Repo::from_data)
    }
}

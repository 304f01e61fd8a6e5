//! Opening a repository from disk: a directory with repodata/repomd.xml, or
//! a bare primary.xml file; through the cache when one is given.

use std::fs::{self, File};
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use sha2::Digest;

use crate::cache::{self, Lookup};
use crate::error::RepoError;
use crate::filelists::merge_filelists;
use crate::model::{CacheStatus, Checksum, Repo, RepoData, Source};
use crate::primary::parse_primary;
use crate::repomd::parse_repomd;
use crate::xml::{Input, with_line};

/// Open a repository: `path` is a directory holding `repodata/repomd.xml`
/// (or the `repodata` directory itself, or its `repomd.xml`), or a bare
/// primary.xml file, compressed or not.
///
/// With `cache_dir`, the parsed metadata is cached there in a file named by
/// the sha256 of repomd.xml (of the primary file, for a bare one), and read
/// from it the next time instead of the XML. A cache file that is corrupt,
/// unreadable or of an older format is ignored and rewritten, and one that
/// cannot be written is skipped ([`Repo::cache_status`] says which).
///
/// The primary file's checksum is checked against repomd.xml (sha224 to
/// sha512; older algorithms are not checked). Filelists are read only when
/// asked, by [`Repo::load_filelists`].
pub fn open_repo(path: impl AsRef<Path>, cache_dir: Option<&Path>) -> Result<Repo, RepoError> {
    let path = path.as_ref();
    match layout(path)? {
        Layout::Repomd { repomd, root } => open_repomd(&repomd, &root, cache_dir),
        Layout::Primary(primary) => {
            let key = sha256_file(&primary)?;
            let (data, status) =
                load_or_parse(cache_dir, &key, "primary", || parse_file(&primary))?;
            let mut repo = Repo::from_data(data);
            repo.cache = cache_dir.map(|_| status);
            repo.source = Source {
                filelists: None,
                cache: cache_dir.map(|dir| (dir.to_owned(), key)),
            };
            Ok(repo)
        }
    }
}

enum Layout {
    Repomd { repomd: PathBuf, root: PathBuf },
    Primary(PathBuf),
}

fn layout(path: &Path) -> Result<Layout, RepoError> {
    let meta = fs::metadata(path).map_err(|source| RepoError::Io {
        path: path.to_owned(),
        source,
    })?;
    let parent = |it: &Path| {
        it.parent()
            .map_or_else(|| PathBuf::from("."), Path::to_owned)
    };
    if meta.is_dir() {
        let nested = path.join("repodata").join("repomd.xml");
        let direct = path.join("repomd.xml");
        if nested.is_file() {
            Ok(Layout::Repomd {
                repomd: nested,
                root: path.to_owned(),
            })
        } else if direct.is_file() {
            Ok(Layout::Repomd {
                root: parent(path),
                repomd: direct,
            })
        } else {
            Err(RepoError::NotARepo {
                path: path.to_owned(),
                why: "a directory without repodata/repomd.xml".to_owned(),
            })
        }
    } else if path.file_name().is_some_and(|it| it == "repomd.xml") {
        Ok(Layout::Repomd {
            root: parent(&parent(path)),
            repomd: path.to_owned(),
        })
    } else {
        Ok(Layout::Primary(path.to_owned()))
    }
}

fn open_repomd(repomd: &Path, root: &Path, cache_dir: Option<&Path>) -> Result<Repo, RepoError> {
    let bytes = fs::read(repomd).map_err(|source| RepoError::Io {
        path: repomd.to_owned(),
        source,
    })?;
    let key = hex(&sha2::Sha256::digest(&bytes));
    let records = parse_repomd(&bytes, repomd).map_err(with_line)?;
    let locate = |kind: &str| {
        records
            .iter()
            .find(|it| it.kind == kind)
            .and_then(|it| Some((root.join(it.href.as_deref()?), it.checksum.clone())))
    };
    let (primary, checksum) = locate("primary").ok_or_else(|| RepoError::MissingRecord {
        path: repomd.to_owned(),
        record: "primary",
    })?;
    let (data, status) = load_or_parse(cache_dir, &key, "primary", || {
        if let Some(checksum) = &checksum {
            verify(&primary, checksum)?;
        }
        parse_file(&primary)
    })?;
    let mut repo = Repo::from_data(data);
    repo.cache = cache_dir.map(|_| status);
    repo.source = Source {
        filelists: locate("filelists"),
        cache: cache_dir.map(|dir| (dir.to_owned(), key)),
    };
    Ok(repo)
}

/// The cached data for `key`, or what `parse` gives (then cached).
fn load_or_parse(
    cache_dir: Option<&Path>,
    key: &str,
    what: &str,
    parse: impl FnOnce() -> Result<RepoData, RepoError>,
) -> Result<(RepoData, CacheStatus), RepoError> {
    let Some(dir) = cache_dir else {
        return Ok((parse()?, CacheStatus::Disabled));
    };
    let found = cache::load(dir, key, what);
    if let Lookup::Hit(data) = found {
        return Ok((*data, CacheStatus::Hit));
    }
    let data = parse()?;
    let status = match (cache::store(dir, key, what, &data), found) {
        (Err(why), _) => CacheStatus::WriteFailed(why),
        (Ok(()), Lookup::Bad(why)) => CacheStatus::Replaced(why),
        (Ok(()), _) => CacheStatus::Written,
    };
    Ok((data, status))
}

fn open_file(path: &Path) -> Result<File, RepoError> {
    File::open(path).map_err(|source| RepoError::Io {
        path: path.to_owned(),
        source,
    })
}

fn parse_file(path: &Path) -> Result<RepoData, RepoError> {
    parse_primary(Input::file(open_file(path)?, path)?).map_err(with_line)
}

impl Repo {
    /// Read the repository's filelists.xml, so that [`Repo::files`] gives
    /// every file of every package rather than the primary ones. Reads it
    /// once (from the cache, when the repository was opened with one);
    /// returns `false` when the repository has no filelists (a bare primary
    /// file).
    pub fn load_filelists(&mut self) -> Result<bool, RepoError> {
        if self.data.filelists {
            return Ok(true);
        }
        let Some((path, checksum)) = self.source.filelists.clone() else {
            return Ok(false);
        };
        let cache = self.source.cache.clone();
        if let Some((dir, key)) = &cache {
            let found = cache::load(dir, key, "filelists");
            if let Lookup::Hit(data) = found {
                self.set_data(*data);
                self.cache = Some(CacheStatus::Hit);
                return Ok(true);
            }
            self.read_filelists_file(&path, checksum.as_ref())?;
            self.cache = Some(
                match (cache::store(dir, key, "filelists", &self.data), found) {
                    (Err(why), _) => CacheStatus::WriteFailed(why),
                    (Ok(()), Lookup::Bad(why)) => CacheStatus::Replaced(why),
                    (Ok(()), _) => CacheStatus::Written,
                },
            );
        } else {
            self.read_filelists_file(&path, checksum.as_ref())?;
        }
        Ok(true)
    }

    fn read_filelists_file(
        &mut self,
        path: &Path,
        checksum: Option<&Checksum>,
    ) -> Result<(), RepoError> {
        if let Some(checksum) = checksum {
            verify(path, checksum)?;
        }
        merge_filelists(&mut self.data, Input::file(open_file(path)?, path)?).map_err(with_line)
    }
}

/// Check a file against the checksum repomd.xml gives for it. Algorithms
/// older than sha224 (sha1, md5) are not checked.
fn verify(path: &Path, checksum: &Checksum) -> Result<(), RepoError> {
    let actual = match checksum.algorithm.as_str() {
        "sha224" => digest_file::<sha2::Sha224>(path)?,
        "sha256" => digest_file::<sha2::Sha256>(path)?,
        "sha384" => digest_file::<sha2::Sha384>(path)?,
        "sha512" => digest_file::<sha2::Sha512>(path)?,
        other => {
            tracing::debug!(file = %path.display(), "not checking a {other} checksum");
            return Ok(());
        }
    };
    if actual == checksum.hex {
        Ok(())
    } else {
        Err(RepoError::Checksum {
            path: path.to_owned(),
            algorithm: checksum.algorithm.clone(),
            expected: checksum.hex.clone(),
            actual,
        })
    }
}

pub(crate) fn sha256_file(path: &Path) -> Result<String, RepoError> {
    digest_file::<sha2::Sha256>(path)
}

fn digest_file<D: Digest>(path: &Path) -> Result<String, RepoError> {
    let io_error = |source| RepoError::Io {
        path: path.to_owned(),
        source,
    };
    let mut file = open_file(path)?;
    let mut hasher = D::new();
    let mut chunk = vec![0u8; 256 * 1024];
    loop {
        match file.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => hasher.update(chunk.get(..n).unwrap_or_default()),
            Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
            Err(err) => return Err(io_error(err)),
        }
    }
    Ok(hex(&hasher.finalize()))
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for &byte in bytes {
        out.push(char::from(DIGITS[usize::from(byte >> 4)]));
        out.push(char::from(DIGITS[usize::from(byte & 0xf)]));
    }
    out
}

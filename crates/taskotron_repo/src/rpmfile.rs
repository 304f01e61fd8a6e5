//! Local RPM files, read with the `rpm` crate into the same package model
//! as rpm-md, with the dependencies createrepo_c would write for them.

use std::cmp::Ordering;
use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::io::BufReader;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;

use rpm::{Dependency as RpmDep, DependencyFlags, FileFlags, IndexTag, PackageMetadata};
use taskotron_rpm::{Op, rpmvercmp};

use crate::error::RepoError;
use crate::intern::Full;
use crate::model::{
    Constraint, DepKind, Dependency, FileEntry, FileKind, PackageParts, Repo, RepoData,
};
use crate::open::sha256_file;
use crate::primary::file_entry;

/// Read one RPM file (binary or source) into a repository of its own.
pub fn read_rpm_file(path: impl AsRef<Path>) -> Result<Repo, RepoError> {
    let mut repo = Repo::new();
    repo.add_rpm_file(path)?;
    Ok(repo)
}

impl Repo {
    /// Add an RPM file's package and return its index.
    ///
    /// The package is what createrepo_c would write to primary.xml for the
    /// file: pkgid is the file's sha256, location its path, source RPMs
    /// have arch `src`, and Requires drop `rpmlib(…)`, the package's own
    /// primary files and provides, repeats, and all but the highest
    /// `libc.so.6(…)`. Unlike primary.xml it keeps every file, not only the
    /// primary ones.
    pub fn add_rpm_file(&mut self, path: impl AsRef<Path>) -> Result<usize, RepoError> {
        let path = path.as_ref();
        let rpm_error = |why: String| RepoError::Rpm {
            path: path.to_owned(),
            why,
        };
        let file = File::open(path).map_err(|source| RepoError::Io {
            path: path.to_owned(),
            source,
        })?;
        let mut reader = BufReader::new(file);
        // The rpm crate is not fuzzed here; a panic on a corrupt header is
        // one more way for the file not to be an RPM.
        let metadata = catch_unwind(AssertUnwindSafe(|| PackageMetadata::parse(&mut reader)))
            .map_err(|_| rpm_error("the RPM reader failed on this header".to_owned()))?
            .map_err(|err| rpm_error(err.to_string()))?;
        let pkgid = sha256_file(path)?;
        let was_empty = self.is_empty();
        let index =
            push_header(&mut self.data, &metadata, path, &pkgid).map_err(|fail| match fail {
                HeaderFail::Rpm(why) => rpm_error(why),
                HeaderFail::Full => RepoError::TooLarge {
                    path: path.to_owned(),
                },
            })?;
        if was_empty {
            self.data.filelists = true;
        }
        self.index_rich(index);
        Ok(index)
    }
}

enum HeaderFail {
    Rpm(String),
    Full,
}

impl From<Full> for HeaderFail {
    fn from(_: Full) -> HeaderFail {
        HeaderFail::Full
    }
}

impl From<rpm::Error> for HeaderFail {
    fn from(err: rpm::Error) -> HeaderFail {
        HeaderFail::Rpm(err.to_string())
    }
}

impl From<crate::xml::Fail> for HeaderFail {
    fn from(_: crate::xml::Fail) -> HeaderFail {
        HeaderFail::Full
    }
}

/// A tag that may be absent: `None` then, an error for any other failure.
fn optional<T>(result: Result<T, rpm::Error>) -> Result<Option<T>, rpm::Error> {
    match result {
        Ok(value) => Ok(Some(value)),
        Err(rpm::Error::TagNotFound(_)) => Ok(None),
        Err(err) => Err(err),
    }
}

fn push_header(
    data: &mut RepoData,
    metadata: &PackageMetadata,
    path: &Path,
    pkgid: &str,
) -> Result<usize, HeaderFail> {
    let mut parts = PackageParts::default();
    let name = data.intern(metadata.get_name()?)?;
    parts.epoch = optional(metadata.get_epoch())?.map_or(0, u64::from);
    let version = data.intern(metadata.get_version()?)?;
    let release = data.intern(metadata.get_release()?)?;
    let arch = if metadata.is_source_package() {
        data.intern("src")?
    } else {
        data.intern(metadata.get_arch()?)?
    };
    parts.pkgid = Some(data.intern(pkgid)?);
    parts.sourcerpm = match optional(metadata.get_source_rpm())? {
        Some(text) if !text.is_empty() && !metadata.is_source_package() => Some(data.intern(text)?),
        _ => None,
    };
    parts.location = Some(data.intern(&path.to_string_lossy())?);

    let paths = files(data, metadata, &mut parts.files)?;
    let lists = [
        metadata.get_provides()?,
        metadata.get_requires()?,
        metadata.get_conflicts()?,
        metadata.get_obsoletes()?,
        metadata.get_recommends()?,
        metadata.get_suggests()?,
        metadata.get_supplements()?,
        metadata.get_enhances()?,
    ];
    let provided: HashSet<&str> = lists[0].iter().map(|it| it.name.as_str()).collect();
    for (kind, list) in DepKind::ALL.into_iter().zip(&lists) {
        let out = &mut parts.deps[kind as usize];
        if kind == DepKind::Requires {
            requires(data, list, &paths, &provided, out)?;
        } else {
            for dep in list {
                out.push(dependency(data, dep, false)?);
            }
        }
    }
    Ok(data.push(&parts, name, version, release, arch)?)
}

/// The package's files into `out`; their paths, to filter Requires.
fn files(
    data: &mut RepoData,
    metadata: &PackageMetadata,
    out: &mut Vec<FileEntry>,
) -> Result<HashSet<String>, HeaderFail> {
    let header = &metadata.header;
    let Some(basenames) =
        optional(header.get_entry_data_as_string_array(IndexTag::RPMTAG_BASENAMES))?
    else {
        return Ok(HashSet::new());
    };
    let indexes = header.get_entry_data_as_u32_array(IndexTag::RPMTAG_DIRINDEXES)?;
    let dirs = header.get_entry_data_as_string_array(IndexTag::RPMTAG_DIRNAMES)?;
    let modes = optional(header.get_entry_data_as_u16_array(IndexTag::RPMTAG_FILEMODES))?
        .unwrap_or_default();
    let flags = optional(header.get_entry_data_as_u32_array(IndexTag::RPMTAG_FILEFLAGS))?
        .unwrap_or_default();
    let mut paths = HashSet::with_capacity(basenames.len());
    for (at, (base, index)) in basenames.iter().zip(indexes).enumerate() {
        let dir = dirs.get(index as usize).ok_or_else(|| {
            HeaderFail::Rpm(format!(
                "file {base} has directory index {index} of {}",
                dirs.len()
            ))
        })?;
        let kind = if modes
            .get(at)
            .is_some_and(|mode| mode & 0o170000 == 0o040000)
        {
            FileKind::Dir
        } else if flags
            .get(at)
            .is_some_and(|it| it & FileFlags::GHOST.bits() != 0)
        {
            FileKind::Ghost
        } else {
            FileKind::File
        };
        let path = format!("{dir}{base}");
        out.push(file_entry(&path, kind, data)?);
        paths.insert(path);
    }
    Ok(paths)
}

/// createrepo_c's "primary" files: the ones primary.xml lists.
pub(crate) fn is_primary(path: &str) -> bool {
    path.starts_with("/etc/") || path.contains("bin/") || path == "/usr/lib/sendmail"
}

/// Requires as createrepo_c writes them.
fn requires(
    data: &mut RepoData,
    list: &[RpmDep],
    paths: &HashSet<String>,
    provided: &HashSet<&str>,
    out: &mut Vec<Dependency>,
) -> Result<(), HeaderFail> {
    let prereq =
        DependencyFlags::PREREQ | DependencyFlags::SCRIPT_PRE | DependencyFlags::SCRIPT_POST;
    let mut last: HashMap<&str, (u32, &str, bool)> = HashMap::new();
    let mut libc: Option<&RpmDep> = None;
    for dep in list {
        let name = dep.name.as_str();
        if name.starts_with("rpmlib(")
            || (paths.contains(name) && is_primary(name))
            || provided.contains(name)
        {
            continue;
        }
        let pre = dep.flags.intersects(prereq);
        let sense = dep.flags.bits() & 0xf;
        if last.get(name) == Some(&(sense, dep.version.as_str(), pre)) {
            continue;
        }
        if name.starts_with("libc.so.6") {
            if libc.is_none_or(|best| libc_newer(name, &best.name)) {
                libc = Some(dep);
            }
            continue;
        }
        out.push(dependency(data, dep, pre)?);
        last.insert(name, (sense, dep.version.as_str(), pre));
    }
    if let Some(dep) = libc {
        let pre = dep.flags.intersects(prereq);
        out.push(dependency(data, dep, pre)?);
    }
    Ok(())
}

/// Whether `libc.so.6(GLIBC_x)…` asks for a newer glibc than `than`, by the
/// first number in parentheses (createrepo_c's `cr_compare_dependency`).
fn libc_newer(name: &str, than: &str) -> bool {
    fn version(name: &str) -> Option<&str> {
        let open = name.find('(')?;
        let inner = &name[open + 1..];
        let inner = &inner[..inner.find(')')?];
        let digit = inner.find(|it: char| it.is_ascii_digit())?;
        Some(&inner[digit..])
    }
    match (version(name), version(than)) {
        (Some(a), Some(b)) => rpmvercmp(a, b) == Ordering::Greater,
        (Some(_), None) => true,
        _ => false,
    }
}

/// One header dependency: the comparison from the sense bits, the EVR from
/// `[epoch:]version[-release]`.
fn dependency(data: &mut RepoData, dep: &RpmDep, pre: bool) -> Result<Dependency, HeaderFail> {
    let op = match dep.flags.bits() & 0xf {
        0x2 => Some(Op::Lt),
        0x4 => Some(Op::Gt),
        0x8 => Some(Op::Eq),
        0xa => Some(Op::Le),
        0xc => Some(Op::Ge),
        _ => None,
    };
    let constraint = match op {
        Some(op) if !dep.version.is_empty() => {
            let (epoch, rest) = match dep.version.split_once(':') {
                Some((epoch, rest))
                    if !epoch.is_empty() && epoch.bytes().all(|it| it.is_ascii_digit()) =>
                {
                    (
                        epoch.parse::<u64>().map_err(|err| {
                            HeaderFail::Rpm(format!("epoch of {}: {err}", dep.name))
                        })?,
                        rest,
                    )
                }
                _ => (0, dep.version.as_str()),
            };
            let (version, release) = match rest.rsplit_once('-') {
                Some((version, release)) => (version, Some(release)),
                None => (rest, None),
            };
            Some(Constraint {
                op,
                epoch,
                version: data.intern(version)?,
                release: match release {
                    Some(release) if !release.is_empty() => Some(data.intern(release)?),
                    _ => None,
                },
            })
        }
        _ => None,
    };
    Ok(Dependency {
        name: data.intern(&dep.name)?,
        constraint,
        pre,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn primary_files_as_createrepo_c() {
        for (path, want) in [
            ("/etc/foo.conf", true),
            ("/usr/bin/foo", true),
            ("/opt/x/sbin/y", true),
            ("/usr/lib/sendmail", true),
            ("/usr/share/foo", false),
            ("/etc", false),
        ] {
            assert_eq!(is_primary(path), want, "{path}");
        }
    }

    #[test]
    fn libc_keeps_the_highest() {
        assert!(libc_newer(
            "libc.so.6(GLIBC_2.34)(64bit)",
            "libc.so.6(GLIBC_2.4)(64bit)"
        ));
        assert!(!libc_newer(
            "libc.so.6(GLIBC_2.2.5)(64bit)",
            "libc.so.6(GLIBC_2.4)(64bit)"
        ));
        assert!(libc_newer("libc.so.6(GLIBC_2.4)", "libc.so.6()(64bit)"));
    }
}

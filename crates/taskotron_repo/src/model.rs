//! The package model, made for a dependency solver: packages, their
//! dependencies and files in flat arrays, every string interned.

use hashbrown::HashMap;
use std::fmt;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use taskotron_rpm::{Dep, Evr, Op, Rich, RichError};

use crate::intern::{Full, Interner, Sym};

/// The kinds of dependency a package has, in the order a [`Package`]
/// stores them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DepKind {
    /// What the package provides.
    Provides,
    /// What it needs installed (`pre` marks `Requires(pre)` and the like).
    Requires,
    /// What must not be installed with it.
    Conflicts,
    /// What it replaces.
    Obsoletes,
    /// Weak: what should be installed with it.
    Recommends,
    /// Weak: what may be installed with it.
    Suggests,
    /// Reverse weak: what it should be installed with.
    Supplements,
    /// Reverse weak: what it may be installed with.
    Enhances,
}

impl DepKind {
    /// Every kind, in storage order.
    pub const ALL: [DepKind; 8] = [
        DepKind::Provides,
        DepKind::Requires,
        DepKind::Conflicts,
        DepKind::Obsoletes,
        DepKind::Recommends,
        DepKind::Suggests,
        DepKind::Supplements,
        DepKind::Enhances,
    ];

    /// The name of the rpm-md element, without its `rpm:` prefix.
    pub fn as_str(self) -> &'static str {
        match self {
            DepKind::Provides => "provides",
            DepKind::Requires => "requires",
            DepKind::Conflicts => "conflicts",
            DepKind::Obsoletes => "obsoletes",
            DepKind::Recommends => "recommends",
            DepKind::Suggests => "suggests",
            DepKind::Supplements => "supplements",
            DepKind::Enhances => "enhances",
        }
    }

    /// The kind an rpm-md element (local name) lists.
    pub(crate) fn from_element(local: &str) -> Option<DepKind> {
        DepKind::ALL.into_iter().find(|it| it.as_str() == local)
    }

    /// Whether rpm accepts rich (boolean) dependencies of this kind: all
    /// but Provides and Obsoletes.
    pub fn allows_rich(self) -> bool {
        !matches!(self, DepKind::Provides | DepKind::Obsoletes)
    }

    fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for DepKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One dependency entry: a name (or a whole rich expression, when it starts
/// with `(`) and optionally a comparison with an EVR.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Dependency {
    /// The capability, file path, or rich expression as written.
    pub name: Sym,
    /// The comparison, for a versioned dependency.
    pub constraint: Option<Constraint>,
    /// rpm-md's `pre="1"`: a Requires(pre), (post), or a legacy PreReq.
    pub pre: bool,
}

/// The version part of a versioned dependency: `op epoch:version-release`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Constraint {
    /// The comparison.
    #[serde(with = "op_code")]
    pub op: Op,
    /// The epoch; a missing epoch is 0, as rpm compares it.
    pub epoch: u64,
    /// The version.
    pub version: Sym,
    /// The release, when the dependency names one.
    pub release: Option<Sym>,
}

/// What a file entry is, as primary.xml and filelists.xml say.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum FileKind {
    /// A file (regular, symlink, device …).
    File,
    /// A directory (`type="dir"`).
    Dir,
    /// A ghost file (`type="ghost"`): owned but not shipped.
    Ghost,
}

/// A file of a package, split like libsolv does into its directory (with
/// the trailing `/`) and its base name, so that `dir + base` is the path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct FileEntry {
    /// The directory, ending in `/`.
    pub dir: Sym,
    /// The name in the directory.
    pub base: Sym,
    /// File, directory or ghost.
    pub kind: FileKind,
}

/// A package: its identity, and where its dependencies and files are in
/// the [`Repo`] (read them with [`Repo::deps`] and [`Repo::files`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Package {
    /// The name.
    pub name: Sym,
    /// The epoch (0 when the package has none).
    pub epoch: u64,
    /// The version.
    pub version: Sym,
    /// The release.
    pub release: Sym,
    /// The architecture (`x86_64`, `noarch`, `src` …).
    pub arch: Sym,
    /// rpm-md's pkgid, the checksum of the RPM file (its sha256 for a
    /// local RPM file).
    pub pkgid: Option<Sym>,
    /// The source RPM's file name; `None` for source packages.
    pub sourcerpm: Option<Sym>,
    /// Where the RPM file is: `location href` in rpm-md, relative to the
    /// repository; the path given for a local RPM file.
    pub location: Option<Sym>,
    /// Where each kind's entries start in `RepoData::deps`; the last is
    /// the end of the enhances.
    deps: [u32; 9],
    /// Where the files start and end in `RepoData::files`.
    files: [u32; 2],
}

/// A package as a reader assembles it, before it goes into a [`Repo`].
#[derive(Debug, Default)]
pub(crate) struct PackageParts {
    pub(crate) name: Option<Sym>,
    pub(crate) epoch: u64,
    pub(crate) version: Option<Sym>,
    pub(crate) release: Option<Sym>,
    pub(crate) arch: Option<Sym>,
    pub(crate) pkgid: Option<Sym>,
    pub(crate) sourcerpm: Option<Sym>,
    pub(crate) location: Option<Sym>,
    pub(crate) deps: [Vec<Dependency>; 8],
    pub(crate) files: Vec<FileEntry>,
}

impl PackageParts {
    pub(crate) fn clear(&mut self) {
        let mut deps = std::mem::take(&mut self.deps);
        let mut files = std::mem::take(&mut self.files);
        for it in &mut deps {
            it.clear();
        }
        files.clear();
        *self = PackageParts {
            deps,
            files,
            ..PackageParts::default()
        };
    }
}

/// Everything of a repository that is read from metadata and stored in the
/// cache.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct RepoData {
    pub(crate) strings: Interner,
    pub(crate) packages: Vec<Package>,
    pub(crate) deps: Vec<Dependency>,
    pub(crate) files: Vec<FileEntry>,
    /// Whether the files are filelists.xml's (all of them) rather than
    /// primary.xml's (the "primary" ones).
    pub(crate) filelists: bool,
}

/// The package is too big for the model's u32 offsets.
fn offset(len: usize) -> Result<u32, Full> {
    u32::try_from(len).map_err(|_| Full)
}

impl RepoData {
    pub(crate) fn intern(&mut self, text: &str) -> Result<Sym, Full> {
        self.strings.intern(text)
    }

    /// Add a package whose name, version, release and arch are set.
    pub(crate) fn push(
        &mut self,
        parts: &PackageParts,
        name: Sym,
        version: Sym,
        release: Sym,
        arch: Sym,
    ) -> Result<usize, Full> {
        let mut deps = [0u32; 9];
        deps[0] = offset(self.deps.len())?;
        for (index, list) in parts.deps.iter().enumerate() {
            self.deps.extend_from_slice(list);
            deps[index + 1] = offset(self.deps.len())?;
        }
        let start = offset(self.files.len())?;
        self.files.extend_from_slice(&parts.files);
        let files = [start, offset(self.files.len())?];
        self.packages.push(Package {
            name,
            epoch: parts.epoch,
            version,
            release,
            arch,
            pkgid: parts.pkgid,
            sourcerpm: parts.sourcerpm,
            location: parts.location,
            deps,
            files,
        });
        Ok(self.packages.len() - 1)
    }

    pub(crate) fn deps(&self, package: &Package, kind: DepKind) -> &[Dependency] {
        let start = package.deps[kind.index()] as usize;
        let end = package.deps[kind.index() + 1] as usize;
        self.deps.get(start..end).unwrap_or(&[])
    }

    pub(crate) fn files(&self, package: &Package) -> &[FileEntry] {
        self.files
            .get(package.files[0] as usize..package.files[1] as usize)
            .unwrap_or(&[])
    }

    /// Replace the files of every package: `files[i]` are package `i`'s,
    /// or `None` to keep what it has.
    pub(crate) fn replace_files(
        &mut self,
        mut files: Vec<Option<Vec<FileEntry>>>,
    ) -> Result<(), Full> {
        files.resize(self.packages.len(), None);
        let mut all = Vec::with_capacity(self.files.len());
        for (package, new) in self.packages.iter_mut().zip(files) {
            let start = offset(all.len())?;
            match new {
                Some(list) => all.extend(list),
                None => all.extend_from_slice(
                    self.files
                        .get(package.files[0] as usize..package.files[1] as usize)
                        .unwrap_or(&[]),
                ),
            }
            package.files = [start, offset(all.len())?];
        }
        self.files = all;
        Ok(())
    }

    /// Check what a cache file gave: every string and range in bounds.
    pub(crate) fn validate(&self) -> Result<(), String> {
        let count = self.strings.len();
        let sym = |sym: Sym| {
            if sym.index() < count {
                Ok(())
            } else {
                Err(format!("string {} out of range", sym.index()))
            }
        };
        for dep in &self.deps {
            sym(dep.name)?;
            if let Some(constraint) = &dep.constraint {
                sym(constraint.version)?;
                constraint.release.map_or(Ok(()), sym)?;
            }
        }
        for file in &self.files {
            sym(file.dir)?;
            sym(file.base)?;
        }
        let mut deps_end = 0;
        let mut files_end = 0;
        for package in &self.packages {
            for it in [package.name, package.version, package.release, package.arch] {
                sym(it)?;
            }
            for it in [package.pkgid, package.sourcerpm, package.location]
                .into_iter()
                .flatten()
            {
                sym(it)?;
            }
            if package.deps[0] != deps_end
                || package.deps.windows(2).any(|it| it[0] > it[1])
                || package.files[0] != files_end
                || package.files[0] > package.files[1]
            {
                return Err("package ranges out of order".to_owned());
            }
            deps_end = package.deps[8];
            files_end = package.files[1];
        }
        if deps_end as usize != self.deps.len() || files_end as usize != self.files.len() {
            return Err("package ranges do not cover the arrays".to_owned());
        }
        Ok(())
    }
}

/// A rich dependency that does not parse, kept with its package rather
/// than failing the whole repository.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The index of the package in [`Repo::packages`].
    pub package: usize,
    /// The package's NEVRA.
    pub nevra: String,
    /// Which of its dependencies.
    pub kind: DepKind,
    /// The dependency as written.
    pub dependency: String,
    /// Why it does not parse.
    pub error: RichError,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {} `{}`: {}",
            self.nevra, self.kind, self.dependency, self.error
        )
    }
}

/// What the cache did when a repository was opened or its filelists
/// loaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CacheStatus {
    /// No cache directory was given, or the repository was not read from
    /// files.
    Disabled,
    /// The cache file was read instead of the metadata.
    Hit,
    /// There was no cache file; the metadata was parsed and one written.
    Written,
    /// The cache file was unreadable, corrupt or of another format
    /// version; the metadata was parsed and the file rewritten.
    Replaced(String),
    /// The metadata was parsed but the cache file could not be written
    /// (the reason); the repository is complete all the same.
    WriteFailed(String),
}

/// A checksum that repomd.xml gives for a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Checksum {
    pub(crate) algorithm: String,
    pub(crate) hex: String,
}

/// Where a repository came from, to load its filelists later.
#[derive(Debug, Clone, Default)]
pub(crate) struct Source {
    /// filelists.xml and its checksum.
    pub(crate) filelists: Option<(PathBuf, Option<Checksum>)>,
    /// The cache directory and the key of this repository.
    pub(crate) cache: Option<(PathBuf, String)>,
}

/// A repository: packages with interned strings, parsed rich dependencies,
/// and the rich dependencies that did not parse.
///
/// Two repositories are equal when their packages, dependencies, files and
/// strings are; where they came from and what the cache did do not count.
#[derive(Debug, Clone, Default)]
pub struct Repo {
    pub(crate) data: RepoData,
    rich: HashMap<Sym, Rich>,
    problems: Vec<Problem>,
    pub(crate) source: Source,
    pub(crate) cache: Option<CacheStatus>,
}

impl PartialEq for Repo {
    fn eq(&self, other: &Repo) -> bool {
        self.data == other.data
    }
}

impl Repo {
    /// An empty repository, to add local RPM files to
    /// ([`Repo::add_rpm_file`]).
    pub fn new() -> Repo {
        Repo::default()
    }

    /// A repository over metadata just read: parse its rich dependencies.
    pub(crate) fn from_data(data: RepoData) -> Repo {
        let mut repo = Repo {
            data,
            ..Repo::default()
        };
        repo.index_rich(0);
        repo
    }

    pub(crate) fn set_data(&mut self, data: RepoData) {
        self.data = data;
        self.rich.clear();
        self.problems.clear();
        self.index_rich(0);
    }

    /// Parse the rich dependencies of the packages from `first` on; keep
    /// those that do not parse as [`Problem`]s.
    pub(crate) fn index_rich(&mut self, first: usize) {
        let mut failed: HashMap<Sym, RichError> = HashMap::new();
        // Whether each string starts with `(`, looked at once per string
        // (0: not yet, 1: no, 2: yes) rather than once per entry.
        let mut opens = vec![0u8; self.data.strings.len()];
        for (index, package) in self.data.packages.iter().enumerate().skip(first) {
            for kind in DepKind::ALL.into_iter().filter(|it| it.allows_rich()) {
                for dep in self.data.deps(package, kind) {
                    if dep.constraint.is_some() {
                        continue;
                    }
                    let rich = match opens.get_mut(dep.name.index()) {
                        Some(seen @ 0) => {
                            let yes = self.data.strings.get(dep.name).starts_with('(');
                            *seen = if yes { 2 } else { 1 };
                            yes
                        }
                        Some(seen) => *seen == 2,
                        None => is_rich(&self.data.strings, dep),
                    };
                    if !rich || self.rich.contains_key(&dep.name) {
                        continue;
                    }
                    let text = self.data.strings.get(dep.name);
                    let error = match failed.get(&dep.name) {
                        Some(error) => error.clone(),
                        None => match Rich::parse(text) {
                            Ok(rich) => {
                                self.rich.insert(dep.name, rich);
                                continue;
                            }
                            Err(error) => {
                                failed.insert(dep.name, error.clone());
                                error
                            }
                        },
                    };
                    self.problems.push(Problem {
                        package: index,
                        nevra: nevra(&self.data.strings, package),
                        kind,
                        dependency: text.to_owned(),
                        error,
                    });
                }
            }
        }
    }

    /// The packages, in the order of the metadata.
    pub fn packages(&self) -> &[Package] {
        &self.data.packages
    }

    /// How many packages there are.
    pub fn len(&self) -> usize {
        self.data.packages.len()
    }

    /// Whether there are no packages.
    pub fn is_empty(&self) -> bool {
        self.data.packages.is_empty()
    }

    /// The packages called `name`, with their indexes.
    pub fn packages_named<'a>(
        &'a self,
        name: &str,
    ) -> impl Iterator<Item = (usize, &'a Package)> + 'a {
        let sym = self.lookup(name);
        self.data
            .packages
            .iter()
            .enumerate()
            .filter(move |(_, it)| Some(it.name) == sym)
    }

    /// A package's dependencies of one kind, in the metadata's order.
    pub fn deps(&self, package: &Package, kind: DepKind) -> &[Dependency] {
        self.data.deps(package, kind)
    }

    /// A package's files: the primary ones (`/etc/…`, `…bin/…`) until the
    /// filelists are loaded, all of them after.
    pub fn files(&self, package: &Package) -> &[FileEntry] {
        self.data.files(package)
    }

    /// Whether [`Repo::files`] gives every file (filelists.xml or local RPM
    /// files were read) rather than the primary ones.
    pub fn has_all_files(&self) -> bool {
        self.data.filelists
    }

    /// The string behind a symbol.
    pub fn str(&self, sym: Sym) -> &str {
        self.data.strings.get(sym)
    }

    /// The symbol of a string, if the repository has it.
    pub fn lookup(&self, text: &str) -> Option<Sym> {
        self.data.strings.lookup(text)
    }

    /// How many distinct strings the repository holds.
    pub fn string_count(&self) -> usize {
        self.data.strings.len()
    }

    /// `name-[epoch:]version-release.arch`, the epoch only when not 0.
    pub fn nevra(&self, package: &Package) -> String {
        nevra(&self.data.strings, package)
    }

    /// The package's EVR (no epoch when it is 0).
    pub fn evr(&self, package: &Package) -> Evr {
        Evr {
            epoch: (package.epoch != 0).then_some(package.epoch),
            version: self.str(package.version).to_owned(),
            release: Some(self.str(package.release).to_owned()),
        }
    }

    /// A file's whole path.
    pub fn file_path(&self, file: &FileEntry) -> String {
        format!("{}{}", self.str(file.dir), self.str(file.base))
    }

    /// Whether the entry is a rich dependency: its name starts with `(` and
    /// it has no comparison. (Only Requires, Conflicts and the weak kinds
    /// may hold one; a Provides or Obsoletes starting with `(` is a name.)
    pub fn is_rich(&self, dep: &Dependency) -> bool {
        is_rich(&self.data.strings, dep)
    }

    /// The parsed expression of a rich dependency; `None` for a simple one,
    /// and for one that did not parse (see [`Repo::problems`]).
    pub fn rich(&self, dep: &Dependency) -> Option<&Rich> {
        self.rich.get(&dep.name)
    }

    /// A simple dependency as `taskotron_rpm` matches it (a rich one comes
    /// back as a name, the whole expression).
    pub fn to_dep(&self, dep: &Dependency) -> Dep {
        Dep {
            name: self.str(dep.name).to_owned(),
            constraint: dep.constraint.map(|it| {
                (
                    it.op,
                    Evr {
                        epoch: (it.epoch != 0).then_some(it.epoch),
                        version: self.str(it.version).to_owned(),
                        release: it.release.map(|rel| self.str(rel).to_owned()),
                    },
                )
            }),
        }
    }

    /// The dependency as rpm prints it: `name`, `name >= 1:2.0-3`, or the
    /// rich expression as written.
    pub fn dep_string(&self, dep: &Dependency) -> String {
        self.to_dep(dep).to_string()
    }

    /// How many rich dependency entries the packages have, parsed or not.
    pub fn rich_count(&self) -> usize {
        self.data
            .packages
            .iter()
            .map(|package| {
                DepKind::ALL
                    .into_iter()
                    .filter(|it| it.allows_rich())
                    .map(|kind| {
                        self.deps(package, kind)
                            .iter()
                            .filter(|it| self.is_rich(it))
                            .count()
                    })
                    .sum::<usize>()
            })
            .sum()
    }

    /// The rich dependencies that do not parse, one per entry.
    pub fn problems(&self) -> &[Problem] {
        &self.problems
    }

    /// What the cache did when this repository was opened (or its
    /// filelists loaded).
    pub fn cache_status(&self) -> &CacheStatus {
        self.cache.as_ref().unwrap_or(&CacheStatus::Disabled)
    }
}

fn is_rich(strings: &Interner, dep: &Dependency) -> bool {
    dep.constraint.is_none() && strings.get(dep.name).starts_with('(')
}

fn nevra(strings: &Interner, package: &Package) -> String {
    let epoch = if package.epoch == 0 {
        String::new()
    } else {
        format!("{}:", package.epoch)
    };
    format!(
        "{}-{epoch}{}-{}.{}",
        strings.get(package.name),
        strings.get(package.version),
        strings.get(package.release),
        strings.get(package.arch)
    )
}

/// `Op` is `taskotron_rpm`'s and has no serde: store it as a byte.
mod op_code {
    use serde::{Deserialize, Deserializer, Serializer};
    use taskotron_rpm::Op;

    pub(super) fn serialize<S: Serializer>(op: &Op, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_u8(match op {
            Op::Lt => 0,
            Op::Le => 1,
            Op::Eq => 2,
            Op::Ge => 3,
            Op::Gt => 4,
        })
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Op, D::Error> {
        Ok(match u8::deserialize(deserializer)? {
            0 => Op::Lt,
            1 => Op::Le,
            2 => Op::Eq,
            3 => Op::Ge,
            4 => Op::Gt,
            other => {
                return Err(serde::de::Error::custom(format!(
                    "bad comparison code {other}"
                )));
            }
        })
    }
}

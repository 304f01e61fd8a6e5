//! filelists.xml: every file of every package, merged into the packages
//! that primary.xml gave, by pkgid or else by NEVRA.

use std::collections::HashMap;
use std::io::Read;
use std::path::Path;

use quick_xml::events::{BytesStart, Event};

use crate::error::{RepoError, XmlErrorKind};
use crate::intern::Sym;
use crate::model::{FileEntry, FileKind, PackageParts, Repo, RepoData};
use crate::primary::{file_entry, file_kind, version};
use crate::xml::{Fail, Input, attribute, push_reference};

/// Read a filelists.xml document (compressed or not, told by its first
/// bytes) into `repo`: each package's files become every file it has.
/// Packages are matched by pkgid, or by NEVRA when the pkgid is unknown; a
/// package that is not in `repo` is an error. `path` names the document in
/// errors.
pub fn read_filelists<R: Read>(
    repo: &mut Repo,
    reader: R,
    path: impl AsRef<Path>,
) -> Result<(), RepoError> {
    let mut data = std::mem::take(&mut repo.data);
    let path = path.as_ref();
    let result = Input::new(reader, path).and_then(|input| merge_filelists(&mut data, input));
    // The strings interned so far stay; the packages are untouched on error.
    repo.data = data;
    result
}

/// Name, epoch, version, release and arch.
type Nevra = (Sym, u64, Sym, Sym, Sym);

/// A package of filelists.xml being read.
#[derive(Debug, Default)]
struct Current {
    pkgid: Option<String>,
    name: Option<String>,
    arch: Option<String>,
    parts: PackageParts,
    offset: u64,
}

pub(crate) fn merge_filelists(data: &mut RepoData, mut input: Input<'_>) -> Result<(), RepoError> {
    let path = input.path.clone();
    let mut by_pkgid: HashMap<Sym, usize> = HashMap::with_capacity(data.packages.len());
    for (index, package) in data.packages.iter().enumerate() {
        if let Some(pkgid) = package.pkgid {
            by_pkgid.entry(pkgid).or_insert(index);
        }
    }
    let mut by_nevra: Option<HashMap<Nevra, usize>> = None;
    let mut files: Vec<Option<Vec<FileEntry>>> = vec![None; data.packages.len()];
    let mut buf = Vec::with_capacity(4096);
    let mut text = String::new();
    let mut depth = 0u32;
    let mut root = (false, false);
    let mut declared: Option<u64> = None;
    let mut count = 0u64;
    let mut current: Option<Current> = None;
    let mut capture: Option<FileKind> = None;
    loop {
        let offset = input.reader.buffer_position();
        let event = match input.reader.read_event_into(&mut buf) {
            Ok(event) => event,
            Err(err) => return Err(input.error(err.into(), offset)),
        };
        let (level, opened, closed) = match &event {
            Event::Start(_) => (depth + 1, true, false),
            Event::Empty(_) => (depth + 1, true, true),
            Event::End(_) => (depth, false, true),
            _ => (depth, false, false),
        };
        let mut step: Result<(), Fail> = Ok(());
        if opened {
            if let Event::Start(element) | Event::Empty(element) = &event {
                step = if level == 1 && root.0 {
                    Err(XmlErrorKind::Syntax("a second document element".to_owned()).into())
                } else if level == 1 {
                    root.0 = true;
                    root_element(element, &mut declared)
                } else {
                    start(
                        element,
                        level,
                        offset,
                        data,
                        &mut current,
                        &mut capture,
                        &mut text,
                    )
                };
            }
            if matches!(event, Event::Start(_)) {
                depth = level;
            }
        }
        if closed && step.is_ok() {
            if !opened {
                depth = depth.saturating_sub(1);
            }
            if level == 1 {
                root.1 = true;
            } else if level == 2 {
                if let Some(package) = current.take() {
                    count += 1;
                    let at = package.offset;
                    let index =
                        find(data, &by_pkgid, &mut by_nevra, &package).map_err(
                            |err| match err {
                                Found::Missing(kind) => input.error(kind.into(), at),
                                Found::Unknown { nevra, pkgid } => RepoError::UnknownPackage {
                                    path: path.clone(),
                                    nevra,
                                    pkgid,
                                },
                            },
                        )?;
                    if let Some(slot) = files.get_mut(index) {
                        *slot = Some(package.parts.files);
                    }
                }
            } else if level == 3
                && let Some(kind) = capture.take()
            {
                let path = if opened { "" } else { text.as_str() };
                step = push_file(path, kind, data, &mut current);
            }
        }
        match event {
            Event::Text(chunk) if capture.is_some() => text.push_str(&chunk),
            Event::CData(chunk) if capture.is_some() => text.push_str(&chunk),
            Event::GeneralRef(reference) if capture.is_some() && step.is_ok() => {
                step = push_reference(&mut text, &reference);
            }
            Event::Eof => break,
            _ => {}
        }
        if let Err(fail) = step {
            return Err(input.error(fail, offset));
        }
        buf.clear();
    }
    let end = input.reader.buffer_position();
    let fail = if !root.0 {
        Some(XmlErrorKind::Syntax(
            "the document has no <filelists> element".to_owned(),
        ))
    } else if !root.1 {
        Some(XmlErrorKind::Syntax(
            "the document ends before </filelists>: truncated?".to_owned(),
        ))
    } else {
        declared
            .filter(|&declared| declared != count)
            .map(|declared| XmlErrorKind::PackageCount {
                declared,
                found: count,
            })
    };
    if let Some(kind) = fail {
        return Err(input.error(kind.into(), end));
    }
    data.replace_files(files)
        .map_err(|_| RepoError::TooLarge { path })?;
    data.filelists = true;
    Ok(())
}

fn root_element(element: &BytesStart<'_>, declared: &mut Option<u64>) -> Result<(), Fail> {
    if element.local_name().as_ref() != "filelists" {
        return Err(XmlErrorKind::WrongRoot {
            expected: "filelists",
            found: element.name().as_ref().to_owned(),
        }
        .into());
    }
    if let Some(count) = attribute(element, "packages")? {
        *declared = Some(
            count
                .trim()
                .parse()
                .map_err(|_| XmlErrorKind::BadAttribute {
                    element: "filelists",
                    attribute: "packages",
                    value: count.into_owned(),
                    expected: "a number",
                })?,
        );
    }
    Ok(())
}

fn start(
    element: &BytesStart<'_>,
    level: u32,
    offset: u64,
    data: &mut RepoData,
    current: &mut Option<Current>,
    capture: &mut Option<FileKind>,
    text: &mut String,
) -> Result<(), Fail> {
    let local = element.local_name();
    match (level, local.as_ref()) {
        (2, "package") => {
            let get = |name| attribute(element, name).map(|it| it.map(|it| it.into_owned()));
            *current = Some(Current {
                pkgid: get("pkgid")?,
                name: get("name")?,
                arch: get("arch")?,
                parts: PackageParts::default(),
                offset,
            });
        }
        (3, "version") => {
            if let Some(current) = current {
                version(element, data, &mut current.parts)?;
            }
        }
        (3, "file") if current.is_some() => {
            *capture = Some(file_kind(element)?);
            text.clear();
        }
        _ => {}
    }
    Ok(())
}

fn push_file(
    path: &str,
    kind: FileKind,
    data: &mut RepoData,
    current: &mut Option<Current>,
) -> Result<(), Fail> {
    if let Some(current) = current
        && !path.is_empty()
    {
        let file = file_entry(path, kind, data)?;
        current.parts.files.push(file);
    }
    Ok(())
}

enum Found {
    Missing(XmlErrorKind),
    Unknown { nevra: String, pkgid: String },
}

/// The index of the primary package a filelists package is.
fn find(
    data: &RepoData,
    by_pkgid: &HashMap<Sym, usize>,
    by_nevra: &mut Option<HashMap<Nevra, usize>>,
    package: &Current,
) -> Result<usize, Found> {
    if let Some(index) = package
        .pkgid
        .as_deref()
        .and_then(|it| data.strings.lookup(it))
        .and_then(|sym| by_pkgid.get(&sym))
    {
        return Ok(*index);
    }
    let missing = |attribute| {
        Found::Missing(XmlErrorKind::MissingAttribute {
            element: "package",
            attribute,
        })
    };
    let name = package.name.as_deref().ok_or_else(|| missing("name"))?;
    let arch = package.arch.as_deref().ok_or_else(|| missing("arch"))?;
    let (Some(version), Some(release)) = (package.parts.version, package.parts.release) else {
        return Err(Found::Missing(XmlErrorKind::MissingElement("version")));
    };
    let epoch = package.parts.epoch;
    let by_nevra = by_nevra.get_or_insert_with(|| {
        let mut map = HashMap::with_capacity(data.packages.len());
        for (index, it) in data.packages.iter().enumerate() {
            map.entry((it.name, it.epoch, it.version, it.release, it.arch))
                .or_insert(index);
        }
        map
    });
    let found = match (data.strings.lookup(name), data.strings.lookup(arch)) {
        (Some(name), Some(arch)) => by_nevra
            .get(&(name, epoch, version, release, arch))
            .copied(),
        _ => None,
    };
    found.ok_or_else(|| Found::Unknown {
        nevra: format!(
            "{name}-{}{}-{}.{arch}",
            if epoch == 0 {
                String::new()
            } else {
                format!("{epoch}:")
            },
            data.strings.get(version),
            data.strings.get(release)
        ),
        pkgid: package.pkgid.clone().unwrap_or_default(),
    })
}

//! primary.xml: every package's name, EVR, arch, checksum, location,
//! dependencies and primary files, streamed and interned as it is read.

use std::io::Read;
use std::path::Path;

use quick_xml::events::{BytesStart, Event};
use taskotron_rpm::Op;

use crate::error::{RepoError, XmlErrorKind};
use crate::model::{
    Constraint, DepKind, Dependency, FileEntry, FileKind, PackageParts, Repo, RepoData,
};
use crate::xml::{Fail, Input, attribute, push_reference};

/// Read a primary.xml document, compressed with gzip, xz or zstd or not
/// (told by its first bytes). `path` names the document in errors.
///
/// Rich dependencies that do not parse do not fail the read: they are kept
/// as [`Repo::problems`].
pub fn read_primary<R: Read>(reader: R, path: impl AsRef<Path>) -> Result<Repo, RepoError> {
    parse_primary(Input::new(reader, path.as_ref())?).map(Repo::from_data)
}

/// The text elements of a package the reader keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    Name,
    Arch,
    Pkgid,
    SourceRpm,
    File(FileKind),
}

/// Where the reader is, as the depths of the open elements it cares about.
#[derive(Debug, Default)]
struct State {
    /// Depth of the innermost open element (the document element is 1).
    depth: u32,
    root_open: bool,
    root_closed: bool,
    declared: Option<u64>,
    package: Option<u32>,
    /// Where the open package starts, for errors about the whole package.
    package_offset: u64,
    format: Option<u32>,
    list: Option<(DepKind, u32)>,
    capture: Option<(Field, u32)>,
}

pub(crate) fn parse_primary(mut input: Input<'_>) -> Result<RepoData, RepoError> {
    let mut buf = Vec::with_capacity(4096);
    let mut data = RepoData::default();
    let mut parts = PackageParts::default();
    let mut text = String::new();
    let mut state = State::default();
    loop {
        let offset = input.reader.buffer_position();
        let event = match input.reader.read_event_into(&mut buf) {
            Ok(event) => event,
            Err(err) => return Err(input.error(err.into(), offset)),
        };
        let step = match event {
            Event::Start(element) => {
                let level = state.depth + 1;
                let capture = start(&element, level, offset, &mut state, &mut data, &mut parts);
                state.depth = level;
                capture.map(|capture| {
                    if let Some(field) = capture {
                        state.capture = Some((field, level));
                        text.clear();
                    }
                })
            }
            Event::Empty(element) => {
                let level = state.depth + 1;
                let started = start(&element, level, offset, &mut state, &mut data, &mut parts);
                // An empty `<format/>` or `<rpm:requires/>` closes at once.
                if state.format == Some(level) {
                    state.format = None;
                }
                if state.list.is_some_and(|(_, at)| at == level) {
                    state.list = None;
                }
                started.and_then(|capture| {
                    if let Some(field) = capture {
                        store(field, "", &mut data, &mut parts)
                    } else if state.package == Some(level) {
                        // `<package/>`: nothing in it.
                        state.package = None;
                        Err(XmlErrorKind::MissingElement("name").into())
                    } else if state.root_open && level == 1 {
                        // `<metadata/>`: no packages.
                        state.root_closed = true;
                        Ok(())
                    } else {
                        Ok(())
                    }
                })
            }
            Event::End(_) => {
                let level = state.depth;
                state.depth = level.saturating_sub(1);
                if state.package == Some(level) {
                    state.package = None;
                    finish(&mut data, &parts).map_err(|fail| {
                        let at = state.package_offset;
                        input.error(fail, at)
                    })?;
                    Ok(())
                } else {
                    end(level, &mut state, &text, &mut data, &mut parts)
                }
            }
            Event::Text(chunk) => {
                if state.capture.is_some() {
                    text.push_str(&chunk);
                }
                Ok(())
            }
            Event::CData(chunk) => {
                if state.capture.is_some() {
                    text.push_str(&chunk);
                }
                Ok(())
            }
            Event::GeneralRef(reference) => {
                if state.capture.is_some() {
                    push_reference(&mut text, &reference)
                } else {
                    Ok(())
                }
            }
            Event::Eof => break,
            Event::Comment(_) | Event::Decl(_) | Event::PI(_) | Event::DocType(_) => Ok(()),
        };
        if let Err(fail) = step {
            return Err(input.error(fail, offset));
        }
        buf.clear();
    }
    let end = input.reader.buffer_position();
    let fail: Option<XmlErrorKind> = if !state.root_open {
        Some(XmlErrorKind::Syntax(
            "the document has no <metadata> element".to_owned(),
        ))
    } else if !state.root_closed {
        Some(XmlErrorKind::Syntax(
            "the document ends before </metadata>: truncated?".to_owned(),
        ))
    } else {
        state
            .declared
            .filter(|&declared| declared != data.packages.len() as u64)
            .map(|declared| XmlErrorKind::PackageCount {
                declared,
                found: data.packages.len() as u64,
            })
    };
    match fail {
        Some(kind) => Err(input.error(kind.into(), end)),
        None => Ok(data),
    }
}

/// An element opens at depth `level`: act on it, and say whether its text
/// is wanted.
fn start(
    element: &BytesStart<'_>,
    level: u32,
    offset: u64,
    state: &mut State,
    data: &mut RepoData,
    parts: &mut PackageParts,
) -> Result<Option<Field>, Fail> {
    let local = element.local_name();
    let name = local.as_ref();
    if level == 1 {
        if state.root_open {
            return Err(XmlErrorKind::Syntax("a second document element".to_owned()).into());
        }
        if name != "metadata" {
            return Err(XmlErrorKind::WrongRoot {
                expected: "metadata",
                found: element.name().as_ref().to_owned(),
            }
            .into());
        }
        state.root_open = true;
        if let Some(count) = attribute(element, "packages")? {
            state.declared =
                Some(
                    count
                        .trim()
                        .parse()
                        .map_err(|_| XmlErrorKind::BadAttribute {
                            element: "metadata",
                            attribute: "packages",
                            value: count.into_owned(),
                            expected: "a number",
                        })?,
                );
        }
        return Ok(None);
    }
    let Some(package) = state.package else {
        if level == 2 && name == "package" {
            state.package = Some(level);
            state.package_offset = offset;
            state.format = None;
            state.list = None;
            parts.clear();
        }
        return Ok(None);
    };
    if level == package + 1 {
        match name {
            "name" => return Ok(Some(Field::Name)),
            "arch" => return Ok(Some(Field::Arch)),
            "version" => version(element, data, parts)?,
            "checksum" if attribute(element, "pkgid")?.is_some_and(|it| it == "YES") => {
                return Ok(Some(Field::Pkgid));
            }
            "location" => {
                let href = attribute(element, "href")?.ok_or(XmlErrorKind::MissingAttribute {
                    element: "location",
                    attribute: "href",
                })?;
                parts.location = Some(data.intern(&href)?);
            }
            "format" => state.format = Some(level),
            _ => {}
        }
        return Ok(None);
    }
    let Some(format) = state.format else {
        return Ok(None);
    };
    if level == format + 1 {
        if let Some(kind) = DepKind::from_element(name) {
            state.list = Some((kind, level));
        } else if name == "sourcerpm" {
            return Ok(Some(Field::SourceRpm));
        } else if name == "file" {
            return Ok(Some(Field::File(file_kind(element)?)));
        }
        return Ok(None);
    }
    if let Some((kind, list)) = state.list
        && level == list + 1
        && name == "entry"
    {
        let dep = entry(element, data)?;
        parts.deps[kind as usize].push(dep);
    }
    Ok(None)
}

/// An element at depth `level` closes.
fn end(
    level: u32,
    state: &mut State,
    text: &str,
    data: &mut RepoData,
    parts: &mut PackageParts,
) -> Result<(), Fail> {
    if let Some((field, at)) = state.capture
        && at == level
    {
        state.capture = None;
        store(field, text, data, parts)?;
    } else if state.list.is_some_and(|(_, at)| at == level) {
        state.list = None;
    } else if state.format == Some(level) {
        state.format = None;
    } else if level == 1 {
        state.root_closed = true;
    }
    Ok(())
}

/// Keep the text of a field.
fn store(
    field: Field,
    text: &str,
    data: &mut RepoData,
    parts: &mut PackageParts,
) -> Result<(), Fail> {
    match field {
        Field::Name => parts.name = Some(data.intern(text.trim())?),
        Field::Arch => parts.arch = Some(data.intern(text.trim())?),
        Field::Pkgid => parts.pkgid = Some(data.intern(text.trim())?),
        Field::SourceRpm => {
            let text = text.trim();
            parts.sourcerpm = if text.is_empty() {
                None
            } else {
                Some(data.intern(text)?)
            };
        }
        Field::File(kind) => {
            if !text.is_empty() {
                parts.files.push(file_entry(text, kind, data)?);
            }
        }
    }
    Ok(())
}

/// A path split into directory (with its `/`) and base name, interned.
pub(crate) fn file_entry(
    path: &str,
    kind: FileKind,
    data: &mut RepoData,
) -> Result<FileEntry, Fail> {
    let split = path.rfind('/').map_or(0, |it| it + 1);
    let (dir, base) = path.split_at(split);
    Ok(FileEntry {
        dir: data.intern(dir)?,
        base: data.intern(base)?,
        kind,
    })
}

pub(crate) fn file_kind(element: &BytesStart<'_>) -> Result<FileKind, Fail> {
    Ok(match attribute(element, "type")?.as_deref() {
        None | Some("file") => FileKind::File,
        Some("dir") => FileKind::Dir,
        Some("ghost") => FileKind::Ghost,
        Some(other) => {
            return Err(XmlErrorKind::BadAttribute {
                element: "file",
                attribute: "type",
                value: other.to_owned(),
                expected: "dir, ghost or none",
            }
            .into());
        }
    })
}

/// The `<version epoch= ver= rel=/>` of a package.
pub(crate) fn version(
    element: &BytesStart<'_>,
    data: &mut RepoData,
    parts: &mut PackageParts,
) -> Result<(), Fail> {
    let mut epoch = None;
    let mut ver = None;
    let mut rel = None;
    for attr in element.attributes().with_checks(false) {
        let attr = attr?;
        let slot = match attr.key.local_name().as_ref() {
            "epoch" => &mut epoch,
            "ver" => &mut ver,
            "rel" => &mut rel,
            _ => continue,
        };
        *slot = Some(attr.normalized_value(quick_xml::XmlVersion::Implicit1_0)?);
    }
    parts.epoch = parse_epoch("version", epoch.as_deref())?;
    let ver = ver.ok_or(XmlErrorKind::MissingAttribute {
        element: "version",
        attribute: "ver",
    })?;
    let rel = rel.ok_or(XmlErrorKind::MissingAttribute {
        element: "version",
        attribute: "rel",
    })?;
    parts.version = Some(data.intern(&ver)?);
    parts.release = Some(data.intern(&rel)?);
    Ok(())
}

fn parse_epoch(element: &'static str, epoch: Option<&str>) -> Result<u64, Fail> {
    match epoch.map(str::trim) {
        None | Some("") => Ok(0),
        Some(text) => text.parse().map_err(|_| {
            XmlErrorKind::BadAttribute {
                element,
                attribute: "epoch",
                value: text.to_owned(),
                expected: "a number",
            }
            .into()
        }),
    }
}

/// One `<rpm:entry name= flags= epoch= ver= rel= pre=/>`.
pub(crate) fn entry(element: &BytesStart<'_>, data: &mut RepoData) -> Result<Dependency, Fail> {
    let mut name = None;
    let mut flags = None;
    let mut epoch = None;
    let mut ver = None;
    let mut rel = None;
    let mut pre = None;
    for attr in element.attributes().with_checks(false) {
        let attr = attr?;
        let slot = match attr.key.local_name().as_ref() {
            "name" => &mut name,
            "flags" => &mut flags,
            "epoch" => &mut epoch,
            "ver" => &mut ver,
            "rel" => &mut rel,
            "pre" => &mut pre,
            _ => continue,
        };
        *slot = Some(attr.normalized_value(quick_xml::XmlVersion::Implicit1_0)?);
    }
    let name = name.ok_or(XmlErrorKind::MissingAttribute {
        element: "rpm:entry",
        attribute: "name",
    })?;
    let pre = match pre.as_deref() {
        None | Some("0" | "false") => false,
        Some("1" | "true") => true,
        Some(other) => {
            return Err(XmlErrorKind::BadAttribute {
                element: "rpm:entry",
                attribute: "pre",
                value: other.to_owned(),
                expected: "0 or 1",
            }
            .into());
        }
    };
    let constraint = match flags {
        None => None,
        Some(flags) => {
            let op: Op = Op::from_rpmmd(&flags).ok_or_else(|| XmlErrorKind::BadAttribute {
                element: "rpm:entry",
                attribute: "flags",
                value: flags.clone().into_owned(),
                expected: "EQ, LT, LE, GT or GE",
            })?;
            let ver = ver.ok_or(XmlErrorKind::MissingAttribute {
                element: "rpm:entry",
                attribute: "ver",
            })?;
            Some(Constraint {
                op,
                epoch: parse_epoch("rpm:entry", epoch.as_deref())?,
                version: data.intern(&ver)?,
                release: match rel.as_deref() {
                    None | Some("") => None,
                    Some(rel) => Some(data.intern(rel)?),
                },
            })
        }
    };
    Ok(Dependency {
        name: data.intern(&name)?,
        constraint,
        pre,
    })
}

/// A package closes: it needs a name, an arch, a version and a release.
fn finish(data: &mut RepoData, parts: &PackageParts) -> Result<(), Fail> {
    let non_empty = |sym: Option<_>, what| match sym {
        Some(sym) if !data.strings.get(sym).is_empty() => Ok(sym),
        _ => Err(XmlErrorKind::MissingElement(what)),
    };
    let name = non_empty(parts.name, "name")?;
    let arch = non_empty(parts.arch, "arch")?;
    let (Some(version), Some(release)) = (parts.version, parts.release) else {
        return Err(XmlErrorKind::MissingElement("version").into());
    };
    data.push(parts, name, version, release, arch)?;
    Ok(())
}

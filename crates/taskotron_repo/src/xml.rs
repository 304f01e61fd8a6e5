//! What the rpm-md readers share: the streaming XML reader over
//! decompressed bytes, attributes, entities, and errors with positions.

use std::borrow::Cow;
use std::fs::File;
use std::io::{self, BufRead, Read};
use std::path::{Path, PathBuf};

use quick_xml::XmlVersion;
use quick_xml::events::{BytesRef, BytesStart};

use crate::decompress::{Compression, decompressed, decompressed_ahead};
use crate::error::{Position, RepoError, XmlErrorKind};
use crate::intern::Full;

/// The XML reader over a file's decompressed bytes.
pub(crate) type XmlReader<'a> = quick_xml::Reader<Box<dyn BufRead + 'a>>;

/// A streaming reader of one document.
pub(crate) struct Input<'a> {
    pub(crate) reader: XmlReader<'a>,
    pub(crate) path: PathBuf,
    pub(crate) compression: Compression,
}

impl<'a> Input<'a> {
    pub(crate) fn new<R: Read + 'a>(raw: R, path: &Path) -> Result<Input<'a>, RepoError> {
        let (compression, bytes) = decompressed(raw, path)?;
        Ok(Input::over(compression, bytes, path))
    }

    /// Read a file, decompressing it on a thread of its own.
    pub(crate) fn file(file: File, path: &Path) -> Result<Input<'static>, RepoError> {
        let (compression, bytes) = decompressed_ahead(file, path)?;
        Ok(Input::over(compression, bytes, path))
    }

    fn over(compression: Compression, bytes: Box<dyn BufRead + 'a>, path: &Path) -> Input<'a> {
        let mut reader = quick_xml::Reader::from_reader(bytes);
        let config = reader.config_mut();
        config.check_end_names = true;
        config.expand_empty_elements = false;
        Input {
            reader,
            path: path.to_owned(),
            compression,
        }
    }

    /// The error for `fail` at `offset` in the document.
    pub(crate) fn error(&self, fail: Fail, offset: u64) -> RepoError {
        let path = self.path.clone();
        let (offset, kind) = match fail {
            Fail::Kind(kind) => (offset, kind),
            Fail::Full => return RepoError::TooLarge { path },
            Fail::Quick(quick_xml::Error::Io(err)) => {
                let source = io::Error::new(err.kind(), err.to_string());
                return match self.compression {
                    Compression::None => RepoError::Io { path, source },
                    compression => RepoError::Decompress {
                        path,
                        compression,
                        source,
                    },
                };
            }
            Fail::Quick(err) => (
                self.reader.error_position().max(offset),
                XmlErrorKind::Syntax(err.to_string()),
            ),
        };
        RepoError::Xml {
            path,
            position: Position {
                offset,
                line_column: None,
            },
            kind: Box::new(kind),
        }
    }
}

/// Why reading stopped, before it is given a position.
#[derive(Debug)]
pub(crate) enum Fail {
    Kind(XmlErrorKind),
    Quick(quick_xml::Error),
    Full,
}

impl From<XmlErrorKind> for Fail {
    fn from(kind: XmlErrorKind) -> Fail {
        Fail::Kind(kind)
    }
}

impl From<quick_xml::Error> for Fail {
    fn from(err: quick_xml::Error) -> Fail {
        Fail::Quick(err)
    }
}

impl From<quick_xml::events::attributes::AttrError> for Fail {
    fn from(err: quick_xml::events::attributes::AttrError) -> Fail {
        Fail::Quick(err.into())
    }
}

impl From<Full> for Fail {
    fn from(_: Full) -> Fail {
        Fail::Full
    }
}

/// The value of attribute `name` (local name) of an element, unescaped.
pub(crate) fn attribute<'e>(
    element: &'e BytesStart<'_>,
    name: &str,
) -> Result<Option<Cow<'e, str>>, Fail> {
    for attr in element.attributes().with_checks(false) {
        let attr = attr?;
        if attr.key.local_name().as_ref() == name {
            return Ok(Some(attr.normalized_value(XmlVersion::Implicit1_0)?));
        }
    }
    Ok(None)
}

/// The text of a predefined entity or character reference.
pub(crate) fn push_reference(text: &mut String, reference: &BytesRef<'_>) -> Result<(), Fail> {
    if let Some(ch) = reference.resolve_char_ref()? {
        text.push(ch);
        return Ok(());
    }
    let name: &str = &reference.clone().into_inner();
    text.push_str(match name {
        "amp" => "&",
        "lt" => "<",
        "gt" => ">",
        "quot" => "\"",
        "apos" => "'",
        other => return Err(XmlErrorKind::UnknownEntity(other.to_owned()).into()),
    });
    Ok(())
}

/// Add the line and column to an XML error about the file at its path, by
/// reading the file again up to the error's offset. Other errors, and files
/// that cannot be read again, are returned as they are.
pub(crate) fn with_line(err: RepoError) -> RepoError {
    match err {
        RepoError::Xml {
            path,
            position,
            kind,
        } => {
            let line_column = position
                .line_column
                .or_else(|| locate(&path, position.offset));
            RepoError::Xml {
                path,
                position: Position {
                    offset: position.offset,
                    line_column,
                },
                kind,
            }
        }
        other => other,
    }
}

fn locate(path: &Path, offset: u64) -> Option<(u64, u64)> {
    let file = File::open(path).ok()?;
    let (_, bytes) = decompressed(file, path).ok()?;
    let mut bytes = bytes.take(offset);
    let mut chunk = vec![0u8; 64 * 1024];
    let (mut line, mut column) = (1u64, 1u64);
    loop {
        let n = match bytes.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => n,
            Err(_) => break,
        };
        for &byte in chunk.get(..n)? {
            if byte == b'\n' {
                line += 1;
                column = 1;
            } else {
                column += 1;
            }
        }
    }
    Some((line, column))
}

//! repomd.xml: where a repository's metadata files are, with their
//! checksums.

use std::path::Path;

use quick_xml::events::Event;

use crate::error::{RepoError, XmlErrorKind};
use crate::model::Checksum;
use crate::xml::{Fail, Input, attribute, push_reference};

/// One `<data type=…>` record.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Record {
    pub(crate) kind: String,
    pub(crate) href: Option<String>,
    pub(crate) checksum: Option<Checksum>,
}

/// Read repomd.xml (`bytes`, the whole file).
pub(crate) fn parse_repomd(bytes: &[u8], path: &Path) -> Result<Vec<Record>, RepoError> {
    let mut input = Input::new(bytes, path)?;
    let mut buf = Vec::new();
    let mut records = Vec::new();
    let mut depth = 0u32;
    let mut current: Option<Record> = None;
    let mut checksum_type: Option<String> = None;
    let mut text: Option<String> = None;
    let mut closed = false;
    loop {
        let offset = input.reader.buffer_position();
        let event = match input.reader.read_event_into(&mut buf) {
            Ok(event) => event,
            Err(err) => return Err(input.error(err.into(), offset)),
        };
        if matches!(event, Event::Eof) {
            break;
        }
        let step: Result<(), Fail> = (|| {
            let empty = matches!(event, Event::Empty(_));
            match event {
                Event::Start(element) | Event::Empty(element) => {
                    let level = depth + 1;
                    let local = element.local_name();
                    match (level, local.as_ref()) {
                        (1, "repomd") => closed = empty,
                        (1, _) => {
                            return Err(XmlErrorKind::WrongRoot {
                                expected: "repomd",
                                found: element.name().as_ref().to_owned(),
                            }
                            .into());
                        }
                        (2, "data") => {
                            let kind = attribute(&element, "type")?.ok_or(
                                XmlErrorKind::MissingAttribute {
                                    element: "data",
                                    attribute: "type",
                                },
                            )?;
                            let record = Record {
                                kind: kind.into_owned(),
                                ..Record::default()
                            };
                            if empty {
                                records.push(record);
                            } else {
                                current = Some(record);
                            }
                        }
                        (3, "location") => {
                            if let Some(record) = &mut current {
                                record.href = Some(
                                    attribute(&element, "href")?
                                        .ok_or(XmlErrorKind::MissingAttribute {
                                            element: "location",
                                            attribute: "href",
                                        })?
                                        .into_owned(),
                                );
                            }
                        }
                        (3, "checksum") if !empty => {
                            checksum_type = Some(
                                attribute(&element, "type")?
                                    .ok_or(XmlErrorKind::MissingAttribute {
                                        element: "checksum",
                                        attribute: "type",
                                    })?
                                    .into_owned(),
                            );
                            text = Some(String::new());
                        }
                        _ => {}
                    }
                    if !empty {
                        depth = level;
                    }
                }
                Event::End(_) => {
                    match depth {
                        1 => closed = true,
                        2 => records.extend(current.take()),
                        3 => {
                            if let (Some(record), Some(algorithm), Some(hex)) =
                                (&mut current, checksum_type.take(), text.take())
                            {
                                record.checksum = Some(Checksum {
                                    algorithm: algorithm.to_ascii_lowercase(),
                                    hex: hex.trim().to_ascii_lowercase(),
                                });
                            }
                        }
                        _ => {}
                    }
                    depth = depth.saturating_sub(1);
                }
                Event::Text(chunk) => {
                    if let Some(text) = &mut text {
                        text.push_str(&chunk);
                    }
                }
                Event::GeneralRef(reference) => {
                    if let Some(text) = &mut text {
                        push_reference(text, &reference)?;
                    }
                }
                _ => {}
            }
            Ok(())
        })();
        if let Err(fail) = step {
            return Err(input.error(fail, offset));
        }
        buf.clear();
    }
    if !closed {
        let end = input.reader.buffer_position();
        return Err(input.error(
            XmlErrorKind::Syntax("the document ends before </repomd>: truncated?".to_owned())
                .into(),
            end,
        ));
    }
    Ok(records)
}

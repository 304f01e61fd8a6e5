//! `xunit`: turn a JUnit/xUnit XML report into ResultYAML.

use quick_xml::Reader;
use quick_xml::events::{BytesStart, Event};
use serde_json::Value as Json;
use taskotron_task_format::{ResultYaml, TaskResult};
use taskotron_types::{CheckName, Outcome};

use super::{Cx, DirectiveError, failed};

/// One `<testcase>` of a report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TestCase {
    pub(crate) name: String,
    pub(crate) classname: Option<String>,
    pub(crate) failed: bool,
}

/// Every `<testcase>` in an xUnit document, whatever wraps it.
pub(crate) fn parse_testcases(xml: &str) -> Result<Vec<TestCase>, String> {
    let mut reader = Reader::from_str(xml);
    let mut cases = Vec::new();
    let mut open: Option<TestCase> = None;
    loop {
        let event = reader
            .read_event()
            .map_err(|err| format!("invalid XML at byte {}: {err}", reader.buffer_position()))?;
        match event {
            Event::Start(tag) if tag.name().as_ref() == "testcase" => open = Some(testcase(&tag)?),
            Event::Empty(tag) if tag.name().as_ref() == "testcase" => cases.push(testcase(&tag)?),
            Event::Start(tag) | Event::Empty(tag)
                if matches!(tag.name().as_ref(), "failure" | "error") =>
            {
                if let Some(case) = open.as_mut() {
                    case.failed = true;
                }
            }
            Event::End(tag) if tag.name().as_ref() == "testcase" => {
                if let Some(case) = open.take() {
                    cases.push(case);
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    Ok(cases)
}

fn testcase(tag: &BytesStart<'_>) -> Result<TestCase, String> {
    let attr = |key: &str| -> Result<Option<String>, String> {
        match tag
            .try_get_attribute(key)
            .map_err(|err| format!("bad attribute: {err}"))?
        {
            Some(it) => it
                .normalized_value(quick_xml::XmlVersion::Implicit1_0)
                .map(|v| Some(v.into_owned()))
                .map_err(|err| format!("bad attribute `{key}`: {err}")),
            None => Ok(None),
        }
    };
    Ok(TestCase {
        name: attr("name")?.ok_or("a <testcase> has no name attribute")?,
        classname: attr("classname")?,
        failed: false,
    })
}

/// A testcase's name as a check-name part: dots and whitespace become `_`.
fn part(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c == '.' || c.is_whitespace() || c.is_control() {
                '_'
            } else {
                c
            }
        })
        .collect()
}

pub(super) fn xunit(cx: &Cx<'_>, params: &Json) -> Result<Json, DirectiveError> {
    let text = |key: &str| params.get(key).map(super::files::text);
    let path = cx.readable_file("file", &text("file").unwrap_or_default())?;
    let xml = std::fs::read_to_string(&path)
        .map_err(|err| failed(format!("cannot read xunit file {}: {err}", path.display())))?;
    let cases =
        parse_testcases(&xml).map_err(|err| failed(format!("{}: {err}", path.display())))?;
    let item = text("item").unwrap_or_else(|| cx.job.item.clone());
    let item_type = text("type").unwrap_or_else(|| cx.job.item_type.as_str().to_owned());
    let checkname = text("checkname").unwrap_or_else(|| cx.job.formula.checkname());
    let check = |name: String| CheckName::new(name).map_err(|err| failed(format!("xunit: {err}")));
    let mut doc = ResultYaml::default();
    if text("aggregation").as_deref() == Some("none") {
        for case in &cases {
            let outcome = if case.failed {
                Outcome::Failed
            } else {
                Outcome::Passed
            };
            let mut result = TaskResult::new(item.clone(), item_type.clone(), outcome);
            result.checkname = Some(check(format!("{checkname}.{}", part(&case.name)))?);
            if let Some(class) = &case.classname {
                result
                    .keyvals
                    .insert("classname".into(), Json::String(class.clone()));
            }
            doc.results.push(result);
        }
    } else {
        let failures = cases.iter().filter(|it| it.failed).count();
        let outcome = if failures == 0 {
            Outcome::Passed
        } else {
            Outcome::Failed
        };
        let mut result = TaskResult::new(item, item_type, outcome);
        result.checkname = Some(check(checkname)?);
        result.note = Some(format!(
            "{} passed, {failures} failed",
            cases.len() - failures
        ));
        doc.results.push(result);
    }
    Ok(Json::String(doc.to_yaml()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_cases_in_any_wrapper() {
        let xml = r#"<?xml version="1.0"?>
<testsuites><testsuite name="s">
  <testcase classname="a.B" name="passes"/>
  <testcase classname="a.B" name="fails &amp; says so"><failure message="boom">trace</failure></testcase>
  <testcase name="errors"><error/></testcase>
  <testcase name="skipped"><skipped/></testcase>
</testsuite></testsuites>"#;
        let cases = parse_testcases(xml).unwrap();
        let got: Vec<(&str, bool)> = cases
            .iter()
            .map(|it| (it.name.as_str(), it.failed))
            .collect();
        assert_eq!(
            got,
            [
                ("passes", false),
                ("fails & says so", true),
                ("errors", true),
                ("skipped", false)
            ]
        );
        assert_eq!(cases[0].classname.as_deref(), Some("a.B"));
        assert_eq!(part("fails & says.so"), "fails_&_says_so");
    }

    #[test]
    fn bad_xml_is_an_error() {
        assert!(parse_testcases("<testsuite><testcase name='x'></testsuite>").is_err());
        assert!(
            parse_testcases("<testcase/>")
                .unwrap_err()
                .contains("no name")
        );
    }
}

//! `$var` templates: parsing and substitution never panic, agree with each
//! other, and a parsed template written back out parses to the same pieces.

#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::json;
use taskotron_task_format::vars::{Scope, Segment, SubstError, parse_template, substitute_str};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut scope = Scope::new();
    scope.insert("koji_build".to_owned(), json!("foo-1.0-1.fc40"));
    scope.insert("n".to_owned(), json!(3));
    scope.insert("nothing".to_owned(), json!(null));
    scope.insert(
        "out".to_owned(),
        json!({"rpms": ["a.rpm", "b.rpm"], "ok": true, "deep": {"x": [[1], {"y": "z"}]}}),
    );

    let parsed = parse_template(text);
    let substituted = substitute_str(text, &scope);
    match &parsed {
        Ok(segments) => {
            assert!(
                !matches!(substituted, Err(SubstError::Placeholder { .. })),
                "the template parses but substitution calls it malformed: {substituted:?}\ninput: {text:?}"
            );
            check_segments(text, segments);
        }
        Err(err) => {
            let chars = text.chars().count();
            assert!(
                err.offset < chars,
                "error offset {} past the end\ninput: {text:?}",
                err.offset
            );
            assert!(
                matches!(&substituted, Err(SubstError::Placeholder { message }) if *message == err.message),
                "parse error {err:?} but substitution gave {substituted:?}\ninput: {text:?}"
            );
        }
    }
});

/// Offsets point at the `$` of each reference, in order; text pieces are
/// merged and non-empty; writing the pieces back out parses to the same pieces.
fn check_segments(text: &str, segments: &[Segment]) {
    let chars: Vec<char> = text.chars().collect();
    let mut last_offset = None;
    let mut last_was_text = false;
    let mut rendered = String::new();
    for segment in segments {
        match segment {
            Segment::Text(literal) => {
                assert!(!literal.is_empty(), "an empty text piece\ninput: {text:?}");
                assert!(!last_was_text, "two text pieces in a row\ninput: {text:?}");
                last_was_text = true;
                rendered.push_str(&literal.replace('$', "$$"));
            }
            Segment::Var(var) => {
                assert_eq!(
                    chars.get(var.offset),
                    Some(&'$'),
                    "bad offset of {var}\ninput: {text:?}"
                );
                assert!(
                    last_offset.is_none_or(|last| last < var.offset),
                    "offsets out of order\ninput: {text:?}"
                );
                last_offset = Some(var.offset);
                last_was_text = false;
                rendered.push_str(&format!("${{{var}}}"));
            }
        }
    }
    let again = parse_template(&rendered).unwrap_or_else(|err| {
        panic!("rewritten template {rendered:?} fails: {err:?}\ninput: {text:?}")
    });
    let strip = |segments: &[Segment]| -> Vec<Segment> {
        segments
            .iter()
            .map(|it| match it {
                Segment::Var(var) => Segment::Var(taskotron_task_format::vars::VarRef {
                    offset: 0,
                    ..var.clone()
                }),
                other => other.clone(),
            })
            .collect()
    };
    assert_eq!(
        strip(&again),
        strip(segments),
        "rewritten as {rendered:?}\ninput: {text:?}"
    );
}

//! ResultsDB's JSON shapes, and the Python spellings the reference server uses.

use chrono::{DateTime, Utc};
use serde_json::{Value as Json, json};
use taskotron_store::resultsdb::{Group, StoredResult, Testcase};

/// Absolute URLs of the API, as the request (or `api.public-url`) names them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Urls {
    /// `scheme://host[/prefix]/api/v2.0`, without a trailing slash.
    pub(crate) api: String,
}

impl Urls {
    pub(crate) fn testcase(&self, name: &str) -> String {
        format!("{}/testcases/{}", self.api, encode_path(name))
    }

    pub(crate) fn group(&self, uuid: &str) -> String {
        format!("{}/groups/{}", self.api, encode_path(uuid))
    }

    pub(crate) fn result(&self, id: i64) -> String {
        format!("{}/results/{id}", self.api)
    }
}

/// Percent-encode what a URL path cannot hold, keeping `/` as Werkzeug's
/// `path` converter does.
fn encode_path(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        let keep = byte.is_ascii_alphanumeric() || b"-._~/:@!$&'()*+,;=".contains(&byte);
        if keep {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// `submit_time` as ResultsDB writes it: naive UTC ISO 8601, no offset, the
/// fraction only when there are microseconds.
pub(crate) fn format_time(micros: i64) -> String {
    let time = DateTime::<Utc>::from_timestamp_micros(micros).unwrap_or_default();
    if micros.rem_euclid(1_000_000) == 0 {
        time.format("%Y-%m-%dT%H:%M:%S").to_string()
    } else {
        time.format("%Y-%m-%dT%H:%M:%S%.6f").to_string()
    }
}

pub(crate) fn testcase(urls: &Urls, testcase: &Testcase) -> Json {
    json!({"name": testcase.name, "ref_url": testcase.ref_url, "href": urls.testcase(&testcase.name)})
}

pub(crate) fn group(urls: &Urls, group: &Group) -> Json {
    json!({
        "uuid": group.uuid,
        "description": group.description,
        "ref_url": group.ref_url,
        "results": format!("{}/results?groups={}", urls.api, encode_query(&group.uuid)),
        "results_count": group.results_count,
        "href": urls.group(&group.uuid),
    })
}

pub(crate) fn result(urls: &Urls, result: &StoredResult) -> Json {
    json!({
        "id": result.id,
        "testcase": testcase(urls, &result.testcase),
        "outcome": result.outcome,
        "note": result.note,
        "ref_url": result.ref_url,
        "submit_time": format_time(result.submit_time),
        "groups": result.groups,
        "data": result.data,
        "href": urls.result(result.id),
    })
}

fn encode_query(text: &str) -> String {
    form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

/// A JSON value as Python's `str()` writes it, which is how the reference
/// server stores non-string data values.
#[cfg(test)]
fn py_str(value: &Json) -> String {
    match value {
        Json::String(it) => it.clone(),
        other => py_repr(other),
    }
}

/// Python's `str()` of a JSON value read by Python's `json` module, from
/// its raw text: integers keep every digit and objects keep their key order,
/// as they do in the reference server.
pub(crate) fn py_str_raw(raw: &serde_json::value::RawValue) -> Result<String, serde_json::Error> {
    py_raw(raw.get(), true)
}

fn py_raw(text: &str, top: bool) -> Result<String, serde_json::Error> {
    let text = text.trim();
    Ok(match text.chars().next() {
        Some('{') => {
            let pairs = ordered_pairs(text)?;
            let mut parts = Vec::with_capacity(pairs.len());
            for (key, value) in pairs {
                parts.push(format!(
                    "{}: {}",
                    py_str_repr(&key),
                    py_raw(value.get(), false)?
                ));
            }
            format!("{{{}}}", parts.join(", "))
        }
        Some('[') => {
            let items: Vec<&serde_json::value::RawValue> = serde_json::from_str(text)?;
            let parts = items
                .iter()
                .map(|it| py_raw(it.get(), false))
                .collect::<Result<Vec<_>, _>>()?;
            format!("[{}]", parts.join(", "))
        }
        Some('"') => {
            let value: String = serde_json::from_str(text)?;
            if top { value } else { py_str_repr(&value) }
        }
        _ => {
            let value: Json = serde_json::from_str(text)?;
            let integer = text.bytes().all(|b| b.is_ascii_digit() || b == b'-');
            match value {
                Json::Number(_) if integer => {
                    let digits = text.trim_start_matches('-');
                    if digits.bytes().all(|b| b == b'0') {
                        "0".to_owned()
                    } else {
                        text.to_owned()
                    }
                }
                other => py_repr(&other),
            }
        }
    })
}

/// An object's entries in the order they were written; a repeated key keeps
/// its first place and its last value, as a Python dict does.
pub(crate) fn ordered_pairs(
    text: &str,
) -> Result<Vec<(String, &serde_json::value::RawValue)>, serde_json::Error> {
    struct Pairs;
    impl<'de> serde::de::Visitor<'de> for Pairs {
        type Value = Vec<(String, &'de serde_json::value::RawValue)>;

        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a JSON object")
        }

        fn visit_map<A: serde::de::MapAccess<'de>>(
            self,
            mut map: A,
        ) -> Result<Self::Value, A::Error> {
            let mut out: Self::Value = Vec::new();
            while let Some((key, value)) =
                map.next_entry::<String, &'de serde_json::value::RawValue>()?
            {
                match out.iter_mut().find(|(k, _)| *k == key) {
                    Some(slot) => slot.1 = value,
                    None => out.push((key, value)),
                }
            }
            Ok(out)
        }
    }
    let mut deserializer = serde_json::Deserializer::from_str(text);
    serde::Deserializer::deserialize_map(&mut deserializer, Pairs)
}

/// A JSON value as Python's `repr()` writes it.
fn py_repr(value: &Json) -> String {
    match value {
        Json::Null => "None".to_owned(),
        Json::Bool(true) => "True".to_owned(),
        Json::Bool(false) => "False".to_owned(),
        Json::Number(n) => match (n.as_i64(), n.as_u64(), n.as_f64()) {
            (Some(i), _, _) => i.to_string(),
            (None, Some(u), _) => u.to_string(),
            (None, None, Some(f)) => py_float(f),
            _ => n.to_string(),
        },
        Json::String(it) => py_str_repr(it),
        Json::Array(items) => format!(
            "[{}]",
            items.iter().map(py_repr).collect::<Vec<_>>().join(", ")
        ),
        Json::Object(map) => format!(
            "{{{}}}",
            map.iter()
                .map(|(k, v)| format!("{}: {}", py_str_repr(k), py_repr(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// Python's `repr(float)`: the shortest digits that read back, in fixed
/// notation between 1e-4 and 1e16 and scientific outside.
fn py_float(value: f64) -> String {
    if value.is_nan() {
        return "nan".to_owned();
    }
    if value.is_infinite() {
        return if value > 0.0 {
            "inf".to_owned()
        } else {
            "-inf".to_owned()
        };
    }
    let sci = format!("{value:e}");
    let (mantissa, exponent) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exponent: i32 = exponent.parse().unwrap_or(0);
    if !(-4..16).contains(&exponent) {
        return format!(
            "{mantissa}e{}{:02}",
            if exponent < 0 { '-' } else { '+' },
            exponent.abs()
        );
    }
    let fixed = format!("{value}");
    if fixed.contains('.') {
        fixed
    } else {
        format!("{fixed}.0")
    }
}

/// Whether Python's `str.isprintable()` holds for `c`: not a control, not a
/// separator other than the space, not a format or private-use character.
fn py_printable(c: char) -> bool {
    if c == ' ' {
        return true;
    }
    let format = matches!(c as u32, 0xad | 0x600..=0x605 | 0x61c | 0x6dd | 0x70f | 0x180e | 0x200b..=0x200f
        | 0x202a..=0x202e | 0x2060..=0x2064 | 0x2066..=0x206f | 0xfeff | 0xfff9..=0xfffb);
    let private = matches!(c as u32, 0xe000..=0xf8ff | 0xf0000..=0x10ffff);
    !(c.is_control() || c.is_whitespace() || format || private)
}

/// Python's `repr(str)`.
fn py_str_repr(text: &str) -> String {
    let quote = if text.contains('\'') && !text.contains('"') {
        '"'
    } else {
        '\''
    };
    let mut out = String::with_capacity(text.len() + 2);
    out.push(quote);
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if !py_printable(c) => match c as u32 {
                code @ 0..=0xff => out.push_str(&format!("\\x{code:02x}")),
                code @ 0x100..=0xffff => out.push_str(&format!("\\u{code:04x}")),
                code => out.push_str(&format!("\\U{code:08x}")),
            },
            c => out.push(c),
        }
    }
    out.push(quote);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_spellings() {
        fn check(value: Json, expect: &str) {
            assert_eq!(py_str(&value), expect, "{value}");
        }
        check(json!("plain"), "plain");
        check(json!(true), "True");
        check(json!(null), "None");
        check(json!(3), "3");
        check(json!(1.5), "1.5");
        check(json!(2.0), "2.0");
        check(json!(1e20), "1e+20");
        check(json!(1.5e-7), "1.5e-07");
        check(json!(0.0001), "0.0001");
        check(json!({"a": 1}), "{'a': 1}");
        check(json!(["x", 1, false, null]), "['x', 1, False, None]");
        check(json!({"it's": "say \"hi\""}), "{\"it's\": 'say \"hi\"'}");
    }

    #[test]
    fn raw_values_keep_digits_and_key_order() {
        fn check(raw: &str, expect: &str) {
            let value: Box<serde_json::value::RawValue> = serde_json::from_str(raw).unwrap();
            assert_eq!(py_str_raw(&value).unwrap(), expect, "{raw}");
        }
        check("1180591620717411303424", "1180591620717411303424");
        check("-0", "0");
        check("1.5", "1.5");
        check("1e20", "1e+20");
        check(
            r#"{"b": 1, "a": [true, null, "x"]}"#,
            "{'b': 1, 'a': [True, None, 'x']}",
        );
        check(r#"{"k": 1, "k": 2}"#, "{'k': 2}");
        check(r#""plain""#, "plain");
        check(r#"["it's"]"#, r#"["it's"]"#);
        check(
            r#"{"x": "\u2028\u0085\u0001é"}"#,
            r"{'x': '\u2028\x85\x01é'}",
        );
        check(r#"[["\u00a0"]]"#, r"[['\xa0']]");
    }

    #[test]
    fn times_drop_zero_microseconds() {
        assert_eq!(format_time(1_661_324_097_000_000), "2022-08-24T06:54:57");
        assert_eq!(
            format_time(1_661_324_097_500_000),
            "2022-08-24T06:54:57.500000"
        );
    }

    #[test]
    fn hrefs_keep_slashes() {
        let urls = Urls {
            api: "http://h/api/v2.0".into(),
        };
        assert_eq!(
            urls.testcase("fedora-ci.koji-build./plans/basic.functional"),
            "http://h/api/v2.0/testcases/fedora-ci.koji-build./plans/basic.functional"
        );
        assert_eq!(
            urls.testcase("a b#c"),
            "http://h/api/v2.0/testcases/a%20b%23c"
        );
    }
}

//! Request bodies of ResultsDB's POST endpoints, validated with the reference
//! server's rules; every failure names its field.

use chrono::NaiveDateTime;
use serde_json::{Map, Value as Json};
use taskotron_store::resultsdb::{GroupUpdate, NewResult, Update};

use super::params::{micros, split_offset};
use super::render::py_str_raw;
use crate::error::ApiError;

fn invalid(field: &str, message: &str, kind: &'static str) -> ApiError {
    ApiError::validation(field, message.to_owned(), kind)
}

/// Parse a JSON object body.
pub(crate) fn object(bytes: &[u8]) -> Result<Map<String, Json>, ApiError> {
    match serde_json::from_slice::<Json>(bytes) {
        Ok(Json::Object(map)) => Ok(map),
        Ok(_) => Err(ApiError::BadRequest(
            "Bad request: the body must be a JSON object".into(),
        )),
        Err(err) => Err(ApiError::BadRequest(format!(
            "Bad request: malformed JSON ({err})"
        ))),
    }
}

/// A string field without NUL characters (PostgreSQL cannot store them).
fn text(field: &str, value: &str) -> Result<String, ApiError> {
    if value.contains('\0') {
        return Err(invalid(
            field,
            "String should not contain NUL characters",
            "string_type",
        ));
    }
    Ok(value.to_owned())
}

/// An optional string field: absent or null is `None`.
fn opt_text(body: &Map<String, Json>, field: &str) -> Result<Option<String>, ApiError> {
    match body.get(field) {
        None | Some(Json::Null) => Ok(None),
        Some(Json::String(it)) => text(field, it).map(Some),
        Some(_) => Err(invalid(
            field,
            "Input should be a valid string",
            "string_type",
        )),
    }
}

/// A field that may be absent (no change), null or a string (set).
fn update(body: &Map<String, Json>, field: &str) -> Result<Update, ApiError> {
    match body.get(field) {
        None => Ok(None),
        Some(_) => opt_text(body, field).map(Some),
    }
}

/// `POST /results`.
pub(crate) fn new_result(
    body: &Map<String, Json>,
    raw_body: &[u8],
    outcomes: &[String],
    now: i64,
) -> Result<NewResult, ApiError> {
    let outcome = match body.get("outcome") {
        None | Some(Json::Null) => return Err(invalid("outcome", "Field required", "missing")),
        Some(Json::String(it)) => it.trim().to_uppercase(),
        Some(_) => {
            return Err(invalid(
                "outcome",
                "Input should be a valid string",
                "string_type",
            ));
        }
    };
    if !outcomes.contains(&outcome) {
        return Err(ApiError::validation(
            "outcome",
            format!(
                "Value error, unknown outcome {outcome:?}; expected one of {}",
                outcomes.join(", ")
            ),
            "value_error",
        ));
    }
    let (testcase, testcase_ref_url) = match body.get("testcase") {
        None | Some(Json::Null) => return Err(invalid("testcase", "Field required", "missing")),
        Some(Json::String(name)) => (text("testcase", name)?, None),
        Some(Json::Object(object)) => {
            let name = match object.get("name") {
                Some(Json::String(name)) => text("testcase.name", name)?,
                None | Some(Json::Null) => String::new(),
                Some(_) => {
                    return Err(invalid(
                        "testcase.name",
                        "Input should be a valid string",
                        "string_type",
                    ));
                }
            };
            let ref_url = update(object, "ref_url").map_err(|_| {
                invalid(
                    "testcase.ref_url",
                    "Input should be a valid string",
                    "string_type",
                )
            })?;
            (name, ref_url)
        }
        Some(_) => {
            return Err(invalid(
                "testcase",
                "Input should be a valid dictionary",
                "dict_type",
            ));
        }
    };
    if testcase.is_empty() {
        return Err(invalid(
            "testcase",
            "Value error, testcase name must be non-empty",
            "value_error",
        ));
    }
    let groups = match body.get("groups") {
        None | Some(Json::Null) => Vec::new(),
        Some(Json::Array(items)) => items
            .iter()
            .enumerate()
            .map(|(idx, item)| group_item(&format!("groups.{idx}"), item))
            .collect::<Result<Vec<_>, _>>()?,
        Some(_) => {
            return Err(invalid(
                "groups",
                "Input should be a valid list",
                "list_type",
            ));
        }
    };
    let data = match body.get("data") {
        None | Some(Json::Null) => Vec::new(),
        Some(Json::Object(_)) => data_rows(raw_body)?,
        Some(_) => {
            return Err(invalid(
                "data",
                "Input should be a valid dictionary",
                "dict_type",
            ));
        }
    };
    let submit_time = match body.get("submit_time") {
        None | Some(Json::Null) => now,
        Some(value) => parse_submit_time(value)?,
    };
    Ok(NewResult {
        testcase,
        testcase_ref_url,
        outcome,
        note: opt_text(body, "note")?,
        ref_url: opt_text(body, "ref_url")?,
        submit_time,
        groups,
        data,
    })
}

/// A group in a result: a uuid string, or an object whose present keys
/// overwrite the stored ones (an object without `uuid` makes a new group).
fn group_item(field: &str, item: &Json) -> Result<GroupUpdate, ApiError> {
    match item {
        Json::String(uuid) if !uuid.is_empty() => Ok(GroupUpdate {
            uuid: text(field, uuid)?,
            description: None,
            ref_url: None,
        }),
        Json::Object(object) => {
            let uuid = match object.get("uuid") {
                None | Some(Json::Null) => uuid::Uuid::new_v4().to_string(),
                Some(Json::String(uuid)) if !uuid.is_empty() => {
                    text(&format!("{field}.uuid"), uuid)?
                }
                Some(_) => {
                    return Err(invalid(
                        &format!("{field}.uuid"),
                        "Input should be a non-empty string",
                        "string_type",
                    ));
                }
            };
            Ok(GroupUpdate {
                uuid,
                description: update(object, "description").map_err(|_| {
                    invalid(
                        &format!("{field}.description"),
                        "Input should be a valid string",
                        "string_type",
                    )
                })?,
                ref_url: update(object, "ref_url").map_err(|_| {
                    invalid(
                        &format!("{field}.ref_url"),
                        "Input should be a valid string",
                        "string_type",
                    )
                })?,
            })
        }
        _ => Err(invalid(
            field,
            "Input should be a group uuid or a group object",
            "model_type",
        )),
    }
}

/// Data rows: a list gives one row per element; anything not a string is
/// stored as Python's `str()` writes it, as the reference server does. The
/// raw body is read again so that big integers and key order survive.
fn data_rows(raw_body: &[u8]) -> Result<Vec<(String, String)>, ApiError> {
    #[derive(serde::Deserialize)]
    struct DataField<'a> {
        #[serde(borrow, default)]
        data: Option<&'a serde_json::value::RawValue>,
    }
    let malformed = |err: serde_json::Error| {
        ApiError::BadRequest(format!("Bad request: malformed JSON ({err})"))
    };
    let field: DataField<'_> = serde_json::from_slice(raw_body).map_err(malformed)?;
    let Some(raw) = field.data else {
        return Ok(Vec::new());
    };
    let pairs = super::render::ordered_pairs(raw.get()).map_err(malformed)?;
    let colons: Vec<String> = pairs
        .iter()
        .filter(|(key, _)| key.contains(':'))
        .map(|(key, _)| format!("'{key}'"))
        .collect();
    if !colons.is_empty() {
        return Err(ApiError::BadRequest(format!(
            "Colon not allowed in key name: [{}]",
            colons.join(", ")
        )));
    }
    let mut rows = Vec::new();
    for (key, value) in pairs {
        let field = format!("data.{key}");
        let key = text(&field, &key)?;
        if value.get().trim_start().starts_with('[') {
            let items: Vec<&serde_json::value::RawValue> =
                serde_json::from_str(value.get()).map_err(malformed)?;
            for item in items {
                rows.push((
                    key.clone(),
                    text(&field, &py_str_raw(item).map_err(malformed)?)?,
                ));
            }
        } else {
            rows.push((
                key.clone(),
                text(&field, &py_str_raw(value).map_err(malformed)?)?,
            ));
        }
    }
    Ok(rows)
}

/// `submit_time`: milliseconds since the epoch (a number or a string of
/// digits), or `YYYY-MM-DDTHH:MM:SS.ffffff` with an optional offset, which is
/// applied (converted to UTC). The fraction is required.
fn parse_submit_time(value: &Json) -> Result<i64, ApiError> {
    let bad = || {
        invalid(
            "submit_time",
            "Value error, Expected timestamp in milliseconds or datetime (in format YYYY-MM-DDTHH:MM:SS.ffffff), got something else",
            "value_error",
        )
    };
    let from_millis = |millis: f64| -> Result<i64, ApiError> {
        let micros = (millis * 1000.0).round();
        // Within what a timestamp can hold.
        if micros.is_finite() && micros.abs() < 9.0e18 {
            Ok(micros as i64)
        } else {
            Err(bad())
        }
    };
    match value {
        Json::Number(n) => from_millis(n.as_f64().ok_or_else(bad)?),
        // Python's int() takes surrounding whitespace.
        Json::String(text)
            if !text.trim().is_empty() && text.trim().bytes().all(|b| b.is_ascii_digit()) =>
        {
            from_millis(text.trim().parse::<f64>().map_err(|_| bad())?)
        }
        Json::String(text) => {
            let (body, offset) = split_offset(text);
            let time =
                NaiveDateTime::parse_from_str(body, "%Y-%m-%dT%H:%M:%S%.f").map_err(|_| bad())?;
            // The fraction is required, and has at most six digits (microseconds).
            let fraction = body.rsplit_once('.').map_or(0, |(_, it)| it.len());
            if !body.contains('.') || fraction > 6 {
                return Err(bad());
            }
            Ok(micros(time) - i64::from(offset.unwrap_or(0)) * 1_000_000)
        }
        _ => Err(bad()),
    }
}

/// `POST /groups`: only non-empty values change a stored group.
pub(crate) fn group_update(body: &Map<String, Json>) -> Result<GroupUpdate, ApiError> {
    let truthy = |field: &str| -> Result<Update, ApiError> {
        Ok(opt_text(body, field)?.filter(|it| !it.is_empty()).map(Some))
    };
    let uuid = match opt_text(body, "uuid")? {
        Some(uuid) if !uuid.is_empty() => uuid,
        _ => uuid::Uuid::new_v4().to_string(),
    };
    Ok(GroupUpdate {
        uuid,
        description: truthy("description")?,
        ref_url: truthy("ref_url")?,
    })
}

/// `POST /testcases`: `name` is required; a null `ref_url` keeps the stored one.
pub(crate) fn testcase_update(body: &Map<String, Json>) -> Result<(String, Update), ApiError> {
    let name = match opt_text(body, "name")? {
        Some(name) if !name.is_empty() => name,
        Some(_) => {
            return Err(invalid(
                "name",
                "String should have at least 1 character",
                "string_too_short",
            ));
        }
        None => return Err(invalid("name", "Field required", "missing")),
    };
    let ref_url = opt_text(body, "ref_url")?.map(Some);
    Ok((name, ref_url))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn outcomes() -> Vec<String> {
        ["PASSED", "INFO", "FAILED", "NEEDS_INSPECTION"]
            .map(str::to_owned)
            .to_vec()
    }

    fn parse(body: Json) -> Result<NewResult, ApiError> {
        let raw = serde_json::to_vec(&body).unwrap();
        new_result(body.as_object().unwrap(), &raw, &outcomes(), 42)
    }

    #[test]
    fn a_full_result() {
        let got = parse(json!({
            "outcome": "  info ", "testcase": {"name": "tc", "ref_url": null},
            "groups": ["g1", {"uuid": "g2", "description": "d"}],
            "note": "n", "ref_url": null, "_auth_token": null,
            "data": {"item": "x", "arch": ["a", "b"], "flag": true, "none": null, "n": 1.5, "obj": {"a": 1}, "empty": []},
        }))
        .unwrap();
        assert_eq!(got.outcome, "INFO");
        assert_eq!(got.testcase_ref_url, Some(None));
        assert_eq!(got.groups[1].description, Some(Some("d".into())));
        assert_eq!(got.groups[1].ref_url, None);
        assert_eq!(got.submit_time, 42);
        let rows: Vec<(&str, &str)> = got
            .data
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        assert_eq!(
            rows,
            [
                ("arch", "a"),
                ("arch", "b"),
                ("flag", "True"),
                ("item", "x"),
                ("n", "1.5"),
                ("none", "None"),
                ("obj", "{'a': 1}")
            ]
        );
    }

    #[test]
    fn every_bad_field_is_named() {
        fn check(body: Json, expect: &str) {
            let err = parse(body).unwrap_err().to_string();
            assert!(err.contains(expect), "{err}");
        }
        check(json!({"testcase": "t"}), "outcome: Field required");
        check(
            json!({"outcome": "GREAT", "testcase": "t"}),
            "unknown outcome \"GREAT\"",
        );
        check(json!({"outcome": "PASSED"}), "testcase: Field required");
        check(
            json!({"outcome": "PASSED", "testcase": ""}),
            "testcase name must be non-empty",
        );
        check(
            json!({"outcome": "PASSED", "testcase": {"name": ""}}),
            "testcase name must be non-empty",
        );
        check(
            json!({"outcome": "PASSED", "testcase": 3}),
            "testcase: Input should be a valid dictionary",
        );
        check(
            json!({"outcome": "PASSED", "testcase": "t", "note": 3}),
            "note: Input should be a valid string",
        );
        check(
            json!({"outcome": "PASSED", "testcase": "t", "data": []}),
            "data: Input should be a valid dictionary",
        );
        check(
            json!({"outcome": "PASSED", "testcase": "t", "data": {"a:b": "x"}}),
            "Colon not allowed in key name: ['a:b']",
        );
        check(
            json!({"outcome": "PASSED", "testcase": "t", "groups": [123]}),
            "groups.0: Input should be a group uuid",
        );
        check(
            json!({"outcome": "PASSED", "testcase": "t", "submit_time": "2022-08-24T06:54:57"}),
            "submit_time",
        );
        check(json!({"outcome": "PASSED", "testcase": "t\u{0}"}), "NUL");
    }

    #[test]
    fn submit_time_forms() {
        let at = |value: Json| {
            parse(json!({"outcome": "PASSED", "testcase": "t", "submit_time": value}))
                .unwrap()
                .submit_time
        };
        assert_eq!(at(json!(1_661_324_097_500_i64)), 1_661_324_097_500_000);
        assert_eq!(at(json!("1661324097500")), 1_661_324_097_500_000);
        assert_eq!(at(json!("2022-08-24T06:54:57.5")), 1_661_324_097_500_000);
        assert_eq!(
            at(json!("2022-08-24T06:54:57.500000Z")),
            1_661_324_097_500_000
        );
        assert_eq!(
            at(json!("2022-08-24T08:54:57.5+02:00")),
            1_661_324_097_500_000
        );
        assert_eq!(
            at(json!("2022-08-24T08:54:57.5+0200")),
            1_661_324_097_500_000
        );
    }
}

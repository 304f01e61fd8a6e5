//! Query parameters of ResultsDB's list endpoints, with the reference
//! server's rules: reserved comma lists are stripped and keep only their first
//! occurrence; every other key filters on result data, repeated keys ORed,
//! values neither stripped nor dropped when empty; `*` in `:like` patterns is
//! `%`; and `prev`/`next` are rewrites of the request's own URL.

use chrono::{NaiveDate, NaiveDateTime};
use taskotron_store::resultsdb::{DataFilter, Order, Page, ResultFilter};

use crate::error::ApiError;

/// The reserved parameters of `/results` and `/results/latest`.
const RESERVED: &[&str] = &[
    "page",
    "limit",
    "outcome",
    "testcases",
    "testcases:like",
    "groups",
    "since",
    "_sort",
    "_distinct_on",
];

/// Parsed parameters of `/results` or `/results/latest`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ResultParams {
    pub(crate) filter: ResultFilter,
    pub(crate) order: Order,
    pub(crate) page: Page,
    pub(crate) distinct_on: Vec<String>,
}

/// The query's key/value pairs, in order.
pub(crate) fn pairs(raw: Option<&str>) -> Vec<(String, String)> {
    raw.map(|it| form_urlencoded::parse(it.as_bytes()).into_owned().collect())
        .unwrap_or_default()
}

fn first<'a>(pairs: &'a [(String, String)], key: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

/// A reserved comma list: items stripped, empty ones dropped.
pub(crate) fn list(pairs: &[(String, String)], key: &str) -> Vec<String> {
    first(pairs, key)
        .map(|it| {
            it.split(',')
                .map(str::trim)
                .filter(|it| !it.is_empty())
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

/// `*` in LIKE patterns means `%`.
pub(crate) fn like(patterns: Vec<String>) -> Vec<String> {
    patterns
        .into_iter()
        .map(|it| it.replace('*', "%"))
        .collect()
}

/// `page` and `limit`.
pub(crate) fn page(pairs: &[(String, String)]) -> Result<Page, ApiError> {
    let int = |key: &str, default: i64| -> Result<i64, ApiError> {
        match first(pairs, key) {
            None => Ok(default),
            Some(text) => text.trim().parse::<i64>().map_err(|_| {
                ApiError::validation(key, format!("Input should be a valid integer, unable to parse string as an integer: {text:?}"), "int_parsing")
            }),
        }
    };
    let page = int("page", 0)?.max(0);
    let limit = int("limit", 20)?;
    if limit < 0 {
        return Err(ApiError::validation(
            "limit",
            "Input should be greater than or equal to 0".into(),
            "greater_than_equal",
        ));
    }
    Ok(Page { page, limit })
}

/// Parse the parameters of `/results` (`latest` = false) or `/results/latest`.
pub(crate) fn result_params(
    pairs: &[(String, String)],
    latest: bool,
    outcomes: &[String],
) -> Result<ResultParams, ApiError> {
    let mut filter = ResultFilter::default();
    for outcome in list(pairs, "outcome") {
        let outcome = outcome.to_uppercase();
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
        filter.outcomes.push(outcome);
    }
    filter.testcases = list(pairs, "testcases");
    filter.testcases_like = like(list(pairs, "testcases:like"));
    filter.groups = list(pairs, "groups");
    if let Some(since) = first(pairs, "since") {
        let (start, end) = parse_since(since)?;
        filter.since = Some(start);
        filter.until = end;
    }
    let order = match first(pairs, "_sort") {
        Some("asc:submit_time") => Order::OldestFirst,
        _ => Order::NewestFirst,
    };
    let distinct_on = if latest {
        list(pairs, "_distinct_on")
    } else {
        Vec::new()
    };
    // Every other key filters on data; the same raw key repeated is ORed.
    let mut data: Vec<(String, DataFilter)> = Vec::new();
    for (raw_key, value) in pairs {
        // `_distinct_on` is reserved on every results endpoint (and only
        // used by latest), as in the reference server.
        if RESERVED.contains(&raw_key.as_str()) {
            continue;
        }
        let values: Vec<String> = value.split(',').map(str::to_owned).collect();
        let parts: Vec<&str> = raw_key.split(':').collect();
        let filter = match parts.as_slice() {
            [key, "like"] => DataFilter::Like {
                key: (*key).to_owned(),
                patterns: like(values),
            },
            [key, _modifier] => DataFilter::Exact {
                key: (*key).to_owned(),
                values,
            },
            _ => DataFilter::Exact {
                key: raw_key.clone(),
                values,
            },
        };
        match data.iter_mut().find(|(k, _)| k == raw_key) {
            Some((
                _,
                DataFilter::Exact {
                    values: existing, ..
                },
            )) => {
                if let DataFilter::Exact { values, .. } = filter {
                    existing.extend(values);
                }
            }
            Some((
                _,
                DataFilter::Like {
                    patterns: existing, ..
                },
            )) => {
                if let DataFilter::Like { patterns, .. } = filter {
                    existing.extend(patterns);
                }
            }
            None => data.push((raw_key.clone(), filter)),
        }
    }
    filter.data = data.into_iter().map(|(_, it)| it).collect();
    if latest && !distinct_on.is_empty() && !filter.has_filter_besides_outcome() {
        return Err(ApiError::BadRequest(
            "Please, provide at least one filter beside '_distinct_on'".into(),
        ));
    }
    Ok(ResultParams {
        filter,
        order,
        page: page(pairs)?,
        distinct_on,
    })
}

/// `since`: `start` or `start,end`, ISO 8601 dates or times; any timezone is
/// dropped without conversion, as the reference server does.
fn parse_since(text: &str) -> Result<(i64, Option<i64>), ApiError> {
    let bad = || {
        ApiError::validation(
            "since",
            format!("Value error, must be in ISO8601 format: {text:?}"),
            "value_error",
        )
    };
    let mut parts = text.split(',');
    let start = parts
        .next()
        .map(str::trim)
        .and_then(parse_iso_naive)
        .ok_or_else(bad)?;
    let end = match parts.next() {
        Some(end) => Some(parse_iso_naive(end.trim()).ok_or_else(bad)?),
        None => None,
    };
    if parts.next().is_some() {
        return Err(bad());
    }
    Ok((micros(start), end.map(micros)))
}

pub(crate) fn micros(time: NaiveDateTime) -> i64 {
    time.and_utc().timestamp_micros()
}

/// An ISO 8601 date or date-time, with any offset cut off (not applied).
fn parse_iso_naive(text: &str) -> Option<NaiveDateTime> {
    if let Ok(date) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        return date.and_hms_opt(0, 0, 0);
    }
    let (body, _offset) = split_offset(text);
    for format in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S",
    ] {
        if let Ok(time) = NaiveDateTime::parse_from_str(body, format) {
            return Some(time);
        }
    }
    None
}

/// Split `…+05:00`, `…-0500`, `…+00` or `…Z` off a time, returning the offset
/// in seconds east of UTC.
pub(crate) fn split_offset(text: &str) -> (&str, Option<i32>) {
    if let Some(body) = text.strip_suffix('Z') {
        return (body, Some(0));
    }
    let Some(t_pos) = text.find('T').or_else(|| text.find(' ')) else {
        return (text, None);
    };
    let time = &text[t_pos..];
    let Some(sign_pos) = time.rfind(['+', '-']) else {
        return (text, None);
    };
    let (body, offset) = text.split_at(t_pos + sign_pos);
    let sign = if offset.starts_with('-') { -1 } else { 1 };
    let digits: String = offset[1..].chars().filter(char::is_ascii_digit).collect();
    let seconds = match digits.len() {
        2 => digits.parse::<i32>().ok().map(|h| h * 3600),
        4 => digits[..2]
            .parse::<i32>()
            .ok()
            .zip(digits[2..].parse::<i32>().ok())
            .map(|(h, m)| h * 3600 + m * 60),
        _ => None,
    };
    match seconds {
        Some(seconds) if offset[1..].chars().all(|c| c.is_ascii_digit() || c == ':') => {
            (body, Some(sign * seconds))
        }
        _ => (text, None),
    }
}

/// `prev` and `next` links: the request's URL with `page` set to the
/// neighbouring page (appended when absent) and `callback` removed.
pub(crate) fn prev_next(
    base: &str,
    raw_query: Option<&str>,
    page: Page,
    has_next: bool,
) -> (Option<String>, Option<String>) {
    let link = |target: i64| {
        let mut found = false;
        let mut parts: Vec<String> = Vec::new();
        for part in raw_query
            .unwrap_or("")
            .split('&')
            .filter(|it| !it.is_empty())
        {
            let key = part.split('=').next().unwrap_or("");
            if key == "callback" {
                continue;
            }
            if key == "page" {
                found = true;
                parts.push(format!("page={target}"));
            } else {
                parts.push(part.to_owned());
            }
        }
        if !found {
            parts.push(format!("page={target}"));
        }
        format!("{base}?{}", parts.join("&"))
    };
    let prev = (page.page > 0).then(|| link(page.page - 1));
    let next = has_next.then(|| link(page.page + 1));
    (prev, next)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outcomes() -> Vec<String> {
        ["PASSED", "INFO", "FAILED", "NEEDS_INSPECTION"]
            .map(str::to_owned)
            .to_vec()
    }

    fn parse(query: &str, latest: bool) -> Result<ResultParams, ApiError> {
        result_params(&pairs(Some(query)), latest, &outcomes())
    }

    #[test]
    fn reserved_lists_and_data_filters() {
        let got = parse("outcome=passed,%20failed&outcome=INFO&testcases=a,,b&testcases:like=dist.*&item=x&item=y,z&scenario=&arch:like=x86*&item:foo=q&a:b:c=d&callback=f", false).unwrap();
        assert_eq!(got.filter.outcomes, ["PASSED", "FAILED"]);
        assert_eq!(got.filter.testcases, ["a", "b"]);
        assert_eq!(got.filter.testcases_like, ["dist.%"]);
        assert_eq!(
            got.filter.data,
            [
                DataFilter::Exact {
                    key: "item".into(),
                    values: vec!["x".into(), "y".into(), "z".into()]
                },
                DataFilter::Exact {
                    key: "scenario".into(),
                    values: vec![String::new()]
                },
                DataFilter::Like {
                    key: "arch".into(),
                    patterns: vec!["x86%".into()]
                },
                DataFilter::Exact {
                    key: "item".into(),
                    values: vec!["q".into()]
                },
                DataFilter::Exact {
                    key: "a:b:c".into(),
                    values: vec!["d".into()]
                },
                DataFilter::Exact {
                    key: "callback".into(),
                    values: vec!["f".into()]
                },
            ]
        );
    }

    #[test]
    fn bad_values_name_the_parameter() {
        assert!(
            parse("outcome=GREAT", false)
                .unwrap_err()
                .to_string()
                .contains("outcome")
        );
        assert!(
            parse("page=x", false)
                .unwrap_err()
                .to_string()
                .contains("page")
        );
        assert!(
            parse("limit=-1", false)
                .unwrap_err()
                .to_string()
                .contains("limit")
        );
        assert!(
            parse("since=yesterday", false)
                .unwrap_err()
                .to_string()
                .contains("ISO8601")
        );
        let err = parse("_distinct_on=scenario", true)
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "Please, provide at least one filter beside '_distinct_on'"
        );
        assert!(parse("_distinct_on=scenario&item=x", true).is_ok());
    }

    #[test]
    fn since_drops_offsets_and_takes_dates() {
        let at = |s: &str| micros(NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S").unwrap());
        assert_eq!(
            parse_since("2016-08-14").unwrap(),
            (at("2016-08-14 00:00:00"), None)
        );
        assert_eq!(
            parse_since("2016-08-14T06:00+05:00").unwrap(),
            (at("2016-08-14 06:00:00"), None)
        );
        assert_eq!(
            parse_since("2016-08-14T06:00:00.5Z,2016-08-15").unwrap(),
            (
                at("2016-08-14 06:00:00") + 500_000,
                Some(at("2016-08-15 00:00:00"))
            )
        );
    }

    #[test]
    fn links_rewrite_the_request() {
        let base = "http://h/api/v2.0/results";
        let page = |page, limit| Page { page, limit };
        assert_eq!(
            prev_next(base, Some("limit=1"), page(0, 1), true),
            (None, Some(format!("{base}?limit=1&page=1")))
        );
        assert_eq!(
            prev_next(base, Some("page=3&&item=x&callback=f"), page(3, 20), true),
            (
                Some(format!("{base}?page=2&item=x")),
                Some(format!("{base}?page=4&item=x"))
            )
        );
        assert_eq!(
            prev_next(base, Some("page=1"), page(1, 20), false),
            (Some(format!("{base}?page=0")), None)
        );
        assert_eq!(
            prev_next(base, None, page(0, 20), true),
            (None, Some(format!("{base}?page=1")))
        );
    }
}

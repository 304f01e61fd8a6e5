//! The ResultsDB v2.0 API's writes over HTTP (spec §1.3, §1.5, §1.8, §1.9):
//! POST /results and the shapes it answers with, every 400/405/413/415,
//! write authentication, the outbox, and where we still differ from the
//! reference server, through the real router. Reads are in
//! `resultsdb_queries.rs`.
//!
//! Every test body runs on a fresh SQLite store and, when
//! TASKOTRON_TEST_DATABASE_URL is set, on a fresh PostgreSQL schema; with
//! TASKOTRON_REQUIRE_SERVICES=1 a missing URL fails instead of skipping.

#![allow(
    clippy::unwrap_used,
    clippy::print_stderr,
    reason = "test helpers fail loudly and explain skips"
)]

use axum::http::header;
use base64::Engine as _;
use serde_json::{Value, json};
use taskotron_bus::OutgoingMessage;
use taskotron_web::auth::WriteAuth;
use taskotron_web::resultsdb::ResultsdbSettings;

mod common;

use common::*;

// ---------------------------------------------------------------------------
// Methods.
// ---------------------------------------------------------------------------

/// The reference server answers with Flask's HTML; we promise JSON.
#[tokio::test]
async fn a_wrong_method_is_a_json_405() {
    each_backend(plain, |api| async move {
        let mut mismatches = Vec::new();
        for (method, path) in [
            ("POST", "/results/latest"),
            ("DELETE", "/results"),
            ("PUT", "/groups"),
            ("POST", "/healthcheck"),
            ("DELETE", "/testcases/t"),
        ] {
            let answer = api.send(method, &format!("/api/v2.0{path}"), &[], "").await;
            let json = answer.content_type() == "application/json";
            if answer.status != 405 || !json || answer.message().is_empty() {
                let got = format!(
                    "{} {:?} {:?}",
                    answer.status,
                    answer.content_type(),
                    answer.text
                );
                mismatches.push(format!("{method} {path}: {got}"));
            }
        }
        assert_no_mismatch(&mismatches);
    })
    .await;
}

// ---------------------------------------------------------------------------
// POST /results: what is stored and how it comes back.
// ---------------------------------------------------------------------------

#[tokio::test]
async fn a_posted_result_comes_back_whole_with_sorted_keys() {
    each_backend(plain, |api| async move {
        let (tc, group) = (unique("dist.rpmlint"), uuid::Uuid::new_v4().to_string());
        let answer = api
            .post(
                "/results",
                &json!({
                    "testcase": {"name": tc, "ref_url": "https://docs.example/tc"},
                    "outcome": "passed", "note": "0 errors", "ref_url": "https://log.example/1",
                    "submit_time": "2016-08-15T13:29:06.123456", "groups": [group],
                    "data": {"type": "koji_build", "item": "koschei-1.7.2-1.fc24", "arch": ["noarch", "x86_64"]},
                    "_auth_token": "ignored", "unknown": 1,
                }),
            )
            .await;
        assert_eq!((answer.status, answer.content_type()), (201, "application/json"));
        let body = answer.json();
        // Compact, keys sorted at every level.
        assert_eq!(answer.text, serde_json::to_string(&body).unwrap());
        let id = body["id"].as_i64().unwrap();
        let expected = json!({
            "data": {"arch": ["noarch", "x86_64"], "item": ["koschei-1.7.2-1.fc24"], "type": ["koji_build"]},
            "groups": [group],
            "href": format!("{API}/results/{id}"),
            "id": id,
            "note": "0 errors",
            "outcome": "PASSED",
            "ref_url": "https://log.example/1",
            "submit_time": "2016-08-15T13:29:06.123456",
            "testcase": {"href": format!("{API}/testcases/{tc}"), "name": tc, "ref_url": "https://docs.example/tc"},
        });
        assert_eq!(body, expected);
        let by_id = api.get(&format!("/results/{id}")).await;
        assert_eq!(by_id.pair(), (200, expected.clone()));
        assert_eq!(by_id.text, answer.text);
        assert_eq!(api.get("/results").await.json()["data"], json!([expected]));

        // The least a result can be.
        let tc = unique("minimal");
        let mut body = api.result(&json!({"testcase": tc, "outcome": "INFO"})).await;
        let id = body["id"].as_i64().unwrap();
        let time = body.as_object_mut().unwrap().remove("submit_time").unwrap();
        let expected = json!({
            "data": {}, "groups": [], "href": format!("{API}/results/{id}"), "id": id,
            "note": null, "outcome": "INFO", "ref_url": null,
            "testcase": {"href": format!("{API}/testcases/{tc}"), "name": tc, "ref_url": null},
        });
        assert_eq!(body, expected);
        // It defaults to now: naive UTC, no offset.
        let time = time.as_str().unwrap();
        let parsed = chrono::NaiveDateTime::parse_from_str(time, "%Y-%m-%dT%H:%M:%S%.f").unwrap();
        let age = chrono::Utc::now().naive_utc() - parsed;
        assert!(age.num_seconds().abs() < 60, "{time}");
    })
    .await;
}

#[tokio::test]
async fn hrefs_are_absolute_urls_from_the_request() {
    let forwarded = [
        ("x-forwarded-host", "proxy.example.org"),
        ("x-forwarded-scheme", "https"),
        ("x-script-name", "/resultsdb"),
    ];
    #[rustfmt::skip]
    let cases: &[(&[(&str, &str)], &str)] = &[
        (&[], "http://rdb.example.test"),
        (&[("host", "other.example:8080")], "http://other.example:8080"),
        (&forwarded, "https://proxy.example.org/resultsdb"),
        (&[("x-forwarded-host", "fwd.example")], "http://fwd.example"),
        (&[("x-forwarded-scheme", "https")], "https://rdb.example.test"),
        (&[("x-script-name", "/prefix/")], "http://rdb.example.test/prefix"),
        // The reference server reads X-Forwarded-Scheme, not -Proto.
        (&[("x-forwarded-proto", "https")], "http://rdb.example.test"),
    ];
    each_backend(plain, |api| async move {
        for (headers, origin) in cases {
            let tc = unique("href");
            let text = format!(r#"{{"testcase": "{tc}", "outcome": "PASSED"}}"#);
            let body = api.post_text("/results", headers, &text).await.json();
            let id = &body["id"];
            let api_url = format!("{origin}/api/v2.0");
            assert_eq!(
                body["href"],
                format!("{api_url}/results/{id}"),
                "{headers:?}"
            );
            assert_eq!(
                body["testcase"]["href"],
                format!("{api_url}/testcases/{tc}")
            );
            let landing = api.send("GET", "/api/v2.0", headers, "").await.json();
            assert_eq!(
                landing["results"],
                format!("{api_url}/results"),
                "{headers:?}"
            );
        }
    })
    .await;
    // api.public-url wins over the headers.
    let settings = || ResultsdbSettings {
        public_url: Some("https://public.example/rdb".to_owned()),
        ..ResultsdbSettings::new(&[])
    };
    each_backend(settings, |api| async move {
        let text = r#"{"testcase": "pub", "outcome": "PASSED"}"#;
        let body = api.post_text("/results", &forwarded, text).await.json();
        let href = format!("https://public.example/rdb/api/v2.0/results/{}", body["id"]);
        assert_eq!(body["href"], href);
    })
    .await;
}

#[tokio::test]
async fn submit_time_forms_and_their_output() {
    #[rustfmt::skip]
    let cases = [
        (json!("2022-08-24T06:54:57.5"), "2022-08-24T06:54:57.500000"),
        (json!("2022-08-24T06:54:57.000000"), "2022-08-24T06:54:57"),
        (json!("2022-08-24T06:54:57.123456Z"), "2022-08-24T06:54:57.123456"),
        (json!("2022-08-24T08:54:57.25+02:00"), "2022-08-24T06:54:57.250000"),
        (json!("2022-08-24T08:54:57.25+0200"), "2022-08-24T06:54:57.250000"),
        (json!("2022-08-24T06:54:57.25+00"), "2022-08-24T06:54:57.250000"),
        (json!(1_661_324_097_000_i64), "2022-08-24T06:54:57"),
        (json!(1_661_324_097_123_i64), "2022-08-24T06:54:57.123000"),
        (json!("1661324097123"), "2022-08-24T06:54:57.123000"),
        (json!(-1), "1969-12-31T23:59:59.999000"),
    ];
    let cases = &cases;
    each_backend(plain, |api| async move {
        for (input, output) in cases {
            let body =
                json!({"testcase": unique("time"), "outcome": "PASSED", "submit_time": input});
            let body = api.result(&body).await;
            assert_eq!(body["submit_time"], *output, "{input}");
            let again = api.get(&format!("/results/{}", body["id"])).await.json();
            assert_eq!(again["submit_time"], *output, "{input}");
        }
    })
    .await;
}

/// Each data value (raw JSON) and the strings it is stored as.
#[rustfmt::skip]
const DATA_VALUES: &[(&str, &[&str])] = &[
    (r#""plain""#, &["plain"]),
    (r#""""#, &[""]),
    ("true", &["True"]),
    ("false", &["False"]),
    ("null", &["None"]),
    ("3", &["3"]),
    ("-7", &["-7"]),
    ("1.5", &["1.5"]),
    ("2.0", &["2.0"]),
    ("1e20", &["1e+20"]),
    ("1.5e-7", &["1.5e-07"]),
    (r#"{"a": 1}"#, &["{'a': 1}"]),
    (r#"{"a": [1, "x", null, true]}"#, &["{'a': [1, 'x', None, True]}"]),
    (r#"{"q": "it's"}"#, &[r#"{'q': "it's"}"#]),
    (r#"["a", 1, true, null]"#, &["a", "1", "True", "None"]),
    ("[[1, 2]]", &["[1, 2]"]),
    (r#"[{"k": "v"}]"#, &["{'k': 'v'}"]),
    ("[]", &[]),
    // Python dicts keep the order they were written in.
    (r#"{"b": 1, "a": 2}"#, &["{'b': 1, 'a': 2}"]),
    // Python ints have no size limit.
    ("12345678901234567890123", &["12345678901234567890123"]),
];

/// Post each value as `data.v` (next to `data.k`) and check how it is stored.
async fn check_data_values(api: &Api, cases: &[(&str, &[&str])]) {
    let mut mismatches = Vec::new();
    for (raw, stored) in cases {
        let text = format!(
            r#"{{"testcase": "data", "outcome": "PASSED", "data": {{"v": {raw}, "k": "x"}}}}"#
        );
        let answer = api.post_text("/results", &[], &text).await;
        let mut expected = json!({"k": ["x"], "v": stored});
        if stored.is_empty() {
            expected.as_object_mut().unwrap().remove("v");
        }
        if answer.status != 201 || answer.json()["data"] != expected {
            mismatches.push(format!("{raw}: expected {expected}, got {}", answer.text));
        }
    }
    assert_no_mismatch(&mismatches);
}

#[tokio::test]
async fn data_values_are_lists_of_python_strings() {
    each_backend(plain, |api| async move {
        check_data_values(&api, DATA_VALUES).await
    })
    .await;
}

#[tokio::test]
async fn a_testcase_object_ref_url_null_overwrites_and_absent_keeps() {
    each_backend(plain, |api| async move {
        let tc = unique("tc.refurl");
        assert_eq!(
            api.post("/testcases", &json!({"name": tc, "ref_url": "u1"}))
                .await
                .status,
            201
        );
        // (the result's testcase field, the testcase's ref_url afterwards)
        for (testcase, ref_url) in [
            (json!({"name": tc}), json!("u1")),
            (json!(tc), json!("u1")),
            (json!({"name": tc, "ref_url": "u2"}), json!("u2")),
            (json!({"name": tc, "ref_url": null}), json!(null)),
            (json!({"name": tc, "ref_url": "u3"}), json!("u3")),
        ] {
            let body = api
                .result(&json!({"testcase": testcase, "outcome": "PASSED"}))
                .await;
            assert_eq!(body["testcase"]["ref_url"], ref_url, "{testcase}");
            let stored = api.get(&format!("/testcases/{tc}")).await.json();
            assert_eq!(stored["ref_url"], ref_url, "{testcase}");
        }
        // POST /testcases, by contrast, keeps the stored value on null.
        for (body, ref_url) in [
            (json!({"name": tc, "ref_url": null}), "u3"),
            (json!({"name": tc}), "u3"),
            (json!({"name": tc, "ref_url": "u4"}), "u4"),
        ] {
            let answer = api.post("/testcases", &body).await;
            assert_eq!(
                (answer.status, &answer.json()["ref_url"]),
                (201, &json!(ref_url)),
                "{body}"
            );
        }
    })
    .await;
}

#[tokio::test]
async fn groups_of_a_result_are_uuid_strings_or_objects_and_get_created() {
    each_backend(plain, |api| async move {
        let (g1, g2) = (uuid::Uuid::new_v4().to_string(), unique("FooBar"));
        let groups =
            json!([g1, {"uuid": g2, "description": "d2", "ref_url": "r2"}, {"description": "new"}]);
        let body = json!({"testcase": unique("grp"), "outcome": "PASSED", "groups": groups});
        let body = api.result(&body).await;
        let mut got: Vec<String> = serde_json::from_value(body["groups"].clone()).unwrap();
        let generated = got
            .iter()
            .find(|it| **it != g1 && **it != g2)
            .unwrap()
            .clone();
        assert!(is_uuid4(&generated), "{generated}");
        got.sort();
        let mut expected = vec![g1.clone(), g2.clone(), generated.clone()];
        expected.sort();
        assert_eq!(got, expected);

        let expected = json!({
            "description": null, "href": format!("{API}/groups/{g1}"), "ref_url": null,
            "results": format!("{API}/results?groups={g1}"), "results_count": 1, "uuid": g1,
        });
        assert_eq!(
            api.get(&format!("/groups/{g1}")).await.pair(),
            (200, expected)
        );
        let fresh = api.get(&format!("/groups/{generated}")).await.json();
        assert_eq!(fresh["description"], "new");

        // Keys present in a group object overwrite, even with null; absent ones keep.
        for (idx, (item, fields)) in [
            (json!({"uuid": g2}), json!(["d2", "r2"])),
            (json!(g2), json!(["d2", "r2"])),
            (
                json!({"uuid": g2, "description": null}),
                json!([null, "r2"]),
            ),
            (
                json!({"uuid": g2, "ref_url": "r3", "description": "d3"}),
                json!(["d3", "r3"]),
            ),
        ]
        .into_iter()
        .enumerate()
        {
            api.result(&json!({"testcase": "grp", "outcome": "PASSED", "groups": [item]}))
                .await;
            let group = api.get(&format!("/groups/{g2}")).await.json();
            assert_eq!(
                json!([group["description"], group["ref_url"]]),
                fields,
                "{item}"
            );
            assert_eq!(group["results_count"], idx + 2);
        }
        for groups in [json!(null), json!([])] {
            let body = json!({"testcase": "grp", "outcome": "PASSED", "groups": groups});
            assert_eq!(api.result(&body).await["groups"], json!([]));
        }
        // Group uuids are not limited to 36 characters.
        let long = format!("{}-{}", uuid::Uuid::new_v4(), uuid::Uuid::new_v4());
        api.result(&json!({"testcase": "grp", "outcome": "PASSED", "groups": [long]}))
            .await;
        assert_eq!(api.get(&format!("/groups/{long}")).await.status, 200);
    })
    .await;
}

// ---------------------------------------------------------------------------
// POST errors.
// ---------------------------------------------------------------------------

/// What a 400 message must contain, and the fields (or the whole raw body,
/// when it starts with `!`) of a body sent to POST /results. The fields are
/// added to `"outcome": "PASSED", "testcase": "t"`, overriding them.
#[rustfmt::skip]
const BAD_RESULTS: &[(&str, &str)] = &[
    ("outcome", r#""outcome": null"#),
    ("outcome", r#""outcome": "GREAT""#),
    ("outcome", r#""outcome": 3"#),
    ("outcome", r#""outcome": "QUEUED""#),
    ("outcome", r#"!{"testcase": "t"}"#),
    ("testcase", r#"!{"outcome": "PASSED"}"#),
    ("testcase name must be non-empty", r#""testcase": """#),
    ("testcase name must be non-empty", r#""testcase": {}"#),
    ("testcase name must be non-empty", r#""testcase": {"name": ""}"#),
    ("testcase", r#""testcase": 3"#),
    ("testcase", r#""testcase": ["t"]"#),
    ("testcase.name", r#""testcase": {"name": 3}"#),
    ("note", r#""note": 3"#),
    ("ref_url", r#""ref_url": 3"#),
    ("data", r#""data": []"#),
    ("data", r#""data": "x""#),
    ("groups", r#""groups": "g""#),
    ("groups.0", r#""groups": [123]"#),
    ("groups.1", r#""groups": ["g", [1]]"#),
    ("groups.0.uuid", r#""groups": [{"uuid": 5}]"#),
    ("groups.0.description", r#""groups": [{"uuid": "g", "description": 5}]"#),
    ("submit_time", r#""submit_time": "2022-08-24T06:54:57""#),
    ("submit_time", r#""submit_time": "2022-08-24 06:54:57.5""#),
    ("submit_time", r#""submit_time": "yesterday""#),
    ("submit_time", r#""submit_time": """#),
    ("submit_time", r#""submit_time": true"#),
    ("testcase", r#""testcase": "t\u0000x""#),
    ("data.k", r#""data": {"k": "a\u0000b"}"#),
    ("note", r#""note": "\u0000""#),
    ("Colon not allowed in key name: ['a:b']", r#""data": {"a:b": "x"}"#),
    ("Bad request", r#"!{"outcome": "PASSED", "testcase": "#),
    ("Bad request", "!"),
    ("Bad request", "![1, 2]"),
    ("Bad request", r#"!"a string""#),
    ("Bad request", "!null"),
];

#[tokio::test]
async fn every_bad_result_is_a_400_naming_the_field() {
    each_backend(plain, |api| async move {
        for (expect, fields) in BAD_RESULTS {
            let text = match fields.strip_prefix('!') {
                Some(raw) => raw.to_owned(),
                None => format!(r#"{{"outcome": "PASSED", "testcase": "t", {fields}}}"#),
            };
            let answer = api.post_text("/results", &[], &text).await;
            assert_eq!(
                (answer.status, answer.content_type()),
                (400, "application/json"),
                "{text}"
            );
            let message = answer.message();
            assert!(
                message.contains(expect),
                "{text}: {message:?} lacks {expect:?}"
            );
        }
        // Field errors carry ResultsDB's validation_error too.
        let text = r#"{"outcome": "PASSED", "testcase": 3}"#;
        let answer = api.post_text("/results", &[], text).await;
        let error = &answer.json()["validation_error"][0];
        assert_eq!(
            (&error["loc"], &error["type"]),
            (&json!(["testcase"]), &json!("dict_type"))
        );
        let text = r#"{"outcome": "PASSED", "testcase": "t", "data": {"a:b": "x", "c": "y"}}"#;
        let expected = json!({"message": "Colon not allowed in key name: ['a:b']"});
        assert_eq!(
            api.post_text("/results", &[], text).await.pair(),
            (400, expected)
        );
        assert_eq!(
            api.get("/results").await.json()["data"],
            json!([]),
            "nothing stored"
        );
        // Stripped and upper-cased, the outcome is fine.
        let body = api
            .result(&json!({"testcase": "t", "outcome": "  info "}))
            .await;
        assert_eq!(body["outcome"], "INFO");
    })
    .await;
    // Additional outcomes are accepted, in any case.
    let settings = || ResultsdbSettings::new(&["QUEUED".to_owned()]);
    each_backend(settings, |api| async move {
        let body = api
            .result(&json!({"testcase": "t", "outcome": "queued"}))
            .await;
        assert_eq!(body["outcome"], "QUEUED");
    })
    .await;
}

#[tokio::test]
async fn a_bad_testcase_ref_url_is_named_as_the_testcases() {
    each_backend(plain, |api| async move {
        let text = r#"{"outcome": "PASSED", "testcase": {"name": "t", "ref_url": 3}}"#;
        let answer = api.post_text("/results", &[], text).await;
        assert_eq!(answer.status, 400, "{}", answer.text);
        assert!(
            answer.message().contains("testcase.ref_url"),
            "{}",
            answer.text
        );
    })
    .await;
}

#[tokio::test]
async fn a_body_that_is_not_json_is_a_415_and_a_big_one_a_413() {
    let settings = || ResultsdbSettings {
        max_body_bytes: 256,
        ..ResultsdbSettings::new(&[])
    };
    each_backend(settings, |api| async move {
        let text = r#"{"testcase": "t", "outcome": "PASSED"}"#;
        let types = [
            None,
            Some("text/plain"),
            Some("application/x-www-form-urlencoded"),
        ];
        for content_type in types {
            let headers: Vec<_> = content_type
                .map(|it| ("content-type", it))
                .into_iter()
                .collect();
            for path in ["/results", "/groups", "/testcases"] {
                let answer = api
                    .send("POST", &format!("/api/v2.0{path}"), &headers, text)
                    .await;
                let got = (answer.status, answer.content_type());
                assert_eq!(got, (415, "application/json"), "{path} {content_type:?}");
                assert!(!answer.message().is_empty());
            }
        }
        let headers = [("content-type", "Application/JSON; charset=utf-8")];
        assert_eq!(
            api.send("POST", "/api/v2.0/results", &headers, text)
                .await
                .status,
            201
        );
        let big = json!({"testcase": "t", "outcome": "PASSED", "note": "x".repeat(300)});
        let answer = api.post("/results", &big).await;
        assert_eq!(
            (answer.status, answer.content_type()),
            (413, "application/json")
        );
        assert!(answer.message().contains("256"), "{}", answer.text);
        assert_eq!(
            api.get("/results").await.json()["data"]
                .as_array()
                .unwrap()
                .len(),
            1
        );
    })
    .await;
}

// ---------------------------------------------------------------------------
// Write authentication, the outbox, concurrent writes.
// ---------------------------------------------------------------------------

#[tokio::test]
async fn writes_need_a_token_or_a_user_and_reads_stay_open() {
    let settings = || ResultsdbSettings {
        auth: WriteAuth::from_pairs(
            vec![("ci".to_owned(), "t0ken".to_owned())],
            vec![("bob".to_owned(), "pw".to_owned())],
        ),
        ..ResultsdbSettings::new(&[])
    };
    let basic = |it: &str| {
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(it)
        )
    };
    let cases = [
        (None, 401),
        (Some("Bearer nope".to_owned()), 401),
        (Some("Bearer t0ken".to_owned()), 201),
        (Some("bearer t0ken".to_owned()), 401),
        (Some("t0ken".to_owned()), 401),
        (Some(basic("bob:pw")), 201),
        (Some(basic("bob:nope")), 401),
        (Some(basic("eve:pw")), 401),
        (Some("Basic !!!".to_owned()), 401),
    ];
    let cases = &cases;
    each_backend(settings, |api| async move {
        let mut stored = 0;
        for (authorization, status) in cases {
            let headers: Vec<_> = authorization
                .iter()
                .map(|it| ("authorization", it.as_str()))
                .collect();
            for (path, body) in [
                ("/results", json!({"testcase": "t", "outcome": "PASSED"})),
                ("/groups", json!({"uuid": "g"})),
                ("/testcases", json!({"name": "t"})),
            ] {
                let answer = api.post_text(path, &headers, &body.to_string()).await;
                assert_eq!(
                    answer.status, *status,
                    "{path} {authorization:?}: {}",
                    answer.text
                );
                if *status == 401 {
                    assert_eq!(answer.content_type(), "application/json");
                    assert!(!answer.message().is_empty());
                    let challenge = answer.headers[header::WWW_AUTHENTICATE].to_str().unwrap();
                    assert!(challenge.contains("Bearer") && challenge.contains("Basic"));
                } else if path == "/results" {
                    stored += 1;
                }
            }
        }
        assert_eq!(
            api.get("/results").await.json()["data"]
                .as_array()
                .unwrap()
                .len(),
            stored
        );
        for path in [
            "",
            "/groups",
            "/testcases",
            "/results/latest",
            "/groups/g",
            "/testcases/t",
        ] {
            assert!([200, 300].contains(&api.get(path).await.status), "{path}");
        }
    })
    .await;
}

#[tokio::test]
async fn a_posted_result_writes_one_outbox_message_equal_to_the_answer() {
    let settings = || ResultsdbSettings {
        publish_prefix: Some("org.example".to_owned()),
        ..ResultsdbSettings::new(&[])
    };
    each_backend(settings, |api| async move {
        let tc = unique("msg");
        let groups = json!([{"description": "g"}]);
        let body = json!({"testcase": tc, "outcome": "FAILED", "groups": groups, "data": {"n": 1}});
        let before = chrono::Utc::now();
        let answer = api.post("/results", &body).await;
        assert_eq!(answer.status, 201);
        // Neither a rejected result nor a group or a testcase writes a message.
        assert_eq!(
            api.post("/results", &json!({"testcase": tc})).await.status,
            400
        );
        assert_eq!(api.post("/groups", &json!({"uuid": "g"})).await.status, 201);
        assert_eq!(
            api.post("/testcases", &json!({"name": "t"})).await.status,
            201
        );
        let rows = api.store.outbox_pending(10).await.unwrap();
        assert_eq!(rows.len(), 1);
        let message: OutgoingMessage = serde_json::from_str(&rows[0].message).unwrap();
        assert_eq!(message.topic, "org.example.resultsdb.result.new");
        assert_eq!(message.body, answer.json());
        assert!(is_uuid4(&message.id), "{}", message.id);
        assert_eq!(message.priority, None);
        let sent_at = &message.sent_at;
        assert!(
            sent_at.ends_with("+00:00") && !sent_at.contains('.'),
            "{sent_at}"
        );
        let parsed = chrono::DateTime::parse_from_rfc3339(sent_at).unwrap();
        assert!(
            (parsed.timestamp() - before.timestamp()).abs() < 60,
            "{sent_at}"
        );
        let expected = json!({
            "fedora_messaging_schema": "base.message",
            "fedora_messaging_severity": 20,
            "sent-at": sent_at,
        });
        assert_eq!(serde_json::to_value(&message.headers).unwrap(), expected);

        let second = api
            .result(&json!({"testcase": tc, "outcome": "PASSED"}))
            .await;
        let rows = api.store.outbox_pending(10).await.unwrap();
        assert!(rows.len() == 2 && rows[0].id < rows[1].id, "{rows:?}");
        let message: OutgoingMessage = serde_json::from_str(&rows[1].message).unwrap();
        assert_eq!(message.body, second);
    })
    .await;
    // Without a broker, nothing is written.
    each_backend(plain, |api| async move {
        api.result(&json!({"testcase": "t", "outcome": "PASSED"}))
            .await;
        assert_eq!(api.store.outbox_len().await.unwrap(), 0);
    })
    .await;
}

#[tokio::test]
async fn concurrent_posts_share_a_new_testcase_and_group() {
    each_backend(plain, |api| async move {
        let (tc, group) = (unique("race"), unique("race-group"));
        let mut tasks = tokio::task::JoinSet::new();
        for n in 0..16 {
            let api = api.clone();
            let groups = json!([group, {"uuid": group, "description": format!("d{n}")}]);
            let testcase = json!({"name": tc, "ref_url": format!("r{n}")});
            let body = json!({"testcase": testcase, "outcome": "PASSED", "groups": groups});
            tasks.spawn(async move { api.post("/results", &body).await });
        }
        while let Some(answer) = tasks.join_next().await {
            let answer = answer.unwrap();
            assert_eq!(answer.status, 201, "{}", answer.text);
            assert_eq!(answer.json()["groups"], json!([group]));
        }
        assert_eq!(
            api.get(&format!("/groups/{group}")).await.json()["results_count"],
            16
        );
        let found = api
            .get(&format!("/testcases/{tc}/results?limit=100"))
            .await
            .json();
        assert_eq!(found["data"].as_array().unwrap().len(), 16);
    })
    .await;
}

// ---------------------------------------------------------------------------
// Where we differ from the reference server. Each test lists every mismatch
// at once.
// ---------------------------------------------------------------------------

#[tokio::test]
async fn data_values_escape_unprintable_characters_as_python_repr() {
    // Python's repr() escapes what str.isprintable() rejects.
    #[rustfmt::skip]
    let cases: &[(&str, &[&str])] = &[
        (r#"{"x": "\u2028\u0085\u0001é"}"#, &[r"{'x': '\u2028\x85\x01é'}"]),
        (r#"["\u00a0"]"#, &["\u{a0}"]),
        (r#"[["\u00a0"]]"#, &[r"['\xa0']"]),
    ];
    each_backend(
        plain,
        |api| async move { check_data_values(&api, cases).await },
    )
    .await;
}

#[tokio::test]
async fn submit_time_accepts_what_the_reference_server_accepts() {
    // (submit_time, the stored time, or None for a 400)
    let cases = [
        (json!(32_503_680_000_000_i64), Some("3000-01-01T00:00:00")),
        (json!("32503680000000"), Some("3000-01-01T00:00:00")),
        // Python's int() strips whitespace.
        (json!(" 1661324097123"), Some("2022-08-24T06:54:57.123000")),
        // strptime's %f takes at most six digits.
        (json!("2022-08-24T06:54:57.1234567"), None),
    ];
    let cases = &cases;
    each_backend(plain, |api| async move {
        let mut mismatches = Vec::new();
        for (input, expected) in cases {
            let body = json!({"testcase": "t", "outcome": "PASSED", "submit_time": input});
            let answer = api.post("/results", &body).await;
            let got = (answer.status == 201).then(|| answer.json()["submit_time"].clone());
            if got.as_ref().and_then(Value::as_str) != *expected {
                let got = format!("{} {}", answer.status, answer.text);
                mismatches.push(format!("{input}: expected {expected:?}, got {got}"));
            }
        }
        assert_no_mismatch(&mismatches);
    })
    .await;
}

#[tokio::test]
async fn json_content_types_are_werkzeugs() {
    // Werkzeug takes application/json and application/*+json, nothing else.
    each_backend(plain, |api| async move {
        let text = r#"{"testcase": "t", "outcome": "PASSED"}"#;
        let mut mismatches = Vec::new();
        #[rustfmt::skip]
        let cases = [
            ("application/vnd.api+json", 201),
            ("application/jsonx", 415),
            ("application/json-seq", 415),
        ];
        for (content_type, status) in cases {
            let headers = [("content-type", content_type)];
            let answer = api.send("POST", "/api/v2.0/results", &headers, text).await;
            if answer.status != status {
                let got = format!("{} {}", answer.status, answer.text);
                mismatches.push(format!("{content_type}: expected {status}, got {got}"));
            }
        }
        assert_no_mismatch(&mismatches);
    })
    .await;
}

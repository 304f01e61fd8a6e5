//! The ResultsDB v2.0 API's reads over HTTP (spec §1.4, §1.6, §1.7): the
//! landing page, health, routing and 404s, result filters, `/results/latest`,
//! pages with their `prev`/`next` links, and the groups and testcases
//! endpoints, through the real router. Writes, their shapes and errors, auth
//! and the outbox are in `resultsdb_api.rs`.
//!
//! Every test body runs on a fresh SQLite store and, when
//! TASKOTRON_TEST_DATABASE_URL is set, on a fresh PostgreSQL schema; with
//! TASKOTRON_REQUIRE_SERVICES=1 a missing URL fails instead of skipping.

#![allow(
    clippy::unwrap_used,
    clippy::print_stderr,
    dead_code,
    reason = "test helpers fail loudly and explain skips; the helpers are shared with resultsdb_api.rs"
)]

use axum::http::header;
use serde_json::{Value, json};
use taskotron_store::Store;
use taskotron_web::resultsdb::ResultsdbSettings;
use taskotron_web::{AppState, router};

mod common;

use common::*;

/// A `prev` or `next` link: the query after `{API}/results`, or none.
type Link = Option<&'static str>;

/// Store a result at `time` with data and groups; its id.
async fn add(
    api: &Api,
    testcase: &str,
    outcome: &str,
    time: &str,
    data: Value,
    groups: Value,
) -> i64 {
    #[rustfmt::skip]
    let body = json!({"testcase": testcase, "outcome": outcome, "submit_time": time, "data": data, "groups": groups});
    api.result(&body).await["id"].as_i64().unwrap()
}

/// One field of each item of a list answer, in order.
fn field(answer: &Answer, name: &str) -> Vec<Value> {
    assert_eq!(answer.status, 200, "{}", answer.text);
    let body = answer.json();
    body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|it| it[name].clone())
        .collect()
}

/// The result ids of a list answer, in order.
fn ids(answer: &Answer) -> Vec<i64> {
    field(answer, "id")
        .iter()
        .map(|it| it.as_i64().unwrap())
        .collect()
}

// ---------------------------------------------------------------------------
// Landing page, health, routing.
// ---------------------------------------------------------------------------

#[tokio::test]
async fn landing_page_is_a_300_with_links_and_outcomes() {
    let settings = || ResultsdbSettings::new(&["QUEUED".to_owned(), "RUNNING".to_owned()]);
    each_backend(settings, |api| async move {
        for path in ["", "/"] {
            let answer = api.get(path).await;
            assert_eq!(answer.status, 300, "{path:?}");
            assert_eq!(answer.content_type(), "application/json");
            let body = answer.json();
            let keys: Vec<&String> = body.as_object().unwrap().keys().collect();
            let expected = [
                "documentation",
                "groups",
                "message",
                "outcomes",
                "results",
                "testcases",
            ];
            assert_eq!(keys, expected);
            for key in ["groups", "results", "testcases"] {
                assert_eq!(body[key], format!("{API}/{key}"));
            }
            let outcomes = [
                "PASSED",
                "INFO",
                "FAILED",
                "NEEDS_INSPECTION",
                "QUEUED",
                "RUNNING",
            ];
            assert_eq!(body["outcomes"], json!(outcomes));
        }
    })
    .await;
}

#[tokio::test]
async fn healthcheck_answers_while_the_database_does() {
    each_backend(plain, |api| async move {
        let expected = json!({"message": "Health check OK"});
        assert_eq!(api.get("/healthcheck").await.pair(), (200, expected));
    })
    .await;
    // A closed store stands for a database that stopped answering.
    let tmp = tempfile::tempdir().unwrap();
    let store = Store::open_sqlite(tmp.path()).await.unwrap();
    store.close().await;
    let api = Api {
        app: router(AppState::new(store.clone())),
        store,
    };
    let expected = json!({"message": "Unable to communicate with database"});
    assert_eq!(api.get("/healthcheck").await.pair(), (503, expected));
}

#[tokio::test]
async fn unknown_routes_and_trailing_slashes_are_json_404s() {
    each_backend(plain, |api| async move {
        for (method, path) in [
            ("GET", "/nope"),
            ("POST", "/nope"),
            ("GET", "/results/"),
            ("GET", "/groups/"),
            ("GET", "/testcases/"),
            ("GET", "/results/latest/"),
        ] {
            let answer = api.send(method, &format!("/api/v2.0{path}"), &[], "").await;
            assert_eq!(
                answer.pair(),
                (404, json!({"message": "Not found"})),
                "{method} {path}"
            );
        }
    })
    .await;
}

#[tokio::test]
async fn head_works_like_get_and_accept_is_not_negotiated() {
    each_backend(plain, |api| async move {
        let answer = api.send("HEAD", "/api/v2.0/results", &[], "").await;
        assert_eq!((answer.status, answer.text.as_str()), (200, ""));
        // resultsdb_api sends Accept: text/plain and reads JSON.
        let accept = [("accept", "text/plain")];
        let answer = api.send("GET", "/api/v2.0/results", &accept, "").await;
        assert_eq!(
            (answer.status, answer.content_type()),
            (200, "application/json")
        );
        let text = r#"{"testcase": "t", "outcome": "PASSED"}"#;
        let answer = api.post_text("/results", &accept, text).await;
        assert_eq!(
            (answer.status, answer.content_type()),
            (201, "application/json")
        );
    })
    .await;
}

/// The reference server (Flask) answers OPTIONS on every route with 200 and
/// an `Allow` header.
#[tokio::test]
async fn options_is_answered_with_the_allowed_methods() {
    each_backend(plain, |api| async move {
        let mut mismatches = Vec::new();
        for (path, method) in [
            ("/results", "POST"),
            ("/results/latest", "GET"),
            ("/groups", "GET"),
        ] {
            let answer = api
                .send("OPTIONS", &format!("/api/v2.0{path}"), &[], "")
                .await;
            let allow = answer
                .headers
                .get(header::ALLOW)
                .map(|it| it.to_str().unwrap().to_owned());
            if answer.status != 200 || !allow.as_deref().unwrap_or("").contains(method) {
                mismatches.push(format!("OPTIONS {path}: {} allow={allow:?}", answer.status));
            }
        }
        assert_no_mismatch(&mismatches);
    })
    .await;
}

#[tokio::test]
async fn a_missing_or_non_numeric_result_id_is_a_json_404() {
    each_backend(plain, |api| async move {
        let id = api
            .result(&json!({"testcase": "t", "outcome": "PASSED"}))
            .await["id"]
            .clone();
        assert_eq!(api.get(&format!("/results/{id}")).await.status, 200);
        let missing = (id.as_i64().unwrap() + 1000).to_string();
        for bad in [
            missing.as_str(),
            "abc",
            "-1",
            "0",
            "99999999999999999999999",
            "1.5",
            "%20",
        ] {
            let expected = (404, json!({"message": "Result not found"}));
            assert_eq!(
                api.get(&format!("/results/{bad}")).await.pair(),
                expected,
                "{bad}"
            );
        }
    })
    .await;
}

// ---------------------------------------------------------------------------
// Filters.
// ---------------------------------------------------------------------------

#[tokio::test]
async fn result_filters_match_resultsdbs() {
    each_backend(plain, |api| async move {
        let u = unique("q");
        let [rpmlint, depcheck, other] = ["rpmlint", "depcheck", "other.check"].map(|it| format!("{u}.{it}"));
        let (ga, gb) = (unique("ga"), unique("gb"));
        #[rustfmt::skip]
        let (r1, r2, r3, r4) = (
            add(&api, &rpmlint, "PASSED", "2016-08-14T06:00:00.000000",
                json!({"item": "pkg-1-1", "type": "koji_build", "arch": ["x86_64", "noarch"]}), json!([ga])).await,
            add(&api, &rpmlint, "FAILED", "2016-08-14T07:00:00.000000",
                json!({"item": "pkg-2-1", "type": "koji_build", "arch": "x86_64", "scenario": ""}), json!([gb])).await,
            add(&api, &depcheck, "INFO", "2016-08-14T08:00:00.000000",
                json!({"item": "pkg-1-1", "type": "bodhi_update", "scenario": "s1"}), json!([ga, gb])).await,
            add(&api, &other, "NEEDS_INSPECTION", "2016-08-15T00:00:00.000000",
                json!({"item": "pkgX1X1"}), json!([])).await,
        );
        let all = vec![r4, r3, r2, r1];
        #[rustfmt::skip]
        let cases: Vec<(String, Vec<i64>)> = vec![
            (String::new(), all.clone()),
            ("outcome=passed".into(), vec![r1]),
            ("outcome=PASSED,failed".into(), vec![r2, r1]),
            ("outcome=%20info%20,".into(), vec![r3]),
            ("outcome=".into(), all.clone()),
            // A repeated reserved parameter keeps its first value only.
            ("outcome=FAILED&outcome=PASSED".into(), vec![r2]),
            (format!("testcases={rpmlint}"), vec![r2, r1]),
            (format!("testcases={rpmlint},%20{depcheck}"), vec![r3, r2, r1]),
            (format!("testcases={depcheck}&testcases={rpmlint}"), vec![r3]),
            ("testcases=".into(), all.clone()),
            ("testcases=,".into(), all.clone()),
            (format!("testcases:like={u}.other*"), vec![r4]),
            (format!("testcases:like={u}.*check"), vec![r4, r3]),
            (format!("testcases={depcheck}&testcases:like={u}.other*"), vec![r4, r3]),
            (format!("groups={ga}"), vec![r3, r1]),
            (format!("groups={ga},{gb}"), vec![r3, r2, r1]),
            ("groups=nope".into(), vec![]),
            ("since=2016-08-14T07:00:00".into(), vec![r4, r3, r2]),
            ("since=2016-08-14T07:00:00Z".into(), vec![r4, r3, r2]),
            ("since=2016-08-14T06:00:00.000001".into(), vec![r4, r3, r2]),
            // An offset is dropped, not applied.
            ("since=2016-08-14T07:00:00%2B05:00".into(), vec![r4, r3, r2]),
            ("since=2016-08-14T07:00:00,2016-08-14T08:00:00".into(), vec![r3, r2]),
            ("since=2016-08-15".into(), vec![r4]),
            ("since=2016-08-13,2016-08-14".into(), vec![]),
            ("item=pkg-1-1".into(), vec![r3, r1]),
            ("item=pkg-1-1,pkg-2-1".into(), vec![r3, r2, r1]),
            ("item=pkg-2-1&item=pkgX1X1".into(), vec![r4, r2]),
            // Data values are not stripped.
            ("item=pkg-1-1,%20pkg-2-1".into(), vec![r3, r1]),
            ("item:like=pkg-*".into(), vec![r3, r2, r1]),
            ("item:like=*2*,pkgX*".into(), vec![r4, r2]),
            // `_` and `%` are wildcards too.
            ("item:like=pkg_1_1".into(), vec![r4, r3, r1]),
            ("item:like=pkg%25".into(), all.clone()),
            // Case-sensitive, as on PostgreSQL.
            ("item:like=PKG-*".into(), vec![]),
            (format!("testcases:like={}*", u.to_uppercase()), vec![]),
            ("item=pkg-1-1&type=koji_build".into(), vec![r1]),
            ("item=pkg-1-1&type=koji_build&arch=noarch".into(), vec![r1]),
            ("arch=x86_64".into(), vec![r2, r1]),
            ("scenario=".into(), vec![r2]),
            ("scenario=s1".into(), vec![r3]),
            ("callback=foo".into(), vec![]),
            ("_auth=x".into(), vec![]),
            ("_distinct_on=scenario".into(), all.clone()),
            ("item:foo=pkg-2-1".into(), vec![r2]),
            ("item:b:c=pkg-2-1".into(), vec![]),
            (format!("outcome=info&item=pkg-1-1&groups={gb}&testcases:like={u}*"), vec![r3]),
            ("_sort=asc:submit_time".into(), vec![r1, r2, r3, r4]),
            ("_sort=desc:submit_time".into(), all.clone()),
            ("_sort=asc:id".into(), all.clone()),
            ("_sort=nonsense".into(), all.clone()),
        ];
        let backend = api.store.backend_name();
        for (query, expected) in &cases {
            let got = ids(&api.get(&format!("/results?{query}")).await);
            assert_eq!(got, *expected, "?{query} on {backend}");
        }
        // /groups/<uuid>/results and /testcases/<name>/results take the same
        // filters; the path wins over `groups` and `testcases`.
        #[rustfmt::skip]
        let nested: Vec<(String, Vec<i64>)> = vec![
            (format!("/groups/{ga}/results"), vec![r3, r1]),
            (format!("/groups/{ga}/results?outcome=info"), vec![r3]),
            (format!("/groups/{ga}/results?groups={gb}"), vec![r3, r1]),
            (format!("/groups/{ga}/results?item=pkg-1-1&type=koji_build"), vec![r1]),
            (format!("/groups/{ga}/results?_sort=asc:submit_time"), vec![r1, r3]),
            (format!("/testcases/{rpmlint}/results"), vec![r2, r1]),
            (format!("/testcases/{rpmlint}/results?outcome=failed"), vec![r2]),
            (format!("/testcases/{rpmlint}/results?testcases={depcheck}"), vec![r2, r1]),
            (format!("/testcases/{rpmlint}/results?since=2016-08-14T06:30:00"), vec![r2]),
            (format!("/testcases/{rpmlint}/results?scenario="), vec![r2]),
        ];
        for (path, expected) in &nested {
            assert_eq!(ids(&api.get(path).await), *expected, "{path} on {backend}");
        }
    })
    .await;
}

#[tokio::test]
async fn bad_query_parameters_are_400s_naming_them() {
    each_backend(plain, |api| async move {
        let g = unique("g");
        api.post("/groups", &json!({"uuid": g})).await;
        api.post("/testcases", &json!({"name": "tc"})).await;
        #[rustfmt::skip]
        let cases = [
            ("/results?outcome=GREAT".to_owned(), "outcome"),
            ("/results?outcome=passed,great".to_owned(), "outcome"),
            ("/results?since=yesterday".to_owned(), "ISO8601"),
            ("/results?since=2016-08-14,garbage".to_owned(), "since"),
            ("/results?page=x".to_owned(), "page"),
            ("/results?limit=x".to_owned(), "limit"),
            ("/results?limit=-1".to_owned(), "limit"),
            ("/results/latest?since=nope".to_owned(), "since"),
            ("/groups?page=x".to_owned(), "page"),
            ("/testcases?limit=1.5".to_owned(), "limit"),
            (format!("/groups/{g}/results?outcome=GREAT"), "outcome"),
            ("/testcases/tc/results?page=one".to_owned(), "page"),
        ];
        for (path, expect) in cases {
            let answer = api.get(&path).await;
            assert_eq!(answer.status, 400, "{path}: {}", answer.text);
            assert!(answer.message().contains(expect), "{path}: {}", answer.text);
        }
    })
    .await;
}

// ---------------------------------------------------------------------------
// Pages and links.
// ---------------------------------------------------------------------------

#[tokio::test]
async fn pages_and_their_prev_next_links() {
    each_backend(plain, |api| async move {
        let page = |prev: Option<&str>| json!({"data": [], "next": null, "prev": prev});
        assert_eq!(api.get("/results").await.json(), page(None));
        let prev = format!("{API}/results?page=0");
        assert_eq!(api.get("/results?page=1").await.json(), page(Some(&prev)));

        let tc = unique("page");
        let mut added = Vec::new();
        for hour in 1..=3 {
            let time = format!("2020-01-01T0{hour}:00:00.000000");
            added.push(add(&api, &tc, "PASSED", &time, json!({}), json!([])).await);
        }
        let (r1, r2, r3) = (added[0], added[1], added[2]);
        // (query, ids, prev, next): links are the request's URL rewritten.
        #[rustfmt::skip]
        let cases: &[(&str, &[i64], Link, Link)] = &[
            ("?limit=1", &[r3], None, Some("?limit=1&page=1")),
            ("?limit=1&page=1", &[r2], Some("?limit=1&page=0"), Some("?limit=1&page=2")),
            ("?limit=1&page=2", &[r1], Some("?limit=1&page=1"), None),
            ("?page=1&limit=2", &[r1], Some("?page=0&limit=2"), None),
            ("?limit=2", &[r3, r2], None, Some("?limit=2&page=1")),
            ("?limit=3", &[r3, r2, r1], None, None),
            ("?limit=1000", &[r3, r2, r1], None, None),
            ("?limit=0", &[], None, Some("?limit=0&page=1")),
            ("?page=5", &[], Some("?page=4"), None),
            ("?limit=1&&outcome=passed", &[r3], None, Some("?limit=1&outcome=passed&page=1")),
            ("?page=1&callback=cb", &[], Some("?page=0"), None),
            ("?page=1&item=a%2Cb+c", &[], Some("?page=0&item=a%2Cb+c"), None),
            ("?limit=1&_sort=asc:submit_time", &[r1], None, Some("?limit=1&_sort=asc:submit_time&page=1")),
        ];
        for (query, expected, prev, next) in cases {
            let answer = api.get(&format!("/results{query}")).await;
            assert_eq!(ids(&answer), *expected, "{query}");
            let link = |it: &Option<&str>| json!(it.map(|it| format!("{API}/results{it}")));
            let body = answer.json();
            assert_eq!((&body["prev"], &body["next"]), (&link(prev), &link(next)), "{query}");
        }
        // A negative page is page 0.
        let answer = api.get("/results?page=-1&limit=2").await;
        assert_eq!((ids(&answer), &answer.json()["prev"]), (vec![r3, r2], &json!(null)));

        // Other lists link to themselves; the origin follows the proxy headers.
        let g = unique("g");
        api.post("/groups", &json!({"uuid": g})).await;
        api.post("/testcases", &json!({"name": format!("{tc}.other")})).await;
        #[rustfmt::skip]
        let cases = [
            ("/groups?limit=0".to_owned(), "next", json!(format!("{API}/groups?limit=0&page=1"))),
            ("/testcases?limit=1".to_owned(), "next", json!(format!("{API}/testcases?limit=1&page=1"))),
            (format!("/testcases/{tc}/results?limit=2"), "next", json!(format!("{API}/testcases/{tc}/results?limit=2&page=1"))),
            (format!("/groups/{g}/results?limit=2"), "next", json!(null)),
            (format!("/groups/{g}/results?page=1"), "prev", json!(format!("{API}/groups/{g}/results?page=0"))),
            ("/testcases?page=1".to_owned(), "prev", json!(format!("{API}/testcases?page=0"))),
            ("/groups?page=2&limit=1".to_owned(), "prev", json!(format!("{API}/groups?page=1&limit=1"))),
        ];
        for (path, key, link) in cases {
            assert_eq!(api.get(&path).await.json()[key], link, "{path}");
        }
        #[rustfmt::skip]
        let forwarded = [("x-forwarded-host", "proxy.example.org"), ("x-forwarded-scheme", "https"), ("x-script-name", "/rdb")];
        let answer = api.send("GET", "/api/v2.0/results?limit=1", &forwarded, "").await;
        let next = "https://proxy.example.org/rdb/api/v2.0/results?limit=1&page=1";
        assert_eq!(answer.json()["next"], next);
    })
    .await;
}

// ---------------------------------------------------------------------------
// /results/latest.
// ---------------------------------------------------------------------------

#[tokio::test]
async fn latest_follows_the_specs_worked_example() {
    each_backend(plain, |api| async move {
        let u = unique("latest");
        let (tc1, tc2, item) = (format!("{u}.tc1"), format!("{u}.tc2"), format!("{u}-1.0-1"));
        let at = |second: u32| format!("2020-01-01T00:00:0{second}.000000");
        let data = |scenario: Option<&str>| match scenario {
            Some(it) => json!({"item": item, "scenario": it}),
            None => json!({"item": item}),
        };
        let r3 = add(&api, &tc1, "PASSED", &at(1), data(Some("s1")), json!([])).await;
        let r4 = add(&api, &tc1, "FAILED", &at(2), data(Some("s2")), json!([])).await;
        let r5 = add(&api, &tc1, "INFO", &at(3), data(None), json!([])).await;
        let r6 = add(&api, &tc2, "PASSED", &at(4), data(None), json!([])).await;
        let r7 = add(&api, &tc2, "FAILED", &at(4), data(None), json!([])).await;
        // Another item's result, newer than all of them.
        let other = add(
            &api,
            &tc1,
            "PASSED",
            &at(5),
            json!({"item": "else"}),
            json!([]),
        )
        .await;

        let latest = |query: String| {
            let api = api.clone();
            async move {
                let answer = api.get(&format!("/results/latest?{query}")).await;
                let keys: Vec<String> =
                    answer.json().as_object().unwrap().keys().cloned().collect();
                assert_eq!(keys, ["data"], "{query}");
                ids(&answer)
            }
        };
        // The tie on tc2 returns both, in either order.
        let sorted = |ids: &[i64]| {
            let mut ids = ids.to_vec();
            ids.sort_unstable();
            ids
        };
        // `outcome`, `limit`, `page` and `_sort` are ignored.
        for extra in [
            "",
            "&outcome=PASSED",
            "&limit=1",
            "&page=3",
            "&_sort=asc:submit_time",
        ] {
            let got = latest(format!("item={item}{extra}")).await;
            assert!(
                got.len() == 3 && sorted(&got[..2]) == [r6, r7] && got[2] == r5,
                "{extra}: {got:?}"
            );
            let got = latest(format!("item={item}&_distinct_on=scenario{extra}")).await;
            assert!(
                got.len() == 4 && [r6, r7].contains(&got[0]),
                "{extra}: {got:?}"
            );
            assert_eq!(got[1..], [r5, r4, r3], "{extra}");
        }
        assert_eq!(latest(format!("testcases={tc1}")).await, [other]);
        assert_eq!(
            latest(format!("testcases={tc1}&_distinct_on=scenario")).await,
            [other, r4, r3]
        );
        assert_eq!(
            latest(format!("item={item}&since={},{}", at(1), at(2))).await,
            [r4]
        );
        let got = latest(format!(
            "testcases:like={u}.tc*&item={item}&_distinct_on=scenario,x"
        ))
        .await;
        assert_eq!(got[1..], [r5, r4, r3]);
        // No filter at all: the latest of every testcase.
        let got = latest(String::new()).await;
        assert!(
            got.len() == 3 && got[0] == other && sorted(&got[1..]) == [r6, r7],
            "{got:?}"
        );

        // A result with two values of a distinct key comes under each.
        let tc3 = format!("{u}.tc3");
        let two = add(
            &api,
            &tc3,
            "PASSED",
            &at(6),
            json!({"item": "two", "arch": ["a", "b"]}),
            json!([]),
        )
        .await;
        assert_eq!(
            latest("item=two&_distinct_on=arch".to_owned()).await,
            [two, two]
        );

        let message =
            json!({"message": "Please, provide at least one filter beside '_distinct_on'"});
        for query in [
            "_distinct_on=scenario",
            "_distinct_on=scenario&outcome=PASSED&limit=5",
        ] {
            let answer = api.get(&format!("/results/latest?{query}")).await;
            assert_eq!(answer.pair(), (400, message.clone()), "{query}");
        }
    })
    .await;
}

// ---------------------------------------------------------------------------
// Groups and testcases.
// ---------------------------------------------------------------------------

#[tokio::test]
async fn groups_list_filter_upsert_and_404() {
    each_backend(plain, |api| async move {
        let (ga, gb) = (unique("ga"), unique("gb"));
        let group = async |body: Value| {
            let answer = api.post("/groups", &body).await;
            assert_eq!(answer.status, 201, "{body}: {}", answer.text);
            answer.json()
        };
        let created = group(json!({"uuid": ga, "description": "first", "ref_url": "ra"})).await;
        let expected = json!({
            "description": "first", "href": format!("{API}/groups/{ga}"), "ref_url": "ra",
            "results": format!("{API}/results?groups={ga}"), "results_count": 0, "uuid": ga,
        });
        assert_eq!(created, expected);
        // Only truthy values change a stored group; the answer is 201 all the same.
        #[rustfmt::skip]
        let steps = [
            (json!({"uuid": ga, "description": "", "ref_url": null}), ["first", "ra"]),
            (json!({"uuid": ga}), ["first", "ra"]),
            (json!({"uuid": ga, "description": "second"}), ["second", "ra"]),
            (json!({"uuid": ga, "ref_url": "rb"}), ["second", "rb"]),
        ];
        for (body, fields) in steps {
            let got = group(body.clone()).await;
            assert_eq!(
                json!([got["description"], got["ref_url"]]),
                json!(fields),
                "{body}"
            );
        }
        group(json!({"uuid": gb, "description": "other"})).await;
        let gen1 = group(json!({"description": "generated one"})).await["uuid"].clone();
        let gen2 = group(json!({"uuid": "", "description": "generated two"})).await["uuid"].clone();
        for it in [&gen1, &gen2] {
            assert!(is_uuid4(it.as_str().unwrap()), "{it}");
        }
        let bad = api.post("/groups", &json!({"uuid": 3})).await;
        assert!(
            bad.status == 400 && bad.message().contains("uuid"),
            "{}",
            bad.text
        );

        let (ga, gb) = (json!(ga), json!(gb));
        #[rustfmt::skip]
        let cases = [
            (String::new(), vec![&gen2, &gen1, &gb, &ga]),
            (format!("?uuid={},{}", ga.as_str().unwrap(), gb.as_str().unwrap()), vec![&gb, &ga]),
            ("?description=second".to_owned(), vec![&ga]),
            ("?description=second,other".to_owned(), vec![&gb, &ga]),
            ("?description:like=generated*".to_owned(), vec![&gen2, &gen1]),
            ("?description:like=*one,sec*".to_owned(), vec![&gen1, &ga]),
            ("?description=other&description:like=generated*".to_owned(), vec![&gb]),
            ("?limit=1&page=1".to_owned(), vec![&gen1]),
        ];
        for (query, expected) in cases {
            let got = field(&api.get(&format!("/groups{query}")).await, "uuid");
            assert_eq!(got.iter().collect::<Vec<_>>(), expected, "{query}");
        }
        let answer = api.get(&format!("/groups/{}", ga.as_str().unwrap())).await;
        assert_eq!(
            (answer.status, &answer.json()["description"]),
            (200, &json!("second"))
        );
        let expected = (404, json!({"message": "Group not found"}));
        assert_eq!(api.get("/groups/nope").await.pair(), expected);
        let expected = (404, json!({"message": "Group not found: nope"}));
        assert_eq!(api.get("/groups/nope/results").await.pair(), expected);
        let empty = json!({"data": [], "next": null, "prev": null});
        let answer = api
            .get(&format!("/groups/{}/results", gb.as_str().unwrap()))
            .await;
        assert_eq!(answer.pair(), (200, empty));
    })
    .await;
}

#[tokio::test]
async fn testcases_list_filter_upsert_and_404() {
    each_backend(plain, |api| async move {
        let u = unique("tcs");
        let [a, b, slashed, spaced] =
            ["a", "b", "koji-build./plans/basic.functional", "x y"].map(|it| format!("{u}.{it}"));
        let href = |name: &str| format!("{API}/testcases/{}", name.replace(' ', "%20"));
        for (body, ref_url) in [
            (json!({"name": b, "ref_url": "rb"}), json!("rb")),
            (json!({"name": a}), json!(null)),
            (json!({"name": slashed, "ref_url": null}), json!(null)),
            (json!({"name": spaced}), json!(null)),
        ] {
            let name = body["name"].as_str().unwrap();
            let expected = json!({"href": href(name), "name": name, "ref_url": ref_url});
            assert_eq!(
                api.post("/testcases", &body).await.pair(),
                (201, expected.clone())
            );
            // Slashes stay as they are in the href, which leads back to the testcase.
            let path = href(name).strip_prefix(API).unwrap().to_owned();
            assert_eq!(api.get(&path).await.pair(), (200, expected), "GET {path}");
        }
        #[rustfmt::skip]
        let bad = [
            (json!({}), "name"), (json!({"name": null}), "name"), (json!({"name": ""}), "name"),
            (json!({"name": 5}), "name"), (json!({"name": "x", "ref_url": 5}), "ref_url"),
        ];
        for (body, name) in bad {
            let answer = api.post("/testcases", &body).await;
            assert!(
                answer.status == 400 && answer.message().contains(name),
                "{body}: {}",
                answer.text
            );
        }
        #[rustfmt::skip]
        let cases = [
            (String::new(), vec![&a, &b, &slashed, &spaced]),
            (format!("?name={a},{b}"), vec![&a, &b]),
            (format!("?name:like={u}.k*"), vec![&slashed]),
            (format!("?name:like={u}.x*,{u}.b"), vec![&b, &spaced]),
            (format!("?name={a}&name:like=*"), vec![&a]),
            ("?limit=2&page=1".to_owned(), vec![&slashed, &spaced]),
        ];
        for (query, expected) in cases {
            let got = field(&api.get(&format!("/testcases{query}")).await, "name");
            assert_eq!(
                got,
                expected.iter().map(|it| json!(it)).collect::<Vec<_>>(),
                "{query}"
            );
        }
        let expected = (404, json!({"message": "Testcase not found"}));
        assert_eq!(api.get("/testcases/nope").await.pair(), expected);
        assert_eq!(api.get("/testcases/nope/results").await.pair(), expected);
        let result = api
            .result(&json!({"testcase": slashed, "outcome": "PASSED"}))
            .await;
        let answer = api.get(&format!("/testcases/{slashed}/results")).await;
        assert_eq!(
            answer.pair(),
            (200, json!({"data": [result], "next": null, "prev": null}))
        );
    })
    .await;
}

// ---------------------------------------------------------------------------
// Where we differ from our own promise of JSON and no 5xx for bad input.
// ---------------------------------------------------------------------------

#[tokio::test]
async fn nul_in_a_query_or_a_path_is_never_a_server_error() {
    each_backend(plain, |api| async move {
        api.result(&json!({"testcase": "t", "outcome": "PASSED", "groups": ["g"]}))
            .await;
        let mut mismatches = Vec::new();
        #[rustfmt::skip]
        let paths = [
            "/results?item=%00", "/results?item:like=%00", "/results?testcases=%00",
            "/results?groups=%00", "/results?%00=x", "/results/latest?item=%00",
            "/groups?uuid=%00", "/groups?description=%00", "/testcases?name=%00",
            "/groups/%00", "/groups/%00/results", "/testcases/a%00b", "/testcases/a%00b/results",
        ];
        for path in paths {
            let answer = api.get(path).await;
            if answer.status >= 500 || answer.content_type() != "application/json" {
                let backend = api.store.backend_name();
                mismatches.push(format!(
                    "{backend} GET {path}: {} {}",
                    answer.status, answer.text
                ));
            }
        }
        assert_no_mismatch(&mismatches);
    })
    .await;
}

#[tokio::test]
async fn a_path_that_is_not_utf8_is_a_json_404() {
    each_backend(plain, |api| async move {
        let mut mismatches = Vec::new();
        #[rustfmt::skip]
        let paths = [
            "/results/%FF", "/groups/%FF", "/groups/%FF/results",
            "/testcases/%FF", "/testcases/%FF/results",
        ];
        for path in paths {
            let answer = api.get(path).await;
            if answer.status != 404 || answer.content_type() != "application/json" {
                let got = format!(
                    "{} {:?} {:?}",
                    answer.status,
                    answer.content_type(),
                    answer.text
                );
                mismatches.push(format!("GET {path}: {got}"));
            }
        }
        assert_no_mismatch(&mismatches);
    })
    .await;
}

//! The ResultsDB store, with the same test bodies on SQLite and PostgreSQL.
//!
//! PostgreSQL runs when TASKOTRON_TEST_DATABASE_URL is set (scripts/test sets
//! it), each test in a schema of its own; with TASKOTRON_REQUIRE_SERVICES=1 a
//! missing URL fails instead of skipping.

#![allow(
    clippy::unwrap_used,
    clippy::print_stderr,
    reason = "test helpers fail loudly and explain skips"
)]

mod common;

use common::each_backend;

use taskotron_store::Store;
use taskotron_store::resultsdb::{
    DataFilter, GroupUpdate, NewResult, Order, Page, ResultFilter, StoredResult,
};

fn result(testcase: &str, outcome: &str, time: i64, data: &[(&str, &str)]) -> NewResult {
    NewResult {
        testcase: testcase.into(),
        testcase_ref_url: None,
        outcome: outcome.into(),
        note: None,
        ref_url: None,
        submit_time: time,
        groups: Vec::new(),
        data: data
            .iter()
            .map(|(k, v)| ((*k).into(), (*v).into()))
            .collect(),
    }
}

async fn add(store: &Store, new: NewResult) -> i64 {
    store.create_result(&new, |_| None).await.unwrap().id
}

fn ids(results: &[StoredResult]) -> Vec<i64> {
    results.iter().map(|it| it.id).collect()
}

const PAGE: Page = Page { page: 0, limit: 20 };

#[tokio::test]
async fn a_result_round_trips_with_data_groups_and_testcase() {
    each_backend(|store| async move {
        let mut new = result(
            "dist.rpmlint",
            "PASSED",
            1_000_000,
            &[
                ("item", "foo-1.0-1.fc40"),
                ("arch", "x86_64"),
                ("arch", "noarch"),
            ],
        );
        new.note = Some("0 errors".into());
        new.ref_url = Some("https://log".into());
        new.testcase_ref_url = Some(Some("https://wiki".into()));
        new.groups = vec![
            GroupUpdate {
                uuid: "g1".into(),
                description: Some(Some("job one".into())),
                ref_url: None,
            },
            GroupUpdate {
                uuid: "g2".into(),
                description: None,
                ref_url: None,
            },
        ];
        let stored = store.create_result(&new, |_| None).await.unwrap();
        let got = store.get_result(stored.id).await.unwrap().unwrap();
        assert_eq!(got.testcase.name, "dist.rpmlint");
        assert_eq!(got.testcase.ref_url.as_deref(), Some("https://wiki"));
        assert_eq!(got.note.as_deref(), Some("0 errors"));
        assert_eq!(got.submit_time, 1_000_000);
        let mut arch = got.data["arch"].clone();
        arch.sort();
        assert_eq!(arch, ["noarch", "x86_64"]);
        let mut groups = got.groups.clone();
        groups.sort();
        assert_eq!(groups, ["g1", "g2"]);
        assert_eq!(store.get_result(stored.id + 1000).await.unwrap(), None);
        let group = store.get_group("g1").await.unwrap().unwrap();
        assert_eq!(
            (group.description.as_deref(), group.results_count),
            (Some("job one"), 1)
        );
    })
    .await;
}

#[tokio::test]
async fn testcase_ref_url_follows_the_request() {
    each_backend(|store| async move {
        let mut new = result("tc", "PASSED", 1, &[]);
        new.testcase_ref_url = Some(Some("u1".into()));
        add(&store, new.clone()).await;
        new.testcase_ref_url = None;
        add(&store, new.clone()).await;
        assert_eq!(
            store
                .get_testcase("tc")
                .await
                .unwrap()
                .unwrap()
                .ref_url
                .as_deref(),
            Some("u1")
        );
        new.testcase_ref_url = Some(None);
        add(&store, new).await;
        assert_eq!(
            store.get_testcase("tc").await.unwrap().unwrap().ref_url,
            None
        );
        // POST /testcases keeps the old value when given none.
        store
            .upsert_testcase("tc", &Some(Some("u2".into())))
            .await
            .unwrap();
        let kept = store.upsert_testcase("tc", &None).await.unwrap();
        assert_eq!(kept.ref_url.as_deref(), Some("u2"));
    })
    .await;
}

#[tokio::test]
async fn filters_combine_as_resultsdb_does() {
    each_backend(|store| async move {
        let a = add(
            &store,
            result(
                "dist.rpmlint",
                "PASSED",
                10,
                &[("item", "a-1-1"), ("type", "koji_build")],
            ),
        )
        .await;
        let b = add(
            &store,
            result(
                "dist.depcheck",
                "FAILED",
                20,
                &[("item", "a-1-1"), ("type", "koji_build")],
            ),
        )
        .await;
        let c = add(
            &store,
            result(
                "dist.rpmlint",
                "FAILED",
                30,
                &[("item", "b-1-1"), ("type", "koji_build")],
            ),
        )
        .await;
        let d = add(
            &store,
            result(
                "other.check",
                "INFO",
                40,
                &[("item", "pkg_1_1"), ("type", "bodhi_update")],
            ),
        )
        .await;
        let list = |filter: ResultFilter| {
            let store = store.clone();
            async move {
                ids(&store
                    .list_results(&filter, Order::NewestFirst, PAGE)
                    .await
                    .unwrap()
                    .items)
            }
        };
        assert_eq!(list(ResultFilter::default()).await, [d, c, b, a]);
        assert_eq!(
            list(ResultFilter {
                outcomes: vec!["FAILED".into()],
                ..Default::default()
            })
            .await,
            [c, b]
        );
        assert_eq!(
            list(ResultFilter {
                testcases: vec!["dist.rpmlint".into()],
                ..Default::default()
            })
            .await,
            [c, a]
        );
        assert_eq!(
            list(ResultFilter {
                testcases: vec!["other.check".into()],
                testcases_like: vec!["dist.dep%".into()],
                ..Default::default()
            })
            .await,
            [d, b]
        );
        assert_eq!(
            list(ResultFilter {
                since: Some(20),
                until: Some(30),
                ..Default::default()
            })
            .await,
            [c, b]
        );
        let item_a = DataFilter::Exact {
            key: "item".into(),
            values: vec!["a-1-1".into(), "zzz".into()],
        };
        assert_eq!(
            list(ResultFilter {
                data: vec![item_a.clone()],
                ..Default::default()
            })
            .await,
            [b, a]
        );
        let failed_a = ResultFilter {
            data: vec![item_a],
            outcomes: vec!["FAILED".into()],
            ..Default::default()
        };
        assert_eq!(list(failed_a).await, [b]);
        // LIKE wildcards are live, as in ResultsDB: `_` matches `-`.
        let like = DataFilter::Like {
            key: "item".into(),
            patterns: vec!["pkg_1_1".into()],
        };
        assert_eq!(
            list(ResultFilter {
                data: vec![like],
                ..Default::default()
            })
            .await,
            [d]
        );
        let like_case = DataFilter::Like {
            key: "item".into(),
            patterns: vec!["A-%".into()],
        };
        assert!(
            list(ResultFilter {
                data: vec![like_case],
                ..Default::default()
            })
            .await
            .is_empty(),
            "LIKE is case-sensitive"
        );
        let two_keys = vec![
            DataFilter::Exact {
                key: "type".into(),
                values: vec!["koji_build".into()],
            },
            DataFilter::Like {
                key: "item".into(),
                patterns: vec!["b-%".into()],
            },
        ];
        assert_eq!(
            list(ResultFilter {
                data: two_keys,
                ..Default::default()
            })
            .await,
            [c]
        );
        let empty = DataFilter::Exact {
            key: "scenario".into(),
            values: vec![String::new()],
        };
        assert!(
            list(ResultFilter {
                data: vec![empty],
                ..Default::default()
            })
            .await
            .is_empty()
        );
    })
    .await;
}

#[tokio::test]
async fn pages_order_and_groups() {
    each_backend(|store| async move {
        let mut all = Vec::new();
        for n in 0..7 {
            let mut new = result("tc", "PASSED", n, &[]);
            if n % 2 == 0 {
                new.groups = vec![GroupUpdate {
                    uuid: "even".into(),
                    description: None,
                    ref_url: None,
                }];
            }
            all.push(add(&store, new).await);
        }
        let page = |page, limit, order| {
            let store = store.clone();
            async move {
                let got = store
                    .list_results(&ResultFilter::default(), order, Page { page, limit })
                    .await
                    .unwrap();
                (ids(&got.items), got.has_next)
            }
        };
        assert_eq!(
            page(0, 3, Order::NewestFirst).await,
            (vec![all[6], all[5], all[4]], true)
        );
        assert_eq!(page(2, 3, Order::NewestFirst).await, (vec![all[0]], false));
        assert_eq!(
            page(1, 3, Order::OldestFirst).await,
            (vec![all[3], all[4], all[5]], true)
        );
        assert_eq!(page(0, 0, Order::NewestFirst).await, (vec![], true));
        assert_eq!(page(5, 3, Order::NewestFirst).await, (vec![], false));
        let even = ResultFilter {
            groups: vec!["even".into(), "missing".into()],
            ..Default::default()
        };
        let got = store
            .list_results(&even, Order::NewestFirst, PAGE)
            .await
            .unwrap();
        assert_eq!(ids(&got.items), [all[6], all[4], all[2], all[0]]);
        assert_eq!(
            store
                .get_group("even")
                .await
                .unwrap()
                .unwrap()
                .results_count,
            4
        );
    })
    .await;
}

#[tokio::test]
async fn latest_matches_the_specs_worked_example() {
    each_backend(|store| async move {
        let x = |extra: &[(&'static str, &'static str)]| {
            let mut data = vec![("item", "X"), ("type", "koji_build")];
            data.extend_from_slice(extra);
            data
        };
        let r3 = add(
            &store,
            result("tc1", "PASSED", 1, &x(&[("scenario", "s1")])),
        )
        .await;
        let r4 = add(
            &store,
            result("tc1", "FAILED", 2, &x(&[("scenario", "s2")])),
        )
        .await;
        let r5 = add(&store, result("tc1", "INFO", 3, &x(&[]))).await;
        let r6 = add(&store, result("tc2", "PASSED", 4, &x(&[]))).await;
        let r7 = add(&store, result("tc2", "FAILED", 4, &x(&[]))).await;
        add(&store, result("tc1", "PASSED", 9, &[("item", "Y")])).await;
        let item_x = ResultFilter {
            data: vec![DataFilter::Exact {
                key: "item".into(),
                values: vec!["X".into()],
            }],
            ..Default::default()
        };
        let latest = store.latest_results(&item_x, &[]).await.unwrap();
        assert_eq!(ids(&latest), [r7, r6, r5], "ties return every tied result");
        let distinct = store
            .latest_results(&item_x, &["scenario".into()])
            .await
            .unwrap();
        assert_eq!(ids(&distinct), [r7, r5, r4, r3]);
        // Outcome filters are ignored by latest.
        let with_outcome = ResultFilter {
            outcomes: vec!["PASSED".into()],
            ..item_x.clone()
        };
        assert_eq!(
            ids(&store.latest_results(&with_outcome, &[]).await.unwrap()),
            [r7, r6, r5]
        );
        // Greenwave's query: testcases plus three distinct keys.
        let greenwave = ResultFilter {
            testcases: vec!["tc1".into()],
            ..item_x
        };
        let keys = [
            "scenario".into(),
            "system_architecture".into(),
            "system_variant".into(),
        ];
        assert_eq!(
            ids(&store.latest_results(&greenwave, &keys).await.unwrap()),
            [r5, r4, r3]
        );
    })
    .await;
}

#[tokio::test]
async fn a_multi_valued_distinct_key_puts_a_result_under_each_value() {
    each_backend(|store| async move {
        let both = add(
            &store,
            result(
                "tc",
                "PASSED",
                5,
                &[("item", "Z"), ("arch", "x86_64"), ("arch", "i686")],
            ),
        )
        .await;
        let older = add(
            &store,
            result("tc", "FAILED", 1, &[("item", "Z"), ("arch", "x86_64")]),
        )
        .await;
        let filter = ResultFilter {
            data: vec![DataFilter::Exact {
                key: "item".into(),
                values: vec!["Z".into()],
            }],
            ..Default::default()
        };
        let got = store
            .latest_results(&filter, &["arch".into()])
            .await
            .unwrap();
        assert_eq!(ids(&got), [both, both]);
        assert!(!ids(&got).contains(&older));
    })
    .await;
}

#[tokio::test]
async fn groups_and_testcases_upsert_and_list() {
    each_backend(|store| async move {
        store
            .upsert_group(&GroupUpdate {
                uuid: "a".into(),
                description: Some(Some("first".into())),
                ref_url: None,
            })
            .await
            .unwrap();
        store
            .upsert_group(&GroupUpdate {
                uuid: "b".into(),
                description: Some(Some("second".into())),
                ref_url: Some(Some("u".into())),
            })
            .await
            .unwrap();
        let updated = store
            .upsert_group(&GroupUpdate {
                uuid: "a".into(),
                description: None,
                ref_url: Some(Some("r".into())),
            })
            .await
            .unwrap();
        assert_eq!(
            (updated.description.as_deref(), updated.ref_url.as_deref()),
            (Some("first"), Some("r"))
        );
        let groups = store.list_groups(&[], &[], &[], PAGE).await.unwrap();
        assert_eq!(
            groups
                .items
                .iter()
                .map(|g| g.uuid.as_str())
                .collect::<Vec<_>>(),
            ["b", "a"]
        );
        let like = store
            .list_groups(&[], &[], &["sec%".into()], PAGE)
            .await
            .unwrap();
        assert_eq!(like.items.len(), 1);
        let exact_wins = store
            .list_groups(&[], &["first".into()], &["sec%".into()], PAGE)
            .await
            .unwrap();
        assert_eq!(exact_wins.items[0].uuid, "a");

        for name in [
            "b.two",
            "a.one",
            "fedora-ci.koji-build./plans/basic.functional",
        ] {
            store.upsert_testcase(name, &None).await.unwrap();
        }
        let names = |page: taskotron_store::resultsdb::Paged<
            taskotron_store::resultsdb::Testcase,
        >| { page.items.into_iter().map(|t| t.name).collect::<Vec<_>>() };
        assert_eq!(
            names(store.list_testcases(&[], &[], PAGE).await.unwrap()),
            [
                "a.one",
                "b.two",
                "fedora-ci.koji-build./plans/basic.functional"
            ]
        );
        assert_eq!(
            names(
                store
                    .list_testcases(&[], &["fedora-ci%".into()], PAGE)
                    .await
                    .unwrap()
            )
            .len(),
            1
        );
        let paged = store
            .list_testcases(&[], &[], Page { page: 0, limit: 2 })
            .await
            .unwrap();
        assert!(paged.has_next);
        assert!(
            store
                .get_testcase("fedora-ci.koji-build./plans/basic.functional")
                .await
                .unwrap()
                .is_some()
        );
    })
    .await;
}

#[tokio::test]
async fn the_outbox_commits_with_the_result_and_drains() {
    each_backend(|store| async move {
        let stored = store
            .create_result(&result("tc", "PASSED", 1, &[]), |it| {
                Some(format!("{{\"id\":{}}}", it.id))
            })
            .await
            .unwrap();
        add(&store, result("tc", "PASSED", 2, &[])).await;
        let pending = store.outbox_pending(10).await.unwrap();
        assert_eq!(pending.len(), 1);
        assert_eq!(pending[0].message, format!("{{\"id\":{}}}", stored.id));
        store.outbox_published(&[pending[0].id]).await.unwrap();
        assert_eq!(store.outbox_len().await.unwrap(), 0);
    })
    .await;
}

#[tokio::test]
async fn groups_read_back_in_the_order_they_were_posted() {
    each_backend(|store| async move {
        let group = |uuid: &str| GroupUpdate {
            uuid: uuid.into(),
            description: None,
            ref_url: None,
        };
        // Groups made in one order, posted in others.
        let mut first = result("tc", "PASSED", 1, &[]);
        first.groups = vec![group("g-a"), group("g-b"), group("g-c")];
        add(&store, first).await;
        let mut orders = Vec::new();
        for order in [["g-c", "g-a", "g-b"], ["g-b", "g-c", "g-a"]] {
            let mut new = result("tc", "PASSED", 2, &[]);
            new.groups = order.iter().map(|it| group(it)).collect();
            let stored = store.create_result(&new, |_| None).await.unwrap();
            assert_eq!(stored.groups, order);
            orders.push((stored.id, order));
        }
        for (id, order) in orders {
            assert_eq!(store.get_result(id).await.unwrap().unwrap().groups, order);
            let listed = store
                .list_results(&ResultFilter::default(), Order::NewestFirst, PAGE)
                .await
                .unwrap();
            let found = listed.items.iter().find(|it| it.id == id).unwrap();
            assert_eq!(found.groups, order);
        }
    })
    .await;
}

#[tokio::test]
async fn one_relay_at_a_time_holds_the_outbox() {
    each_backend(|store| async move {
        let minute = std::time::Duration::from_secs(60);
        assert!(store.outbox_claim("a", minute).await.unwrap());
        // Held: another cannot take it; the holder renews it.
        assert!(!store.outbox_claim("b", minute).await.unwrap());
        assert!(store.outbox_claim("a", minute).await.unwrap());
        assert!(!store.outbox_claim("b", minute).await.unwrap());
        // Releasing someone else's claim does nothing.
        store.outbox_release("b").await.unwrap();
        assert!(!store.outbox_claim("b", minute).await.unwrap());
        // Released: the next taker gets it.
        store.outbox_release("a").await.unwrap();
        assert!(store.outbox_claim("b", minute).await.unwrap());
        assert!(!store.outbox_claim("a", minute).await.unwrap());
        // A claim whose time ran out is free.
        store.outbox_release("b").await.unwrap();
        assert!(
            store
                .outbox_claim("a", std::time::Duration::ZERO)
                .await
                .unwrap()
        );
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        assert!(store.outbox_claim("b", minute).await.unwrap());
        assert!(!store.outbox_claim("a", minute).await.unwrap());
    })
    .await;
}

#[tokio::test]
async fn a_failed_insert_leaves_nothing_behind() {
    each_backend(|store| async move {
        let before = store
            .list_results(&ResultFilter::default(), Order::NewestFirst, PAGE)
            .await
            .unwrap();
        // A data row with a NUL byte fails on PostgreSQL; a duplicate primary
        // key cannot be forced from outside, so use a message builder that
        // makes the transaction roll back through a failing insert instead.
        let mut bad = result("rollback.tc", "PASSED", 1, &[("item", "x")]);
        bad.groups = vec![GroupUpdate {
            uuid: "rollback-group".into(),
            description: None,
            ref_url: None,
        }];
        let failed = store.create_result_failing_for_tests(&bad).await;
        assert!(failed.is_err());
        let after = store
            .list_results(&ResultFilter::default(), Order::NewestFirst, PAGE)
            .await
            .unwrap();
        assert_eq!(before, after);
        assert!(store.get_group("rollback-group").await.unwrap().is_none());
        assert!(store.get_testcase("rollback.tc").await.unwrap().is_none());
        assert_eq!(store.outbox_len().await.unwrap(), 0);
    })
    .await;
}

//! Waivers in the store, on both backends: all-or-none writes, filters
//! ORed across and ANDed within, newest first; package waivers and expiry
//! dates kept; pages in SQL without obsolete waivers; active checks.

mod common;

use common::each_backend;
use std::time::Duration;

use taskotron_store::jobs::{JobKey, NewJob, Requirements};
use taskotron_store::waivers::{NewWaiver, Obsolete, WaiverFilter};

fn waiver(identifier: &str, testcase: &str, user: &str) -> NewWaiver {
    NewWaiver {
        subject_type: "koji_build".to_owned(),
        subject_identifier: identifier.to_owned(),
        testcase: testcase.to_owned(),
        scenario: None,
        product_version: "fedora-44".to_owned(),
        username: user.to_owned(),
        proxied_by: None,
        waived: true,
        comment: "flaky".to_owned(),
        covers_package: false,
        expires_at: None,
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn waivers_are_found_by_their_filters_newest_first() {
    each_backend(|store| async move {
        let created = store
            .create_waivers(&[
                waiver("a-1-1", "dist.rpmlint", "alice"),
                waiver("a-1-1", "dist.depcheck", "bob"),
                waiver("b-1-1", "dist.rpmlint", "alice"),
            ])
            .await
            .expect("written");
        assert_eq!(created.len(), 3);
        assert!(created[0].id < created[1].id && created[1].id < created[2].id);
        let again = store
            .get_waiver(created[1].id)
            .await
            .expect("read")
            .expect("found");
        assert_eq!(again, created[1]);
        assert_eq!(store.get_waiver(999_999).await.expect("read"), None);

        let ids = |found: Vec<taskotron_store::waivers::StoredWaiver>| -> Vec<i64> {
            found.iter().map(|it| it.id).collect()
        };
        let all = store.find_waivers(&[]).await.expect("read");
        assert_eq!(ids(all), [created[2].id, created[1].id, created[0].id]);
        let a = WaiverFilter {
            subject_types: vec!["koji_build".to_owned(), "brew-build".to_owned()],
            subject_identifier: Some("a-1-1".to_owned()),
            ..WaiverFilter::default()
        };
        let alice_b = WaiverFilter {
            subject_identifier: Some("b-1-1".to_owned()),
            username: Some("alice".to_owned()),
            ..WaiverFilter::default()
        };
        let found = store
            .find_waivers(&[a.clone(), alice_b])
            .await
            .expect("read");
        assert_eq!(ids(found), [created[2].id, created[1].id, created[0].id]);
        let only = WaiverFilter {
            testcase: Some("dist.depcheck".to_owned()),
            ..a
        };
        assert_eq!(
            ids(store.find_waivers(&[only]).await.expect("read")),
            [created[1].id]
        );
        let later = WaiverFilter {
            since: Some(created[2].created_at + 1),
            ..WaiverFilter::default()
        };
        assert!(store.find_waivers(&[later]).await.expect("read").is_empty());
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn pages_leave_out_obsolete_waivers_and_keep_scope_and_expiry() {
    each_backend(|store| async move {
        let package = NewWaiver {
            covers_package: true,
            expires_at: Some(4_000_000_000_000_000),
            ..waiver("a", "dist.rpmlint", "alice")
        };
        let mut scenario = waiver("a-1-1", "dist.rpmlint", "alice");
        scenario.scenario = Some("x86_64".to_owned());
        let created = store
            .create_waivers(&[
                waiver("a-1-1", "dist.rpmlint", "alice"),
                waiver("a-1-1", "dist.rpmlint", "bob"),
                package.clone(),
                scenario.clone(),
                // Newer ones for the first key and the scenario's key.
                waiver("a-1-1", "dist.rpmlint", "alice"),
                scenario,
            ])
            .await
            .expect("written");
        let again = store
            .get_waiver(created[2].id)
            .await
            .expect("read")
            .expect("found");
        assert_eq!(again.waiver, package);
        let ids = |page: &taskotron_store::waivers::WaiverPage| -> Vec<i64> {
            page.waivers.iter().map(|it| it.id).collect()
        };
        let all = WaiverFilter::default();
        let page = store
            .page_waivers(&all, Obsolete::ByUserAndProduct, 0, 10)
            .await
            .expect("read");
        assert_eq!(page.total, 4);
        assert_eq!(
            ids(&page),
            [created[5].id, created[4].id, created[2].id, created[1].id]
        );
        let page = store
            .page_waivers(&all, Obsolete::ByUserAndProduct, 1, 2)
            .await
            .expect("read");
        assert_eq!(
            (page.total, ids(&page)),
            (4, vec![created[4].id, created[2].id])
        );
        let page = store
            .page_waivers(&all, Obsolete::Include, 4, 10)
            .await
            .expect("read");
        assert_eq!(
            (page.total, ids(&page)),
            (6, vec![created[1].id, created[0].id])
        );
        let packages = WaiverFilter {
            covers_package: Some(true),
            ..WaiverFilter::default()
        };
        assert_eq!(
            store.find_waivers(&[packages]).await.expect("read").len(),
            1
        );
        // Obsolete is judged against every waiver: filtering by time does
        // not bring back one a newer waiver replaced.
        let early = WaiverFilter {
            until: Some(created[0].created_at),
            username: Some("alice".to_owned()),
            ..WaiverFilter::default()
        };
        let page = store
            .page_waivers(&early, Obsolete::ByUserAndProduct, 0, 10)
            .await
            .expect("read");
        assert!(!ids(&page).contains(&created[0].id));
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn active_checks_are_the_queued_and_running_jobs_of_the_items() {
    each_backend(|store| async move {
        let job = |check: &str, item: &str| NewJob {
            key: JobKey {
                check: check.to_owned(),
                check_revision: "1".to_owned(),
                item_type: "koji_build".to_owned(),
                item: item.to_owned(),
                item_revision: item.to_owned(),
                arch: "x86_64".to_owned(),
                rerun: 0,
            },
            priority: 0,
            delay: Duration::ZERO,
            requires: Requirements::default(),
            max_attempts: 1,
        };
        store
            .enqueue_jobs(&[job("dist.rpmlint", "a-1-1"), job("dist.depcheck", "b-1-1")])
            .await
            .expect("enqueued");
        let found = store
            .active_checks(&["a-1-1".to_owned(), "c-1-1".to_owned()])
            .await
            .expect("read");
        assert_eq!(found.len(), 1);
        assert_eq!(
            (
                found[0].check_name.as_str(),
                found[0].item.as_str(),
                found[0].state.as_str()
            ),
            ("dist.rpmlint", "a-1-1", "queued")
        );
        assert!(store.active_checks(&[]).await.expect("read").is_empty());
    })
    .await;
}

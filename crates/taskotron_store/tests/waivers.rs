//! Waivers in the store, on both backends: all-or-none writes, filters
//! ORed across and ANDed within, newest first.

mod common;

use common::each_backend;
use taskotron_store::waivers::{NewWaiver, WaiverFilter};

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

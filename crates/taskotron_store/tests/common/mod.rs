//! What the store's test files share: each body runs on both backends.

#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::print_stderr,
    reason = "test helpers fail loudly and explain skips"
)]

use std::future::Future;

use taskotron_store::Store;

/// Run `body` once on a fresh SQLite store and once on a fresh PostgreSQL schema.
pub(crate) async fn each_backend<F, Fut>(body: F)
where
    F: Fn(Store) -> Fut,
    Fut: Future<Output = ()>,
{
    let tmp = tempfile::tempdir().unwrap();
    let sqlite = Store::open_sqlite(tmp.path()).await.unwrap();
    body(sqlite).await;
    match std::env::var("TASKOTRON_TEST_DATABASE_URL") {
        Ok(url) => {
            let schema = format!("t_{}", uuid::Uuid::new_v4().simple());
            let pg = Store::open_postgres(&url, Some(&schema)).await.unwrap();
            body(pg.clone()).await;
            pg.drop_schema_for_tests(&schema).await.unwrap();
        }
        Err(_) => {
            assert!(
                std::env::var("TASKOTRON_REQUIRE_SERVICES").is_err(),
                "TASKOTRON_TEST_DATABASE_URL is not set but TASKOTRON_REQUIRE_SERVICES is"
            );
            eprintln!("skipped PostgreSQL: TASKOTRON_TEST_DATABASE_URL is not set");
        }
    }
}

//! docs/worker-protocol.md against the router: every route the document
//! describes answers in the real application, and every route of the worker
//! protocol and the jobs API is described.

mod common;

use std::collections::BTreeSet;

use common::{Api, plain};
use taskotron_store::Store;
use taskotron_web::{AppState, jobs, router};

/// The `### \`METHOD /path\`` headings of the document.
fn documented() -> BTreeSet<(String, String)> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/worker-protocol.md");
    let text = std::fs::read_to_string(path).expect("docs/worker-protocol.md");
    text.lines()
        .filter_map(|line| line.strip_prefix("### `")?.strip_suffix('`'))
        .map(|route| {
            let (method, path) = route.split_once(' ').expect("METHOD /path");
            (method.to_owned(), path.to_owned())
        })
        .collect()
}

#[tokio::test]
async fn the_document_matches_the_routes() {
    let doc = documented();
    let code: BTreeSet<(String, String)> = jobs::route_list()
        .into_iter()
        .map(|(method, path)| (method.to_owned(), path.to_owned()))
        .collect();
    assert!(doc.len() >= 9, "too few routes in the document: {doc:?}");
    let undocumented: Vec<_> = code.difference(&doc).collect();
    let unknown: Vec<_> = doc.difference(&code).collect();
    assert!(
        undocumented.is_empty(),
        "routes missing from docs/worker-protocol.md: {undocumented:?}"
    );
    assert!(
        unknown.is_empty(),
        "documented routes the server lacks: {unknown:?}"
    );

    // Each documented route is answered by the real router with its
    // method: never axum's bare 404 for an unmatched path, nor a 405.
    let tmp = tempfile::tempdir().expect("tempdir");
    let store = Store::open_sqlite(tmp.path()).await.expect("store");
    let api = Api {
        app: router(AppState::with_settings(store.clone(), plain())),
        store,
    };
    for (method, path) in &doc {
        let uri = path.replace("{uuid}", &uuid::Uuid::new_v4().to_string());
        let answer = api.send(method, &uri, &[], "").await;
        assert_ne!(answer.status, 405, "{method} {path}: {}", answer.text);
        assert!(
            !(answer.status == 404 && answer.text.is_empty()),
            "{method} {path} is not routed"
        );
    }
}

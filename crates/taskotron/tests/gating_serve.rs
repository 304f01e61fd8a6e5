//! The Greenwave and WaiverDB suite (`taskotron_web/tests/gating_suite/`)
//! against a real `taskotron serve`: the binary on a loopback port, with
//! its own data directory, configured by a file as an operator would
//! (policies directory, tokens file, waiver superusers and permissions);
//! on SQLite, then on its own PostgreSQL schema when PostgreSQL is given.

#![allow(
    clippy::unwrap_used,
    reason = "test helpers outside #[test] functions fail loudly"
)]

mod common;
#[path = "../../taskotron_web/tests/gating_suite/mod.rs"]
mod gating_suite;

use std::path::Path;
use std::time::{Duration, Instant};

use gating_suite::{Http, OUTCOMES, PERMISSION, POLICIES, Reply, SUPERUSERS, TOKENS};

/// A spawned server, as the suite sees it.
struct Served {
    base: String,
    client: reqwest::Client,
}

impl Http for Served {
    async fn send(&self, method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> Reply {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut request = self
            .client
            .request(method, format!("{}{path}", self.base))
            .body(body.to_owned());
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .map(|(name, value)| {
                (
                    name.as_str().to_owned(),
                    value.to_str().unwrap_or_default().to_owned(),
                )
            })
            .collect();
        Reply {
            status,
            headers,
            text: response.text().await.unwrap(),
        }
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn quoted(list: &[&str]) -> String {
    let items: Vec<String> = list.iter().map(|it| format!("{it:?}")).collect();
    format!("[{}]", items.join(", "))
}

/// The configuration that sets a server up as the suite expects.
fn write_config(dir: &Path, port: u16, database: Option<(&str, &str)>) {
    std::fs::create_dir_all(dir.join("policies")).unwrap();
    std::fs::write(dir.join("policies/suite.yaml"), POLICIES).unwrap();
    let tokens: String = TOKENS
        .iter()
        .map(|(name, token)| format!("{name}:{token}\n"))
        .collect();
    std::fs::write(dir.join("tokens"), tokens).unwrap();
    let mut config = format!(
        "[server]\nlisten = \"127.0.0.1:{port}\"\ndata-dir = \"data\"\n\
         [api]\ntokens-file = \"tokens\"\nadditional-outcomes = {outcomes}\n\
         [gating]\npolicies-dir = \"policies\"\n\
         # Nothing answers here: rules that need Koji cannot be checked.\n\
         [koji]\nhub-url = \"http://127.0.0.1:9/kojihub\"\n\
         [waivers]\nsuperusers = {superusers}\n\
         [[waivers.permissions]]\ntestcases = {testcases}\ntestcases-ignore = {ignore}\nusers = {users}\n",
        outcomes = quoted(&OUTCOMES),
        superusers = quoted(&SUPERUSERS),
        testcases = quoted(PERMISSION.0),
        ignore = quoted(PERMISSION.1),
        users = quoted(PERMISSION.2),
    );
    if let Some((url, schema)) = database {
        config.push_str(&format!("[database]\nurl = {url:?}\nschema = {schema:?}\n"));
    }
    std::fs::write(dir.join("taskotron.toml"), config).unwrap();
}

/// Start `taskotron serve` in `dir`, run the whole suite against it, stop it.
async fn suite_against_serve(dir: &Path, database: Option<(&str, &str)>) {
    let port = free_port();
    write_config(dir, port, database);
    let mut child = common::taskotron(dir)
        .arg("serve")
        .env("TASKOTRON_CONFIG", "taskotron.toml")
        .env_remove("TASKOTRON_DATABASE_URL")
        .env_remove("TASKOTRON_AMQP_URL")
        .stderr(std::fs::File::create(dir.join("serve.log")).unwrap())
        .spawn()
        .unwrap();
    let served = Served {
        base: format!("http://127.0.0.1:{port}"),
        client: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap(),
    };
    let started = Instant::now();
    loop {
        if let Ok(answer) = served
            .client
            .get(format!("{}/healthz", served.base))
            .send()
            .await
            && answer.status().is_success()
        {
            break;
        }
        let log = std::fs::read_to_string(dir.join("serve.log")).unwrap_or_default();
        assert!(
            child.try_wait().unwrap().is_none(),
            "taskotron serve stopped:\n{log}"
        );
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "taskotron serve never answered:\n{log}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    gating_suite::all(&served).await;
    let pid = nix::unistd::Pid::from_raw(i32::try_from(child.id()).unwrap());
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).unwrap();
    let status = child.wait().unwrap();
    let log = std::fs::read_to_string(dir.join("serve.log")).unwrap_or_default();
    assert_eq!(status.code(), Some(0), "{log}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_gating_suite_against_taskotron_serve() {
    let tmp = tempfile::tempdir().unwrap();
    suite_against_serve(&tmp.path().join("sqlite"), None).await;
    assert!(tmp.path().join("sqlite/data/taskotron.db").is_file());

    match std::env::var("TASKOTRON_TEST_DATABASE_URL") {
        Ok(url) if !url.is_empty() => {
            let schema = format!("t_{}", uuid::Uuid::new_v4().simple());
            suite_against_serve(&tmp.path().join("postgres"), Some((&url, &schema))).await;
            let store = taskotron_store::Store::open_postgres(&url, Some(&schema))
                .await
                .unwrap();
            store.drop_schema_for_tests(&schema).await.unwrap();
        }
        _ => {
            assert_ne!(
                std::env::var("TASKOTRON_REQUIRE_SERVICES").as_deref(),
                Ok("1"),
                "TASKOTRON_TEST_DATABASE_URL is not set but TASKOTRON_REQUIRE_SERVICES=1"
            );
            eprintln!("skipped PostgreSQL: TASKOTRON_TEST_DATABASE_URL is not set");
        }
    }
}

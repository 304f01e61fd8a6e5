//! Loads every file in `tests/fixtures/`: `good*` and `minimal*` must load, every
//! `bad-*.toml` must fail with the message fragments listed in [`BAD`]. A fixture
//! missing from the tables below fails the test, so none goes unchecked.

use std::fs;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use taskotron_config::{
    AmqpConfig, ApiConfig, BodhiConfig, Config, ConfigError, DatabaseConfig, DistgitConfig,
    GatingConfig, KojiConfig, ReposConfig, ResultsdbConfig, RunnerConfig, SandboxKind,
    SchedulerConfig, ServerConfig, TagRepoConfig, WaiversConfig,
};

/// Each bad fixture with the fragments its error message must contain (besides
/// the file's path, which every message must contain).
const BAD: &[(&str, &[&str])] = &[
    (
        "bad-unknown-key.toml",
        &[
            "line 6, column 1",
            "key `runner.task-timout`",
            "unknown field `task-timout`",
            "expected one of",
        ],
    ),
    (
        "bad-type.toml",
        &[
            "line 2, column 10",
            "key `server.listen`",
            "invalid type: integer `8080`",
        ],
    ),
    (
        "bad-duration.toml",
        &[
            "line 3, column 16",
            "`runner.task-timeout`",
            "invalid duration \"soon\"",
        ],
    ),
    (
        "bad-url.toml",
        &[
            "line 2, column 1",
            "key `resultsdb.url`",
            "http://",
            "\"ftp://x\"",
        ],
    ),
    (
        "bad-unknown-table.toml",
        &["line 4", "unknown field `resultdb`", "`resultsdb`"],
    ),
    (
        "bad-sandbox.toml",
        &[
            "line 2, column 11",
            "key `runner.sandbox`",
            "unknown variant `docker`",
        ],
    ),
];

fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn expected_good() -> Config {
    Config {
        server: ServerConfig {
            listen: SocketAddr::from(([0, 0, 0, 0], 8443)),
            data_dir: "/srv/taskotron".into(),
        },
        runner: RunnerConfig {
            sandbox: SandboxKind::None,
            bwrap: "/usr/local/bin/bwrap".into(),
            python: "/usr/bin/python3.12".into(),
            task_timeout: Duration::from_secs(3 * 3600),
            action_timeout: Duration::from_secs(5400),
            keep_workdir: true,
        },
        resultsdb: ResultsdbConfig {
            url: Some("https://resultsdb.example.org/api/v2.0".into()),
            token_file: Some("/etc/taskotron/resultsdb.token".into()),
            artifacts_base_url: Some("https://taskotron.example.org/artifacts".into()),
        },
        api: ApiConfig {
            public_url: Some("https://taskotron.example.org".into()),
            additional_outcomes: vec!["CRASHED".into()],
            max_body_bytes: 65536,
            tokens_file: Some("/etc/taskotron/api-tokens".into()),
            users_file: Some("/etc/taskotron/api-users".into()),
            worker_tokens_file: None,
        },
        database: DatabaseConfig {
            url: Some("postgres://taskotron@db.example.org/taskotron".into()),
            schema: Some("taskotron".into()),
        },
        amqp: AmqpConfig {
            url: Some("amqps://rabbitmq.example.org/%2f".into()),
            exchange: "amq.direct".into(),
            topic_prefix: "org.fedoraproject.prod".into(),
        },
        koji: KojiConfig {
            hub_url: "https://koji.example.org/kojihub".into(),
            pkgs_url: "https://kojipkgs.example.org".into(),
            cache_dir: Some("/var/cache/taskotron/koji".into()),
            downloads: 2,
        },
        bodhi: BodhiConfig {
            url: "https://bodhi.example.org/".into(),
        },
        distgit: DistgitConfig {
            url: "https://src.example.org".into(),
        },
        repos: ReposConfig {
            release: "https://mirror.example.org/releases/{version}/{arch}/".into(),
            development: "https://mirror.example.org/development/{devel}/{arch}/".into(),
            updates: "https://mirror.example.org/updates/{version}/{arch}/".into(),
            updates_testing: "https://mirror.example.org/updates/testing/{version}/{arch}/".into(),
            tags: [(
                "f44-build-side-1".to_owned(),
                TagRepoConfig {
                    url: "https://kojipkgs.example.org/repos/{tag}/latest/{arch}/".into(),
                    parent: Some("f44-updates".into()),
                },
            )]
            .into(),
        },
        gating: GatingConfig {
            policies_dir: Some("/etc/taskotron/policies".into()),
            ..GatingConfig::default()
        },
        waivers: WaiversConfig {
            superusers: vec!["bodhi".into()],
            ..WaiversConfig::default()
        },
        scheduler: SchedulerConfig {
            rules: Some("/etc/taskotron/trigger_rules.yml".into()),
            arches: vec!["x86_64".into(), "aarch64".into()],
            tasks_dir: Some("/srv/taskotron/tasks".into()),
            bus: true,
            queue: "taskotron-prod".into(),
            consume_prefix: "org.fedoraproject.stg".into(),
            koji_poll: Duration::from_secs(120),
            bodhi_poll: Duration::ZERO,
            overlap: Duration::from_secs(1800),
            koji_event_overlap: 500,
            lookback: Duration::from_secs(86_400),
            max_attempts: 5,
        },
        ..Config::default()
    }
}

#[test]
fn every_fixture() {
    let mut names: Vec<String> = fs::read_dir(fixtures_dir())
        .unwrap()
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .filter(|name| name.ends_with(".toml"))
        .collect();
    names.sort();
    assert!(names.len() >= BAD.len() + 2, "fixtures missing: {names:?}");

    for name in &names {
        let path = fixtures_dir().join(name);
        let result = Config::load(&path);
        if name.starts_with("good") || name.starts_with("minimal") {
            let config = result.unwrap_or_else(|err| panic!("{name}: {err}"));
            let want = match name.as_str() {
                "good.toml" => expected_good(),
                "minimal.toml" => Config::default(),
                _ => continue,
            };
            assert_eq!(config, want, "{name}");
        } else if name.starts_with("bad-") {
            let fragments = BAD
                .iter()
                .find(|(bad, _)| bad == name)
                .unwrap_or_else(|| panic!("{name}: add it to the BAD table"))
                .1;
            let err = result.expect_err(name);
            assert!(
                matches!(err, ConfigError::Parse { .. } | ConfigError::Invalid { .. }),
                "{name}: {err:?}"
            );
            let message = err.to_string();
            let path = path.display().to_string();
            for fragment in [path.as_str()].iter().chain(fragments) {
                assert!(
                    message.contains(fragment),
                    "{name}: message {message:?} lacks {fragment:?}"
                );
            }
        } else {
            panic!("{name}: fixture names start with good, minimal or bad-");
        }
    }
    for (bad, _) in BAD {
        assert!(
            names.iter().any(|name| name == bad),
            "{bad} is in BAD but not on disk"
        );
    }
}

#[test]
fn good_sets_every_key() {
    // good.toml is the reference for every key: each one differs from the default.
    let good = expected_good();
    let default = Config::default();
    assert_ne!(good.server.listen, default.server.listen);
    assert_ne!(good.server.data_dir, default.server.data_dir);
    assert_ne!(good.runner.sandbox, default.runner.sandbox);
    assert_ne!(good.runner.bwrap, default.runner.bwrap);
    assert_ne!(good.runner.python, default.runner.python);
    assert_ne!(good.runner.task_timeout, default.runner.task_timeout);
    assert_ne!(good.runner.action_timeout, default.runner.action_timeout);
    assert_ne!(good.runner.keep_workdir, default.runner.keep_workdir);
    assert_ne!(good.resultsdb.url, default.resultsdb.url);
    assert_ne!(good.resultsdb.token_file, default.resultsdb.token_file);
    assert_ne!(
        good.resultsdb.artifacts_base_url,
        default.resultsdb.artifacts_base_url
    );
}

#[test]
fn printed_good_config_reads_back() {
    let good = Config::load(&fixtures_dir().join("good.toml")).unwrap();
    let printed = good.to_toml_string().unwrap();
    assert!(printed.contains("action-timeout = \"1h 30m\""), "{printed}");
    assert_eq!(Config::from_toml_str(&printed, "printed").unwrap(), good);
}

#[test]
fn missing_file_names_the_path() {
    let path = fixtures_dir().join("no-such-file.toml");
    let err = Config::load(&path).unwrap_err();
    assert!(matches!(err, ConfigError::Read { .. }), "{err:?}");
    assert!(
        err.to_string().contains(&path.display().to_string()),
        "{err}"
    );
}

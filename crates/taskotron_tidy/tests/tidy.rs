//! Tidy: the house rules, enforced by `cargo test` (house style §9).
//!
//! Every `workspace_*` test runs one check on the whole workspace, collects every
//! violation and fails once with the complete list (crate, dependency or
//! `file:line`). The scanners are plain functions over text or parsed metadata,
//! and each has a `selftest_*` test that feeds it bad input, so none of the checks
//! is one that cannot fail.
//!
//! Process spawning goes through [`command`], the one place this file calls
//! `Command::new`.

use std::collections::BTreeSet;
use std::ffi::OsStr;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use serde_json::Value;

// ---------------------------------------------------------------------------
// The rules, as data.
// ---------------------------------------------------------------------------

/// L0 and L1 crates: domain logic, no IO. Crates not in the workspace yet are
/// listed so that they are checked as soon as they appear.
const DOMAIN_CRATES: &[&str] = &[
    "taskotron_types",
    "taskotron_task_format",
    "taskotron_triggers",
    "taskotron_gating",
    "taskotron_rpm",
];

/// IO crates a domain crate must not reach, even transitively.
const IO_CRATES: &[&str] = &["tokio", "sqlx", "axum", "reqwest", "lapin", "hyper"];

/// "`cargo tree -p X -e normal -i Y` prints nothing" for every X in `from` and Y
/// in `forbidden`.
#[derive(Debug)]
struct TreeRule {
    from: &'static [&'static str],
    forbidden: &'static [&'static str],
    why: &'static str,
}

const TREE_RULES: &[TreeRule] = &[
    TreeRule {
        from: DOMAIN_CRATES,
        forbidden: IO_CRATES,
        why: "domain crates do no IO",
    },
    TreeRule {
        from: &["taskotron_web"],
        forbidden: &["taskotron_runner"],
        why: "the server never executes tasks",
    },
    TreeRule {
        from: &["taskotron_worker"],
        forbidden: &["sqlx", "axum", "taskotron_store"],
        why: "workers speak the protocol and never touch the database",
    },
];

/// "Only `allowed` crates list one of `deps` as a direct, non-dev dependency."
/// Direct, because `taskotron_web` reaches sqlx through `taskotron_store`, and
/// that is fine.
#[derive(Debug)]
struct DirectRule {
    deps: &'static [&'static str],
    allowed: &'static [&'static str],
    why: &'static str,
}

const DIRECT_RULES: &[DirectRule] = &[
    DirectRule {
        deps: &[
            "sqlx",
            "sqlx-core",
            "sqlx-sqlite",
            "sqlx-postgres",
            "sqlx-mysql",
            "sqlx-macros",
            "rusqlite",
            "postgres",
            "tokio-postgres",
            "diesel",
        ],
        allowed: &["taskotron_store", "taskotron_queue"],
        why: "only the store and the queue talk to a database",
    },
    DirectRule {
        deps: &["lapin", "amqprs", "amiquip"],
        allowed: &["taskotron_bus"],
        why: "only the bus speaks AMQP",
    },
];

/// The binary crate. Libraries never depend on it (nor on any other crate
/// without a library target).
const BINARY_CRATE: &str = "taskotron";

/// Crates that may appear only in `[dev-dependencies]`.
const DEV_ONLY_CRATES: &[&str] = &["taskotron_test_support"];

/// Crates whose sources may contain SQL.
const SQL_CRATES: &[&str] = &["taskotron_store", "taskotron_queue"];

/// The one file outside this crate's tests that may call `Command::new`.
const PROCESS_RS: &str = "crates/taskotron_runner/src/process.rs";

/// This file: it spells out the forbidden things in its self-tests.
const TIDY_RS: &str = "crates/taskotron_tidy/tests/tidy.rs";
const TIDY_TESTS_DIR: &str = "crates/taskotron_tidy/tests/";

/// String literals that start with one of these (case-sensitive) are SQL.
const SQL_KEYWORDS: &[&str] = &[
    "SELECT",
    "INSERT INTO",
    "UPDATE",
    "DELETE FROM",
    "CREATE TABLE",
    "CREATE INDEX",
    "CREATE UNIQUE INDEX",
    "ALTER TABLE",
    "DROP TABLE",
];

/// Text files checked for trailing whitespace, by extension.
const WHITESPACE_EXTENSIONS: &[&str] = &["rs", "md", "toml", "yml", "yaml"];

/// Fenced-code info strings that mark shell commands in Markdown.
const SHELL_FENCES: &[&str] = &[
    "sh",
    "bash",
    "shell",
    "console",
    "zsh",
    "shell-session",
    "sh-session",
    "shellsession",
];

/// What the README's first two shell blocks must contain: how to run it, how to
/// test it.
const README_COMMANDS: [&str; 2] = ["cargo run --release -- serve", "scripts/test"];

// ---------------------------------------------------------------------------
// The workspace checks.
// ---------------------------------------------------------------------------

#[test]
fn workspace_dependency_tree_rules() {
    let ws = workspace();
    let members = ws.members();
    let (jobs, skipped) = tree_jobs(&members);
    if !skipped.is_empty() {
        eprintln!("tree rules skipped, crate not in the workspace yet: {skipped:?}");
    }
    assert!(
        !jobs.is_empty(),
        "no dependency tree rule applies: is the workspace empty?"
    );

    let members = &members;
    let results: Vec<_> = std::thread::scope(|scope| {
        let handles: Vec<_> = jobs
            .iter()
            .map(|job| scope.spawn(move || tree_edge(&ws.root, members, job.from, job.to)))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("cargo tree thread panicked"))
            .collect()
    });

    let mut violations = Vec::new();
    for (job, result) in jobs.iter().zip(results) {
        match result {
            Ok(None) => {}
            Ok(Some(tree)) => violations.push(format!(
                "{} reaches {} through normal dependencies ({}); `cargo tree -p {} -e normal -i {}` prints:\n{}",
                job.from,
                job.to,
                job.why,
                job.from,
                job.to,
                indent(&tree)
            )),
            Err(err) => violations.push(format!("{} -> {}: {err}", job.from, job.to)),
        }
    }
    assert_clean("forbidden dependency edges", &violations);
}

#[test]
fn workspace_direct_dependency_rules() {
    let ws = workspace();
    assert_clean(
        "forbidden direct dependencies",
        &direct_dep_violations(&ws.packages),
    );
}

#[test]
fn workspace_crate_roots_start_with_doc_comment() {
    let ws = workspace();
    let mut violations = Vec::new();
    let mut checked = 0;
    for package in &ws.packages {
        for target in package.targets.iter().filter(|t| t.is_crate_root()) {
            checked += 1;
            let rel = ws.rel(&target.src_path);
            match std::fs::read_to_string(&target.src_path) {
                Ok(text) => {
                    if let Some(problem) = crate_doc_problem(&text) {
                        violations.push(format!("{rel}:1: {problem}"));
                    }
                }
                Err(err) => violations.push(format!("{rel}: cannot read: {err}")),
            }
        }
    }
    assert!(
        checked > 0,
        "no lib or bin target found in the workspace metadata"
    );
    assert_clean("crate roots without a `//!` doc comment", &violations);
}

#[test]
fn workspace_has_no_should_panic_or_ignore() {
    let ws = workspace();
    let files = ws.rust_files(&["src", "tests"]);
    let violations = scan_files(ws, &files, |rel| rel != TIDY_RS, test_attr_findings);
    assert_clean(
        "#[should_panic] / #[ignore] (house style: tests neither panic on purpose nor get skipped)",
        &violations,
    );
}

#[test]
fn workspace_spawns_processes_only_in_runner() {
    let ws = workspace();
    let files = ws.rust_files(&["src", "tests"]);
    let violations = scan_files(
        ws,
        &files,
        |rel| rel != PROCESS_RS && !rel.starts_with(TIDY_TESTS_DIR),
        command_new_findings,
    );
    assert_clean(
        &format!("`Command::new` outside {PROCESS_RS} (go through taskotron_runner::process)"),
        &violations,
    );
}

#[test]
fn workspace_has_sql_only_in_store() {
    let ws = workspace();
    let files: Vec<PathBuf> = ws
        .packages
        .iter()
        .filter(|p| !SQL_CRATES.contains(&p.name.as_str()))
        .flat_map(|p| rust_files_under(&p.dir.join("src")))
        .collect();
    let violations = scan_files(ws, &files, |_| true, sql_findings);
    assert_clean(&format!("SQL outside {SQL_CRATES:?}"), &violations);
}

#[test]
fn workspace_has_no_trailing_whitespace() {
    let ws = workspace();
    let (files, git_problem) = text_files(&ws.root);
    if let Some(problem) = git_problem {
        eprintln!("{problem}");
    }
    let files: Vec<PathBuf> = files
        .into_iter()
        .filter(|path| {
            path.extension()
                .and_then(OsStr::to_str)
                .is_some_and(|ext| WHITESPACE_EXTENSIONS.contains(&ext))
        })
        .collect();
    assert!(
        !files.is_empty(),
        "no text file found under {}",
        ws.root.display()
    );
    let violations = scan_files(ws, &files, |_| true, trailing_whitespace_findings);
    assert_clean("trailing whitespace", &violations);
}

#[test]
fn workspace_readme_shows_run_and_test_commands() {
    let root = workspace_root();
    let read = |name: &str| std::fs::read_to_string(root.join(name)).ok();
    let mut violations = readme_problems(read("README.md").as_deref(), read(".ci/run").as_deref());
    if !root.join("scripts/test").is_file() {
        violations
            .push("scripts/test does not exist, yet README.md and .ci/run call it".to_owned());
    }
    assert_clean("README.md / .ci/run", &violations);
}

// ---------------------------------------------------------------------------
// Self-tests: every scanner fails on bad input.
// ---------------------------------------------------------------------------

#[test]
fn selftest_tree_output_classification() {
    #[track_caller]
    fn check(success: bool, stdout: &str, stderr: &str, expect: &str) {
        let actual = match classify_tree_output("tokio", success, stdout, stderr) {
            Ok(TreeVerdict::NoEdge) => "no edge".to_owned(),
            Ok(TreeVerdict::Edge(_)) => "edge".to_owned(),
            Ok(TreeVerdict::Ambiguous(specs)) => format!("ambiguous {specs:?}"),
            Err(err) => format!("error: {}", err.lines().next().unwrap_or_default()),
        };
        assert_eq!(actual, expect, "stdout={stdout:?} stderr={stderr:?}");
    }

    let tree =
        "tokio v1.54.1\n├── axum v0.8.9\n│   └── taskotron_web v0.1.0 (/w/crates/taskotron_web)\n";
    check(true, tree, "", "edge");
    check(true, "tokio v1.54.1\n|-- axum v0.8.9\n", "", "edge");
    // Reachable only through dev-dependencies: exit 0, nothing printed.
    check(
        true,
        "",
        "warning: nothing to print.\n\nTo find dependencies ...\n",
        "no edge",
    );
    // Not in the graph at all: exit 101, which is not a violation.
    check(
        false,
        "",
        "error: package ID specification `tokio` did not match any packages\n",
        "no edge",
    );
    // Another package missing is a real error, not a pass.
    check(
        false,
        "",
        "error: package ID specification `tokio-util` did not match any packages\n",
        "error: `cargo tree` failed:",
    );
    check(
        false,
        "",
        "error: the lock file /w/Cargo.lock needs to be updated but --locked was passed\n",
        "error: `cargo tree` failed:",
    );
    check(
        true,
        "something else v1.0.0\n",
        "",
        "error: `cargo tree` printed lines that do not name tokio:",
    );
    check(
        false,
        "",
        "error: specification `tokio` is ambiguous\nhelp: re-run this command with one of the following specifications\n  tokio@0.2.25\n  tokio@1.54.1\n",
        r#"ambiguous ["tokio@0.2.25", "tokio@1.54.1"]"#,
    );
}

#[test]
fn selftest_tree_edges_in_scratch_workspace() {
    // A real workspace, path dependencies only: app -> mid -> deep (normal),
    // app -> dev_only ([dev-dependencies]).
    let root =
        Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("tidy-scratch-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    let package = |name: &str, deps: &str, dev_deps: &str| {
        let dir = root.join(name);
        std::fs::create_dir_all(dir.join("src")).unwrap();
        std::fs::write(dir.join("src/lib.rs"), "").unwrap();
        std::fs::write(
            dir.join("Cargo.toml"),
            format!(
                "[package]\nname = \"{name}\"\nversion = \"0.1.0\"\nedition = \"2024\"\npublish = false\n\n\
                 [dependencies]\n{deps}\n[dev-dependencies]\n{dev_deps}\n"
            ),
        )
        .unwrap();
    };
    std::fs::create_dir_all(&root).unwrap();
    std::fs::write(
        root.join("Cargo.toml"),
        "[workspace]\nresolver = \"3\"\nmembers = [\"app\", \"mid\", \"deep\", \"dev_only\"]\n",
    )
    .unwrap();
    package(
        "app",
        "mid = { path = \"../mid\" }",
        "dev_only = { path = \"../dev_only\" }",
    );
    package("mid", "deep = { path = \"../deep\" }", "");
    package("deep", "", "");
    package("dev_only", "", "");
    let out = run(cargo(&root).args(["generate-lockfile", "--offline"])).unwrap();
    assert!(
        out.status.success(),
        "generate-lockfile: {}",
        String::from_utf8_lossy(&out.stderr)
    );

    let members: BTreeSet<String> = ["app", "mid", "deep", "dev_only"].map(String::from).into();
    let edge = |x: &str, y: &str| tree_edge(&root, &members, x, y);

    let tree = edge("app", "deep")
        .unwrap()
        .expect("the transitive normal edge app -> deep is found");
    assert!(
        tree.lines().next().unwrap().starts_with("deep v0.1.0"),
        "{tree}"
    );
    assert!(tree.contains("app v0.1.0"), "{tree}");
    assert_eq!(
        edge("app", "dev_only").unwrap(),
        None,
        "a dev-only edge is no edge"
    );
    assert_eq!(
        edge("app", "tokio").unwrap(),
        None,
        "a package outside the graph is no edge"
    );
    assert_eq!(edge("deep", "app").unwrap(), None, "edges have a direction");
    let err = edge("no_such_crate", "deep").unwrap_err();
    assert!(err.contains("no_such_crate"), "{err}");

    let _ = std::fs::remove_dir_all(&root);
}

#[test]
fn selftest_tree_jobs_skip_missing_crates() {
    let members: BTreeSet<String> = ["taskotron_types", "taskotron_web", "taskotron_worker"]
        .map(String::from)
        .into();
    let (jobs, skipped) = tree_jobs(&members);
    let jobs: Vec<String> = jobs
        .iter()
        .map(|j| format!("{} -> {}", j.from, j.to))
        .collect();
    assert_eq!(
        jobs,
        [
            "taskotron_types -> tokio",
            "taskotron_types -> sqlx",
            "taskotron_types -> axum",
            "taskotron_types -> reqwest",
            "taskotron_types -> lapin",
            "taskotron_types -> hyper",
            "taskotron_web -> taskotron_runner",
            "taskotron_worker -> sqlx",
            "taskotron_worker -> axum",
            "taskotron_worker -> taskotron_store",
        ]
    );
    assert_eq!(
        skipped,
        [
            "taskotron_task_format",
            "taskotron_triggers",
            "taskotron_gating",
            "taskotron_rpm"
        ]
    );
}

#[test]
fn selftest_direct_dependency_rules() {
    let metadata = serde_json::json!({
        "workspace_root": "/w",
        "packages": [
            fake_package("taskotron_store", &[("sqlx", None)], true),
            fake_package("taskotron_web", &[("taskotron_store", None), ("sqlx", None), ("taskotron_test_support", Some("dev"))], true),
            fake_package("taskotron_gating", &[("sqlx", Some("dev")), ("rusqlite", Some("build"))], true),
            fake_package("taskotron_bus", &[("lapin", None)], true),
            fake_package("taskotron_coordinator", &[("lapin", None), ("taskotron_test_support", None)], true),
            fake_package("taskotron_worker", &[("taskotron", None), ("taskotron_helper_bin", Some("dev"))], true),
            fake_package("taskotron_api_types", &[("taskotron_helper_bin", None)], true),
            fake_package("taskotron_helper_bin", &[], false),
            fake_package("taskotron", &[("taskotron_web", None), ("taskotron_test_support", Some("dev"))], false),
        ],
    });
    let packages = parse_metadata(&metadata.to_string()).unwrap().packages;
    assert_eq!(
        direct_dep_violations(&packages),
        [
            "taskotron_web depends directly on sqlx in [dependencies]: only taskotron_store, taskotron_queue may (only the store and the queue talk to a database)",
            "taskotron_gating depends directly on rusqlite in [build-dependencies]: only taskotron_store, taskotron_queue may (only the store and the queue talk to a database)",
            "taskotron_coordinator depends directly on lapin in [dependencies]: only taskotron_bus may (only the bus speaks AMQP)",
            "taskotron_coordinator has taskotron_test_support in [dependencies]: it belongs in [dev-dependencies] only",
            "taskotron_worker (a library) depends on the binary crate taskotron in [dependencies]: libraries never depend on binaries",
            "taskotron_api_types (a library) depends on the binary crate taskotron_helper_bin in [dependencies]: libraries never depend on binaries",
        ]
    );
}

#[test]
fn selftest_crate_doc() {
    #[track_caller]
    fn check(text: &str, expect: Option<&str>) {
        assert_eq!(crate_doc_problem(text).as_deref(), expect, "{text:?}");
    }
    check("//! Does things.\n\nmod a;\n", None);
    check("\n\n   //! Indented, after blank lines.\n", None);
    check(
        "// Not a doc comment.\n",
        Some("the first line is `// Not a doc comment.`, not a `//!` doc comment"),
    );
    check(
        "/// An item doc.\nfn f() {}\n",
        Some("the first line is `/// An item doc.`, not a `//!` doc comment"),
    );
    check(
        "mod a;\n//! Too late.\n",
        Some("the first line is `mod a;`, not a `//!` doc comment"),
    );
    check(
        "\n  \n",
        Some("the file is empty; it needs a `//!` doc comment"),
    );
}

#[test]
fn selftest_should_panic_and_ignore() {
    check_scanner(
        test_attr_findings,
        r##"
#[test]
#[should_panic]
fn a() {}
#[test]
#[should_panic(expected = "boom")]
fn b() {}
#[test] #[ignore]
fn c() {}
#[test]
# [ ignore = "slow" ]
fn d() {}
#[cfg_attr(miri, ignore)]
fn e() {}
/// ```ignore
/// broken();
/// ```
//! ```rust,should_panic
fn f() {}
// #[ignore] in a plain comment is fine, and so is a string:
const S: &str = "#[should_panic]";
const R: &str = r#"#[ignore]"#;
/// ```no_run
/// ```text
#[ignore_me_not]
fn g() {}
"##,
        &[
            "3: #[should_panic]",
            "6: #[should_panic]",
            "8: #[ignore]",
            "11: #[ignore]",
            "13: #[ignore] through cfg_attr",
            "15: doctest marked `ignore` or `should_panic`",
            "18: doctest marked `ignore` or `should_panic`",
        ],
    );
}

#[test]
fn selftest_command_new() {
    check_scanner(
        command_new_findings,
        r#"
use std::process::Command;
fn a() { let _ = Command::new("ls"); }
fn b() { let _ = std::process::Command::new("ls"); }
fn c() { let _ = tokio::process::Command::new("ls"); }
fn d() -> Vec<Command> { ["ls"].into_iter().map(Command::new).collect() }
fn e() { let _ = Command :: new ("ls"); }
// Command::new("in a comment") is fine,
/* and so is Command::new("in a block comment"), */
const S: &str = "Command::new(\"in a string\")";
fn f() { let _ = SubCommand::new("x"); let _ = clap::Command::new("taskotron"); }
"#,
        &[
            "3: `Command::new`",
            "4: `Command::new`",
            "5: `Command::new`",
            "6: `Command::new`",
            "7: `Command::new`",
        ],
    );
}

#[test]
fn selftest_sql() {
    check_scanner(
        sql_findings,
        r####"
const A: &str = "SELECT id FROM results";
const B: &str = "INSERT INTO jobs (id) VALUES (?)";
fn c() { q("UPDATE jobs SET state = 'done'"); q("DELETE FROM jobs"); }
const D: &str = r#"
    CREATE TABLE results (id INTEGER)
"#;
const E: &str = "\n    SELECT\n";
const F: &[u8] = br"ALTER TABLE x";
const OK1: &str = "select lower case is not checked";
const OK2: &str = "UPDATED the docs";
const OK3: &str = "Please SELECT an item";
const OK4: char = '"'; const OK5: &str = "UPDATE";
// "SELECT in a comment"
fn g<'a>(x: &'a str) -> &'a str { x }
"####,
        &[
            "2: SQL string literal starting with `SELECT`",
            "3: SQL string literal starting with `INSERT INTO`",
            "4: SQL string literal starting with `UPDATE`",
            "4: SQL string literal starting with `DELETE FROM`",
            "6: SQL string literal starting with `CREATE TABLE`",
            "8: SQL string literal starting with `SELECT`",
            "9: SQL string literal starting with `ALTER TABLE`",
        ],
    );
}

#[test]
fn selftest_lexer_keeps_line_numbers() {
    let lexed = lex("a /* x\n y */ b\n\"s\nt\" c\n'\\'' '\"' d // e\n");
    assert_eq!(
        lexed.code,
        ["a     ", "      b", "\" ", " \" c", "'  ' ' ' d     ", ""]
    );
    let strings: Vec<(usize, &str)> = lexed
        .strings
        .iter()
        .map(|(l, s)| (*l, s.as_str()))
        .collect();
    assert_eq!(strings, [(3, "s\nt")]);
}

#[test]
fn selftest_trailing_whitespace() {
    check_scanner(
        trailing_whitespace_findings,
        "clean\nspace \ntab\t\n\nclean again\r\ncrlf then space \r\nlast  ",
        &[
            "2: trailing whitespace",
            "3: trailing whitespace",
            "6: trailing whitespace",
            "7: trailing whitespace",
        ],
    );
}

#[test]
fn selftest_readme() {
    #[track_caller]
    fn check(readme: Option<&str>, ci_run: Option<&str>, expect: &[&str]) {
        assert_eq!(readme_problems(readme, ci_run), expect);
    }
    let good = "# Taskotron\n\n```toml\nx = 1\n```\n\nRun it:\n\n```sh\ncargo run --release -- serve\n```\n\nTest it:\n\n````console\n$ scripts/test\n````\n\n```sh\nmore\n```\n";
    let ci = "#!/usr/bin/env bash\nexec scripts/test\n";
    check(Some(good), Some(ci), &[]);
    check(
        Some(
            &good
                .replace("```toml", "~~~")
                .replace("x = 1\n```", "x = 1\n~~~"),
        ),
        Some(ci),
        &[],
    );

    check(
        None,
        Some(ci),
        &[
            "README.md does not exist: it must show how to run Taskotron (`cargo run --release -- serve`) and how to test it (`scripts/test`) in its first two shell code blocks",
        ],
    );
    check(
        Some(&good.replace("```sh\ncargo", "```\ncargo")),
        Some(ci),
        &[
            "README.md: shell code block 1 (line 15) does not contain `cargo run --release -- serve`",
            "README.md: shell code block 2 (line 19) does not contain `scripts/test`",
        ],
    );
    check(
        Some("# T\n\n```bash\ncargo run --release -- serve\n```\n"),
        Some(ci),
        &[
            "README.md: shell code block 2 is missing; it must contain `scripts/test` (shell blocks are fenced as sh, bash, shell, console, zsh, shell-session, sh-session, shellsession)",
        ],
    );
    check(
        Some(good),
        Some("#!/bin/sh\ncargo test\n"),
        &[".ci/run does not call scripts/test"],
    );
    check(Some(good), None, &[".ci/run does not exist"]);
    // The order matters: first how to run it, then how to test it.
    check(
        Some("```sh\nscripts/test\n```\n\n```sh\ncargo run --release -- serve\n```\n"),
        Some(ci),
        &[
            "README.md: shell code block 1 (line 1) does not contain `cargo run --release -- serve`",
            "README.md: shell code block 2 (line 5) does not contain `scripts/test`",
        ],
    );
    // A fence line inside a block is content, not a new block.
    check(
        Some("````sh\n```sh\nscripts/test\n```\ncargo run --release -- serve\n````\n"),
        Some(ci),
        &[
            "README.md: shell code block 2 is missing; it must contain `scripts/test` (shell blocks are fenced as sh, bash, shell, console, zsh, shell-session, sh-session, shellsession)",
        ],
    );
}

fn fake_package(name: &str, deps: &[(&str, Option<&str>)], lib: bool) -> Value {
    let deps: Vec<Value> = deps
        .iter()
        .map(|(dep, kind)| serde_json::json!({ "name": dep, "kind": kind }))
        .collect();
    let target = if lib {
        serde_json::json!({ "kind": ["lib"], "src_path": format!("/w/crates/{name}/src/lib.rs") })
    } else {
        serde_json::json!({ "kind": ["bin"], "src_path": format!("/w/crates/{name}/src/main.rs") })
    };
    serde_json::json!({
        "name": name,
        "manifest_path": format!("/w/crates/{name}/Cargo.toml"),
        "dependencies": deps,
        "targets": [target],
    })
}

#[track_caller]
fn check_scanner(scan: fn(&str) -> Vec<Finding>, text: &str, expect: &[&str]) {
    let actual: Vec<String> = scan(text)
        .iter()
        .map(|f| format!("{}: {}", f.line, f.what))
        .collect();
    assert_eq!(actual, expect);
}

// ---------------------------------------------------------------------------
// Workspace model, from `cargo metadata --no-deps`.
// ---------------------------------------------------------------------------

#[derive(Debug)]
struct Workspace {
    root: PathBuf,
    packages: Vec<Package>,
}

#[derive(Debug)]
struct Package {
    name: String,
    dir: PathBuf,
    deps: Vec<Dep>,
    targets: Vec<Target>,
}

#[derive(Debug)]
struct Dep {
    /// The package name, even when the dependency is renamed.
    name: String,
    kind: DepKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DepKind {
    Normal,
    Dev,
    Build,
}

impl DepKind {
    fn section(self) -> &'static str {
        match self {
            DepKind::Normal => "[dependencies]",
            DepKind::Dev => "[dev-dependencies]",
            DepKind::Build => "[build-dependencies]",
        }
    }
}

#[derive(Debug)]
struct Target {
    kinds: Vec<String>,
    src_path: PathBuf,
}

impl Target {
    fn is_lib(&self) -> bool {
        self.kinds.iter().any(|k| {
            matches!(
                k.as_str(),
                "lib" | "rlib" | "dylib" | "cdylib" | "staticlib" | "proc-macro"
            )
        })
    }

    fn is_crate_root(&self) -> bool {
        self.is_lib() || self.kinds.iter().any(|k| k == "bin")
    }
}

impl Package {
    fn has_lib(&self) -> bool {
        self.targets.iter().any(Target::is_lib)
    }
}

impl Workspace {
    fn members(&self) -> BTreeSet<String> {
        self.packages.iter().map(|p| p.name.clone()).collect()
    }

    /// `path` relative to the workspace root, with `/` separators.
    fn rel(&self, path: &Path) -> String {
        let rel = path.strip_prefix(&self.root).unwrap_or(path);
        rel.components()
            .map(|c| c.as_os_str().to_string_lossy())
            .collect::<Vec<_>>()
            .join("/")
    }

    /// Every `*.rs` under `<crate>/<subdir>` for each workspace crate.
    fn rust_files(&self, subdirs: &[&str]) -> Vec<PathBuf> {
        let mut files: Vec<PathBuf> = self
            .packages
            .iter()
            .flat_map(|p| subdirs.iter().map(move |sub| p.dir.join(sub)))
            .flat_map(|dir| rust_files_under(&dir))
            .collect();
        files.sort();
        files
    }
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .expect("crates/taskotron_tidy is two levels below the workspace root")
        .to_path_buf()
}

/// The workspace, read once per test process.
fn workspace() -> &'static Workspace {
    static WORKSPACE: OnceLock<Result<Workspace, String>> = OnceLock::new();
    let ws = WORKSPACE.get_or_init(|| {
        let root = workspace_root();
        let out = run(cargo(&root).args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--offline",
        ]))?;
        if !out.status.success() {
            return Err(format!(
                "`cargo metadata` failed:\n{}",
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        let mut ws = parse_metadata(&String::from_utf8_lossy(&out.stdout))?;
        // Compare paths as the tests see them, not as cargo canonicalised them.
        for package in &mut ws.packages {
            if let Ok(rel) = package.dir.strip_prefix(&ws.root) {
                package.dir = root.join(rel);
            }
            for target in &mut package.targets {
                if let Ok(rel) = target.src_path.strip_prefix(&ws.root) {
                    target.src_path = root.join(rel);
                }
            }
        }
        ws.root = root;
        if !ws.packages.iter().any(|p| p.name == env!("CARGO_PKG_NAME")) {
            return Err(format!(
                "`cargo metadata` does not list {}",
                env!("CARGO_PKG_NAME")
            ));
        }
        Ok(ws)
    });
    match ws {
        Ok(ws) => ws,
        Err(err) => panic!("cannot read the workspace: {err}"),
    }
}

fn parse_metadata(json: &str) -> Result<Workspace, String> {
    let value: Value = serde_json::from_str(json)
        .map_err(|e| format!("`cargo metadata` output is not JSON: {e}"))?;
    let str_field = |v: &Value, field: &str| -> Result<String, String> {
        v[field]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| format!("`cargo metadata`: missing string field `{field}` in {v}"))
    };
    let root = PathBuf::from(str_field(&value, "workspace_root")?);
    let mut packages = Vec::new();
    for p in value["packages"]
        .as_array()
        .ok_or("`cargo metadata`: no `packages` array")?
    {
        let manifest = PathBuf::from(str_field(p, "manifest_path")?);
        let mut deps = Vec::new();
        for d in p["dependencies"]
            .as_array()
            .ok_or("`cargo metadata`: no `dependencies` array")?
        {
            let kind = match d["kind"].as_str() {
                None => DepKind::Normal,
                Some("dev") => DepKind::Dev,
                Some("build") => DepKind::Build,
                Some(other) => {
                    return Err(format!(
                        "`cargo metadata`: unknown dependency kind `{other}`"
                    ));
                }
            };
            deps.push(Dep {
                name: str_field(d, "name")?,
                kind,
            });
        }
        let mut targets = Vec::new();
        for t in p["targets"]
            .as_array()
            .ok_or("`cargo metadata`: no `targets` array")?
        {
            let kinds = t["kind"]
                .as_array()
                .ok_or("`cargo metadata`: target without `kind`")?
                .iter()
                .filter_map(|k| k.as_str().map(str::to_owned))
                .collect();
            targets.push(Target {
                kinds,
                src_path: PathBuf::from(str_field(t, "src_path")?),
            });
        }
        packages.push(Package {
            name: str_field(p, "name")?,
            dir: manifest.parent().map(Path::to_path_buf).unwrap_or_default(),
            deps,
            targets,
        });
    }
    Ok(Workspace { root, packages })
}

// ---------------------------------------------------------------------------
// Dependency rules.
// ---------------------------------------------------------------------------

#[derive(Debug)]
struct TreeJob {
    from: &'static str,
    to: &'static str,
    why: &'static str,
}

/// The `cargo tree` checks that apply to `members`, and the rule crates that are
/// not in the workspace (yet).
fn tree_jobs(members: &BTreeSet<String>) -> (Vec<TreeJob>, Vec<&'static str>) {
    let mut jobs = Vec::new();
    let mut skipped = Vec::new();
    for rule in TREE_RULES {
        for &from in rule.from {
            if !members.contains(from) {
                skipped.push(from);
                continue;
            }
            jobs.extend(rule.forbidden.iter().map(|&to| TreeJob {
                from,
                to,
                why: rule.why,
            }));
        }
    }
    (jobs, skipped)
}

#[derive(Debug)]
enum TreeVerdict {
    NoEdge,
    /// The inverted tree `cargo tree` printed.
    Edge(String),
    /// `to` matches several versions: check each of these specs.
    Ambiguous(Vec<String>),
}

/// Whether `from` reaches `to` through normal dependencies: `Some(tree)` when
/// `cargo tree -p from -e normal -i to` prints a line naming `to`.
///
/// `cargo tree` ignores a `-p` that names no package when `-i` is given and then
/// prints the whole workspace's tree, so `from` is checked against `members`
/// first: a missing `from` is an error, unlike a missing `to`.
fn tree_edge(
    root: &Path,
    members: &BTreeSet<String>,
    from: &str,
    to: &str,
) -> Result<Option<String>, String> {
    if !members.contains(from) {
        return Err(format!(
            "`{from}` is not a package of the workspace at {}",
            root.display()
        ));
    }
    let mut specs = vec![to.to_owned()];
    let mut trees = String::new();
    while let Some(spec) = specs.pop() {
        let out = run(cargo(root).args([
            "tree",
            "-p",
            from,
            "-e",
            "normal",
            "-i",
            &spec,
            "--locked",
            "--offline",
            "--color",
            "never",
        ]))?;
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        match classify_tree_output(&spec, out.status.success(), &stdout, &stderr)? {
            TreeVerdict::NoEdge => {}
            TreeVerdict::Edge(tree) => trees.push_str(&tree),
            TreeVerdict::Ambiguous(more) if spec == to => specs.extend(more),
            TreeVerdict::Ambiguous(_) => {
                return Err(format!(
                    "`cargo tree -i {spec}` is still ambiguous:\n{stderr}"
                ));
            }
        }
    }
    Ok((!trees.is_empty()).then_some(trees))
}

/// Reads one `cargo tree -p X -e normal -i <spec>` run. The exit code alone means
/// nothing: 101 when `spec` is not in the graph (no edge), 0 with "nothing to
/// print" when it is reachable only through dev-dependencies (no edge).
fn classify_tree_output(
    spec: &str,
    success: bool,
    stdout: &str,
    stderr: &str,
) -> Result<TreeVerdict, String> {
    let to = spec.split('@').next().unwrap_or(spec);
    if stdout.lines().any(|line| tree_line_names(line, to)) {
        return Ok(TreeVerdict::Edge(stdout.to_owned()));
    }
    if !stdout.trim().is_empty() {
        return Err(format!(
            "`cargo tree` printed lines that do not name {to}:\n{stdout}\n{stderr}"
        ));
    }
    if success || stderr.contains(&format!("`{spec}` did not match any packages")) {
        return Ok(TreeVerdict::NoEdge);
    }
    if stderr.contains("is ambiguous") {
        let specs: Vec<String> = stderr
            .lines()
            .map(str::trim)
            .filter(|line| line.starts_with(&format!("{to}@")))
            .map(str::to_owned)
            .collect();
        if !specs.is_empty() {
            return Ok(TreeVerdict::Ambiguous(specs));
        }
    }
    Err(format!("`cargo tree` failed:\n{stderr}"))
}

/// `├── tokio v1.54.1 (*)` names `tokio`.
fn tree_line_names(line: &str, package: &str) -> bool {
    let line = line.trim_start_matches(|c: char| c.is_whitespace() || "│├└─|`-".contains(c));
    line.split_whitespace().next() == Some(package)
}

fn direct_dep_violations(packages: &[Package]) -> Vec<String> {
    let mut violations = Vec::new();
    let binaries: BTreeSet<&str> = packages
        .iter()
        .filter(|p| !p.has_lib())
        .map(|p| p.name.as_str())
        .chain([BINARY_CRATE])
        .collect();
    for package in packages {
        let name = package.name.as_str();
        for dep in &package.deps {
            let dep_name = dep.name.as_str();
            let section = dep.kind.section();
            if dep.kind != DepKind::Dev {
                for rule in DIRECT_RULES {
                    if rule.deps.contains(&dep_name) && !rule.allowed.contains(&name) {
                        violations.push(format!(
                            "{name} depends directly on {dep_name} in {section}: only {} may ({})",
                            rule.allowed.join(", "),
                            rule.why
                        ));
                    }
                }
                if DEV_ONLY_CRATES.contains(&dep_name) {
                    violations.push(format!(
                        "{name} has {dep_name} in {section}: it belongs in [dev-dependencies] only"
                    ));
                }
                if package.has_lib() && binaries.contains(dep_name) {
                    violations.push(format!(
                        "{name} (a library) depends on the binary crate {dep_name} in {section}: libraries never depend on binaries"
                    ));
                }
            }
        }
    }
    violations
}

// ---------------------------------------------------------------------------
// Text scanners.
// ---------------------------------------------------------------------------

/// One problem on one line (1-based) of a file.
#[derive(Debug)]
struct Finding {
    line: usize,
    what: String,
}

fn finding(line: usize, what: impl Into<String>) -> Finding {
    Finding {
        line,
        what: what.into(),
    }
}

fn crate_doc_problem(text: &str) -> Option<String> {
    match text.lines().map(str::trim).find(|line| !line.is_empty()) {
        None => Some("the file is empty; it needs a `//!` doc comment".to_owned()),
        Some(line) if line.starts_with("//!") => None,
        Some(line) => Some(format!(
            "the first line is `{line}`, not a `//!` doc comment"
        )),
    }
}

fn test_attr_findings(text: &str) -> Vec<Finding> {
    let lexed = lex(text);
    let raw_lines: Vec<&str> = text.lines().collect();
    let mut findings = Vec::new();
    for (i, code) in lexed.code.iter().enumerate() {
        let line = i + 1;
        let compact: String = code.chars().filter(|c| !c.is_whitespace()).collect();
        if compact.contains("#[should_panic]") || compact.contains("#[should_panic(") {
            findings.push(finding(line, "#[should_panic]"));
        }
        if compact.contains("#[ignore]") || compact.contains("#[ignore=") {
            findings.push(finding(line, "#[ignore]"));
        }
        if compact.contains("#[cfg_attr(")
            && [",ignore)", ",ignore=", ",should_panic"]
                .iter()
                .any(|p| compact.contains(p))
        {
            findings.push(finding(line, "#[ignore] through cfg_attr"));
        }
        // Doctests: ```ignore and ```should_panic in doc comments.
        let raw = raw_lines.get(i).map_or("", |l| l.trim_start());
        let doc = raw.strip_prefix("///").or_else(|| raw.strip_prefix("//!"));
        if let Some(info) = doc.and_then(|d| d.trim_start().strip_prefix("```")) {
            let mut words = info.split(|c: char| c == ',' || c.is_whitespace());
            if words.any(|w| w == "ignore" || w == "should_panic") {
                findings.push(finding(line, "doctest marked `ignore` or `should_panic`"));
            }
        }
    }
    findings
}

fn command_new_findings(text: &str) -> Vec<Finding> {
    let mut findings = Vec::new();
    for (i, code) in lex(text).code.iter().enumerate() {
        let compact: String = code.chars().filter(|c| !c.is_whitespace()).collect();
        let spawns = compact.match_indices("Command::new").any(|(at, _)| {
            let before = &compact[..at];
            let part_of_other_name = before.chars().next_back().is_some_and(is_ident_char);
            // clap's builder is also called `Command`.
            let clap = before.ends_with("clap::") || before.ends_with("builder::");
            !part_of_other_name && !clap
        });
        if spawns {
            findings.push(finding(i + 1, "`Command::new`"));
        }
    }
    findings
}

fn sql_findings(text: &str) -> Vec<Finding> {
    let mut findings = Vec::new();
    for (line, content) in &lex(text).strings {
        // Skip leading whitespace, raw or escaped (`\n`, `\t`, `\r`, `\` + newline).
        let mut rest = content.as_str();
        let mut newlines = 0;
        loop {
            if let Some(after) = rest.strip_prefix(['\n']) {
                newlines += 1;
                rest = after;
            } else if let Some(after) = rest.strip_prefix([' ', '\t', '\r']) {
                rest = after;
            } else if let Some(after) = ["\\n", "\\t", "\\r", "\\\n"]
                .iter()
                .find_map(|e| rest.strip_prefix(e))
            {
                if rest.starts_with("\\\n") {
                    newlines += 1;
                }
                rest = after;
            } else {
                break;
            }
        }
        let keyword = SQL_KEYWORDS.iter().find(|kw| {
            rest.strip_prefix(**kw)
                .and_then(|after| after.chars().next())
                .is_some_and(|c| c.is_whitespace() || c == '\\')
        });
        if let Some(keyword) = keyword {
            findings.push(finding(
                line + newlines,
                format!("SQL string literal starting with `{keyword}`"),
            ));
        }
    }
    findings
}

fn trailing_whitespace_findings(text: &str) -> Vec<Finding> {
    text.lines()
        .enumerate()
        .filter(|(_, line)| line.ends_with([' ', '\t']))
        .map(|(i, _)| finding(i + 1, "trailing whitespace"))
        .collect()
}

/// A Rust source file with comments and string literal contents blanked out of
/// the code (line numbers kept), and the string literals on the side.
#[derive(Debug)]
struct Lexed {
    /// One entry per line: the code, comments and string contents as spaces.
    code: Vec<String>,
    /// (line where the literal starts, raw contents) of every string literal.
    strings: Vec<(usize, String)>,
}

fn is_ident_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Just enough of a Rust lexer for the scanners: line and block comments
/// (nested), string, byte and C string literals with escapes, raw strings, and
/// char literals told apart from lifetimes.
fn lex(text: &str) -> Lexed {
    let chars: Vec<char> = text.chars().collect();
    let mut code = String::with_capacity(text.len());
    let mut strings = Vec::new();
    let mut line = 1;
    let mut i = 0;
    // Appends `c` to the code as itself (newlines) or as a space.
    let blank = |code: &mut String, line: &mut usize, c: char| {
        if c == '\n' {
            *line += 1;
            code.push('\n');
        } else {
            code.push(' ');
        }
    };
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if c == '/' && next == Some('/') {
            while i < chars.len() && chars[i] != '\n' {
                code.push(' ');
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            let mut depth = 0;
            while i < chars.len() {
                if chars[i] == '/' && chars.get(i + 1) == Some(&'*') {
                    depth += 1;
                    code.push_str("  ");
                    i += 2;
                } else if chars[i] == '*' && chars.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    code.push_str("  ");
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    blank(&mut code, &mut line, chars[i]);
                    i += 1;
                }
            }
        } else if let Some(hashes) = raw_string_start(&chars, i) {
            // r"..." or r#"..."#: no escapes; ends at `"` plus the same hashes.
            let start_line = line;
            code.push('r');
            code.extend(std::iter::repeat_n('#', hashes));
            code.push('"');
            i += hashes + 2;
            let mut content = String::new();
            while i < chars.len() {
                let closes =
                    chars[i] == '"' && (1..=hashes).all(|h| chars.get(i + h) == Some(&'#'));
                if closes {
                    code.push('"');
                    code.extend(std::iter::repeat_n('#', hashes));
                    i += hashes + 1;
                    break;
                }
                content.push(chars[i]);
                blank(&mut code, &mut line, chars[i]);
                i += 1;
            }
            strings.push((start_line, content));
        } else if c == '"' {
            let start_line = line;
            code.push('"');
            i += 1;
            let mut content = String::new();
            while i < chars.len() && chars[i] != '"' {
                let take = if chars[i] == '\\' { 2 } else { 1 };
                for &ch in chars.iter().skip(i).take(take) {
                    content.push(ch);
                    blank(&mut code, &mut line, ch);
                }
                i += take;
            }
            if i < chars.len() {
                code.push('"');
                i += 1;
            }
            strings.push((start_line, content));
        } else if c == '\'' && next == Some('\\') {
            // '\n', '\'', '\u{..}': up to the closing quote after the escape.
            code.push('\'');
            let mut j = i + 3;
            while j < chars.len() && chars[j] != '\'' && chars[j] != '\n' {
                j += 1;
            }
            code.extend(std::iter::repeat_n(' ', j.saturating_sub(i + 1)));
            if j < chars.len() && chars[j] == '\'' {
                code.push('\'');
                j += 1;
            }
            i = j;
        } else if c == '\'' && chars.get(i + 2) == Some(&'\'') {
            // 'x', including '"'.
            code.push_str("' '");
            i += 3;
        } else {
            // Code, and lifetimes: `'a` has no closing quote.
            if c == '\n' {
                line += 1;
            }
            code.push(c);
            i += 1;
        }
    }
    Lexed {
        code: code.split('\n').map(str::to_owned).collect(),
        strings,
    }
}

/// `Some(hashes)` when a raw string (`r"`, `r#"`, `br"`, `cr"`) starts at `i`.
fn raw_string_start(chars: &[char], i: usize) -> Option<usize> {
    if chars[i] != 'r' {
        return None;
    }
    let starts_token = match i.checked_sub(1).map(|p| chars[p]) {
        None => true,
        Some('b' | 'c') => i < 2 || !is_ident_char(chars[i - 2]),
        Some(prev) => !is_ident_char(prev),
    };
    if !starts_token {
        return None;
    }
    let hashes = chars[i + 1..].iter().take_while(|&&c| c == '#').count();
    (chars.get(i + 1 + hashes) == Some(&'"')).then_some(hashes)
}

// ---------------------------------------------------------------------------
// README.
// ---------------------------------------------------------------------------

/// A fenced code block: its info string, body and the line of its opening fence.
#[derive(Debug)]
struct CodeBlock {
    info: String,
    body: String,
    line: usize,
}

fn fenced_blocks(markdown: &str) -> Vec<CodeBlock> {
    let mut blocks = Vec::new();
    let mut lines = markdown.lines().enumerate();
    while let Some((i, line)) = lines.next() {
        let trimmed = line.trim_start();
        let Some(fence_char) = trimmed.chars().next().filter(|c| *c == '`' || *c == '~') else {
            continue;
        };
        let fence_len = trimmed.chars().take_while(|c| *c == fence_char).count();
        if fence_len < 3 {
            continue;
        }
        let info = trimmed[fence_len..].trim().to_owned();
        let mut body = String::new();
        for (_, inner) in lines.by_ref() {
            let inner_trimmed = inner.trim();
            let closing = inner_trimmed
                .chars()
                .take_while(|c| *c == fence_char)
                .count();
            if closing >= fence_len && inner_trimmed.chars().all(|c| c == fence_char) {
                break;
            }
            body.push_str(inner);
            body.push('\n');
        }
        blocks.push(CodeBlock {
            info,
            body,
            line: i + 1,
        });
    }
    blocks
}

fn readme_problems(readme: Option<&str>, ci_run: Option<&str>) -> Vec<String> {
    let mut problems = Vec::new();
    match readme {
        None => problems.push(format!(
            "README.md does not exist: it must show how to run Taskotron (`{}`) and how to test it (`{}`) in its first two shell code blocks",
            README_COMMANDS[0], README_COMMANDS[1]
        )),
        Some(readme) => {
            let shell_blocks: Vec<CodeBlock> = fenced_blocks(readme)
                .into_iter()
                .filter(|b| {
                    let lang = b.info.split([' ', ',', '{']).next().unwrap_or_default();
                    SHELL_FENCES.contains(&lang.to_ascii_lowercase().as_str())
                })
                .collect();
            for (n, command) in README_COMMANDS.iter().enumerate() {
                match shell_blocks.get(n) {
                    None => problems.push(format!(
                        "README.md: shell code block {} is missing; it must contain `{command}` (shell blocks are fenced as {})",
                        n + 1,
                        SHELL_FENCES.join(", ")
                    )),
                    Some(block) if !block.body.contains(command) => problems.push(format!(
                        "README.md: shell code block {} (line {}) does not contain `{command}`",
                        n + 1,
                        block.line
                    )),
                    Some(_) => {}
                }
            }
        }
    }
    match ci_run {
        None => problems.push(".ci/run does not exist".to_owned()),
        Some(text) if !text.contains("scripts/test") => {
            problems.push(".ci/run does not call scripts/test".to_owned())
        }
        Some(_) => {}
    }
    problems
}

// ---------------------------------------------------------------------------
// Files and processes.
// ---------------------------------------------------------------------------

/// Runs `scan` on each file that `keep` accepts (by workspace-relative path) and
/// formats the findings as `path:line: what`.
fn scan_files(
    ws: &Workspace,
    files: &[PathBuf],
    keep: impl Fn(&str) -> bool,
    scan: fn(&str) -> Vec<Finding>,
) -> Vec<String> {
    let mut violations = Vec::new();
    for path in files {
        let rel = ws.rel(path);
        if !keep(&rel) {
            continue;
        }
        match std::fs::read(path) {
            Ok(bytes) => {
                for f in scan(&String::from_utf8_lossy(&bytes)) {
                    violations.push(format!("{rel}:{}: {}", f.line, f.what));
                }
            }
            Err(err) => violations.push(format!("{rel}: cannot read: {err}")),
        }
    }
    violations
}

fn rust_files_under(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    walk(dir, &mut |path| {
        if path.extension() == Some(OsStr::new("rs")) {
            files.push(path.to_path_buf());
        }
    });
    files.sort();
    files
}

/// Files tracked by git plus untracked ones git does not ignore; without git, a
/// walk of the tree that skips `target/` and `.git/`, and a note saying so.
fn text_files(root: &Path) -> (Vec<PathBuf>, Option<String>) {
    let git = run(command("git").arg("-C").arg(root).args([
        "ls-files",
        "-z",
        "--cached",
        "--others",
        "--exclude-standard",
    ]));
    match git {
        Ok(out) if out.status.success() => {
            let listed: BTreeSet<PathBuf> = String::from_utf8_lossy(&out.stdout)
                .split('\0')
                .filter(|p| !p.is_empty())
                .map(|p| root.join(p))
                .filter(|p| p.is_file()) // tracked but deleted in the working tree
                .collect();
            (listed.into_iter().collect(), None)
        }
        other => {
            let mut files = Vec::new();
            walk(root, &mut |path| files.push(path.to_path_buf()));
            files.sort();
            let note = format!(
                "git ls-files unavailable ({other:?}), walked {} instead",
                root.display()
            );
            (files, Some(note))
        }
    }
}

fn walk(dir: &Path, visit: &mut dyn FnMut(&Path)) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let Ok(file_type) = entry.file_type() else {
            continue;
        };
        if file_type.is_dir() {
            let name = entry.file_name();
            if name != "target" && name != ".git" {
                walk(&path, visit);
            }
        } else if file_type.is_file() {
            visit(&path);
        }
    }
}

/// The one place this file creates a process.
#[expect(
    clippy::disallowed_methods,
    reason = "the tidy test runs cargo and git"
)]
fn command(program: impl AsRef<OsStr>) -> Command {
    Command::new(program)
}

/// The cargo that runs the tests (`$CARGO`), in `dir`.
fn cargo(dir: &Path) -> Command {
    let mut cmd = command(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    cmd.current_dir(dir);
    cmd
}

fn run(cmd: &mut Command) -> Result<Output, String> {
    cmd.output()
        .map_err(|err| format!("cannot run {cmd:?}: {err}"))
}

fn indent(text: &str) -> String {
    text.lines().fold(String::new(), |mut out, line| {
        let _ = writeln!(out, "    {line}");
        out
    })
}

#[track_caller]
fn assert_clean(what: &str, violations: &[String]) {
    assert!(
        violations.is_empty(),
        "tidy: {} violation(s) of {what}:\n\n{}\n",
        violations.len(),
        violations.join("\n")
    );
}

//! Helpers of the `check_*` tests: RPMs built with the host's rpmbuild, and
//! `fake-infra` serving them with a configuration pointing at it.

#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::print_stderr,
    reason = "shared test helpers: each test file uses some of them, they fail loudly and say what they skip"
)]

use std::path::{Path, PathBuf};

/// Whether the test script requires every tool (then a missing one fails).
pub(crate) fn required() -> bool {
    std::env::var_os("TASKOTRON_REQUIRE_SERVICES").is_some_and(|it| it == "1")
}

/// A spec for a small noarch package; `%{tk_name}`, `%{tk_version}`,
/// `%{dist}` and optionally `%{tk_epoch}` are defined by [`rpmbuild`].
pub(crate) const SPEC: &str = r"Name:           %{tk_name}
%{?tk_epoch:Epoch: %{tk_epoch}}
Version:        %{tk_version}
Release:        1%{?dist}
Summary:        Taskotron check test package
License:        MIT
URL:            https://example.org/tk
BuildArch:      noarch

%description
A package for Taskotron's check tests.

%install
mkdir -p %{buildroot}%{_datadir}/%{name}
echo %{version} > %{buildroot}%{_datadir}/%{name}/version

%files
%{_datadir}/%{name}/version

%changelog
* Fri Nov 20 2026 Tester <tester@example.org>
- Built for a test.
";

/// Build `spec` (binary and source RPMs) with these `--define`s into
/// `out`; the files made, or `None` when rpmbuild is missing and not required.
#[expect(
    clippy::disallowed_methods,
    reason = "the test builds its fixture RPMs with the host's rpmbuild"
)]
pub(crate) fn rpmbuild(spec: &str, defines: &[(&str, &str)], out: &Path) -> Option<Vec<PathBuf>> {
    let top = tempfile::tempdir().unwrap();
    // Named after the package, as dist-git names it (rpmlint checks that).
    let name = defines
        .iter()
        .find(|(name, _)| *name == "tk_name")
        .map_or("tk", |(_, value)| value);
    let spec_path = top.path().join(format!("{name}.spec"));
    std::fs::write(&spec_path, spec).unwrap();
    let mut cmd = <std::process::Command>::new("rpmbuild");
    cmd.arg("--quiet")
        .arg("-ba")
        .arg("--define")
        .arg(format!("_topdir {}", top.path().display()));
    for (name, value) in defines {
        cmd.arg("--define").arg(format!("{name} {value}"));
    }
    match cmd.arg(&spec_path).output() {
        Ok(output) => assert!(
            output.status.success(),
            "rpmbuild failed:\n{}",
            String::from_utf8_lossy(&output.stderr)
        ),
        Err(err) => {
            assert!(!required(), "rpmbuild cannot run: {err}");
            eprintln!("skipped: rpmbuild cannot run: {err}");
            return None;
        }
    }
    std::fs::create_dir_all(out).unwrap();
    let mut made = Vec::new();
    for entry in walk(&top.path().join("RPMS"))
        .into_iter()
        .chain(walk(&top.path().join("SRPMS")))
    {
        let to = out.join(entry.file_name().unwrap());
        std::fs::copy(&entry, &to).unwrap();
        made.push(to);
    }
    made.sort();
    Some(made)
}

/// Build `name` at `version` for a dist tag (`.fc44`), with an epoch if given.
pub(crate) fn build(
    name: &str,
    version: &str,
    dist: &str,
    epoch: Option<&str>,
    out: &Path,
) -> Option<Vec<PathBuf>> {
    let mut defines = vec![("tk_name", name), ("tk_version", version), ("dist", dist)];
    if let Some(epoch) = epoch {
        defines.push(("tk_epoch", epoch));
    }
    rpmbuild(SPEC, &defines, out)
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return files;
    };
    for entry in entries {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(walk(&path));
        } else {
            files.push(path);
        }
    }
    files
}

/// Whether a host program runs; false (and a note) when it does not and the
/// test script does not require it.
#[expect(
    clippy::disallowed_methods,
    reason = "probing a host tool the test needs"
)]
pub(crate) fn have(program: &str) -> bool {
    let ok = <std::process::Command>::new(program)
        .arg("--version")
        .output()
        .is_ok();
    if !ok {
        assert!(!required(), "{program} is not installed");
        eprintln!("skipped: {program} is not installed");
    }
    ok
}

/// `fake-infra` over `dir`, and a `taskotron.toml` in `dir` pointing at it.
pub(crate) async fn fake_infra(dir: &Path) -> String {
    let addr = taskotron_fake_infra::spawn(dir, "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let base = format!("http://{addr}");
    std::fs::write(
        dir.join("taskotron.toml"),
        format!(
            "[server]\ndata-dir = \"{data}\"\n\
             [koji]\nhub-url = \"{base}/kojihub\"\npkgs-url = \"{base}/kojipkgs\"\n\
             [bodhi]\nurl = \"{base}/bodhi/\"\n\
             [distgit]\nurl = \"{base}/distgit\"\n",
            data = dir.join("data").display()
        ),
    )
    .unwrap();
    base
}

/// POST a JSON body to fake-infra's admin API; panics unless it answers 2xx.
pub(crate) async fn admin(base: &str, path: &str, body: serde_json::Value) {
    let response = reqwest::Client::new()
        .post(format!("{base}{path}"))
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = response.status();
    let text = response.text().await.unwrap();
    assert!(status.is_success(), "{path}: {status} {text}");
}

/// A `taskotron serve` on a free loopback port with its data in `dir/serve`,
/// stopped (SIGTERM) when dropped.
pub(crate) struct Serve {
    child: std::process::Child,
    /// `http://127.0.0.1:PORT`.
    pub(crate) base: String,
}

impl Serve {
    pub(crate) fn start(dir: &Path) -> Serve {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = crate::common::taskotron(dir)
            .args([
                "serve",
                "--listen",
                &format!("127.0.0.1:{port}"),
                "--data-dir",
            ])
            .arg(dir.join("serve"))
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let base = format!("http://127.0.0.1:{port}");
        let serve = Serve { child, base };
        let started = std::time::Instant::now();
        while serve.get("/healthz").is_none() {
            assert!(
                started.elapsed() < std::time::Duration::from_secs(60),
                "taskotron serve never answered"
            );
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        serve
    }

    /// GET a path of the server; its JSON body when it answered 200.
    /// (On its own thread, so that async tests may call it too.)
    pub(crate) fn get(&self, path: &str) -> Option<serde_json::Value> {
        let url = format!("{}{path}", self.base);
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async {
                let response = reqwest::get(url).await.ok()?;
                if !response.status().is_success() {
                    return None;
                }
                response.json().await.ok()
            })
        })
        .join()
        .unwrap()
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        if let Ok(pid) = i32::try_from(self.child.id()) {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid),
                nix::sys::signal::Signal::SIGTERM,
            );
        }
        let _ = self.child.wait();
    }
}

/// Serve the files under `root` over HTTP on loopback (a package mirror);
/// its base URL.
pub(crate) async fn serve_files(root: &Path) -> String {
    let root = root.to_owned();
    let app = axum::Router::new().route(
        "/{*path}",
        axum::routing::get(
            move |axum::extract::Path(path): axum::extract::Path<String>| {
                let root = root.clone();
                async move {
                    if path.split('/').any(|it| it == "..") {
                        return Err(axum::http::StatusCode::NOT_FOUND);
                    }
                    tokio::fs::read(root.join(path))
                        .await
                        .map_err(|_| axum::http::StatusCode::NOT_FOUND)
                }
            },
        ),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}")
}

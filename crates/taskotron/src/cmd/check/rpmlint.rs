//! `taskotron check rpmlint`.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};
use taskotron_checks::rpmlint::{self, Level};
use taskotron_runner::process::{self, Ended, OutputSink, ProcessSpec, Sandbox, Stream};
use taskotron_types::Outcome;
use tokio_util::sync::CancellationToken;

use crate::display::{stderr, stdout};

/// Issues Taskotron filters by default: false errors on every Koji build.
/// Koji builds are unsigned until Bodhi's signing step, and Fedora's
/// packaging guidelines drop the Packager and Group tags.
const DEFAULT_FILTERS: &[&str] = &["no-signature", "no-packager-tag", "no-group-tag"];

/// `taskotron check rpmlint`.
#[derive(Debug, clap::Args)]
#[command(after_help = "\
Runs rpmlint (2.x) once on all the RPMs given and turns its findings into a \
result per package (FAILED with errors, PASSED otherwise) and one for the \
whole run. no-signature, no-packager-tag and no-group-tag are filtered unless \
--no-default-filters. docs/checks.md has the details.

Exit codes: 0 PASSED, 1 FAILED, 2 bad arguments, a file that is not an RPM, \
rpmlint missing or unable to read a package, or output that does not add up.")]
pub(crate) struct Args {
    /// The RPM files (binary and source) of one build.
    #[arg(value_name = "RPM", required = true)]
    rpms: Vec<PathBuf>,
    /// The package's rpmlintrc (addFilter/setBadness lines).
    #[arg(long, value_name = "FILE")]
    rpmlintrc: Option<PathBuf>,
    /// An rpmlint configuration file (TOML) to load on top of the defaults.
    #[arg(long, value_name = "FILE")]
    rpmlint_config: Option<PathBuf>,
    /// Do not filter the issues every Koji build has (no-signature, …).
    #[arg(long)]
    no_default_filters: bool,
    /// The rpmlint program.
    #[arg(long, value_name = "PROGRAM", default_value = "rpmlint")]
    rpmlint: String,
    /// How long rpmlint may run, e.g. 30m.
    #[arg(long, value_name = "DURATION", default_value = "30m", value_parser = humantime::parse_duration)]
    timeout: Duration,
    /// Print JSON: the verdict, each package's counts and findings.
    #[arg(long)]
    json: bool,
}

pub(crate) fn main(_config: Option<&Path>, args: Args) -> i32 {
    let result = tokio::runtime::Runtime::new()
        .context("cannot start the async runtime")
        .and_then(|runtime| runtime.block_on(run(&args)));
    match result {
        Ok((text, outcome)) => {
            stdout(&text);
            if outcome.is_passing() { 0 } else { 1 }
        }
        Err(err) => {
            crate::report_error(&err);
            2
        }
    }
}

/// `name.arch` from a file named `name-version-release.arch.rpm`.
fn package_of(path: &Path) -> Option<String> {
    let file = path.file_name()?.to_str()?.strip_suffix(".rpm")?;
    let (nvr, arch) = file.rsplit_once('.')?;
    let mut parts = nvr.rsplitn(3, '-');
    let (_release, _version, name) = (parts.next()?, parts.next()?, parts.next()?);
    (!name.is_empty() && !arch.is_empty()).then(|| format!("{name}.{arch}"))
}

/// A file rpmlint can read: it exists and starts with the RPM lead's magic.
fn check_rpm(path: &Path) -> anyhow::Result<()> {
    let mut file =
        std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let mut magic = [0u8; 4];
    let read = file
        .read(&mut magic)
        .with_context(|| format!("cannot read {}", path.display()))?;
    if read < 4 || magic != [0xed, 0xab, 0xee, 0xdb] {
        bail!(
            "{} is not an RPM file (it does not start with the RPM lead)",
            path.display()
        );
    }
    Ok(())
}

#[derive(Default)]
struct Split {
    stderr: Vec<u8>,
}

impl OutputSink for Split {
    fn output(&mut self, stream: Stream, bytes: &[u8]) {
        if stream == Stream::Stderr {
            self.stderr.extend_from_slice(bytes);
        }
    }
}

async fn run(args: &Args) -> anyhow::Result<(String, Outcome)> {
    for rpm in &args.rpms {
        check_rpm(rpm)?;
    }
    let mut ignored = Vec::new();
    if let Some(rc) = &args.rpmlintrc {
        let text = std::fs::read_to_string(rc)
            .with_context(|| format!("cannot read the rpmlintrc {}", rc.display()))?;
        ignored = rpmlint::ignored_rpmlintrc_lines(&text);
        for (line, text) in &ignored {
            stderr(&format!(
                "warning: {}:{line}: rpmlint ignores this line (only addFilter(\"…\") and setBadness(\"…\", N) are read): {text}\n",
                rc.display()
            ));
        }
    }
    let scratch = tempfile_dir()?;
    let mut cli: Vec<String> = Vec::new();
    if !args.no_default_filters {
        let config = scratch.join("taskotron-filters.toml");
        let list: Vec<String> = DEFAULT_FILTERS.iter().map(|it| format!("{it:?}")).collect();
        std::fs::write(&config, format!("Filters = [{}]\n", list.join(", ")))
            .with_context(|| format!("cannot write {}", config.display()))?;
        cli.extend(["-c".to_owned(), config.display().to_string()]);
    }
    if let Some(config) = &args.rpmlint_config {
        if !config.is_file() {
            bail!(
                "the rpmlint configuration {} is not a file",
                config.display()
            );
        }
        cli.extend(["-c".to_owned(), absolute(config).display().to_string()]);
    }
    if let Some(rc) = &args.rpmlintrc {
        cli.extend(["-r".to_owned(), absolute(rc).display().to_string()]);
    }
    cli.extend(
        args.rpms
            .iter()
            .map(|it| absolute(it).display().to_string()),
    );
    let spec = ProcessSpec {
        program: args.rpmlint.clone(),
        args: cli,
        cwd: scratch.clone(),
        env: vec![("LC_ALL".to_owned(), "C.UTF-8".to_owned())],
        env_remove: Vec::new(),
    };
    let cancel = CancellationToken::new();
    let on_signal = cancel.clone();
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            on_signal.cancel();
        }
    });
    let mut sink = Split::default();
    let deadline = tokio::time::Instant::now() + args.timeout;
    let finished = process::run(&spec, &Sandbox::None, deadline, &cancel, &mut sink)
        .await
        .with_context(|| {
            format!(
                "cannot run rpmlint (`{}`; on Debian it is the rpmlint package)",
                args.rpmlint
            )
        });
    let _ = std::fs::remove_dir_all(&scratch);
    let finished = finished?;
    let code = match finished.ended {
        Ended::Exited(code) => code,
        Ended::Signalled(signal) => bail!("rpmlint was killed by signal {signal}"),
        Ended::TimedOut => bail!(
            "rpmlint ran out of its {} limit",
            humantime::format_duration(args.timeout)
        ),
        Ended::Cancelled => bail!("interrupted"),
    };
    let out_text = String::from_utf8_lossy(&finished.stdout);
    let err_text = String::from_utf8_lossy(&sink.stderr);
    let output = rpmlint::parse_output(&out_text, &err_text);
    let packages: Vec<String> = args.rpms.iter().filter_map(|it| package_of(it)).collect();
    let verdict = rpmlint::judge(code, &output, &packages)?;
    if args.json {
        let ignored: Vec<serde_json::Value> = ignored
            .iter()
            .map(|(line, text)| serde_json::json!({"line": line, "text": text}))
            .collect();
        let body = serde_json::json!({
            "outcome": verdict.outcome.as_str(),
            "note": verdict.note,
            "errors": verdict.errors,
            "warnings": verdict.warnings,
            "packages": verdict.packages,
            "rpmlint_exit_code": code,
            "rpmlintrc_ignored_lines": ignored,
        });
        return Ok((format!("{body:#}\n"), verdict.outcome));
    }
    let mut text = String::new();
    for package in &verdict.packages {
        text.push_str(&format!(
            "{}: {} ({}, {})\n",
            package.package,
            package.outcome.as_str(),
            plural(package.errors, "error"),
            plural(package.warnings, "warning")
        ));
        for finding in &package.findings {
            let level = match finding.level {
                Level::Error => "E",
                Level::Warning => "W",
                Level::Info => "I",
            };
            let line = finding
                .spec_line
                .map(|it| format!(" (spec line {it})"))
                .unwrap_or_default();
            let details = if finding.details.is_empty() {
                String::new()
            } else {
                format!(" {}", finding.details)
            };
            text.push_str(&format!("    {level}: {}{details}{line}\n", finding.id));
        }
    }
    text.push_str(&format!(
        "RESULT: {} ({})\n",
        verdict.outcome.as_str(),
        verdict.note
    ));
    Ok((text, verdict.outcome))
}

fn plural(n: u64, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}

fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_owned())
}

/// A private scratch directory for rpmlint's configuration and working directory.
fn tempfile_dir() -> anyhow::Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!("taskotron-rpmlint-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    Ok(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn package_names_from_file_names() {
        assert_eq!(
            package_of(Path::new("/x/tk-lint-extra-1.0-1.fc44.noarch.rpm")).as_deref(),
            Some("tk-lint-extra.noarch")
        );
        assert_eq!(
            package_of(Path::new("python3.12-1.0-1.fc44.src.rpm")).as_deref(),
            Some("python3.12.src")
        );
        assert_eq!(package_of(Path::new("odd.rpm")), None);
        assert_eq!(package_of(Path::new("x.txt")), None);
    }
}

//! rpmlint 2.x's output turned into per-package results.
//!
//! rpmlint prints a header, one line per finding and a summary:
//!
//! ```text
//! tk-lint.noarch: W: no-manual-page-for-binary tk-lint
//! tk-lint.src: E: no-signature
//! tk-lint.spec:12: W: macro-in-comment %foo
//! tk-lint.noarch: E: no-url-tag (Badness: 10)
//!  2 packages and 0 specfiles checked; 8 errors, 11 warnings, 8 badness; has taken 0.1 s
//! ```
//!
//! and exits with 0 (no errors), 64 (errors), 65 (errors, all promoted by
//! badness), 66 (badness over the threshold), 2 (bad arguments or a missing
//! file) or 3 (a package could not be read; `(none): E: fatal error while
//! reading FILE: …` on stderr). [`parse_output`] reads the text,
//! [`judge`] adds the exit code and refuses anything inconsistent, so that a
//! misread output is an error and never a PASSED.
//!
//! Pure: the caller runs rpmlint.

use std::collections::BTreeMap;

use serde::Serialize;
use taskotron_types::Outcome;

/// How serious a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub enum Level {
    /// `E:`
    #[serde(rename = "E")]
    Error,
    /// `W:`
    #[serde(rename = "W")]
    Warning,
    /// `I:`
    #[serde(rename = "I")]
    Info,
}

/// One finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// `E`, `W` or `I`.
    pub level: Level,
    /// The issue id, `no-manual-page-for-binary`.
    pub id: String,
    /// Whatever followed the id, without the badness.
    pub details: String,
    /// The badness rpmlint gave it, if any.
    pub badness: Option<u64>,
    /// The spec file line, for findings about a spec file.
    pub spec_line: Option<u64>,
}

/// What rpmlint's summary line says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Totals {
    /// Packages checked.
    pub packages: u64,
    /// Spec files checked.
    pub specfiles: u64,
    /// Errors printed.
    pub errors: u64,
    /// Warnings printed.
    pub warnings: u64,
    /// The total badness.
    pub badness: u64,
}

/// rpmlint's output, read.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Output {
    /// Findings per subject: `name.arch` for a package, `file.spec` for a
    /// spec file, in the order first seen.
    pub findings: BTreeMap<String, Vec<Finding>>,
    /// Packages rpmlint could not read: (file, why).
    pub fatal: Vec<(String, String)>,
    /// The summary line, when there was one.
    pub totals: Option<Totals>,
    /// Lines that were neither header, finding nor summary.
    pub other: Vec<String>,
}

/// Read rpmlint's standard output and standard error.
pub fn parse_output(stdout: &str, stderr: &str) -> Output {
    let mut out = Output::default();
    for line in stdout.lines().chain(stderr.lines()) {
        let trimmed = line.trim();
        if trimmed.is_empty() || is_header(line) {
            continue;
        }
        if let Some(totals) = parse_totals(trimmed) {
            out.totals = Some(totals);
            continue;
        }
        if let Some(rest) = line.strip_prefix("(none): E: fatal error while reading ") {
            let (file, why) = rest.split_once(": ").unwrap_or((rest, ""));
            out.fatal.push((file.to_owned(), why.to_owned()));
            continue;
        }
        match parse_finding(line) {
            Some((subject, finding)) => out.findings.entry(subject).or_default().push(finding),
            None => out.other.push(line.to_owned()),
        }
    }
    out
}

fn is_header(line: &str) -> bool {
    (line.starts_with('=') && line.contains("rpmlint session starts"))
        || line.starts_with("rpmlint: ")
        || line == "configuration:"
        || line.starts_with("rpmlintrc: ")
        || (line.starts_with("    ") && !line.trim().contains(' '))
        || (line.starts_with("checks: ") && line.contains(", packages: "))
}

/// ` 2 packages and 0 specfiles checked; 8 errors, 11 warnings, 8 badness; has taken 0.1 s `
fn parse_totals(line: &str) -> Option<Totals> {
    let (counts, rest) = line.split_once(" checked; ")?;
    let (packages, specfiles) = counts.split_once(" packages and ")?;
    let specfiles = specfiles.strip_suffix(" specfiles")?;
    let numbers = rest.split(';').next()?;
    let mut errors = None;
    let mut warnings = None;
    let mut badness = None;
    for part in numbers.split(',') {
        let (n, word) = part.trim().split_once(' ')?;
        let n: u64 = n.parse().ok()?;
        match word {
            "errors" | "error" => errors = Some(n),
            "warnings" | "warning" => warnings = Some(n),
            "badness" => badness = Some(n),
            _ => return None,
        }
    }
    Some(Totals {
        packages: packages.trim().parse().ok()?,
        specfiles: specfiles.trim().parse().ok()?,
        errors: errors?,
        warnings: warnings?,
        badness: badness.unwrap_or(0),
    })
}

/// `subject: L: id details` or `file.spec:LINE: L: id details`.
fn parse_finding(line: &str) -> Option<(String, Finding)> {
    let (head, rest) = line.split_once(": ")?;
    if head.is_empty() || head.contains(char::is_whitespace) {
        return None;
    }
    let (subject, spec_line) = match head.rsplit_once(':') {
        Some((file, number)) if file.ends_with(".spec") => (file, Some(number.parse().ok()?)),
        Some(_) => return None,
        None => (head, None),
    };
    let (level, rest) = match rest.get(..3)? {
        "E: " => (Level::Error, &rest[3..]),
        "W: " => (Level::Warning, &rest[3..]),
        "I: " => (Level::Info, &rest[3..]),
        _ => return None,
    };
    let (id, details) = rest.split_once(' ').unwrap_or((rest, ""));
    if id.is_empty() {
        return None;
    }
    let mut details = details.trim_end();
    let mut badness = None;
    if let Some(start) = details.rfind("(Badness: ")
        && let Some(number) = details[start + "(Badness: ".len()..].strip_suffix(')')
        && let Ok(number) = number.parse::<u64>()
    {
        badness = Some(number);
        details = details[..start].trim_end();
    }
    Some((
        subject.to_owned(),
        Finding {
            level,
            id: id.to_owned(),
            details: details.to_owned(),
            badness,
            spec_line,
        },
    ))
}

/// One package's result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PackageResult {
    /// `name.arch`.
    pub package: String,
    /// FAILED with errors, PASSED otherwise.
    pub outcome: Outcome,
    /// Errors.
    pub errors: u64,
    /// Warnings.
    pub warnings: u64,
    /// Its findings (those about its spec file included, for a source package).
    pub findings: Vec<Finding>,
}

/// The whole run's verdict.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Verdict {
    /// FAILED when rpmlint reported errors or too much badness.
    pub outcome: Outcome,
    /// `2 errors, 5 warnings` and, on failure, which packages.
    pub note: String,
    /// All errors.
    pub errors: u64,
    /// All warnings.
    pub warnings: u64,
    /// Each package, in name order.
    pub packages: Vec<PackageResult>,
}

/// Why rpmlint's run cannot be trusted as a verdict.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RpmlintError {
    /// It could not read a package.
    #[error("rpmlint could not read {}", fatal_list(.0))]
    Unreadable(Vec<(String, String)>),
    /// It refused its arguments (exit code 2).
    #[error("rpmlint refused its arguments: {0}")]
    Usage(String),
    /// An exit code rpmlint does not use.
    #[error("rpmlint exited with {code}, which it never does on a completed check: {excerpt}")]
    UnknownExit {
        /// The code.
        code: i32,
        /// The end of its output.
        excerpt: String,
    },
    /// What it printed does not add up.
    #[error("rpmlint's output does not add up ({0}); refusing to give a verdict")]
    Inconsistent(String),
}

fn fatal_list(fatal: &[(String, String)]) -> String {
    let items: Vec<String> = fatal
        .iter()
        .map(|(file, why)| {
            if why.is_empty() {
                file.clone()
            } else {
                format!("{file} ({why})")
            }
        })
        .collect();
    items.join(", ")
}

/// The verdict from rpmlint's exit code and output. `packages` are the
/// `name.arch` of every package given, so that clean ones get a result too;
/// findings about a spec file go to the source package when there is one.
pub fn judge(code: i32, output: &Output, packages: &[String]) -> Result<Verdict, RpmlintError> {
    if !output.fatal.is_empty() || code == 3 {
        let fatal = if output.fatal.is_empty() {
            vec![("a package".to_owned(), output.other.join(" "))]
        } else {
            output.fatal.clone()
        };
        return Err(RpmlintError::Unreadable(fatal));
    }
    if code == 2 {
        return Err(RpmlintError::Usage(output.other.join(" ")));
    }
    if !matches!(code, 0 | 64 | 65 | 66) {
        let excerpt: String = output.other.join(" ").chars().take(300).collect();
        return Err(RpmlintError::UnknownExit { code, excerpt });
    }
    let mut by_package: BTreeMap<String, Vec<Finding>> =
        packages.iter().map(|it| (it.clone(), Vec::new())).collect();
    let sources: Vec<&String> = packages.iter().filter(|it| it.ends_with(".src")).collect();
    for (subject, findings) in &output.findings {
        let key = match (subject.ends_with(".spec"), sources.as_slice()) {
            (true, [source]) => (*source).clone(),
            _ => subject.clone(),
        };
        by_package
            .entry(key)
            .or_default()
            .extend(findings.iter().cloned());
    }
    let count = |findings: &[Finding], level| {
        u64::try_from(findings.iter().filter(|it| it.level == level).count()).unwrap_or(u64::MAX)
    };
    let results: Vec<PackageResult> = by_package
        .into_iter()
        .map(|(package, findings)| {
            let errors = count(&findings, Level::Error);
            let warnings = count(&findings, Level::Warning);
            PackageResult {
                package,
                outcome: if errors > 0 {
                    Outcome::Failed
                } else {
                    Outcome::Passed
                },
                errors,
                warnings,
                findings,
            }
        })
        .collect();
    let errors: u64 = results.iter().map(|it| it.errors).sum();
    let warnings: u64 = results.iter().map(|it| it.warnings).sum();
    let Some(totals) = output.totals else {
        return Err(RpmlintError::Inconsistent(
            "no summary line (`N packages and M specfiles checked; …`)".to_owned(),
        ));
    };
    if totals.errors != errors || totals.warnings != warnings {
        return Err(RpmlintError::Inconsistent(format!(
            "its summary counts {} errors and {} warnings, but {errors} error and {warnings} warning lines were read",
            totals.errors, totals.warnings
        )));
    }
    match code {
        0 if errors > 0 => {
            return Err(RpmlintError::Inconsistent(format!(
                "it exited with 0 but printed {errors} errors"
            )));
        }
        64 | 65 if errors == 0 => {
            return Err(RpmlintError::Inconsistent(format!(
                "it exited with {code} but printed no error"
            )));
        }
        _ => {}
    }
    let failed: Vec<String> = results
        .iter()
        .filter(|it| it.errors > 0)
        .map(|it| format!("{} ({})", it.package, plural(it.errors, "error")))
        .collect();
    let counts = format!(
        "{}, {}",
        plural(errors, "error"),
        plural(warnings, "warning")
    );
    let (outcome, note) = if code == 66 {
        (
            Outcome::Failed,
            format!("{counts}; badness {} is over the threshold", totals.badness),
        )
    } else if failed.is_empty() {
        (Outcome::Passed, counts)
    } else {
        (Outcome::Failed, format!("{counts}; {}", failed.join(", ")))
    };
    Ok(Verdict {
        outcome,
        note,
        errors,
        warnings,
        packages: results,
    })
}

fn plural(n: u64, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}

/// Lines of an rpmlintrc that rpmlint 2 does not understand and silently
/// ignores (it reads only `addFilter("regex")` and `setBadness("id", N)`
/// lines): (line number, line). Comments and blank lines are fine.
pub fn ignored_rpmlintrc_lines(text: &str) -> Vec<(usize, String)> {
    text.lines()
        .enumerate()
        .filter(|(_, line)| {
            let line = line.trim();
            !(line.is_empty()
                || line.starts_with('#')
                || call_of(line, "addFilter", 1)
                || call_of(line, "setBadness", 2))
        })
        .map(|(n, line)| (n + 1, line.to_owned()))
        .collect()
}

/// `name(args)` with `arity` arguments, the first a quoted string (as
/// rpmlint's own patterns want it).
fn call_of(line: &str, name: &str, arity: usize) -> bool {
    let Some(rest) = line.strip_prefix(name) else {
        return false;
    };
    let rest = rest.trim_start();
    let Some(inner) = rest.strip_prefix('(') else {
        return false;
    };
    let Some(close) = inner.rfind(')') else {
        return false;
    };
    let args = inner[..close].trim();
    let args = args.strip_prefix('r').unwrap_or(args);
    let quoted = args.starts_with('"') || args.starts_with('\'');
    let commas = args.matches(',').count();
    quoted && (if arity == 1 { true } else { commas >= 1 })
}

#[cfg(test)]
mod tests {
    use super::*;

    const RUN: &str =
        "============================ rpmlint session starts ============================
rpmlint: 2.4.0
configuration:
    /usr/lib/python3/dist-packages/rpmlint/configdefaults.toml
rpmlintrc: [PosixPath('x.rpmlintrc')]
checks: 26, packages: 3

tk-lint.noarch: W: summary-not-capitalized test package.
tk-lint.src: W: summary-not-capitalized test package.
tk-lint.noarch: E: no-url-tag (Badness: 10)
tk-lint-extra.noarch: W: no-documentation
foo.spec: W: no-%build-section
foo.spec:12: W: macro-in-comment %foo
tk-lint.src: E: invalid-spec-name
 3 packages and 0 specfiles checked; 2 errors, 5 warnings, 10 badness; has taken 0.6 s\x20
";

    fn packages() -> Vec<String> {
        [
            "tk-lint.noarch",
            "tk-lint-extra.noarch",
            "tk-lint.src",
            "tk-lint-doc.noarch",
        ]
        .map(str::to_owned)
        .to_vec()
    }

    #[test]
    fn findings_are_read_per_package() {
        let out = parse_output(RUN, "");
        assert!(out.other.is_empty(), "{:?}", out.other);
        assert_eq!(
            out.totals,
            Some(Totals {
                packages: 3,
                specfiles: 0,
                errors: 2,
                warnings: 5,
                badness: 10
            })
        );
        let url = &out.findings["tk-lint.noarch"][1];
        assert_eq!(
            (
                url.level,
                url.id.as_str(),
                url.details.as_str(),
                url.badness
            ),
            (Level::Error, "no-url-tag", "", Some(10))
        );
        assert_eq!(out.findings["foo.spec"][1].spec_line, Some(12));
        assert_eq!(out.findings["foo.spec"][1].details, "%foo");
    }

    #[test]
    fn verdicts_count_per_package_and_spec_lines_go_to_the_source() {
        let verdict =
            judge(64, &parse_output(RUN, ""), &packages()).unwrap_or_else(|err| panic!("{err}"));
        assert_eq!(verdict.outcome, Outcome::Failed);
        assert_eq!(
            verdict.note,
            "2 errors, 5 warnings; tk-lint.noarch (1 error), tk-lint.src (1 error)"
        );
        let counts: Vec<(&str, u64, u64, Outcome)> = verdict
            .packages
            .iter()
            .map(|it| (it.package.as_str(), it.errors, it.warnings, it.outcome))
            .collect();
        assert_eq!(
            counts,
            [
                ("tk-lint-doc.noarch", 0, 0, Outcome::Passed),
                ("tk-lint-extra.noarch", 0, 1, Outcome::Passed),
                ("tk-lint.noarch", 1, 1, Outcome::Failed),
                ("tk-lint.src", 1, 3, Outcome::Failed),
            ]
        );
    }

    #[test]
    fn warnings_only_pass() {
        let text = "a.noarch: W: no-documentation\n 1 packages and 0 specfiles checked; 0 errors, 1 warnings, 0 badness; has taken 0.1 s\n";
        let verdict = judge(0, &parse_output(text, ""), &["a.noarch".to_owned()])
            .unwrap_or_else(|err| panic!("{err}"));
        assert_eq!(verdict.outcome, Outcome::Passed);
        assert_eq!(verdict.note, "0 errors, 1 warning");
    }

    #[test]
    fn what_does_not_add_up_is_an_error_never_a_pass() {
        let packages = ["a.noarch".to_owned()];
        // Exit 64 with no error line.
        let text = " 1 packages and 0 specfiles checked; 0 errors, 0 warnings, 0 badness; has taken 0.1 s\n";
        assert!(matches!(
            judge(64, &parse_output(text, ""), &packages),
            Err(RpmlintError::Inconsistent(_))
        ));
        // An error line the summary does not count (a format we misread).
        let text = "a.noarch: E: x\n 1 packages and 0 specfiles checked; 2 errors, 0 warnings, 0 badness; has taken 0.1 s\n";
        assert!(matches!(
            judge(64, &parse_output(text, ""), &packages),
            Err(RpmlintError::Inconsistent(_))
        ));
        // No summary at all.
        assert!(matches!(
            judge(0, &parse_output("", ""), &packages),
            Err(RpmlintError::Inconsistent(_))
        ));
        // A package it could not read names the file.
        let err = judge(
            3,
            &parse_output(
                "",
                "(none): E: fatal error while reading bad.rpm: error reading package header\n",
            ),
            &packages,
        )
        .err();
        assert_eq!(
            err.map(|it| it.to_string()).as_deref(),
            Some("rpmlint could not read bad.rpm (error reading package header)")
        );
        assert!(matches!(
            judge(1, &parse_output("", "Traceback"), &packages),
            Err(RpmlintError::UnknownExit { code: 1, .. })
        ));
    }

    #[test]
    fn badness_over_the_threshold_fails() {
        let text = "a.noarch: W: x (Badness: 100)\n 1 packages and 0 specfiles checked; 0 errors, 1 warnings, 100 badness; has taken 0.1 s\n";
        let verdict = judge(66, &parse_output(text, ""), &["a.noarch".to_owned()])
            .unwrap_or_else(|err| panic!("{err}"));
        assert_eq!(verdict.outcome, Outcome::Failed);
        assert!(
            verdict.note.contains("badness 100 is over the threshold"),
            "{}",
            verdict.note
        );
    }

    #[test]
    fn names_with_dots_and_odd_lines() {
        let out = parse_output(
            "python3.12-foo.x86_64: W: spelling-error Summary(en_US) colour -> color, colon\nsomething: else entirely\n",
            "",
        );
        assert_eq!(
            out.findings["python3.12-foo.x86_64"][0].id,
            "spelling-error"
        );
        assert_eq!(
            out.findings["python3.12-foo.x86_64"][0].details,
            "Summary(en_US) colour -> color, colon"
        );
        assert_eq!(out.other, ["something: else entirely"]);
    }

    #[test]
    fn rpmlintrc_lines_rpmlint_ignores_are_found() {
        let text = "# comment\naddFilter(\"no-signature\")\n  addFilter( r'foo.*' )\nsetBadness('x', 10)\naddFilter(no-quotes)\nfilter('typo')\n\n";
        assert_eq!(
            ignored_rpmlintrc_lines(text),
            [
                (5, "addFilter(no-quotes)".to_owned()),
                (6, "filter('typo')".to_owned())
            ]
        );
    }
}

//! `taskotron policies check FILE|DIR...`: validate gating policies
//! (Greenwave's format) without a server.

use std::path::{Path, PathBuf};

use taskotron_gating::{Origin, parse_policies};
use taskotron_task_format::diagnostic::Diagnostics;

use crate::display::{stderr, stdout};

/// Arguments of `policies`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    /// Check policy files: every problem is listed with its line and column.
    #[command(after_help = "\
A directory is read as Greenwave reads its policies directory: every *.yaml \
file in it. Policy ids must be unique across all the files given.

Exit codes: 0 every file is valid, 2 a file has problems, 1 a file cannot be read.")]
    Check(CheckArgs),
    /// Flag policies that never apply, rules that can never be checked,
    /// duplicates and policies that are always satisfied.
    #[command(after_help = "\
Findings have stable codes: never-applies, expired-rule, duplicate-rule, \
always-satisfied, duplicate-policy.

Exit codes: 0 no findings, 3 findings, 2 a file has problems, 1 a file cannot be read.")]
    Lint(CheckArgs),
}

#[derive(Debug, clap::Args)]
struct CheckArgs {
    /// Policy files, or directories of them.
    #[arg(required = true, value_name = "FILE|DIR")]
    paths: Vec<PathBuf>,
    /// Check them as a package's gating.yaml (no ids needed, no RemoteRule).
    #[arg(long)]
    remote: bool,
}

pub(crate) fn main(args: Args) -> i32 {
    match args.command {
        Command::Check(args) => check(&args),
        Command::Lint(args) => lint(&args),
    }
}

fn check(args: &CheckArgs) -> i32 {
    let files = match all_files(&args.paths) {
        Ok(files) => files,
        Err(err) => {
            crate::report_error(&err);
            return 1;
        }
    };
    let origin = if args.remote {
        Origin::Remote
    } else {
        Origin::Server
    };
    let mut code = 0;
    let mut ids: Vec<(String, String)> = Vec::new();
    for file in files {
        let Some((name, src)) = read(&file) else {
            return 1;
        };
        match parse_policies(&src, origin) {
            Ok(policies) => {
                for policy in &policies {
                    let Some(id) = &policy.id else { continue };
                    if let Some((_, other)) = ids.iter().find(|(it, _)| it == id) {
                        stderr(&format!(
                            "{name}:{}: error: policy id `{id}` is also used in {other}\n",
                            policy.pos
                        ));
                        code = 2;
                    } else {
                        ids.push((id.clone(), name.clone()));
                    }
                }
                let rules: usize = policies.iter().map(|it| it.rules.len()).sum();
                stdout(&format!(
                    "{name}: ok: {} polic{} with {rules} rule{}\n",
                    policies.len(),
                    if policies.len() == 1 { "y" } else { "ies" },
                    if rules == 1 { "" } else { "s" }
                ));
            }
            Err(errors) => {
                stderr(&format!("{}\n", Diagnostics::new(name, errors)));
                code = 2;
            }
        }
    }
    code
}

fn lint(args: &CheckArgs) -> i32 {
    let origin = if args.remote {
        Origin::Remote
    } else {
        Origin::Server
    };
    let mut all = Vec::new();
    let mut owners = Vec::new();
    let files = match all_files(&args.paths) {
        Ok(files) => files,
        Err(err) => {
            crate::report_error(&err);
            return 1;
        }
    };
    for file in files {
        let Some((name, src)) = read(&file) else {
            return 1;
        };
        match parse_policies(&src, origin) {
            Ok(policies) => {
                owners.extend(std::iter::repeat_n(name.clone(), policies.len()));
                all.extend(policies);
            }
            Err(errors) => {
                stderr(&format!("{}\n", Diagnostics::new(name, errors)));
                return 2;
            }
        }
    }
    let findings = taskotron_gating::lint(&all, chrono::Utc::now().naive_utc());
    for finding in &findings {
        let owner = owners.get(finding.policy).map_or("?", String::as_str);
        stdout(&format!(
            "{owner}:{}: warning[{}]: {}\n",
            finding.pos, finding.code, finding.message
        ));
    }
    if findings.is_empty() {
        stdout(&format!("{} policies: no findings\n", all.len()));
        0
    } else {
        3
    }
}

/// Every file of the paths given (a directory's `*.yaml` files).
fn all_files(paths: &[PathBuf]) -> anyhow::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for path in paths {
        files.extend(policy_files(path)?);
    }
    Ok(files)
}

/// A file's name and text; `None` (reported) when it cannot be read.
fn read(file: &Path) -> Option<(String, String)> {
    let name = file.display().to_string();
    match std::fs::read_to_string(file) {
        Ok(src) => Some((name, src)),
        Err(err) => {
            crate::report_error(&anyhow::anyhow!("cannot read {name}: {err}"));
            None
        }
    }
}

/// Every policy of a directory's `*.yaml` files, for `serve`: the first
/// file with problems is an error listing them all.
pub(crate) fn load_dir(dir: &Path) -> anyhow::Result<Vec<taskotron_gating::Policy>> {
    let mut all = Vec::new();
    for file in policy_files(dir)? {
        let name = file.display().to_string();
        let src = std::fs::read_to_string(&file)
            .map_err(|err| anyhow::anyhow!("cannot read {name}: {err}"))?;
        let policies = parse_policies(&src, Origin::Server).map_err(|errors| {
            anyhow::anyhow!(
                "invalid gating policies:\n{}",
                Diagnostics::new(name.clone(), errors)
            )
        })?;
        for policy in &policies {
            if let Some(id) = &policy.id
                && all
                    .iter()
                    .any(|it: &taskotron_gating::Policy| it.id.as_ref() == Some(id))
            {
                anyhow::bail!(
                    "{name}:{}: policy id `{id}` is used in two files",
                    policy.pos
                );
            }
        }
        all.extend(policies);
    }
    Ok(all)
}

/// Everything `serve`'s gating APIs decide with, from the configuration:
/// the policies of `[gating] policies-dir`, the Greenwave version, the
/// subject types (Fedora's plus `[[gating.subject-types]]`), the waiver
/// rules of `[waivers]`, the Koji hub (`[koji] hub-url`) and dist-git
/// (`[distgit] url`) that remote rules and validity windows ask.
pub(crate) fn gating_settings(
    config: &taskotron_config::Config,
) -> anyhow::Result<taskotron_web::greenwave::GatingSettings> {
    let policies = match &config.gating.policies_dir {
        Some(dir) => load_dir(dir)?,
        None => Vec::new(),
    };
    let extra = config
        .gating
        .subject_types
        .iter()
        .map(|it| taskotron_gating::SubjectType {
            id: it.id.clone(),
            aliases: it.aliases.clone(),
            item_key: it.item_key.clone().unwrap_or_else(|| "item".to_owned()),
            is_koji_build: it.is_koji_build,
            is_nvr: it.is_nvr,
            ignore_missing_policy: it.ignore_missing_policy,
            result_queries: it
                .result_queries
                .iter()
                .map(|query| taskotron_gating::ResultQuery {
                    item_key: query.item_key.clone(),
                    keys: query
                        .keys
                        .iter()
                        .map(|(key, values)| {
                            (
                                key.clone(),
                                values.split(',').map(|v| v.trim().to_owned()).collect(),
                            )
                        })
                        .collect(),
                })
                .collect(),
        })
        .collect();
    let settings = taskotron_web::greenwave::GatingSettings {
        policies,
        superusers: config.waivers.superusers.clone(),
        permissions: config
            .waivers
            .permissions
            .iter()
            .map(|it| taskotron_gating::WaivePermission {
                testcases: it.testcases.clone(),
                testcases_ignore: it.testcases_ignore.clone(),
                users: it.users.clone(),
            })
            .collect(),
        subject_types: taskotron_gating::SubjectTypes::fedora().with(extra),
        greenwave_version: config
            .gating
            .greenwave_version
            .clone()
            .unwrap_or_else(|| taskotron_web::greenwave::GREENWAVE_VERSION.to_owned()),
        distgit_url: Some(config.distgit.url.clone()),
        ..taskotron_web::greenwave::GatingSettings::default()
    };
    settings
        .with_koji(&config.koji.hub_url)
        .map_err(|err| anyhow::anyhow!("[koji] hub-url: {err}"))
}

/// The file itself, or a directory's `*.yaml` files in name order.
fn policy_files(path: &Path) -> anyhow::Result<Vec<PathBuf>> {
    if !path.is_dir() {
        return Ok(vec![path.to_owned()]);
    }
    let mut files = Vec::new();
    let entries = std::fs::read_dir(path)
        .map_err(|err| anyhow::anyhow!("cannot read {}: {err}", path.display()))?;
    for entry in entries {
        let entry =
            entry.map_err(|err| anyhow::anyhow!("cannot read {}: {err}", path.display()))?;
        let file = entry.path();
        if file.extension().is_some_and(|it| it == "yaml") && file.is_file() {
            files.push(file);
        }
    }
    files.sort();
    if files.is_empty() {
        anyhow::bail!("{} holds no *.yaml files", path.display());
    }
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gating_settings_come_from_the_configuration() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        std::fs::write(
            dir.path().join("a.yaml"),
            "--- !Policy\nid: p\nproduct_versions: [fedora-*]\ndecision_context: c\nsubject_type: koji_build\nrules: []\n",
        )
        .expect("written");
        let toml = format!(
            "[gating]\npolicies-dir = {:?}\ngreenwave-version = \"9.9\"\n\
             [[gating.subject-types]]\nid = \"image\"\naliases = [\"img\"]\nignore-missing-policy = true\n\
             result-queries = [{{item-key = \"image_id\", keys = {{type = \"image, container\"}}}}]\n\
             [waivers]\nsuperusers = [\"bodhi\"]\n\
             [[waivers.permissions]]\ntestcases = [\"dist.*\"]\nusers = [\"alice\"]\n\
             [koji]\nhub-url = \"http://127.0.0.1:9/kojihub\"\n[distgit]\nurl = \"http://127.0.0.1:9/distgit\"\n",
            dir.path().display().to_string()
        );
        let config = taskotron_config::Config::from_toml_str(&toml, "test.toml").expect("valid");
        let settings = gating_settings(&config).expect("settings");
        assert_eq!(settings.policies.len(), 1);
        assert_eq!(settings.greenwave_version, "9.9");
        let image = settings.subject_types.resolve("img");
        assert_eq!(image.id, "image");
        assert!(image.ignore_missing_policy);
        assert_eq!(
            image.result_queries[0].keys,
            vec![(
                "type".to_owned(),
                vec!["image".to_owned(), "container".to_owned()]
            )]
        );
        assert!(taskotron_gating::may_waive(
            &settings.permissions,
            "alice",
            "dist.rpmlint"
        ));
        assert!(!taskotron_gating::may_waive(
            &settings.permissions,
            "bob",
            "dist.rpmlint"
        ));
        assert_eq!(settings.superusers, ["bodhi"]);
        assert_eq!(
            settings.distgit_url.as_deref(),
            Some("http://127.0.0.1:9/distgit")
        );
        assert!(settings.koji.is_some());

        let bad = taskotron_config::Config::from_toml_str(
            "[[waivers.permissions]]\ntestcases = [\"dist.*\"]\n",
            "bad.toml",
        )
        .expect_err("an entry without users");
        assert!(bad.to_string().contains("waivers.permissions[0]"), "{bad}");
    }
}

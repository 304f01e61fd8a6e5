//! `taskotron result`: append one result to a ResultYAML file, the shell
//! task's way to report (libtaskotron's `taskotron_result` helper).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use serde_json::Value as Json;
use taskotron_task_format::result_yaml::RESERVED_KEYS;
use taskotron_task_format::{ResultYaml, TaskResult, parse_results};
use taskotron_types::{CheckName, ItemType, Outcome};

/// Arguments of `result`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Example:\n  taskotron result -f ${workdir}/results.yml -i foo-1.0-1.fc40 -t koji_build -o PASSED -k arch=x86_64\n\nA key given twice with -k becomes a list."
)]
pub(crate) struct Args {
    /// The ResultYAML file; created when missing.
    #[arg(short = 'f', long = "file", value_name = "FILE")]
    file: PathBuf,
    /// The item checked.
    #[arg(short = 'i', long)]
    item: String,
    /// The item's type (koji_build, koji_tag, bodhi_update, …).
    #[arg(short = 't', long = "type", value_name = "TYPE")]
    item_type: ItemType,
    /// PASSED, INFO, FAILED, NEEDS_INSPECTION, ABORTED or CRASHED.
    #[arg(short = 'o', long)]
    outcome: Outcome,
    /// A short note.
    #[arg(short = 'n', long)]
    note: Option<String>,
    /// Extra data, KEY=VALUE; repeat for more.
    #[arg(short = 'k', long = "keyval", value_name = "KEY=VALUE")]
    keyvals: Vec<String>,
    /// The check name (default: the task's, `namespace.name`).
    #[arg(short = 'c', long)]
    checkname: Option<String>,
    /// A path inside the artifacts directory with details.
    #[arg(short = 'a', long)]
    artifact: Option<String>,
}

/// Exit 0 on success, 1 on error (the file is then unchanged).
pub(crate) fn main(args: Args) -> i32 {
    match append(&args) {
        Ok(()) => 0,
        Err(err) => {
            crate::report_error(&err);
            1
        }
    }
}

fn append(args: &Args) -> anyhow::Result<()> {
    if args.item.is_empty() {
        bail!("-i/--item must not be empty");
    }
    let mut result = TaskResult::new(args.item.clone(), args.item_type.as_str(), args.outcome);
    result.note = args.note.clone();
    result.artifact = args.artifact.clone().filter(|it| !it.is_empty());
    if let Some(name) = &args.checkname {
        result.checkname = Some(CheckName::new(name.clone()).context("bad --checkname")?);
    }
    result.keyvals = keyvals(&args.keyvals)?;
    let mut doc = read(&args.file)?;
    doc.results.push(result);
    write_atomically(&args.file, &doc.to_yaml())
}

fn keyvals(pairs: &[String]) -> anyhow::Result<BTreeMap<String, Json>> {
    let mut out: BTreeMap<String, Json> = BTreeMap::new();
    for pair in pairs {
        let Some((key, value)) = pair.split_once('=') else {
            bail!("-k `{pair}` is not KEY=VALUE");
        };
        if key.is_empty() {
            bail!("-k `{pair}` has an empty key");
        }
        if RESERVED_KEYS.contains(&key) {
            bail!(
                "-k `{key}` is a reserved key; use the option for it or another name (reserved: {})",
                RESERVED_KEYS.join(", ")
            );
        }
        let value = Json::String(value.to_owned());
        match out.remove(key) {
            None => out.insert(key.to_owned(), value),
            Some(Json::Array(mut items)) => {
                items.push(value);
                out.insert(key.to_owned(), Json::Array(items))
            }
            Some(first) => out.insert(key.to_owned(), Json::Array(vec![first, value])),
        };
    }
    Ok(out)
}

fn read(path: &Path) -> anyhow::Result<ResultYaml> {
    match std::fs::read_to_string(path) {
        Ok(text) if text.trim().is_empty() => Ok(ResultYaml::default()),
        Ok(text) => parse_results(&text, &path.display().to_string())
            .map_err(|diags| anyhow::anyhow!("{diags}"))
            .context("the results file is not valid ResultYAML; it was left as it is"),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(ResultYaml::default()),
        Err(err) => Err(err).with_context(|| format!("cannot read {}", path.display())),
    }
}

fn write_atomically(path: &Path, text: &str) -> anyhow::Result<()> {
    let tmp = path.with_extension("yml.tmp");
    std::fs::write(&tmp, text).with_context(|| format!("cannot write {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("cannot replace {}", path.display()))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn keyvals_repeat_into_lists() {
        let got = keyvals(&[
            "arch=x86_64".into(),
            "tag=a".into(),
            "tag=b".into(),
            "tag=c".into(),
            "eq=a=b".into(),
        ])
        .unwrap();
        assert_eq!(got["arch"], json!("x86_64"));
        assert_eq!(got["tag"], json!(["a", "b", "c"]));
        assert_eq!(got["eq"], json!("a=b"));
        assert!(
            keyvals(&["novalue".into()])
                .unwrap_err()
                .to_string()
                .contains("not KEY=VALUE")
        );
        assert!(
            keyvals(&["item=x".into()])
                .unwrap_err()
                .to_string()
                .contains("reserved")
        );
        assert!(
            keyvals(&["=x".into()])
                .unwrap_err()
                .to_string()
                .contains("empty key")
        );
    }
}

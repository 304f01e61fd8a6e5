//! `taskotron-bench report`: the medians of several rounds as a Markdown
//! table, with the ratios against the reference ResultsDB's figures in
//! ../shared/specs/baselines.md and the targets (10× the reference).

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use serde_json::Value;

/// Which load reports to summarise.
#[derive(Debug, clap::Args)]
pub(crate) struct ReportArgs {
    /// Files holding `taskotron-bench load` output (lines starting with `RESULT `).
    #[arg(required = true)]
    files: Vec<PathBuf>,
}

/// The reference's figures: scenario, req/s, p50 ms, p99 ms (median rounds,
/// its own load generator), and the target.
struct Baseline {
    scenario: &'static str,
    title: &'static str,
    rps: f64,
    p50: f64,
    p99: f64,
    target: Target,
}

enum Target {
    /// At least this many requests per second.
    Rps(f64),
    /// A p50 of at most this many milliseconds.
    P50(f64),
}

const BASELINES: [Baseline; 6] = [
    Baseline {
        scenario: "post",
        title: "POST /results (c=16)",
        rps: 193.6,
        p50: 80.0,
        p99: 116.2,
        target: Target::Rps(2000.0),
    },
    Baseline {
        scenario: "latest",
        title: "(a) /results/latest (c=8)",
        rps: 218.0,
        p50: 35.9,
        p99: 57.8,
        target: Target::P50(3.6),
    },
    Baseline {
        scenario: "by-item",
        title: "(b) /results?item&type (c=8)",
        rps: 96.1,
        p50: 81.3,
        p99: 134.1,
        target: Target::P50(8.0),
    },
    Baseline {
        scenario: "like-page",
        title: "(c) /results?testcases:like&page=50 (c=8)",
        rps: 56.8,
        p50: 137.5,
        p99: 223.8,
        target: Target::P50(14.0),
    },
    Baseline {
        scenario: "by-id",
        title: "(d) /results/<id> (c=8)",
        rps: 464.6,
        p50: 16.9,
        p99: 27.9,
        target: Target::P50(1.7),
    },
    // No reference figure: the goal of the gating issue, on PostgreSQL.
    Baseline {
        scenario: "decision",
        title: "decision, 20 builds, 3 policies (c=8)",
        rps: 0.0,
        p50: 0.0,
        p99: 0.0,
        target: Target::P50(20.0),
    },
];

fn median(values: &mut [f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    Some(if values.len() % 2 == 1 {
        values[mid]
    } else {
        (values[mid - 1] + values[mid]) / 2.0
    })
}

pub(crate) fn run(args: ReportArgs) -> anyhow::Result<()> {
    // (label, keep-alive, scenario) -> the runs' reports.
    let mut runs: BTreeMap<(String, bool, String), Vec<Value>> = BTreeMap::new();
    for file in &args.files {
        let text = std::fs::read_to_string(file)
            .with_context(|| format!("cannot read {}", file.display()))?;
        for line in text.lines() {
            let Some(doc) = line.strip_prefix("RESULT ") else {
                continue;
            };
            let doc: Value = serde_json::from_str(doc)?;
            let Some(scenario) = doc["scenario"].as_str() else {
                continue;
            };
            if scenario == "setup" {
                continue;
            }
            let label = doc["label"].as_str().unwrap_or("").to_owned();
            let keepalive = doc["keepalive"].as_bool().unwrap_or(true);
            runs.entry((label, keepalive, scenario.to_owned()))
                .or_default()
                .push(doc);
        }
    }
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "| backend | scenario | rounds | req/s | p50 ms | p99 ms | server CPU ms/req | database CPU ms/req | vs reference: req/s × | p50 × | target | met |"
    )?;
    writeln!(
        out,
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"
    )?;
    let labels: Vec<(String, bool)> = {
        let mut seen = Vec::new();
        for (label, keepalive, _) in runs.keys() {
            if !seen.contains(&(label.clone(), *keepalive)) {
                seen.push((label.clone(), *keepalive));
            }
        }
        seen
    };
    for (label, keepalive) in labels {
        for base in &BASELINES {
            let Some(docs) = runs.get(&(label.clone(), keepalive, base.scenario.to_owned())) else {
                continue;
            };
            let pick = |key: &str| -> Option<f64> {
                let mut values: Vec<f64> = docs.iter().filter_map(|it| it[key].as_f64()).collect();
                median(&mut values)
            };
            let (rps, p50, p99) = (pick("rps"), pick("p50_ms"), pick("p99_ms"));
            let cpu = pick("server_cpu_ms_per_req");
            let db_cpu = pick("other_cpu_ms_per_req");
            let fmt = |value: Option<f64>, digits: usize| {
                value.map_or_else(|| "–".to_owned(), |it| format!("{it:.digits$}"))
            };
            let (target, met) = match base.target {
                Target::Rps(want) => (
                    format!("≥ {want:.0} req/s"),
                    rps.is_some_and(|it| it >= want),
                ),
                Target::P50(want) => (format!("p50 ≤ {want} ms"), p50.is_some_and(|it| it <= want)),
            };
            writeln!(
                out,
                "| {}{} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {target} | {} |",
                if label.is_empty() { "?" } else { &label },
                if keepalive { "" } else { " (no keep-alive)" },
                base.title,
                docs.len(),
                fmt(rps, 0),
                fmt(p50, 2),
                fmt(p99, 2),
                fmt(cpu, 3),
                fmt(db_cpu, 3),
                fmt(rps.filter(|_| base.rps > 0.0).map(|it| it / base.rps), 1),
                fmt(p50.filter(|_| base.p50 > 0.0).map(|it| base.p50 / it), 1),
                if met { "yes" } else { "**no**" },
            )?;
        }
    }
    writeln!(
        out,
        "\nReference (ResultsDB 2.2.0, gunicorn 4 workers, PostgreSQL): {}",
        BASELINES
            .iter()
            .filter(|it| it.rps > 0.0)
            .map(|it| format!(
                "{} {:.1} req/s p50 {} ms p99 {} ms",
                it.scenario, it.rps, it.p50, it.p99
            ))
            .collect::<Vec<_>>()
            .join("; ")
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians() {
        assert_eq!(median(&mut [3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&mut [4.0, 1.0, 2.0, 3.0]), Some(2.5));
        assert_eq!(median(&mut []), None);
    }
}

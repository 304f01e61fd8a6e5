//! Robustness of the parsers against malformed and hostile input.
//!
//! The crate's contract: no input makes `parse_formula`, `parse_results` or the
//! template functions panic or hang; every error carries at least one
//! diagnostic, and every diagnostic points into the input (line and column
//! from 1, line at most one past the last); ResultYAML that parses is emitted
//! by `to_yaml` as text that parses back to the same value.
//!
//! Two kinds of tests check it on stable, in the normal suite:
//! - a deterministic mutator (SplitMix64 with fixed seeds) that breaks a
//!   handful of seed documents with byte and line edits and YAML fragments,
//!   20 000 inputs per parser;
//! - explicit cases for known-nasty inputs, and the regression lists below,
//!   where inputs found by the fuzzers in `fuzz/` go (see docs/testing.md).

use std::panic::{self, AssertUnwindSafe};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::json;
use taskotron_task_format::vars::{
    self, Scope, Segment, SubstError, parse_template, substitute_str,
};
use taskotron_task_format::{
    Diagnostics, Formula, RUNNER_VARS, ValidateOptions, parse_formula, parse_results,
};
use taskotron_types::ItemType;

// ---------------------------------------------------------------------------
// Regression inputs. Each is run through every check that fits its list.
// Add inputs found by `cargo fuzz` here, as Rust string literals.
// ---------------------------------------------------------------------------

/// Formulas that must pass every check: edge cases, and inputs the fuzzers found.
const FORMULA_REGRESSIONS: &[&str] = &[
    "",
    "\0",
    "---",
    "...",
    "--- |\n",
    "? ",
    ": ",
    "&a *a",
    "*a",
    "&a [*a]",
    "!!map",
    "!<tag:yaml.org,2002:str> x",
    "%YAML 1.2\n---\nname: x\n",
    "\u{feff}name: x\nactions: [{name: a, shell: ls}]\n",
    "name: x\r\nactions:\r\n  - name: a\r\n    shell: [ls]\r\n",
    "name: x\ractions:\r  - {name: a, shell: ls}\r",
    "name: x\nactions: [{name: a, shell: ${}}]\n",
    "name: x\nactions: [{name: a, shell: $}]\n",
    "name: x\nactions: [{name: a, shell: '${workdir.'}]\n",
    "name: x\nactions: [{name: a, shell: ls, export: workdir}]\n",
    "name: x\nactions: [{name: a, shell: ls, timeout: 99999999999999999999999y}]\n",
    "name: x\ntimeout: 0x7fffffffffffffff\nactions: [{name: a, shell: ls}]\n",
    "name: x\ninput: {args: [koji_build]}\nactions: [{name: a, shell: ls}]\n",
];

/// ResultYAML that must pass every check: edge cases, and inputs the fuzzers found.
const RESULT_REGRESSIONS: &[&str] = &[
    "",
    "\0",
    "results:",
    "results: ~",
    "results: [~]",
    "results: [{}]",
    "results: [{item: x, type: t, outcome: PASSED, k: [1, [2]]}]",
    "results: [{item: x, type: t, outcome: PASSED, k: 1e400}]",
    "results: [{item: x, type: t, outcome: PASSED, k: -0.0}]",
    "results: [{item: x, type: t, outcome: PASSED, k: 0x7fffffffffffffff}]",
    "results: [{item: x, type: t, outcome: PASSED, '': empty key}]",
    "results: [{item: '~', type: 'null', outcome: PASSED, note: ' padded '}]",
    "results: [{item: \"\\t\\u0007\\u001b\", type: t, outcome: PASSED}]",
    "results: [{item: x, type: t, outcome: PASSED, _internal: {a: [1, {b: ~}]}}]",
    // Found by `cargo fuzz run result_yaml`: a block scalar whose last line holds
    // only spaces reads as "…line\n\n"; `to_yaml` writes it with a `|` header,
    // which reads back as "…line\n".
    "!2\r&Ex\nresults:\n- item: bar-0.1-1.fc41\n  type: koji_build\n  outcome: ABORTED\n  note: |\n   tagsst line\n      indented~line\n   ",
    // The same, reduced: a string ending in two line breaks loses one.
    "results: [{item: x, type: t, outcome: PASSED, note: \"a\\n\\n\"}]",
    // A multi-line string whose first non-empty line starts with a space: the
    // emitted block scalar guesses its indentation from that line and loses
    // the space, or does not parse at all.
    "results: [{item: x, type: t, outcome: PASSED, note: \"\\n a\"}]",
    "results: [{item: x, type: t, outcome: PASSED, note: \" \\na\"}]",
    // A quoted string that reads as an octal number when plain: `to_yaml`
    // writes it plain and it comes back as the number 15.
    "results: [{item: '0o17', type: t, outcome: PASSED}]",
    "results: [{item: x, type: t, outcome: PASSED, k: '0o17'}]",
];

/// Templates that must pass every check: edge cases, and inputs the fuzzers found.
const TEMPLATE_REGRESSIONS: &[&str] = &[
    "", "$", "$$", "$$$", "${", "${}", "${.}", "${a.}", "${a..b}", "${a.0.b}", "$1", "$é", "${é}",
    "a$", "}$", "${{x}}", "$${x}", "$\u{0}",
];

#[test]
fn formula_regressions() {
    expect_no_failures(FORMULA_REGRESSIONS, |src| check_formula(src).map(drop));
}

#[test]
fn result_regressions() {
    expect_no_failures(RESULT_REGRESSIONS, |src| check_results(src).map(drop));
}

#[test]
fn template_regressions() {
    expect_no_failures(TEMPLATE_REGRESSIONS, check_template);
}

/// Run `check` on every input and report every failure at once.
fn expect_no_failures(inputs: &[&str], check: fn(&str) -> Result<(), String>) {
    let failures: Vec<String> = inputs
        .iter()
        .filter_map(|src| {
            check(src)
                .err()
                .map(|err| format!("input: {}\n{err}", show(src)))
        })
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} inputs fail:\n\n{}",
        failures.len(),
        inputs.len(),
        failures.join("\n\n")
    );
}

// ---------------------------------------------------------------------------
// The mutator.
// ---------------------------------------------------------------------------

const FORMULA_SEEDS: &[&str] = &[
    "name: smoke\nactions:\n  - name: say hello\n    shell: [echo hello]\n",
    r#"name: rpm-sanity
namespace: dist
desc: check that the build's RPMs install
maintainer: qa-team
timeout: 45m
input:
  args: [koji_build, arch]
environment:
  rpm: [rpm-build, python3-libs]
  network: false
actions:
  - name: inspect the build
    python:
      file: inspect.py
      callable: main
      build: ${koji_build}
      workdir: "${workdir}"
    export: inspection
    timeout: 10m
  - name: turn xunit into results
    xunit: {file: "${artifactsdir}/junit.xml", item: "${item}", aggregation: none}
    export: xunit_results
  - name: report
    resultsdb: {results: "${inspection}"}
  - name: exit
    exitcode: {result_worst: "${xunit_results}"}
"#,
    "{name: anchors, input: {args: [koji_tag]}, actions: [\n  &step {name: first, shell: \"ls ${taskdir} && echo $$PATH\", export: listing},\n  {name: second, dummy: {result: PASS, msg: \"${listing.0}\"}},\n  {name: repo, createrepo: {repodir: \"${workdir}/repo\"}, timeout: 90}]}\n",
    "# block scalars\nname: 'block-demo'\n\"namespace\": pkg\ndesc: >\n  folded\n  text\nactions:\n- name: script\n  shell: |\n    set -e\n    rpm -qp \"$$f\" ${workdir}/x.rpm\n- name: dummy\n  dummy:\n    result: FAIL\n    msg: !!str 42\n",
];

const RESULT_SEEDS: &[&str] = &[
    "results:\n  - item: foo-1.2-3.fc40\n    type: koji_build\n    checkname: dist.rpmlint\n    outcome: FAILED\n    note: 2 errors, 7 warnings\n    artifact: logs/foo.log\n    arch: x86_64\n    count: 3\n    ratio: 0.25\n    tags: [a, 1, true]\n  - item: FEDORA-2024-0a1b2c3d4e\n    type: bodhi_update\n    outcome: PASSED\n    _internal: {resultsdb_result_id: 12, nested: [1, {x: null}]}\n",
    "{results: [{item: \"x: #1 'q'\", type: koji_tag, outcome: NEEDS_INSPECTION, note: \"true\", n: \"123\"},\n  {item: 'f40-updates', type: koji_tag, outcome: INFO, note: null, artifact: ~}]}\n",
    "results:\n- item: bar-0.1-1.fc41\n  type: koji_build\n  outcome: ABORTED\n  note: |\n    first line\n      indented line\n    last line\n  summary: >-\n    folded\n    text\n  unicode: \"\u{17e}lu\u{165}ou\u{10d}k\u{fd} \\u00e9\"\n",
    "results: []\n",
];

/// Values a mutation may put after a `: `: scalars of every style and type.
const VALUES: &[&str] = &[
    "x",
    "'x'",
    "\"x\"",
    "''",
    "\"\"",
    "~",
    "null",
    "'null'",
    "true",
    "'true'",
    "3",
    "'3'",
    "-7",
    "+7",
    "1.5",
    "1e400",
    "-0.0",
    ".5",
    "0x10",
    "'0x10'",
    "0o17",
    "'0o17'",
    "1_000",
    "!!str 3",
    "!!int 3",
    "[]",
    "{}",
    "[1, x, true]",
    "[[1]]",
    "{a: 1}",
    "\"a\\nb\"",
    "\"a\\n\\n\"",
    "\"\\n a\"",
    "\" \\na\"",
    "\"a \\n\"",
    "\"\\t\\u0007\\u001b\"",
    "\"\\u0085\\u2028\"",
    "\"\\r\\n\"",
    "'#'",
    "'a #b'",
    "'- x'",
    "'? x'",
    "'x: y'",
    "'|'",
    "\"${workdir}\"",
    "\"$$x\"",
    "${koji_build}",
    "$item",
    "'${a.b.0}'",
    "\"\u{e9}\u{1f600}\"",
    "|\n  a\n\n",
    "|+\n  a\n\n",
    ">-\n  a\n  b\n",
    "*a",
    "&a x",
];

/// Text a mutation may insert: YAML syntax, template syntax, odd characters.
const FRAGMENTS: &[&str] = &[
    "{",
    "}",
    "[",
    "]",
    "{}",
    "[]",
    "&a ",
    "*a",
    "&a [x, *a]",
    "!!str ",
    "!!map ",
    "!!seq ",
    "!<tag:yaml.org,2002:int> ",
    "!x ",
    "---\n",
    "--- ",
    "...\n",
    "$",
    "${",
    "$$",
    "${workdir}",
    "${koji_build}",
    "${a.b.0}",
    "$item",
    ": ",
    ":",
    "- ",
    "-",
    "? ",
    ",",
    "#",
    " #c\n",
    "'",
    "''",
    "\"",
    "\"\\",
    "\\u00",
    "\\x",
    "|\n",
    "|-\n",
    ">+\n",
    "|2\n",
    "\t",
    "\0",
    "\n",
    "\r",
    "\r\n",
    "~",
    "null",
    "true",
    "0o17",
    "'0o17'",
    "\"\\n \"",
    "\"a\\n\\n\"",
    "0x1F",
    "1e400",
    "-0.0",
    ".inf",
    "1_000",
    "%YAML 1.2\n",
    "%TAG ! tag:x,2024:\n",
    "\u{feff}",
    "\u{e9}",
    "\u{2028}",
    "\u{85}",
    "\u{1f600}",
    "  ",
    "    ",
    "name: x",
    "actions:",
    "results:",
    "outcome: PASSED",
    "item: x",
    "type: koji_build",
    "_internal: {}",
    "export: out",
    "shell: [ls]",
    "timeout: 5m",
    "input: {args: [arch]}",
];

/// A splitmix64 generator: tiny, fast, and the same sequence on every machine.
struct SplitMix(u64);

impl SplitMix {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `0..n`; `n` must not be zero.
    fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    fn chance(&mut self, one_in: usize) -> bool {
        self.below(one_in) == 0
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// Large fragments, inserted rarely: deep nesting and very long lines.
fn big_fragments() -> Vec<String> {
    vec![
        "[".repeat(10_000),
        "{a: ".repeat(2_000),
        "- ".repeat(10_000),
        "x".repeat(20_000),
        format!("'{}'", "y".repeat(20_000)),
        (0..200)
            .map(|i| format!("{:w$}k{i}:\n", "", w = i))
            .collect(),
        "&a [*a, ".repeat(500),
    ]
}

/// A range `start..end` of `data`, at most `max` long.
fn range(rng: &mut SplitMix, len: usize, max: usize) -> (usize, usize) {
    let start = rng.below(len + 1);
    let end = start + rng.below((len - start).min(max) + 1);
    (start, end)
}

/// The byte offsets where lines start.
fn line_starts(data: &[u8]) -> Vec<usize> {
    std::iter::once(0)
        .chain(
            data.iter()
                .enumerate()
                .filter(|&(_, &b)| b == b'\n')
                .map(|(idx, _)| idx + 1),
        )
        .collect()
}

/// Apply 1 to 6 random edits to `data`.
fn mutate(rng: &mut SplitMix, data: &mut Vec<u8>, donors: &[&str], big: &[String]) {
    const BYTES: &[u8] = b"{}[]&*!|>-?:,#'\"%@`\t\n\r \0$.0123456789aZ\\~_";
    for _ in 0..=rng.below(6) {
        let len = data.len();
        match rng.below(11) {
            0 => {
                let byte = if rng.chance(4) {
                    rng.next_u64() as u8
                } else {
                    *rng.pick(BYTES)
                };
                data.insert(rng.below(len + 1), byte);
            }
            1 => {
                let (start, end) = range(rng, len, 16);
                data.drain(start..end);
            }
            2 if len > 0 => {
                let idx = rng.below(len);
                data[idx] = *rng.pick(BYTES);
            }
            3 | 4 => {
                let fragment = if rng.chance(60) {
                    rng.pick(big).as_bytes()
                } else {
                    rng.pick(FRAGMENTS).as_bytes()
                };
                let (start, end) = if rng.chance(2) {
                    let at = rng.below(len + 1);
                    (at, at)
                } else {
                    range(rng, len, 8)
                };
                data.splice(start..end, fragment.iter().copied());
            }
            5 => {
                let donor = rng.pick(donors).as_bytes();
                let (start, end) = range(rng, donor.len(), 64);
                let at = rng.below(len + 1);
                data.splice(at..at, donor[start..end].iter().copied());
            }
            6 => {
                let (start, end) = range(rng, len, 64);
                let copy = data[start..end].to_vec();
                let at = rng.below(len + 1);
                data.splice(at..at, copy);
            }
            7 => {
                // Indent or dedent a line: YAML's structure is its indentation.
                let starts = line_starts(data);
                let at = *rng.pick(&starts);
                if rng.chance(2) {
                    let width = 1 + rng.below(4);
                    data.splice(at..at, std::iter::repeat_n(b' ', width));
                } else {
                    let spaces = data[at..].iter().take_while(|&&b| b == b' ').count();
                    data.drain(at..at + spaces.min(1 + rng.below(4)));
                }
            }
            8 => {
                // Duplicate a whole line: duplicate keys, repeated list items.
                let starts = line_starts(data);
                let which = rng.below(starts.len());
                let start = starts[which];
                let end = starts.get(which + 1).copied().unwrap_or(len);
                let copy = data[start..end].to_vec();
                let at = *rng.pick(&starts);
                data.splice(at..at, copy);
            }
            9 => {
                // Replace the value after a `: ` with another value: the
                // document usually stays valid, so the emitter gets to see it.
                let colons: Vec<usize> = data
                    .windows(2)
                    .enumerate()
                    .filter(|&(_, pair)| pair == b": ")
                    .map(|(idx, _)| idx + 2)
                    .collect();
                if !colons.is_empty() {
                    let start = *rng.pick(&colons);
                    let end = data[start..]
                        .iter()
                        .position(|b| b",}]\n".contains(b))
                        .map_or(len, |it| start + it);
                    data.splice(start..end, rng.pick(VALUES).bytes());
                }
            }
            _ => {
                // Swap two lines.
                let starts = line_starts(data);
                if starts.len() > 2 {
                    let mut lines: Vec<Vec<u8>> = data
                        .split_inclusive(|&b| b == b'\n')
                        .map(<[u8]>::to_vec)
                        .collect();
                    let (a, b) = (rng.below(lines.len()), rng.below(lines.len()));
                    lines.swap(a, b);
                    *data = lines.concat();
                }
            }
        }
    }
}

/// Feed `iterations` mutated inputs to `check`.
///
/// Inputs that parse (`check` returns `Ok(true)`) join a pool that later
/// mutations start from, so the mutator reaches past the first syntax error.
/// Returns how many inputs parsed.
fn run_mutations(
    seeds: &[&str],
    iterations: usize,
    seed: u64,
    check: fn(&str) -> Result<bool, String>,
) -> usize {
    const POOL_MAX: usize = 256;
    const SLOW: Duration = Duration::from_secs(5);
    let mut rng = SplitMix(seed);
    let big = big_fragments();
    let mut donors: Vec<&str> = seeds.to_vec();
    donors.extend(FRAGMENTS);
    let mut pool: Vec<Vec<u8>> = seeds.iter().map(|it| it.as_bytes().to_vec()).collect();
    let mut parsed = 0;
    let mut failures = Vec::new();
    for iteration in 0..iterations {
        let mut data = if rng.chance(3) {
            rng.pick(seeds).as_bytes().to_vec()
        } else {
            rng.pick(&pool).clone()
        };
        mutate(&mut rng, &mut data, &donors, &big);
        let src = String::from_utf8_lossy(&data);
        let started = Instant::now();
        let outcome = check(&src);
        let took = started.elapsed();
        assert!(
            took < SLOW,
            "mutation {iteration} (seed {seed:#x}) took {took:?}\ninput: {}",
            show(&src)
        );
        match outcome {
            Ok(true) => {
                parsed += 1;
                if data.len() < 16_384 {
                    if pool.len() < POOL_MAX {
                        pool.push(src.into_owned().into_bytes());
                    } else {
                        let at = rng.below(POOL_MAX);
                        pool[at] = src.into_owned().into_bytes();
                    }
                }
            }
            Ok(false) => {}
            Err(err) => {
                failures.push(format!(
                    "mutation {iteration}: {err}\ninput: {}",
                    show(&src)
                ));
            }
        }
    }
    // Report every failure of the run, the first few in full.
    assert!(
        failures.is_empty(),
        "{} of {iterations} mutated inputs (seed {seed:#x}) fail; the first ones:\n\n{}",
        failures.len(),
        failures
            .iter()
            .take(5)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n\n")
    );
    parsed
}

#[test]
fn mutated_formulas() {
    let started = Instant::now();
    let parsed = run_mutations(FORMULA_SEEDS, 20_000, 0x7a5c_0f01, check_formula_once);
    eprintln!(
        "mutated_formulas: 20000 inputs, {parsed} valid, {:?}",
        started.elapsed()
    );
    assert!(
        parsed > 100,
        "the mutator barely reaches valid formulas: {parsed}"
    );
}

#[test]
fn mutated_results() {
    let started = Instant::now();
    let parsed = run_mutations(RESULT_SEEDS, 20_000, 0x5e5_0717e, check_results);
    eprintln!(
        "mutated_results: 20000 inputs, {parsed} valid, {:?}",
        started.elapsed()
    );
    assert!(
        parsed > 100,
        "the mutator barely reaches valid ResultYAML: {parsed}"
    );
}

#[test]
fn mutated_templates() {
    let seeds = [
        "echo $$HOME ${workdir}/out-$koji_build.log",
        "${out.rpms.1} and ${n} and $nothing; cost $$5",
        "plain text",
        "\u{fc}n\u{ef}c\u{f6}d\u{e9} $koji_build \u{2713}",
    ];
    let started = Instant::now();
    let parsed = run_mutations(&seeds, 20_000, 0x7e3a_1a7e, |text| {
        check_template(text).map(|()| parse_template(text).is_ok())
    });
    eprintln!(
        "mutated_templates: 20000 inputs, {parsed} valid, {:?}",
        started.elapsed()
    );
}

// ---------------------------------------------------------------------------
// Known-nasty inputs.
// ---------------------------------------------------------------------------

/// A "billion laughs" document: ten levels of ten aliases to the level below.
fn alias_bomb(prefix: &str) -> String {
    let mut src = String::from(prefix);
    src.push_str("l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
    for level in 1..10 {
        let below = format!("*l{}", level - 1);
        let items = [below.as_str(); 10].join(", ");
        src.push_str(&format!("l{level}: &l{level} [{items}]\n"));
    }
    src
}

#[test]
fn alias_bomb_is_refused_quickly() {
    for (src, results) in [
        (
            alias_bomb("name: bomb\nactions: [{name: a, shell: ls}]\n"),
            false,
        ),
        (alias_bomb("results: []\n"), true),
    ] {
        let diags = within(TEN_SECONDS, "the alias bomb", move || {
            if results {
                parse_results(&src, "bomb.yml").map(drop)
            } else {
                parse_formula(&src, "bomb.yml", &ValidateOptions::default()).map(drop)
            }
        })
        .expect_err("an alias bomb must not be accepted");
        assert!(
            diags
                .items
                .iter()
                .any(|it| it.message.contains("more than")),
            "{diags}"
        );
    }
    // Aliases under the limit still expand.
    let src =
        "results:\n  - &r {item: x, type: koji_build, outcome: PASSED, tags: &t [a, b]}\n  - *r\n";
    let doc = parse_results(src, "r.yml").unwrap();
    assert_eq!(doc.results.len(), 2);
    assert_eq!(doc.results[1].keyvals["tags"], json!(["a", "b"]));
}

#[test]
fn deep_flow_nesting_is_an_error() {
    for open in ["[", "{", "{a: ", "[{a: "] {
        let unbalanced = open.repeat(10_000);
        let closers: String = open
            .chars()
            .rev()
            .filter_map(|c| match c {
                '[' => Some(']'),
                '{' => Some('}'),
                _ => None,
            })
            .collect();
        let balanced = format!("{unbalanced}x{}", closers.repeat(10_000));
        for src in [unbalanced, balanced] {
            // Our depth limit or yaml-rust2's own, whichever comes first.
            let diags = expect_errors_everywhere(&src);
            let text = diags.to_string();
            assert!(
                text.contains("nesting deeper than") || text.contains("recursion limit"),
                "{diags}"
            );
        }
    }
}

#[test]
fn deep_block_nesting_is_an_error() {
    // 10 000 compact block sequences on one line.
    let compact = format!("{}x\n", "- ".repeat(10_000));
    // Block sequences and mappings nested by indentation, one level a line.
    let indented_seq: String = (0..1_000).map(|i| format!("{:w$}-\n", "", w = i)).collect();
    let indented_map: String = (0..1_000)
        .map(|i| format!("{:w$}k{i}:\n", "", w = i))
        .collect();
    for src in [compact, indented_seq, indented_map] {
        let diags = expect_errors_everywhere(&src);
        assert!(diags.to_string().contains("nesting deeper than"), "{diags}");
    }
}

#[test]
fn megabyte_scalars() {
    let big = "x".repeat(1 << 20);
    let formula =
        format!("name: big\ndesc: {big}\nactions:\n  - name: a\n    shell: [\"echo {big}\"]\n");
    let valid = within(TEN_SECONDS, "a formula with 1 MB lines", move || {
        check_formula_with(&formula, None)
    });
    assert_eq!(valid, Ok(true));

    let results = format!(
        "results:\n  - item: {big}\n    type: koji_build\n    outcome: PASSED\n    note: \"{big}\\nend\"\n"
    );
    let valid = within(TEN_SECONDS, "ResultYAML with 1 MB lines", move || {
        check_results(&results)
    });
    assert_eq!(valid, Ok(true));

    // One 1 MB line of garbage, and an unterminated 1 MB quoted scalar.
    let garbage = "[{:-&*!|".repeat((1 << 20) / 8);
    let unterminated = format!("results: [{{item: \"{big}");
    for src in [garbage, unterminated] {
        let valid = within(TEN_SECONDS, "a 1 MB line of garbage", move || {
            Ok::<bool, String>(check_formula_once(&src)? || check_results(&src)?)
        });
        assert_eq!(valid, Ok(false));
    }
}

#[test]
fn a_second_document_is_an_error() {
    for src in [
        "name: a\nactions: [{name: a, shell: ls}]\n---\nname: b\n",
        "results: []\n---\nresults: []\n",
        "---\n---\n",
        "results: []\n...\n---\n",
    ] {
        let diags = expect_errors_everywhere(src);
        let second = diags
            .items
            .iter()
            .find(|it| it.message.contains("second YAML document"))
            .unwrap_or_else(|| panic!("{src:?}: {diags}"));
        assert!(second.pos.line >= 2, "{src:?}: {diags}");
    }
}

#[test]
fn tabs_as_indentation_are_an_error() {
    for src in [
        "name: x\nactions:\n\t- name: a\n\t  shell: ls\n",
        "results:\n\t- item: x\n\t  type: t\n\t  outcome: PASSED\n",
        "results:\n  - item: x\n\ttype: t\n",
    ] {
        let diags = expect_errors_everywhere(src);
        assert!(
            diags.items.iter().any(|it| it.pos.line >= 2),
            "{src:?}: {diags}"
        );
    }
}

#[test]
fn a_mapping_as_key_is_an_error() {
    for src in [
        "{a: 1}: x\n",
        "? {a: 1}\n: x\n",
        "? [a, b]\n: x\n",
        "results:\n  - {item: x, type: t, outcome: PASSED, {k: v}: 1}\n",
        "name: x\nactions:\n  - name: a\n    ? [shell]\n    : ls\n",
    ] {
        let diags = expect_errors_everywhere(src);
        assert!(
            diags
                .to_string()
                .contains("a mapping key must be a plain value"),
            "{src:?}: {diags}"
        );
    }
}

#[test]
fn duplicate_keys_are_errors() {
    let src = "name: a\nname: b\nactions: [{name: x, shell: ls, shell: pwd}]\n";
    let diags = expect_errors_everywhere(src);
    let lines: Vec<usize> = diags
        .items
        .iter()
        .filter(|it| it.message.starts_with("duplicate key"))
        .map(|it| it.pos.line)
        .collect();
    assert_eq!(lines, [2, 3, 2, 3], "{diags}");
    let src = "results:\n  - item: x\n    type: t\n    outcome: PASSED\n    outcome: FAILED\n";
    let diags = expect_errors_everywhere(src);
    assert!(
        diags.to_string().contains("duplicate key `outcome`"),
        "{diags}"
    );
}

#[test]
fn a_nul_does_not_end_the_document() {
    // yaml-rust2 reads NUL as the end of the input: what follows must not be
    // silently dropped.
    for src in [
        "results: []\n\0garbage: [",
        "name: x\nactions: [{name: a, shell: ls}]\n\0actions: 3\n",
    ] {
        expect_errors_everywhere(src);
    }
}

#[test]
fn many_keys_do_not_take_quadratic_time() {
    // 10 000 distinct keys in one mapping (160 kB), well under the 100 000
    // node limit: a linear parse takes about 0.2 s in debug. The duplicate-key
    // check in yaml.rs compares each key with every earlier one, so this takes
    // about 2.5 s in debug; 40 000 keys (700 kB) take 30 s, 17 s in release.
    let mut src = String::from("results:\n  - item: x\n    type: t\n    outcome: PASSED\n");
    for i in 0..10_000 {
        src.push_str(&format!("    k{i}: {i}\n"));
    }
    within(
        Duration::from_millis(1_500),
        "a result with 10 000 keyvals",
        move || check_results(&src),
    )
    .unwrap();
}

// ---------------------------------------------------------------------------
// The checks.
// ---------------------------------------------------------------------------

/// Parse a formula as `taskotron check` does (no item type) and as a runner
/// does (with one); `Ok(true)` when it is valid either way.
fn check_formula(src: &str) -> Result<bool, String> {
    let alone = check_formula_with(src, None)?;
    let with_item = check_formula_with(src, Some(ItemType::KojiBuild))?;
    Ok(alone || with_item)
}

/// [`check_formula`] at half the cost, for the mutator: each input is parsed
/// with or without an item type, by the parity of its length.
fn check_formula_once(src: &str) -> Result<bool, String> {
    let item_type = (src.len() % 2 == 1).then_some(ItemType::KojiBuild);
    check_formula_with(src, item_type)
}

fn check_formula_with(src: &str, item_type: Option<ItemType>) -> Result<bool, String> {
    let outcome = catch("parse_formula", || {
        parse_formula(src, "task.yml", &ValidateOptions { item_type })
    })?;
    match outcome {
        Ok(formula) => {
            substitute_every_action(&formula, item_type)?;
            Ok(true)
        }
        Err(diags) => {
            check_positions(src, &diags)?;
            Ok(false)
        }
    }
}

/// A formula that validates substitutes against the scope the runner builds
/// without finding an unknown variable or a malformed `$`.
fn substitute_every_action(formula: &Formula, item_type: Option<ItemType>) -> Result<(), String> {
    let mut scope = Scope::new();
    for name in RUNNER_VARS {
        scope.insert((*name).to_owned(), json!(format!("<{name}>")));
    }
    scope.insert("koji_build".to_owned(), json!("foo-1.0-1.fc40"));
    let item_names = formula
        .input_args
        .iter()
        .filter_map(|it| it.parse::<ItemType>().ok())
        .chain(item_type);
    for item in item_names {
        scope.insert(item.as_str().to_owned(), json!(format!("<{item}>")));
    }
    for action in &formula.actions {
        match catch("vars::substitute", || {
            vars::substitute(&action.params, &scope)
        })? {
            Ok(_) | Err(SubstError::BadPath { .. }) => {}
            Err(err) => {
                return Err(format!(
                    "action {} of a valid formula does not substitute: {err}",
                    action.index
                ));
            }
        }
        if let Some(export) = &action.export {
            scope.insert(export.clone(), json!({"rpms": ["a.rpm"], "n": 1}));
        }
    }
    Ok(())
}

/// Parse ResultYAML and, when it is valid, emit it and parse it back; `Ok(true)`
/// when it is valid.
fn check_results(src: &str) -> Result<bool, String> {
    match catch("parse_results", || parse_results(src, "results.yml"))? {
        Ok(doc) => {
            let text = catch("ResultYaml::to_yaml", || doc.to_yaml())?;
            match catch("parse_results (emitted)", || {
                parse_results(&text, "emitted.yml")
            })? {
                Ok(back) if back == doc => Ok(true),
                Ok(back) => Err(format!(
                    "the emitted document reads back differently\nemitted: {}\nparsed:    {doc:?}\nread back: {back:?}",
                    show(&text)
                )),
                Err(diags) => Err(format!(
                    "the emitted document does not parse\nemitted: {}\n{diags}",
                    show(&text)
                )),
            }
        }
        Err(diags) => {
            check_positions(src, &diags)?;
            Ok(false)
        }
    }
}

/// Parse and substitute a template; both must agree on whether it is valid.
fn check_template(text: &str) -> Result<(), String> {
    let mut scope = Scope::new();
    scope.insert("koji_build".to_owned(), json!("foo-1.0-1.fc40"));
    scope.insert("n".to_owned(), json!(3));
    scope.insert("nothing".to_owned(), json!(null));
    scope.insert(
        "out".to_owned(),
        json!({"rpms": ["a.rpm", "b.rpm"], "ok": true}),
    );
    let parsed = catch("parse_template", || parse_template(text))?;
    let substituted = catch("substitute_str", || substitute_str(text, &scope))?;
    match (&parsed, &substituted) {
        (Ok(segments), Err(SubstError::Placeholder { .. })) => Err(format!(
            "parses as {segments:?} but substitution calls it malformed: {substituted:?}"
        )),
        (Ok(segments), _) => {
            let chars: Vec<char> = text.chars().collect();
            for segment in segments {
                if let Segment::Var(var) = segment
                    && chars.get(var.offset) != Some(&'$')
                {
                    return Err(format!(
                        "`{var}` has offset {} which is not a `$`",
                        var.offset
                    ));
                }
            }
            Ok(())
        }
        (Err(err), Err(SubstError::Placeholder { message })) if *message == err.message => {
            if err.offset < text.chars().count() {
                Ok(())
            } else {
                Err(format!("error offset {} is past the end", err.offset))
            }
        }
        (Err(err), _) => Err(format!(
            "parse error {err:?} but substitution gave {substituted:?}"
        )),
    }
}

/// How many lines YAML sees: `\n`, `\r\n` and a lone `\r` each end one.
fn line_count(src: &str) -> usize {
    let bytes = src.as_bytes();
    let breaks = bytes
        .iter()
        .enumerate()
        .filter(|&(idx, &b)| b == b'\n' || (b == b'\r' && bytes.get(idx + 1) != Some(&b'\n')))
        .count();
    breaks + 1
}

/// At least one diagnostic, and every one inside the input.
fn check_positions(src: &str, diags: &Diagnostics) -> Result<(), String> {
    if diags.items.is_empty() {
        return Err("an error without any diagnostic".to_owned());
    }
    let max_line = line_count(src) + 1;
    for diag in &diags.items {
        let pos = diag.pos;
        if pos.line < 1 || pos.column < 1 || pos.line > max_line {
            return Err(format!(
                "diagnostic at {pos} is outside the input ({} lines): {}",
                max_line - 1,
                diag.message
            ));
        }
    }
    Ok(())
}

/// Formula and ResultYAML parsing both fail on `src`, with good positions;
/// returns the formula's diagnostics followed by the ResultYAML ones.
fn expect_errors_everywhere(src: &str) -> Diagnostics {
    let owned = src.to_owned();
    let (formula, results) = within(TEN_SECONDS, "parsing a nasty input", move || {
        (
            parse_formula(&owned, "task.yml", &ValidateOptions::default()),
            parse_results(&owned, "results.yml"),
        )
    });
    let formula = formula.expect_err("the formula parser accepted it");
    let results = results.expect_err("the ResultYAML parser accepted it");
    for diags in [&formula, &results] {
        if let Err(err) = check_positions(src, diags) {
            panic!("{err}\ninput: {}", show(src));
        }
    }
    let mut items = formula.items;
    items.extend(results.items);
    Diagnostics {
        origin: "both".to_owned(),
        items,
    }
}

/// Run `f`, turning a panic into an error that names `what`.
fn catch<T>(what: &str, f: impl FnOnce() -> T) -> Result<T, String> {
    panic::catch_unwind(AssertUnwindSafe(f)).map_err(|payload| {
        let message = payload
            .downcast_ref::<&str>()
            .map(|it| (*it).to_owned())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "(a panic without a message)".to_owned());
        format!("{what} panicked: {message}")
    })
}

/// The time limit of the known-nasty inputs; each takes well under a second.
const TEN_SECONDS: Duration = Duration::from_secs(10);

/// Run `f` on its own thread and fail the test if it takes longer than
/// `limit`: a hang must fail the test, not stall the suite.
fn within<T: Send + 'static>(
    limit: Duration,
    what: &str,
    f: impl FnOnce() -> T + Send + 'static,
) -> T {
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let _ = tx.send(f());
    });
    match rx.recv_timeout(limit) {
        Ok(it) => it,
        Err(RecvTimeoutError::Timeout) => panic!("{what} did not finish within {limit:?}"),
        Err(RecvTimeoutError::Disconnected) => panic!("{what} panicked (see above)"),
    }
}

/// An input for a failure message: quoted, escaped, and cut when long.
fn show(src: &str) -> String {
    const MAX: usize = 2_000;
    let len = src.chars().count();
    if len <= MAX {
        format!("{src:?}")
    } else {
        let head: String = src.chars().take(MAX).collect();
        format!("{head:?}… ({len} characters in all)")
    }
}

use expect_like::check_diags;
use serde_json::json;

use super::*;

/// Data-driven helpers: one formula in, the diagnostics out.
mod expect_like {
    use super::*;

    pub(super) fn check_diags(src: &str, item_type: Option<ItemType>, expect: &[&str]) {
        let err = parse_formula(src, "t.yml", &ValidateOptions { item_type })
            .expect_err("the formula should be invalid");
        let got: Vec<String> = err
            .items
            .iter()
            .map(|it| match &it.help {
                Some(help) => format!("{}: {} [{}]", it.pos, it.message, help),
                None => format!("{}: {}", it.pos, it.message),
            })
            .collect();
        assert_eq!(got, expect, "\n{err}");
    }
}

fn parse_ok(src: &str, item_type: Option<ItemType>) -> Formula {
    match parse_formula(src, "t.yml", &ValidateOptions { item_type }) {
        Ok(it) => it,
        Err(err) => panic!("{err}"),
    }
}

const DEMO: &str = r#"
name: pyversions-demo
namespace: dist
desc: fetch and check
maintainer: someuser
timeout: 30m
input:
  args: [koji_build, arch]
environment:
  rpm: [python3-rpm]
  network: true
actions:
  - name: check it
    python: {file: check.py, callable: run, koji_build: "${koji_build}", workdir: "${workdir}", n: 3}
    export: check_output
    timeout: 90
  - name: store results
    resultsdb: {results: "${check_output}"}
  - name: exit code
    exitcode: {result_worst: "${check_output}"}
  - name: shell
    shell:
      - echo $$HOME ${item} > ${workdir}/out
"#;

#[test]
fn a_full_formula() {
    let formula = parse_ok(DEMO, Some(ItemType::KojiBuild));
    assert_eq!(formula.checkname(), "dist.pyversions-demo");
    assert_eq!(formula.input_args, ["koji_build", "arch"]);
    assert_eq!(
        formula.environment,
        Environment {
            rpm: vec!["python3-rpm".into()],
            network: true
        }
    );
    assert_eq!(formula.timeout, Some(Duration::from_secs(1800)));
    assert_eq!(formula.actions.len(), 4);
    let first = &formula.actions[0];
    assert_eq!(first.directive.name, "python");
    assert_eq!(first.export.as_deref(), Some("check_output"));
    assert_eq!(first.timeout, Some(Duration::from_secs(90)));
    assert_eq!(first.params["n"], json!(3));
    assert_eq!(
        first.pos,
        Pos {
            line: 13,
            column: 5
        }
    );
    assert_eq!(
        formula.actions[3].params,
        json!(["echo $$HOME ${item} > ${workdir}/out"])
    );
}

#[test]
fn namespace_defaults_to_scratch_and_no_item_type_is_fine() {
    let formula = parse_ok(
        "name: x\nactions:\n  - name: a\n    dummy: {result: PASS}\n",
        None,
    );
    assert_eq!(formula.checkname(), "scratch.x");
    assert!(formula.input_args.is_empty());
}

#[test]
fn the_item_type_variable_follows_the_given_type() {
    let src = "name: x\nactions:\n  - name: a\n    dummy: {result: PASS, msg: '${koji_tag}'}\n";
    parse_ok(src, Some(ItemType::KojiTag));
    check_diags(
        src,
        Some(ItemType::KojiBuild),
        &[
            "4:32: unknown variable `koji_tag` [variables in scope here: arch, artifactsdir, checkname, item, jobid, koji_build, namespace, taskdir, type, uuid, workdir]",
        ],
    );
}

#[test]
fn declared_inputs_must_match_the_item_type() {
    check_diags(
        "name: x\ninput: {args: [koji_build]}\nactions:\n  - name: a\n    dummy: {result: PASS}\n",
        Some(ItemType::BodhiUpdate),
        &[
            "2:8: this task takes a koji_build item, but it was given a bodhi_update item [run it with `-t koji_build`]",
        ],
    );
}

#[test]
fn every_problem_at_once() {
    check_diags(
        r#"
name: demo
colour: blue
input:
  args: [koji_buidl]
actions:
  - name: one
    shel: [ls]
  - name: two
    python: {file: 3, calable: run}
  - name: three
    resultsdb: {results: "${later}", file: x}
  - name: four
    shell: ["echo ${later}"]
    export: later
  - name: five
    exitcode: {}
  - name: six
    dummy: {result: PASS}
    createrepo: {repodir: x}
  - name: seven
    shell: ["echo $1"]
"#,
        None,
        &[
            "3:1: unknown key `colour` at the top level [known keys at the top level: name, namespace, desc, maintainer, input, environment, actions, timeout]",
            "5:10: unknown input `koji_buidl` [did you mean `koji_build`? inputs are `arch` or an item type: koji_build, koji_tag, bodhi_update, compose, dist_git_commit, docker_image, git_commit, module_build, pull_request]",
            "8:5: unknown directive or key `shel` in action 1 [did you mean `shell`? known directives: shell, python, exitcode, resultsdb, xunit, create_report, createrepo, dummy, koji, bodhi, distgit, yumrepoinfo; action keys: name, export, timeout]",
            "10:13: `python` needs the parameter `callable` [`callable` must be a string]",
            "12:16: `resultsdb` takes only one of `results` or `file`",
            "12:26: unknown variable `later` [`later` is exported by action 4 (line 15), which runs after this one; variables in scope here: arch, artifactsdir, checkname, item, jobid, namespace, taskdir, type, uuid, workdir]",
            "14:13: unknown variable `later` [`later` is exported by this action (line 15), so only later actions can use it; variables in scope here: arch, artifactsdir, checkname, item, jobid, namespace, taskdir, type, uuid, workdir]",
            "17:15: `exitcode` needs one of `result_last` or `result_worst`",
            "20:5: action 6 has a second directive `createrepo` [an action runs exactly one directive; `dummy` is at line 19. Split it into two actions]",
            "22:13: `$1` is not a variable reference [write `$$` for a literal `$`]",
        ],
    );
}

#[test]
fn structural_mistakes() {
    check_diags(
        "",
        None,
        &["1:1: the formula is empty [a formula needs at least `name` and `actions`]"],
    );
    check_diags(
        "- a\n",
        None,
        &["1:1: a formula must be a mapping, found a list [start with `name:`, then `actions:`]"],
    );
    check_diags(
        "desc: x\n",
        None,
        &[
            "1:1: the formula has no `name` [add `name: my-check`; results are reported as `namespace.name`]",
            "1:1: the formula has no `actions` [add `actions:` with a list of steps]",
        ],
    );
    check_diags(
        "name: x\ntimeout: soon\nenvironment: {network: maybe}\nactions: []\n",
        None,
        &[
            "2:10: `timeout` must be a duration, found `soon` (expected number at 0) [write e.g. `90s`, `20m` or `1h 30m`, or a number of seconds]",
            "3:24: `environment.network` must be true or false, found a string",
            "4:10: `actions` is empty [a task needs at least one action]",
        ],
    );
    check_diags(
        "name: x\nactions:\n  - name: a\n    shell: {cmd: ls}\n    export: workdir\n  - name: b\n    xunit: {file: [a], aggregation: some}\n    export: 2bad\n",
        None,
        &[
            "4:12: `shell` takes a command or a list of commands, found a mapping [write e.g. `shell: [make check]` or `shell: \"./check.sh ${item}\"`; quote a command that holds `: `]",
            "5:13: `workdir` is a runner variable and cannot be exported to [runner variables: arch, artifactsdir, checkname, item, jobid, namespace, taskdir, type, uuid, workdir]",
            "7:19: `xunit` parameter `file`: expected a string, found a list",
            "7:37: `xunit` parameter `aggregation`: expected one of allpass, none, found `some`",
            "8:13: `2bad` is not a valid variable name [use letters, digits and `_`, not starting with a digit]",
        ],
    );
}

#[test]
fn duplicate_keys_and_yaml_errors_are_diagnostics() {
    check_diags(
        "name: x\nname: y\nactions: []\n",
        None,
        &["2:1: duplicate key `name` [`name` is first set at line 1]"],
    );
    let err = parse_formula("name: [x\n", "t.yml", &ValidateOptions::default()).unwrap_err();
    assert!(err.to_string().starts_with("t.yml:"), "{err}");
    assert!(err.items[0].message.starts_with("invalid YAML"), "{err}");
}

#[test]
fn exports_are_in_scope_for_later_actions_only() {
    let formula = parse_ok(
        "name: x\nactions:\n  - name: a\n    shell: [echo hi]\n    export: out\n  - name: b\n    dummy: {result: PASS, msg: \"${out}\"}\n",
        None,
    );
    assert_eq!(
        formula.actions[1].params,
        json!({"result": "PASS", "msg": "${out}"})
    );
}

#[test]
fn variable_references_skip_the_static_type_check() {
    parse_ok(
        "name: x\nactions:\n  - name: a\n    xunit: {file: \"${workdir}\", aggregation: \"${arch}\"}\n",
        None,
    );
}

#[test]
fn an_action_without_any_directive() {
    check_diags(
        "name: x\nactions:\n  - name: a\n    export: y\n",
        None,
        &[
            "3:5: action 1 has no directive [add one of: shell, python, exitcode, resultsdb, xunit, create_report, createrepo, dummy, koji, bodhi, distgit, yumrepoinfo]",
        ],
    );
}

#[test]
fn shell_commands_must_be_text() {
    check_diags(
        "name: x\nactions:\n  - name: a\n    shell: [true, ls]\n  - name: b\n    shell:\n      - echo note: done\n  - name: c\n    shell: false\n",
        None,
        &[
            "4:13: command 1 of `shell` must be text, found a boolean [write e.g. `shell: [make check]` or `shell: \"./check.sh ${item}\"`; quote a command that holds `: `]",
            "7:9: command 1 of `shell` must be text, found a mapping [write e.g. `shell: [make check]` or `shell: \"./check.sh ${item}\"`; quote a command that holds `: `]",
            "9:12: `shell` takes a command or a list of commands, found a boolean [write e.g. `shell: [make check]` or `shell: \"./check.sh ${item}\"`; quote a command that holds `: `]",
        ],
    );
    parse_ok(
        "name: x\nactions:\n  - name: a\n    shell: \"true\"\n  - name: b\n    shell: [make, 3]\n",
        None,
    );
}

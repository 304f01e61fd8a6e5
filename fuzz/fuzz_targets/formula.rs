//! Task formulas: any text is either a formula or diagnostics with positions,
//! and the parameters of a valid formula substitute without a panic.
//!
//! A formula that validates declares every variable it uses, so substituting
//! its parameters against the scope the runner will build must never find an
//! unknown variable or a malformed `$`.

#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::json;
use taskotron_fuzz::check_positions;
use taskotron_task_format::vars::{self, Scope, SubstError};
use taskotron_task_format::{Formula, RUNNER_VARS, ValidateOptions, parse_formula};
use taskotron_types::ItemType;

fuzz_target!(|data: &[u8]| {
    let Ok(src) = std::str::from_utf8(data) else {
        return;
    };
    for item_type in [None, Some(ItemType::KojiBuild)] {
        match parse_formula(src, "fuzz.yml", &ValidateOptions { item_type }) {
            Ok(formula) => substitute_every_action(src, &formula, item_type),
            Err(diags) => check_positions(src, &diags),
        }
    }
});

/// Substitute each action's parameters against what the runner would have in
/// scope at that action: runner variables, item variables, earlier exports.
fn substitute_every_action(src: &str, formula: &Formula, item_type: Option<ItemType>) {
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
        match vars::substitute(&action.params, &scope) {
            Ok(_) | Err(SubstError::BadPath { .. }) => {}
            Err(err) => panic!(
                "action {} of a valid formula does not substitute: {err}\ninput: {src:?}",
                action.index
            ),
        }
        if let Some(export) = &action.export {
            scope.insert(
                export.clone(),
                json!({"rpms": ["a.rpm", "b.rpm"], "results": [], "n": 1}),
            );
        }
    }
}

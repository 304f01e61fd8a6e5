//! `taskotron check-formula FORMULA [-t TYPE]`.

use std::path::PathBuf;

use taskotron_runner::exit_code;
use taskotron_task_format::{ValidateOptions, parse_formula};
use taskotron_types::ItemType;

/// Arguments of `check-formula`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The formula (runtask.yml).
    formula: PathBuf,
    /// Check it as if run with this item type.
    #[arg(short = 't', long = "type", value_name = "TYPE")]
    item_type: Option<ItemType>,
}

/// Exit 0 when valid; 2 (like `run`) with every diagnostic when not.
pub(crate) fn main(args: Args) -> i32 {
    let origin = args.formula.display().to_string();
    let src = match std::fs::read_to_string(&args.formula) {
        Ok(it) => it,
        Err(err) => {
            crate::report_error(&anyhow::anyhow!("cannot read the formula {origin}: {err}"));
            return exit_code::USAGE;
        }
    };
    match parse_formula(
        &src,
        &origin,
        &ValidateOptions {
            item_type: args.item_type,
        },
    ) {
        Ok(formula) => {
            crate::display::stdout(&format!(
                "{origin}: ok: {} with {} action{}\n",
                formula.checkname(),
                formula.actions.len(),
                if formula.actions.len() == 1 { "" } else { "s" }
            ));
            exit_code::PASSED
        }
        Err(diags) => {
            crate::display::stderr(&format!("{diags}\n"));
            exit_code::USAGE
        }
    }
}

//! `taskotron vercmp A B`: compare two EVRs as rpm does, like rpmdev-vercmp.

use std::cmp::Ordering;

use taskotron_rpm::{Evr, as_int, evr_cmp};

use crate::display::{stderr, stdout};

/// Arguments of `vercmp`.
#[derive(Debug, clap::Args)]
#[command(after_help = "\
Each side is [epoch:]version[-release]; a missing epoch is 0 and a missing \
release is older than any. Prints -1 when A is older, 0 when equal and 1 when \
newer.

Exit codes, as rpmdev-vercmp: 0 equal, 11 A is newer, 12 B is newer, 2 bad arguments.")]
pub(crate) struct Args {
    /// The first EVR, e.g. 1:2.0-3.fc44.
    a: String,
    /// The second EVR.
    b: String,
}

pub(crate) fn main(args: Args) -> i32 {
    let parse = |text: &str| {
        Evr::parse(text)
            .map_err(|err| format!("error: `{text}` is not [epoch:]version[-release]: {err}\n"))
    };
    let (a, b) = match (parse(&args.a), parse(&args.b)) {
        (Ok(a), Ok(b)) => (a, b),
        (Err(err), _) | (_, Err(err)) => {
            stderr(&err);
            return 2;
        }
    };
    let order = evr_cmp(&a, &b);
    stdout(&format!("{}\n", as_int(order)));
    match order {
        Ordering::Equal => 0,
        Ordering::Greater => 11,
        Ordering::Less => 12,
    }
}

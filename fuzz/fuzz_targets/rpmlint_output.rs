//! rpmlint's output: any text on stdout and stderr, with any exit code, is
//! read without a panic; a verdict, when given, adds up (its counts are the
//! sum of the packages', equal to the summary line's, and a PASSED has no
//! error); and any text as an rpmlintrc is checked without a panic.

#![no_main]

use libfuzzer_sys::fuzz_target;
use taskotron_checks::rpmlint::{ignored_rpmlintrc_lines, judge, parse_output};
use taskotron_types::Outcome;

fuzz_target!(|data: &[u8]| {
    let Some((&code, rest)) = data.split_first() else {
        return;
    };
    let text = String::from_utf8_lossy(rest);
    let (stdout, stderr) = text.split_once('\u{0}').unwrap_or((&text, ""));
    let output = parse_output(stdout, stderr);
    let code = [0, 64, 65, 66, 2, 3, 1][usize::from(code) % 7];
    let packages = ["a.noarch".to_owned(), "a.src".to_owned()];
    if let Ok(verdict) = judge(code, &output, &packages) {
        let errors: u64 = verdict.packages.iter().map(|it| it.errors).sum();
        let warnings: u64 = verdict.packages.iter().map(|it| it.warnings).sum();
        assert_eq!((errors, warnings), (verdict.errors, verdict.warnings));
        let totals = output.totals.expect("a verdict needs the summary line");
        assert_eq!((totals.errors, totals.warnings), (errors, warnings));
        if verdict.outcome == Outcome::Passed {
            assert_eq!(errors, 0);
            assert_eq!(code, 0);
        }
    }
    let _ = ignored_rpmlintrc_lines(&text);
});

//! ResultYAML: any text is either a document or diagnostics with positions,
//! and a document emitted with `to_yaml` parses back to the same value.

#![no_main]

use libfuzzer_sys::fuzz_target;
use taskotron_fuzz::check_positions;
use taskotron_task_format::parse_results;

fuzz_target!(|data: &[u8]| {
    let Ok(src) = std::str::from_utf8(data) else {
        return;
    };
    match parse_results(src, "fuzz.yml") {
        Ok(doc) => {
            let text = doc.to_yaml();
            match parse_results(&text, "emitted.yml") {
                Ok(back) => assert_eq!(
                    back, doc,
                    "the emitted document reads back differently\ninput: {src:?}\nemitted: {text:?}"
                ),
                Err(diags) => panic!(
                    "the emitted document does not parse\ninput: {src:?}\nemitted: {text:?}\n{diags}"
                ),
            }
        }
        Err(diags) => check_positions(src, &diags),
    }
});

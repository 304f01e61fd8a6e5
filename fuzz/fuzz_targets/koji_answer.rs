//! Taskotron's decoder of Koji's XML-RPC answers: any text decodes to a
//! value, a fault or a reason, and never panics.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = taskotron_koji::decode_response(text);
    }
});

//! `fake-infra`'s `infra.yaml` parser: any text parses or says why, never
//! panics.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = taskotron_fake_infra::model::parse_infra(std::path::Path::new("infra.yaml"), text);
    }
});

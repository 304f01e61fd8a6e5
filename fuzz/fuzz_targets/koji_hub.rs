//! The fake Koji hub's answer to any request body: always an XML-RPC
//! response (a value or a fault), never a panic.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let koji = taskotron_fake_infra::model::Koji::default();
        let answer = taskotron_fake_infra::hub::answer(&koji, text);
        assert!(answer.contains("<methodResponse>"), "{answer}");
    }
});

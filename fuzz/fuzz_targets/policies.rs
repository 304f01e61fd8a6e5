//! Gating policy files: any text gives policies or problems, never a panic;
//! every problem points at a line and column inside the text (or one line
//! past its end), and what parses as a server policy has its required parts.

#![no_main]

use libfuzzer_sys::fuzz_target;
use taskotron_gating::{Origin, parse_policies};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    // YAML breaks lines at \n, \r\n and a lone \r.
    let lines = text.matches('\n').count() + text.replace("\r\n", "").matches('\r').count() + 1;
    for origin in [Origin::Server, Origin::Remote] {
        match parse_policies(text, origin) {
            Ok(policies) => {
                for policy in policies {
                    assert!(!policy.decision_contexts.is_empty());
                    assert!(!policy.subject_types.is_empty());
                    assert!(!policy.product_versions.is_empty());
                    if origin == Origin::Server {
                        assert!(policy.id.is_some());
                    }
                }
            }
            Err(problems) => {
                assert!(!problems.is_empty());
                for problem in problems {
                    assert!(problem.pos.line >= 1 && problem.pos.line <= lines + 1, "{problem:?}");
                    assert!(problem.pos.column >= 1, "{problem:?}");
                }
            }
        }
    }
});

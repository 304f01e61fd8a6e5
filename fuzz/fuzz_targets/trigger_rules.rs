//! Trigger rules and events: any text gives rules or located problems,
//! never a panic; valid rules plan any fact without panicking, and every
//! planned job is for a task and arch the rules name.

#![no_main]

use libfuzzer_sys::fuzz_target;
use taskotron_triggers::{ActionKind, Fact, PlanContext, parse_rules, plan};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    // The rules, then (after a line `---event`) a fact as JSON.
    let (rules, event) = text.split_once("\n---event\n").unwrap_or((text, ""));
    let lines = rules.matches('\n').count() + rules.replace("\r\n", "").matches('\r').count() + 1;
    match parse_rules(rules) {
        Err(problems) => {
            assert!(!problems.is_empty());
            for problem in problems {
                assert!(problem.pos.line >= 1 && problem.pos.line <= lines + 1, "{problem:?}");
                assert!(problem.pos.column >= 1, "{problem:?}");
            }
        }
        Ok(set) => {
            let fact = serde_json::from_str(event)
                .ok()
                .and_then(|it| Fact::from_json(it).ok())
                .unwrap_or_else(|| Fact::new("KojiBuildPackageCompleted", "koji_build", "a-1-1.fc44", "a-1-1.fc44"));
            let _ = fact.natural_key();
            let context = PlanContext {
                arches: vec!["x86_64".into(), "aarch64".into()],
            };
            let planned = plan(&set, &fact, &context);
            for job in &planned.jobs {
                let named = set.rules.iter().flat_map(|rule| &rule.actions).any(|action| {
                    matches!(&action.kind, ActionKind::Tasks(tasks) if tasks.contains(&job.task))
                });
                assert!(named, "{job:?}");
                assert!(!job.arch.is_empty());
            }
        }
    }
});

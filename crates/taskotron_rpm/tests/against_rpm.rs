//! rpmvercmp against the real rpm (`rpm --eval` with its Lua `rpm.vercmp`)
//! on generated version pairs: both must order every pair the same way.
//! Skipped when rpm is missing, unless TASKOTRON_REQUIRE_SERVICES=1.

use taskotron_rpm::{as_int, rpmvercmp};

#[test]
#[expect(
    clippy::disallowed_methods,
    reason = "the test asks the host's rpm for the reference answers"
)]
fn agrees_with_rpm_on_generated_pairs() {
    // A deterministic spread of awkward versions: separators, tildes,
    // carets, leading zeros, letters against digits.
    let parts = [
        "1",
        "1.0",
        "1.01",
        "1.0~rc1",
        "1.0^git1",
        "1.0~rc1^g",
        "2_0",
        "1a",
        "1.a",
        "a1",
        "001",
        "1.0.0",
        "~",
        "^",
        "1..0",
        "1.0+",
        "10",
        "9",
        "1.0^",
        "1~",
        "rc",
        "RC",
        "1.0_",
    ];
    // No `-` or `:`: Lua's rpm.vercmp reads its arguments as EVRs, so those
    // would split into epoch, version and release.
    let mut pairs = Vec::new();
    for a in parts {
        for b in parts {
            pairs.push((a, b));
        }
    }
    let script: String = pairs
        .iter()
        .map(|(a, b)| format!("print(rpm.vercmp(\"{a}\", \"{b}\") .. string.char(10))\n"))
        .collect();
    let output = match <std::process::Command>::new("rpm")
        .arg("--eval")
        .arg(format!("%{{lua:\n{script}}}"))
        .output()
    {
        Ok(output) => output,
        Err(err) => {
            let required =
                std::env::var_os("TASKOTRON_REQUIRE_SERVICES").is_some_and(|it| it == "1");
            assert!(!required, "rpm cannot run: {err}");
            return;
        }
    };
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let answers: Vec<i32> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter(|it| !it.is_empty())
        .map(|it| it.trim().parse().expect("rpm prints -1, 0 or 1"))
        .collect();
    assert_eq!(answers.len(), pairs.len());
    let mut wrong = Vec::new();
    for ((a, b), want) in pairs.iter().zip(answers) {
        if as_int(rpmvercmp(a, b)) != want {
            wrong.push(format!("{a} vs {b}: rpm says {want}"));
        }
    }
    assert!(
        wrong.is_empty(),
        "{} disagreements:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}

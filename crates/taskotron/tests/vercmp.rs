//! `taskotron vercmp`: prints -1, 0 or 1 and exits as rpmdev-vercmp does.

#![allow(
    clippy::unwrap_used,
    reason = "test helpers outside #[test] functions fail loudly"
)]

mod common;

use common::{output, taskotron, texts};

#[test]
fn compares_evrs_and_exits_like_rpmdev_vercmp() {
    let dir = tempfile::tempdir().unwrap();
    for (a, b, printed, code) in [
        ("1.0-1", "1.0-1", "0\n", 0),
        ("0:1.0-1", "1.0-1", "0\n", 0),
        ("1:1.0-1", "2.0-1", "1\n", 11),
        ("1.0~rc1-1", "1.0-1", "-1\n", 12),
        ("1.0^git1-1", "1.0-1", "1\n", 11),
        ("1.0", "1.0-1", "-1\n", 12),
    ] {
        let out = output(taskotron(dir.path()).args(["vercmp", a, b]));
        let (stdout, stderr) = texts(&out);
        assert_eq!(stdout, printed, "{a} vs {b}: {stderr}");
        assert_eq!(out.status.code(), Some(code), "{a} vs {b}");
    }
    let out = output(taskotron(dir.path()).args(["vercmp", "x:1", "1"]));
    let (stdout, stderr) = texts(&out);
    assert_eq!(out.status.code(), Some(2));
    assert!(stdout.is_empty());
    assert!(
        stderr.contains("`x:1` is not [epoch:]version[-release]"),
        "{stderr}"
    );
}

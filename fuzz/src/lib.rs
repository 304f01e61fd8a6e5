//! Checks shared by the fuzz targets in `fuzz_targets/`.
//!
//! The same properties are checked on stable, with a deterministic mutator,
//! by `crates/taskotron_task_format/tests/robustness.rs`.

use taskotron_task_format::Diagnostics;

/// How many lines YAML sees in `src`: `\n`, `\r\n` and a lone `\r` each end one.
pub fn line_count(src: &str) -> usize {
    let bytes = src.as_bytes();
    let breaks = bytes
        .iter()
        .enumerate()
        .filter(|&(idx, &b)| b == b'\n' || (b == b'\r' && bytes.get(idx + 1) != Some(&b'\n')))
        .count();
    breaks + 1
}

/// Panic unless `diags` holds at least one diagnostic and every one points
/// into `src` (1-based line and column, line at most one past the last line).
pub fn check_positions(src: &str, diags: &Diagnostics) {
    assert!(
        !diags.items.is_empty(),
        "an error without any diagnostic\ninput: {src:?}"
    );
    let max_line = line_count(src) + 1;
    for diag in &diags.items {
        assert!(
            diag.pos.line >= 1 && diag.pos.column >= 1 && diag.pos.line <= max_line,
            "diagnostic outside the input (it has {} lines): {}:{}: {}\ninput: {src:?}",
            max_line - 1,
            diag.pos.line,
            diag.pos.column,
            diag.message,
        );
    }
}

//! Shell-style globs as Python's `fnmatch.fnmatchcase` reads them, which is
//! how Greenwave matches product versions and package names.

/// Whether `text` matches `pattern`: `*` is any run of characters, `?` one
/// character, `[abc]` / `[a-z]` one of a set and `[!abc]` one outside it; a
/// `[` with no closing `]` is a literal `[`. Case matters.
pub fn fnmatch(pattern: &str, text: &str) -> bool {
    let pattern: Vec<char> = pattern.chars().collect();
    let text: Vec<char> = text.chars().collect();
    // Iterative matching with one backtrack point for the last `*`.
    let (mut p, mut t) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        if p < pattern.len() {
            match pattern[p] {
                '*' => {
                    star = Some((p, t));
                    p += 1;
                    continue;
                }
                '?' => {
                    p += 1;
                    t += 1;
                    continue;
                }
                '[' => {
                    if let Some((matched, next)) = class(&pattern, p, text[t]) {
                        if matched {
                            p = next;
                            t += 1;
                            continue;
                        }
                    } else if text[t] == '[' {
                        p += 1;
                        t += 1;
                        continue;
                    }
                }
                c if c == text[t] => {
                    p += 1;
                    t += 1;
                    continue;
                }
                _ => {}
            }
        }
        match star {
            Some((sp, st)) => {
                p = sp + 1;
                t = st + 1;
                star = Some((sp, st + 1));
            }
            None => return false,
        }
    }
    pattern[p..].iter().all(|it| *it == '*')
}

/// A `[...]` class at `start`: whether `c` is in it and where the pattern
/// goes on; `None` when the class is not closed.
fn class(pattern: &[char], start: usize, c: char) -> Option<(bool, usize)> {
    let mut i = start + 1;
    let negate = pattern.get(i) == Some(&'!');
    if negate {
        i += 1;
    }
    let mut matched = false;
    let mut first = true;
    loop {
        let current = *pattern.get(i)?;
        if current == ']' && !first {
            return Some((matched != negate, i + 1));
        }
        first = false;
        if pattern.get(i + 1) == Some(&'-') && pattern.get(i + 2).is_some_and(|it| *it != ']') {
            let high = pattern[i + 2];
            if current <= c && c <= high {
                matched = true;
            }
            i += 3;
        } else {
            if current == c {
                matched = true;
            }
            i += 1;
        }
    }
}

/// Whether any of `patterns` matches.
pub fn any_match(patterns: &[String], text: &str) -> bool {
    patterns.iter().any(|it| fnmatch(it, text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn behaves_like_fnmatchcase() {
        for (pattern, text, want) in [
            ("fedora-*", "fedora-44", true),
            ("fedora-*", "fedora-", true),
            ("fedora-*", "epel-9", false),
            ("*", "", true),
            ("fedora-4?", "fedora-44", true),
            ("fedora-4?", "fedora-4", false),
            ("fedora-[0-9]*", "fedora-44", true),
            ("fedora-[0-9]*", "fedora-rawhide", false),
            ("fedora-[!0-9]*", "fedora-rawhide", true),
            ("python-*-libs", "python-foo-bar-libs", true),
            ("python-*-libs", "python-foo-libs-x", false),
            ("a*b*c", "aXXbYYbZc", true),
            ("a[", "a[", true),
            ("[]]", "]", true),
            ("Fedora-*", "fedora-44", false),
            ("kernel", "kernel", true),
            ("kernel", "kernel-core", false),
        ] {
            assert_eq!(fnmatch(pattern, text), want, "{pattern} ~ {text}");
        }
    }
}

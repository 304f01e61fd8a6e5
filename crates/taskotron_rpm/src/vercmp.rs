//! rpm's version comparison: `rpmvercmp` for one version or release string,
//! and the EVR order built on it.

use std::cmp::Ordering;

use taskotron_types::Evr;

/// Compare two version (or release) strings as rpm's `rpmvercmp` does.
///
/// The strings are split into segments of ASCII digits or ASCII letters;
/// everything else separates segments and counts for nothing (so `2.0`
/// equals `2_0`, and non-ASCII bytes are separators too). Digits compare as
/// numbers of any length, letters as bytes, and a numeric segment is newer
/// than an alphabetic one. `~` sorts before everything, even the end of the
/// string (`1.0~rc1 < 1.0`); `^` sorts after the end of the string but
/// before any further segment (`1.0 < 1.0^git1 < 1.0.1`). When one string
/// runs out, the one with segments left is newer.
pub fn rpmvercmp(a: &str, b: &str) -> Ordering {
    if a == b {
        return Ordering::Equal;
    }
    let (mut a, mut b) = (a.as_bytes(), b.as_bytes());
    let separator = |c: &u8| !c.is_ascii_alphanumeric() && *c != b'~' && *c != b'^';
    loop {
        a = skip_while(a, separator);
        b = skip_while(b, separator);
        // Tilde: older than anything, including the end.
        match (a.first(), b.first()) {
            (Some(b'~'), Some(b'~')) => {
                a = &a[1..];
                b = &b[1..];
                continue;
            }
            (Some(b'~'), _) => return Ordering::Less,
            (_, Some(b'~')) => return Ordering::Greater,
            _ => {}
        }
        // Caret: newer than the end, older than any further segment.
        match (a.first(), b.first()) {
            (Some(b'^'), Some(b'^')) => {
                a = &a[1..];
                b = &b[1..];
                continue;
            }
            // `1.0` against `1.0^`: the end is older than a caret.
            (None, Some(b'^')) => return Ordering::Less,
            (Some(b'^'), None) => return Ordering::Greater,
            // A caret against a further segment: the caret is older.
            (Some(b'^'), _) => return Ordering::Less,
            (_, Some(b'^')) => return Ordering::Greater,
            _ => {}
        }
        if a.is_empty() || b.is_empty() {
            break;
        }
        let numeric = a[0].is_ascii_digit();
        let take = |s: &[u8]| -> usize {
            s.iter()
                .take_while(|c| {
                    if numeric {
                        c.is_ascii_digit()
                    } else {
                        c.is_ascii_alphabetic()
                    }
                })
                .count()
        };
        let (len_a, len_b) = (take(a), take(b));
        let (seg_a, seg_b) = (&a[..len_a], &b[..len_b]);
        a = &a[len_a..];
        b = &b[len_b..];
        if seg_b.is_empty() {
            // Different kinds of segment: numbers are newer than letters.
            return if numeric {
                Ordering::Greater
            } else {
                Ordering::Less
            };
        }
        let order = if numeric {
            let seg_a = skip_while(seg_a, |c| *c == b'0');
            let seg_b = skip_while(seg_b, |c| *c == b'0');
            seg_a.len().cmp(&seg_b.len()).then_with(|| seg_a.cmp(seg_b))
        } else {
            seg_a.cmp(seg_b)
        };
        if order != Ordering::Equal {
            return order;
        }
    }
    match (a.is_empty(), b.is_empty()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Less,
        (false, _) => Ordering::Greater,
    }
}

fn skip_while(s: &[u8], pred: impl Fn(&u8) -> bool) -> &[u8] {
    let n = s.iter().take_while(|c| pred(c)).count();
    &s[n..]
}

/// Compare two EVRs as rpm orders packages: epoch (missing counts as 0),
/// then version, then release, where a missing release is older than any.
pub fn evr_cmp(a: &Evr, b: &Evr) -> Ordering {
    a.epoch
        .unwrap_or(0)
        .cmp(&b.epoch.unwrap_or(0))
        .then_with(|| rpmvercmp(&a.version, &b.version))
        .then_with(|| match (&a.release, &b.release) {
            (Some(ra), Some(rb)) => rpmvercmp(ra, rb),
            (None, None) => Ordering::Equal,
            (None, Some(_)) => Ordering::Less,
            (Some(_), None) => Ordering::Greater,
        })
}

/// `-1`, `0` or `1`, as rpm prints a comparison.
pub fn as_int(order: Ordering) -> i32 {
    match order {
        Ordering::Less => -1,
        Ordering::Equal => 0,
        Ordering::Greater => 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn evr(s: &str) -> Evr {
        Evr::parse(s).unwrap()
    }

    #[test]
    fn oddities_rpm_documents() {
        // Non-ASCII bytes are separators, so these are equal.
        assert_eq!(rpmvercmp("1.1.α", "1.1.β"), Ordering::Equal);
        // RhBug 811992: a letter right after a number starts a new segment.
        assert_eq!(rpmvercmp("1b.fc17", "1.fc17"), Ordering::Less);
        assert_eq!(rpmvercmp("1g.fc17", "1.fc17"), Ordering::Greater);
    }

    #[test]
    fn evr_order() {
        assert_eq!(evr_cmp(&evr("1:1.0-1"), &evr("2.0-1")), Ordering::Greater);
        assert_eq!(evr_cmp(&evr("0:1.0-1"), &evr("1.0-1")), Ordering::Equal);
        assert_eq!(evr_cmp(&evr("1.0"), &evr("1.0-1")), Ordering::Less);
        assert_eq!(evr_cmp(&evr("1.0-2"), &evr("1.0-10")), Ordering::Less);
        assert_eq!(evr_cmp(&evr("1.0~rc1-1"), &evr("1.0-0")), Ordering::Less);
        assert_eq!(as_int(Ordering::Less), -1);
    }
}

//! rpmvercmp against rpm's own vectors (tests/data/rpmvercmp.tsv, the 91
//! active RPMVERCMP lines of rpm's tests/rpmvercmp.at) and the laws an
//! order must keep, on random version strings.

use std::cmp::Ordering;

use proptest::prelude::*;
use taskotron_rpm::{as_int, rpmvercmp};

#[test]
fn all_of_rpms_vectors() {
    let text = include_str!("data/rpmvercmp.tsv");
    let mut count = 0;
    for line in text
        .lines()
        .filter(|it| !it.starts_with('#') && !it.is_empty())
    {
        let fields: Vec<&str> = line.split('\t').collect();
        let [a, b, want] = fields[..] else {
            panic!("bad vector line {line:?}");
        };
        let want: i32 = want.parse().expect("the expected value is -1, 0 or 1");
        assert_eq!(as_int(rpmvercmp(a, b)), want, "rpmvercmp({a}, {b})");
        count += 1;
    }
    assert_eq!(count, 91, "the file should hold rpm's 91 active vectors");
}

fn version() -> impl Strategy<Value = String> {
    proptest::string::string_regex("[0-9a-c.~^_+]{0,8}").expect("a valid regex")
}

proptest! {
    #[test]
    fn antisymmetric(a in version(), b in version()) {
        prop_assert_eq!(rpmvercmp(&a, &b), rpmvercmp(&b, &a).reverse());
    }

    #[test]
    fn transitive(a in version(), b in version(), c in version()) {
        let ab = rpmvercmp(&a, &b);
        let bc = rpmvercmp(&b, &c);
        if ab == bc && ab != Ordering::Equal {
            prop_assert_eq!(rpmvercmp(&a, &c), ab);
        }
        if ab == Ordering::Equal && bc == Ordering::Equal {
            prop_assert_eq!(rpmvercmp(&a, &c), Ordering::Equal);
        }
    }
}

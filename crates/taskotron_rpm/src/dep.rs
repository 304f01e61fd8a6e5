//! Simple dependencies (`name [op evr]`) and rpm's rule for when a
//! requirement and a provide overlap.

use std::cmp::Ordering;
use std::fmt;

use taskotron_types::Evr;

use crate::vercmp::rpmvercmp;

/// A comparison of a dependency.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Op {
    /// `<`, rpm-md `LT`.
    Lt,
    /// `<=`, rpm-md `LE`.
    Le,
    /// `=`, rpm-md `EQ`.
    Eq,
    /// `>=`, rpm-md `GE`.
    Ge,
    /// `>`, rpm-md `GT`.
    Gt,
}

impl Op {
    /// rpm's sense bits: does the range include less, equal, greater?
    fn less(self) -> bool {
        matches!(self, Op::Lt | Op::Le)
    }

    fn equal(self) -> bool {
        matches!(self, Op::Le | Op::Eq | Op::Ge)
    }

    fn greater(self) -> bool {
        matches!(self, Op::Gt | Op::Ge)
    }

    /// The operator as written in a spec file.
    pub fn as_str(self) -> &'static str {
        match self {
            Op::Lt => "<",
            Op::Le => "<=",
            Op::Eq => "=",
            Op::Ge => ">=",
            Op::Gt => ">",
        }
    }

    /// An operator as written in a spec file (`==` is accepted for `=`).
    pub fn parse(text: &str) -> Option<Op> {
        Some(match text {
            "<" => Op::Lt,
            "<=" | "=<" => Op::Le,
            "=" | "==" => Op::Eq,
            ">=" | "=>" => Op::Ge,
            ">" => Op::Gt,
            _ => return None,
        })
    }

    /// An rpm-md `flags` attribute (`EQ`, `LT`, `LE`, `GT`, `GE`).
    pub fn from_rpmmd(flags: &str) -> Option<Op> {
        Some(match flags {
            "LT" => Op::Lt,
            "LE" => Op::Le,
            "EQ" => Op::Eq,
            "GE" => Op::Ge,
            "GT" => Op::Gt,
            _ => return None,
        })
    }
}

/// A simple dependency: a name, and optionally a comparison with an EVR.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Dep {
    /// What is required or provided: a package or capability name, or a path.
    pub name: String,
    /// The comparison and the EVR it compares with.
    pub constraint: Option<(Op, Evr)>,
}

/// Why a dependency string is not one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DepError {
    /// Nothing to parse.
    #[error("empty dependency")]
    Empty,
    /// The comparison is not `<`, `<=`, `=`, `>=` or `>`.
    #[error("`{0}` is not a comparison (use <, <=, =, >= or >)")]
    BadOp(String),
    /// A comparison without a version, or a version without a comparison.
    #[error("{0}")]
    Shape(String),
    /// The EVR does not parse.
    #[error("bad version `{evr}`: {why}")]
    BadEvr {
        /// The text.
        evr: String,
        /// Why.
        why: String,
    },
}

impl Dep {
    /// A dependency on `name` with no version.
    pub fn name(name: impl Into<String>) -> Dep {
        Dep {
            name: name.into(),
            constraint: None,
        }
    }

    /// `name op evr`, or just `name`, with the parts separated by spaces, as
    /// rpm prints a dependency.
    pub fn parse(text: &str) -> Result<Dep, DepError> {
        let mut parts = text.split_whitespace();
        let name = parts.next().ok_or(DepError::Empty)?;
        match (parts.next(), parts.next(), parts.next()) {
            (None, _, _) => Ok(Dep::name(name)),
            (Some(op), Some(evr), None) => {
                let op = Op::parse(op).ok_or_else(|| DepError::BadOp(op.to_owned()))?;
                Ok(Dep {
                    name: name.to_owned(),
                    constraint: Some((op, parse_evr(evr)?)),
                })
            }
            (Some(op), None, _) => Err(DepError::Shape(format!(
                "`{name} {op}` has a comparison but no version"
            ))),
            (Some(_), Some(_), Some(extra)) => Err(DepError::Shape(format!(
                "unexpected `{extra}` after the version in `{}`",
                text.trim()
            ))),
        }
    }

    /// A dependency from rpm-md attributes: `flags` (`EQ`, …) with `epoch`,
    /// `ver` and `rel`.
    pub fn from_rpmmd(
        name: &str,
        flags: Option<&str>,
        epoch: Option<&str>,
        version: Option<&str>,
        release: Option<&str>,
    ) -> Result<Dep, DepError> {
        let Some(flags) = flags else {
            return Ok(Dep::name(name));
        };
        let op = Op::from_rpmmd(flags).ok_or_else(|| DepError::BadOp(flags.to_owned()))?;
        let version = version
            .filter(|it| !it.is_empty())
            .ok_or_else(|| DepError::Shape(format!("`{name}` has flags {flags} but no version")))?;
        let epoch = match epoch.filter(|it| !it.is_empty()) {
            None => None,
            Some(text) => Some(text.parse::<u64>().map_err(|_| DepError::BadEvr {
                evr: text.to_owned(),
                why: "the epoch is not a number".to_owned(),
            })?),
        };
        Ok(Dep {
            name: name.to_owned(),
            constraint: Some((
                op,
                Evr {
                    epoch,
                    version: version.to_owned(),
                    release: release.filter(|it| !it.is_empty()).map(str::to_owned),
                },
            )),
        })
    }

    /// Whether a package providing `provide` satisfies this requirement
    /// (or, symmetrically, whether the two ranges overlap), by rpm's rules.
    pub fn overlaps(&self, provide: &Dep) -> bool {
        self.name == provide.name
            && ranges_overlap(self.constraint.as_ref(), provide.constraint.as_ref())
    }
}

fn parse_evr(text: &str) -> Result<Evr, DepError> {
    Evr::parse(text).map_err(|err| DepError::BadEvr {
        evr: text.to_owned(),
        why: err.to_string(),
    })
}

/// rpm's `rpmverOverlap`: do two version ranges share a point? A side with
/// no comparison matches everything.
pub fn ranges_overlap(a: Option<&(Op, Evr)>, b: Option<&(Op, Evr)>) -> bool {
    fn borrow((op, evr): &(Op, Evr)) -> RangeRef<'_> {
        RangeRef {
            op: *op,
            epoch: evr.epoch.unwrap_or(0),
            version: &evr.version,
            release: evr.release.as_deref(),
        }
    }
    range_refs_overlap(a.map(borrow), b.map(borrow))
}

/// A version range with borrowed strings (`op epoch:version-release`), for
/// matching without allocating; a missing epoch is 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RangeRef<'a> {
    /// The comparison.
    pub op: Op,
    /// The epoch (0 when none is written).
    pub epoch: u64,
    /// The version.
    pub version: &'a str,
    /// The release, when one is written.
    pub release: Option<&'a str>,
}

/// [`ranges_overlap`] over borrowed ranges: rpm's `rpmverOverlap`.
pub fn range_refs_overlap(a: Option<RangeRef<'_>>, b: Option<RangeRef<'_>>) -> bool {
    let (Some(a), Some(b)) = (a, b) else {
        return true;
    };
    let (op_a, op_b) = (a.op, b.op);
    let mut sense = a.epoch.cmp(&b.epoch);
    if sense == Ordering::Equal {
        sense = rpmvercmp(a.version, b.version);
        if sense == Ordering::Equal {
            match (a.release, b.release) {
                (Some(ra), Some(rb)) => sense = rpmvercmp(ra, rb),
                // The side without a release matches any release when it
                // includes equality: `foo = 1.0` is met by `foo = 1.0-3`.
                (Some(_), None) if op_b.equal() => return true,
                (None, Some(_)) if op_a.equal() => return true,
                _ => {}
            }
        }
    }
    match sense {
        Ordering::Less => op_a.greater() || op_b.less(),
        Ordering::Greater => op_a.less() || op_b.greater(),
        Ordering::Equal => {
            (op_a.equal() && op_b.equal())
                || (op_a.less() && op_b.less())
                || (op_a.greater() && op_b.greater())
        }
    }
}

impl fmt::Display for Dep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)?;
        if let Some((op, evr)) = &self.constraint {
            write!(f, " {} {evr}", op.as_str())?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dep(text: &str) -> Dep {
        Dep::parse(text).unwrap()
    }

    #[test]
    fn overlap_follows_rpm() {
        for (req, prov, want) in [
            // An unversioned provide satisfies any version.
            ("bar >= 2.0", "bar", true),
            ("bar", "bar = 1.0-1", true),
            ("bar", "baz", false),
            // A missing release matches any release when the range includes equality.
            ("foo = 1.0", "foo = 1.0-3", true),
            ("foo > 1.0", "foo = 1.0-3", false),
            ("foo >= 1.0", "foo = 1.0-3", true),
            ("foo < 1.0", "foo = 1.0-3", false),
            ("foo = 1.0-2", "foo = 1.0-3", false),
            ("foo >= 1.0-2", "foo = 1.0-3", true),
            // A missing epoch is 0; any epoch beats it.
            ("foo >= 2.0", "foo = 1:1.0-1", true),
            ("foo = 1.0", "foo = 0:1.0-1", true),
            ("foo < 1:0.5", "foo = 2.0-1", true),
            // Two ranges open the same way always overlap.
            ("foo > 2.0", "foo > 1.0", true),
            ("foo < 1.0", "foo < 2.0", true),
            ("foo > 2.0", "foo < 1.0", false),
            ("foo <= 1.0", "foo >= 1.0", true),
            ("foo >= 1.0~rc1", "foo = 1.0~beta-1", false),
            ("foo >= 1.0^git1", "foo = 1.0.1-1", true),
        ] {
            assert_eq!(dep(req).overlaps(&dep(prov)), want, "{req} by {prov}");
        }
    }

    #[test]
    fn parse_and_print() {
        assert_eq!(dep("foo >= 1:2.0-3").to_string(), "foo >= 1:2.0-3");
        assert_eq!(dep("  foo  ").to_string(), "foo");
        assert_eq!(dep("foo == 1").constraint.unwrap().0, Op::Eq);
        assert_eq!(Dep::parse(""), Err(DepError::Empty));
        assert!(matches!(Dep::parse("foo >"), Err(DepError::Shape(_))));
        assert!(matches!(Dep::parse("foo ~ 1"), Err(DepError::BadOp(_))));
        assert!(matches!(Dep::parse("foo = 1 2"), Err(DepError::Shape(_))));
        assert!(matches!(
            Dep::parse("foo = x:1"),
            Err(DepError::BadEvr { .. })
        ));
        let md = Dep::from_rpmmd("foo", Some("GE"), Some("0"), Some("1.2"), None).unwrap();
        assert_eq!(md.to_string(), "foo >= 0:1.2");
        assert!(Dep::from_rpmmd("foo", Some("XX"), None, Some("1"), None).is_err());
        assert!(Dep::from_rpmmd("foo", Some("EQ"), None, None, None).is_err());
        assert_eq!(
            Dep::from_rpmmd("foo", None, None, None, None).unwrap(),
            Dep::name("foo")
        );
    }
}

//! Which architectures a target architecture installs, and how they rank:
//! libsolv's RPM arch policies.

/// How a package's architecture stands for the target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ArchRank {
    /// `noarch`: installable, never inferior to anything.
    Noarch,
    /// Installable; 0 is the target itself, higher is worse. Every rank
    /// is its own "color": two ranks never share a name in one system.
    Rank(u8),
}

/// The architectures a target installs, best first (libsolv's policy
/// strings split at `:`, so each is an incompatible class of its own).
fn policy(target: &str) -> Option<&'static [&'static str]> {
    Some(match target {
        "x86_64" => &["x86_64", "i686", "i586", "i486", "i386"],
        "i686" => &["i686", "i586", "i486", "i386"],
        "i586" => &["i586", "i486", "i386"],
        "i486" => &["i486", "i386"],
        "i386" => &["i386"],
        "aarch64" => &["aarch64"],
        "ppc64le" => &["ppc64le"],
        "ppc64" => &["ppc64", "ppc"],
        "ppc" => &["ppc"],
        "s390x" => &["s390x", "s390"],
        "s390" => &["s390"],
        "armv7hl" => &["armv7hl"],
        "riscv64" => &["riscv64"],
        "noarch" => &[],
        _ => return None,
    })
}

/// An architecture policy for one target architecture.
#[derive(Debug, Clone)]
pub struct ArchPolicy {
    target: String,
    arches: &'static [&'static str],
}

impl ArchPolicy {
    /// The policy of a target architecture, or `None` for one this crate
    /// does not know.
    pub fn new(target: &str) -> Option<ArchPolicy> {
        Some(ArchPolicy {
            target: target.to_owned(),
            arches: policy(target)?,
        })
    }

    /// The architectures known as targets.
    pub fn known() -> &'static [&'static str] {
        &[
            "x86_64", "i686", "i586", "i486", "i386", "aarch64", "ppc64le", "ppc64", "ppc",
            "s390x", "s390", "armv7hl", "riscv64", "noarch",
        ]
    }

    /// The target.
    pub fn target(&self) -> &str {
        &self.target
    }

    /// How `arch` ranks, or `None` when the target does not install it
    /// (another architecture, `src`, `nosrc`).
    pub fn rank(&self, arch: &str) -> Option<ArchRank> {
        if arch == "noarch" {
            return Some(ArchRank::Noarch);
        }
        self.arches
            .iter()
            .position(|it| *it == arch)
            .and_then(|at| u8::try_from(at).ok())
            .map(ArchRank::Rank)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn x86_64_takes_32_bit_and_noarch() {
        let policy = ArchPolicy::new("x86_64").unwrap();
        assert_eq!(policy.rank("x86_64"), Some(ArchRank::Rank(0)));
        assert_eq!(policy.rank("i686"), Some(ArchRank::Rank(1)));
        assert_eq!(policy.rank("noarch"), Some(ArchRank::Noarch));
        assert_eq!(policy.rank("src"), None);
        assert_eq!(policy.rank("aarch64"), None);
        assert!(ArchPolicy::new("vax").is_none());
        let i686 = ArchPolicy::new("i686").unwrap();
        assert_eq!(i686.rank("x86_64"), None);
        for known in ArchPolicy::known() {
            assert!(ArchPolicy::new(known).is_some());
        }
    }
}

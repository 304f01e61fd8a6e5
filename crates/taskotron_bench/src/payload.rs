//! The shape of the benchmark's results, shared by the seeder and the POST
//! scenario: the 20 testcases and their weights, outcomes, arches and data
//! keys of `loadgen_resultsdb.py`, the baseline's load generator.

/// The testcases, most of them under `dist.`.
pub(crate) const TESTCASES: [&str; 20] = [
    "dist.rpmlint",
    "dist.depcheck",
    "dist.upgradepath",
    "dist.abicheck",
    "dist.rpmdeplint",
    "dist.rpmgrill",
    "dist.python-versions",
    "dist.rpminspect",
    "dist.installability",
    "dist.fmf-lint",
    "fedora.ci.tier0",
    "fedora.ci.tier1",
    "fedora-ci.koji-build.tier0.functional",
    "fedora-ci.koji-build.installability.functional",
    "fedora-ci.koji-build.rpminspect.static-analysis",
    "fedora-ci.koji-build.rpmdeplint.functional",
    "fedora-ci.koji-build./plans/basic.functional",
    "org.centos.prod.ci.pipeline.complete",
    "update.install_default_update_netinst",
    "update.base_selinux",
];

/// The six testcases that run on almost every build.
const CORE: [&str; 6] = [
    "dist.rpmlint",
    "dist.depcheck",
    "dist.upgradepath",
    "dist.abicheck",
    "fedora.ci.tier0",
    "fedora-ci.koji-build.tier0.functional",
];

const OUTCOMES: [(&str, f64); 4] = [
    ("PASSED", 0.70),
    ("FAILED", 0.15),
    ("INFO", 0.10),
    ("NEEDS_INSPECTION", 0.05),
];

const ARCHES: [(&str, f64); 5] = [
    ("x86_64", 0.5),
    ("aarch64", 0.2),
    ("ppc64le", 0.1),
    ("s390x", 0.1),
    ("noarch", 0.1),
];

const VARIANTS: [&str; 3] = ["Everything", "Server", "Workstation"];

/// The share of seeded results that carry a `scenario` key (the POST
/// scenario always sends one, as the reference load generator does).
pub(crate) const SCENARIO_SHARE: f64 = 0.9;

/// A small, fast, deterministic generator (SplitMix64): the same seed gives the
/// same data set on every machine.
#[derive(Debug, Clone)]
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Rng {
        let mut rng = Rng(seed ^ 0x5DEE_CE66_D1CE_4E5B);
        rng.next_u64();
        rng
    }

    /// A generator for one of many independent streams (one per result, per
    /// group…), so a stream can be regenerated on its own.
    pub(crate) fn stream(seed: u64, stream: u64, index: u64) -> Rng {
        Rng::new(
            seed.wrapping_mul(0x9E37_79B9_7F4A_7C15)
                ^ stream.wrapping_mul(0xC2B2_AE3D_27D4_EB4F)
                ^ index.wrapping_mul(0x1656_67B1_9E37_79F9),
        )
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (`n > 0`).
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// Uniform in `[0, 1)`.
    pub(crate) fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    fn pick<'a>(&mut self, choices: &[(&'a str, f64)]) -> &'a str {
        let total: f64 = choices.iter().map(|it| it.1).sum();
        let mut left = self.unit() * total;
        for (choice, weight) in choices {
            if left < *weight {
                return choice;
            }
            left -= weight;
        }
        choices[choices.len() - 1].0
    }

    /// A random (version 4) UUID, as text.
    pub(crate) fn uuid(&mut self) -> String {
        let mut bytes = [0u8; 16];
        bytes[..8].copy_from_slice(&self.next_u64().to_le_bytes());
        bytes[8..].copy_from_slice(&self.next_u64().to_le_bytes());
        uuid::Builder::from_random_bytes(bytes)
            .into_uuid()
            .to_string()
    }
}

/// The item namespace: `pkg00000-1.2-3.fc41` ….
pub(crate) fn nvr(n: u64) -> String {
    format!("pkg{n:05}-1.2-3.fc41")
}

/// Where a testcase is documented.
pub(crate) fn testcase_ref_url(name: &str) -> String {
    format!("https://docs.example.org/testcases/{name}")
}

/// One result, before it becomes a store row or a POST body.
#[derive(Debug, Clone)]
pub(crate) struct Sample {
    pub(crate) testcase: &'static str,
    pub(crate) outcome: &'static str,
    pub(crate) note: String,
    pub(crate) ref_url: String,
    /// 4 to 6 rows: item, type, arch, usually scenario, and one or two more.
    pub(crate) data: Vec<(&'static str, String)>,
}

/// A realistic koji_build result of a random item in `0..items`, in group
/// `group`, the `seq`-th of its sender.
pub(crate) fn sample(
    rng: &mut Rng,
    items: u64,
    group: &str,
    seq: u64,
    scenario_share: f64,
) -> Sample {
    let weights: Vec<(&'static str, f64)> = TESTCASES
        .iter()
        .map(|name| (*name, if CORE.contains(name) { 0.9 } else { 0.257 }))
        .collect();
    let testcase = rng.pick(&weights);
    let arch = rng.pick(&ARCHES);
    let outcome = rng.pick(&OUTCOMES);
    let mut data = vec![
        ("item", nvr(rng.below(items.max(1)))),
        ("type", "koji_build".to_owned()),
        ("arch", arch.to_owned()),
    ];
    let firmware = if rng.unit() < 0.2 { "uefi" } else { "64bit" };
    let with_scenario = rng.unit() < scenario_share;
    if with_scenario {
        data.push(("scenario", format!("fedora.koji-build.{arch}.{firmware}")));
    }
    // Without a scenario, a build id always comes, so every result has 4-6 rows.
    if rng.unit() < 0.5 || !with_scenario {
        data.push(("build_id", (1_000_000 + rng.below(2_000_000)).to_string()));
    }
    if rng.unit() < 0.5 {
        data.push((
            "system_variant",
            VARIANTS[rng.below(VARIANTS.len() as u64) as usize].to_owned(),
        ));
    }
    Sample {
        testcase,
        outcome,
        note: format!("{} errors, {} warnings", rng.below(3), rng.below(20)),
        ref_url: format!(
            "https://ci.example.org/jobs/{}/{seq}",
            group.get(..8).unwrap_or(group)
        ),
        data,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_are_deterministic_and_distinct() {
        let a: Vec<u64> = (0..4).map(|_| Rng::stream(1, 2, 3).next_u64()).collect();
        assert!(a.windows(2).all(|it| it[0] == it[1]));
        assert_ne!(
            Rng::stream(1, 2, 3).next_u64(),
            Rng::stream(1, 2, 4).next_u64()
        );
    }

    #[test]
    fn samples_have_four_to_six_rows_and_the_usual_keys() {
        let mut rng = Rng::new(7);
        let mut with_scenario = 0;
        for seq in 0..2000 {
            let s = sample(&mut rng, 100, "0123456789abcdef", seq, SCENARIO_SHARE);
            assert!((4..=6).contains(&s.data.len()), "{:?}", s.data);
            assert_eq!(s.data[0].0, "item");
            assert_eq!(s.data[1], ("type", "koji_build".to_owned()));
            assert!(TESTCASES.contains(&s.testcase));
            if s.data.iter().any(|it| it.0 == "scenario") {
                with_scenario += 1;
            }
        }
        assert!((1700..1900).contains(&with_scenario), "{with_scenario}");
    }

    #[test]
    fn uuids_look_like_uuids() {
        let id = Rng::new(1).uuid();
        assert_eq!(id.len(), 36);
        assert_eq!(&id[14..15], "4");
    }
}

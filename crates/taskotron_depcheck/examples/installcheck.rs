//! `cargo run --release -p taskotron_depcheck --example installcheck --
//! [--verdicts] [--cache DIR] ARCH REPO... [--nocheck REPO...]`: depcheck over metadata
//! files without the binary, with timings on stderr (for benchmarks and
//! comparisons with the oracle).

#![expect(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "a command-line example"
)]

use std::time::Instant;

use taskotron_depcheck::taskotron_repo::open_repo;
use taskotron_depcheck::{ArchPolicy, Checker, Pool, Role};

fn main() {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let verdicts_only = args.first().is_some_and(|it| it == "--verdicts");
    if verdicts_only {
        args.remove(0);
    }
    let mut cache = None;
    if args.first().is_some_and(|it| it == "--cache") && args.len() > 1 {
        cache = Some(std::path::PathBuf::from(args.remove(1)));
        args.remove(0);
    }
    let Some((arch, rest)) = args.split_first() else {
        eprintln!(
            "usage: installcheck [--verdicts] [--cache DIR] ARCH REPO... [--nocheck REPO...]"
        );
        std::process::exit(2);
    };
    let start = Instant::now();
    let mut repos = Vec::new();
    let mut base = false;
    for arg in rest {
        if arg == "--nocheck" {
            base = true;
            continue;
        }
        match open_repo(arg, cache.as_deref()) {
            Ok(repo) => repos.push((repo, if base { Role::Base } else { Role::Check })),
            Err(err) => {
                eprintln!("error: {err}");
                std::process::exit(2);
            }
        }
    }
    let loaded = start.elapsed();
    let Some(policy) = ArchPolicy::new(arch) else {
        eprintln!("error: unknown arch {arch}");
        std::process::exit(2);
    };
    let roles: Vec<_> = repos.iter().map(|(repo, role)| (repo, *role)).collect();
    let pool = Pool::new(policy, &roles);
    let built = start.elapsed();
    let checker = Checker::new(&pool);
    let prepared = start.elapsed();
    let threads = std::thread::available_parallelism().map_or(1, usize::from);
    let verdicts = checker.check_many(&pool.candidates(), threads);
    let done = start.elapsed();
    let mut broken: Vec<_> = verdicts.iter().filter(|it| !it.installable()).collect();
    if verdicts_only {
        let mut names: Vec<&str> = broken.iter().map(|it| it.nevra.as_str()).collect();
        names.sort_unstable();
        for name in names {
            println!("{name}");
        }
    } else {
        broken.sort_by(|a, b| a.nevra.cmp(&b.nevra));
        for verdict in &broken {
            println!("can't install {}:", verdict.nevra);
            for reason in &verdict.reasons {
                println!("  {reason}");
            }
        }
    }
    eprintln!(
        "{} checked, {} broken; load {:.3} s, pool {:.3} s, checker {:.3} s, checks {:.3} s, total {:.3} s",
        verdicts.len(),
        broken.len(),
        loaded.as_secs_f64(),
        (built - loaded).as_secs_f64(),
        (prepared - built).as_secs_f64(),
        (done - prepared).as_secs_f64(),
        done.as_secs_f64()
    );
}

//! Time opening a repository: parsing its primary metadata, then loading
//! the same repository from the cache.
//!
//! `cargo run --release -p taskotron_repo --example repo_load_times -- PATH [ROUNDS]`
//! (PATH: a repository directory or a primary.xml file; ROUNDS defaults to 5).

#![expect(clippy::print_stdout, reason = "an example that prints its timings")]

use std::path::PathBuf;
use std::time::{Duration, Instant};

use taskotron_repo::{CacheStatus, open_repo};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args_os().skip(1);
    let path = PathBuf::from(args.next().ok_or("usage: repo_load_times PATH [ROUNDS]")?);
    let rounds: u32 = match args.next() {
        Some(it) => it.to_str().ok_or("ROUNDS is not a number")?.parse()?,
        None => 5,
    };
    let cache = tempfile::tempdir()?;
    let mut parse = Vec::new();
    let mut cached = Vec::new();
    for _ in 0..rounds {
        let started = Instant::now();
        let repo = open_repo(&path, None)?;
        parse.push(started.elapsed());
        if parse.len() == 1 {
            println!(
                "{}: {} packages, {} strings, {} rich dependencies, {} unparsable",
                path.display(),
                repo.len(),
                repo.string_count(),
                repo.rich_count(),
                repo.problems().len()
            );
        }
    }
    let started = Instant::now();
    let written = open_repo(&path, Some(cache.path()))?;
    let write_time = started.elapsed();
    assert_eq!(written.cache_status(), &CacheStatus::Written);
    for _ in 0..rounds {
        let started = Instant::now();
        let repo = open_repo(&path, Some(cache.path()))?;
        cached.push(started.elapsed());
        assert_eq!(repo.cache_status(), &CacheStatus::Hit);
        assert!(repo == written, "the cache gives other data");
    }
    let size: u64 = std::fs::read_dir(cache.path())?
        .map(|it| it.and_then(|it| it.metadata()).map(|it| it.len()))
        .sum::<Result<u64, _>>()?;
    println!("parse (no cache):  {}", summary(&mut parse));
    println!("parse + write cache: {:.1} ms", ms(write_time));
    println!("load from cache:   {}", summary(&mut cached));
    println!("cache file: {:.1} MB", size as f64 / 1e6);
    Ok(())
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

fn summary(times: &mut [Duration]) -> String {
    times.sort();
    let median = times.get(times.len() / 2).copied().unwrap_or_default();
    let min = times.first().copied().unwrap_or_default();
    format!(
        "median {:.1} ms, min {:.1} ms over {} rounds",
        ms(median),
        ms(min),
        times.len()
    )
}

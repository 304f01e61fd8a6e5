//! Print the SQL and the query plans of the benchmarked ResultsDB queries.
//!
//! ```text
//! cargo run --release -p taskotron_store --example explain_resultsdb -- sqlite DATA_DIR [ITEM]
//! cargo run --release -p taskotron_store --example explain_resultsdb -- postgres URL SCHEMA [ITEM]
//! ```
//!
//! SQLite shows `EXPLAIN QUERY PLAN`; PostgreSQL runs `EXPLAIN (ANALYZE,
//! BUFFERS)`. Each query is also timed (the median of 20 runs, through the
//! store, so with its planning and its loading of the results).

#![allow(
    clippy::print_stdout,
    clippy::unwrap_used,
    reason = "a developer's tool printing a report"
)]

use std::time::Instant;

use taskotron_store::Store;
use taskotron_store::resultsdb::{DataFilter, ExplainQuery, Order, Page, ResultFilter};

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (store, rest) = match args.first().map(String::as_str) {
        Some("sqlite") if args.len() >= 2 => (
            Store::open_sqlite(std::path::Path::new(&args[1]))
                .await
                .unwrap(),
            &args[2..],
        ),
        Some("postgres") if args.len() >= 3 => (
            Store::open_postgres(&args[1], Some(&args[2]))
                .await
                .unwrap(),
            &args[3..],
        ),
        _ => {
            println!(
                "usage: explain_resultsdb sqlite DATA_DIR [ITEM] | postgres URL SCHEMA [ITEM]"
            );
            std::process::exit(2);
        }
    };
    let item = rest
        .first()
        .cloned()
        .unwrap_or_else(|| "pkg00042-1.2-3.fc41".to_owned());
    let by_item = ResultFilter {
        data: vec![
            DataFilter::Exact {
                key: "item".into(),
                values: vec![item.clone()],
            },
            DataFilter::Exact {
                key: "type".into(),
                values: vec!["koji_build".into()],
            },
        ],
        ..Default::default()
    };
    let latest = ResultFilter {
        testcases: vec!["dist.rpmlint".into(), "dist.depcheck".into()],
        ..by_item.clone()
    };
    let like = ResultFilter {
        testcases_like: vec!["dist.%".into()],
        ..Default::default()
    };
    let scenario = vec!["scenario".to_owned()];
    let queries: Vec<(&str, ExplainQuery<'_>)> = vec![
        ("(a) latest", ExplainQuery::Latest(&latest, &scenario)),
        (
            "(b) by item",
            ExplainQuery::List(&by_item, Order::NewestFirst, Page { page: 0, limit: 20 }),
        ),
        (
            "(c) testcases:like, page 50",
            ExplainQuery::List(
                &like,
                Order::NewestFirst,
                Page {
                    page: 50,
                    limit: 20,
                },
            ),
        ),
        ("(d) by id", ExplainQuery::Get(424_242)),
    ];
    for (title, query) in queries {
        println!("== {title}");
        let (sql, plan) = store.explain_results_query(query).await.unwrap();
        println!("{sql}");
        for line in plan {
            println!("  {line}");
        }
        let mut times = Vec::new();
        for _ in 0..20 {
            let started = Instant::now();
            let rows = match query {
                ExplainQuery::Get(id) => usize::from(store.get_result(id).await.unwrap().is_some()),
                ExplainQuery::List(filter, order, page) => store
                    .list_results(filter, order, page)
                    .await
                    .unwrap()
                    .items
                    .len(),
                ExplainQuery::Latest(filter, keys) => {
                    store.latest_results(filter, keys).await.unwrap().len()
                }
            };
            times.push((started.elapsed().as_secs_f64() * 1000.0, rows));
        }
        times.sort_by(|a, b| a.0.total_cmp(&b.0));
        println!(
            "  -> {} results, median {:.3} ms (min {:.3} ms)\n",
            times[10].1, times[10].0, times[0].0
        );
    }
    store.close().await;
}

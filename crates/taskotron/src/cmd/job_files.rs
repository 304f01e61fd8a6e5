//! `taskotron jobs log` and `taskotron jobs artifacts`: a job's log (live
//! with `--follow`) and its artifacts, read from a running server.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context as _;
use serde_json::Value;

use crate::cmd::client::{Client, ServerArgs, block_on, cell, table};
use crate::display::stdout;

/// Arguments of `jobs log`.
#[derive(Debug, clap::Args)]
pub(crate) struct LogArgs {
    /// The job's uuid.
    uuid: String,
    /// This attempt's log (default: the latest attempt's).
    #[arg(long, value_name = "N")]
    attempt: Option<u32>,
    /// Keep printing the log as it grows, until the attempt ends.
    #[arg(long, short = 'f')]
    follow: bool,
    #[command(flatten)]
    server: ServerArgs,
}

/// Arguments of `jobs artifacts`.
#[derive(Debug, clap::Args)]
pub(crate) struct ArtifactsArgs {
    /// The job's uuid.
    uuid: String,
    /// This attempt's artifacts (default: the latest attempt's).
    #[arg(long, value_name = "N")]
    attempt: Option<u32>,
    /// Download this artifact (its name as listed) instead of listing.
    #[arg(long, value_name = "NAME")]
    get: Option<String>,
    /// Where `--get` writes the artifact (default: standard output).
    #[arg(long, short = 'o', value_name = "FILE", requires = "get")]
    output: Option<PathBuf>,
    #[command(flatten)]
    server: ServerArgs,
    /// Print the server's JSON listing.
    #[arg(long)]
    json: bool,
}

/// How often `--follow` asks for more.
const FOLLOW_EVERY: Duration = Duration::from_secs(1);

/// An answer's body, or an error with the server's message.
async fn body_of(url: &str, response: reqwest::Response) -> anyhow::Result<Vec<u8>> {
    let status = response.status();
    let bytes = response
        .bytes()
        .await
        .with_context(|| format!("cannot read the answer of {url}"))?;
    if !status.is_success() {
        let message = serde_json::from_slice::<Value>(&bytes)
            .ok()
            .and_then(|it| it["message"].as_str().map(str::to_owned))
            .unwrap_or_else(|| String::from_utf8_lossy(&bytes).trim().to_owned());
        anyhow::bail!("{url}: HTTP {}: {message}", status.as_u16());
    }
    Ok(bytes.to_vec())
}

fn header_u64(response: &reqwest::Response, name: &str) -> Option<u64> {
    response
        .headers()
        .get(name)
        .and_then(|it| it.to_str().ok())
        .and_then(|it| it.parse().ok())
}

/// An artifact's name in a URL: every byte but letters, digits, `-._~`
/// and the `/` between parts percent-encoded.
fn encode_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for byte in name.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~/".contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

pub(crate) fn log(config_path: Option<&Path>, args: LogArgs) -> i32 {
    block_on(async move {
        let client = Client::new(config_path, &args.server)?;
        let http = reqwest::Client::new();
        let mut attempt = args.attempt.map(u64::from);
        let mut offset = 0_u64;
        loop {
            let mut url = client.url(&format!("/api/v1/jobs/{}/log?offset={offset}", args.uuid));
            if let Some(attempt) = attempt {
                url.push_str(&format!("&attempt={attempt}"));
            }
            let response = http
                .get(&url)
                .send()
                .await
                .with_context(|| format!("cannot reach {url}"))?;
            let complete = response
                .headers()
                .get("x-log-complete")
                .is_some_and(|it| it == "true");
            let size = header_u64(&response, "x-log-size");
            if attempt.is_none() {
                attempt = header_u64(&response, "x-log-attempt");
            }
            let bytes = body_of(&url, response).await?;
            {
                let mut out = std::io::stdout().lock();
                out.write_all(&bytes)
                    .and_then(|()| out.flush())
                    .context("cannot write the log")?;
            }
            offset = size.unwrap_or(offset + bytes.len() as u64);
            if !args.follow || (complete && bytes.is_empty()) {
                return Ok(0);
            }
            if bytes.is_empty() {
                tokio::time::sleep(FOLLOW_EVERY).await;
            }
        }
    })
}

pub(crate) fn artifacts(config_path: Option<&Path>, args: ArtifactsArgs) -> i32 {
    block_on(async move {
        let client = Client::new(config_path, &args.server)?;
        let attempt = args
            .attempt
            .map(|it| format!("?attempt={it}"))
            .unwrap_or_default();
        if let Some(name) = &args.get {
            let url = client.url(&format!(
                "/api/v1/jobs/{}/artifacts/{}{attempt}",
                args.uuid,
                encode_name(name)
            ));
            let response = reqwest::get(&url)
                .await
                .with_context(|| format!("cannot reach {url}"))?;
            let bytes = body_of(&url, response).await?;
            match &args.output {
                Some(path) => std::fs::write(path, &bytes)
                    .with_context(|| format!("cannot write {}", path.display()))?,
                None => {
                    let mut out = std::io::stdout().lock();
                    out.write_all(&bytes)
                        .and_then(|()| out.flush())
                        .context("cannot write the artifact")?;
                }
            }
            return Ok(0);
        }
        let listing = client
            .get(&format!("/api/v1/jobs/{}/artifacts{attempt}", args.uuid))
            .await?;
        if args.json {
            stdout(&format!("{listing:#}\n"));
            return Ok(0);
        }
        let rows: Vec<Vec<String>> = listing["data"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|it| {
                vec![
                    cell(&it["size"]),
                    cell(&it["content_type"]),
                    cell(&it["name"]),
                ]
            })
            .collect();
        if rows.is_empty() {
            let why = listing["message"].as_str().unwrap_or("");
            stdout(&format!(
                "job {} has no artifacts (attempt {}){}{why}\n",
                args.uuid,
                cell(&listing["attempt"]),
                if why.is_empty() { "" } else { ": " }
            ));
        } else {
            stdout(&table(&["SIZE", "TYPE", "NAME"], &rows));
        }
        Ok(0)
    })
}

#[cfg(test)]
mod tests {
    use super::encode_name;

    #[test]
    fn names_are_encoded_per_part() {
        assert_eq!(
            encode_name("taskotron/taskotron.log"),
            "taskotron/taskotron.log"
        );
        assert_eq!(encode_name("a b/c+d%"), "a%20b/c%2Bd%25");
        assert_eq!(encode_name("é"), "%C3%A9");
    }
}

//! What the commands that talk to a running server share: where it is, how
//! to authenticate writes, and reading its JSON answers.

use std::path::Path;

use anyhow::Context;
use serde_json::Value;
use taskotron_config::Config;

/// `--server` for commands that talk to a running server.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct ServerArgs {
    /// The server (default: http:// and the configured server.listen).
    #[arg(long, value_name = "URL", global = true)]
    pub(crate) server: Option<String>,
}

/// A server's base URL and the token writes carry (`[resultsdb]
/// token-file` or `TASKOTRON_RESULTSDB_TOKEN`).
#[derive(Debug)]
pub(crate) struct Client {
    base: String,
    token: Option<String>,
    http: reqwest::Client,
}

impl Client {
    pub(crate) fn new(config_path: Option<&Path>, args: &ServerArgs) -> anyhow::Result<Client> {
        let (config, _) = Config::resolve(config_path)?;
        let base = match &args.server {
            Some(url) => url.trim_end_matches('/').to_owned(),
            None => format!("http://{}", config.server.listen),
        };
        let token = config
            .resultsdb
            .token()
            .context("cannot read the API token")?;
        Ok(Client {
            base,
            token,
            http: reqwest::Client::new(),
        })
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// GET `path` (with its query) and read the JSON answer.
    pub(crate) async fn get(&self, path: &str) -> anyhow::Result<Value> {
        let url = self.url(path);
        let response = self
            .http
            .get(&url)
            .send()
            .await
            .with_context(|| format!("cannot reach {url}"))?;
        answer(&url, response).await
    }

    /// POST `body` as JSON to `path`, with the token when there is one.
    pub(crate) async fn post(&self, path: &str, body: &Value) -> anyhow::Result<Value> {
        let url = self.url(path);
        let mut request = self.http.post(&url).json(body);
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        let response = request
            .send()
            .await
            .with_context(|| format!("cannot reach {url}"))?;
        answer(&url, response).await
    }
}

async fn answer(url: &str, response: reqwest::Response) -> anyhow::Result<Value> {
    let status = response.status();
    let body: Value = response
        .json()
        .await
        .with_context(|| format!("{url} did not answer JSON (HTTP {status})"))?;
    if !status.is_success() {
        let message = body["message"]
            .as_str()
            .map(str::to_owned)
            .unwrap_or_else(|| body.to_string());
        anyhow::bail!("{url}: HTTP {}: {message}", status.as_u16());
    }
    Ok(body)
}

/// Run `future` on a fresh runtime; print its error and answer 1 on
/// failure.
pub(crate) fn block_on<F>(future: F) -> i32
where
    F: std::future::Future<Output = anyhow::Result<i32>>,
{
    let result = tokio::runtime::Runtime::new()
        .context("cannot start the async runtime")
        .and_then(|runtime| runtime.block_on(future));
    match result {
        Ok(code) => code,
        Err(err) => {
            crate::report_error(&err);
            1
        }
    }
}

/// A JSON value as a table cell: strings bare, null as `-`.
pub(crate) fn cell(value: &Value) -> String {
    match value {
        Value::Null => "-".to_owned(),
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

/// Lay rows out in columns (the last column is not padded).
pub(crate) fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|it| it.chars().count()).collect();
    for row in rows {
        for (idx, text) in row.iter().enumerate() {
            if let Some(width) = widths.get_mut(idx) {
                *width = (*width).max(text.chars().count());
            }
        }
    }
    let mut out = String::new();
    let mut line = |cells: &mut dyn Iterator<Item = &str>| {
        let cells: Vec<&str> = cells.collect();
        let last = cells.len().saturating_sub(1);
        for (idx, text) in cells.iter().enumerate() {
            out.push_str(text);
            if idx < last {
                let pad = widths[idx].saturating_sub(text.chars().count()) + 2;
                out.push_str(&" ".repeat(pad));
            }
        }
        out.push('\n');
    };
    line(&mut header.iter().copied());
    for row in rows {
        line(&mut row.iter().map(String::as_str));
    }
    out
}

//! The load generator's HTTP/1.1 client: hyper's connection-level client,
//! one request at a time per connection, kept alive or not. No pool and no
//! redirects: it costs little CPU next to the server it measures.

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::client::conn::http1::{self, SendRequest};
use hyper::header::{AUTHORIZATION, CONNECTION, CONTENT_TYPE, HOST};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

/// Where requests go: `http://host:port/prefix`.
#[derive(Debug, Clone)]
pub(crate) struct Target {
    /// `host:port`, to connect to.
    pub(crate) addr: String,
    /// The `Host` header.
    pub(crate) host: String,
    /// The path prefix, without a trailing slash (`/api/v2.0`).
    pub(crate) prefix: String,
}

impl Target {
    pub(crate) fn parse(base: &str) -> anyhow::Result<Target> {
        let rest = base
            .strip_prefix("http://")
            .ok_or_else(|| anyhow::anyhow!("{base}: only http:// URLs are supported"))?;
        let (host, prefix) = match rest.find('/') {
            Some(idx) => rest.split_at(idx),
            None => (rest, ""),
        };
        if host.is_empty() {
            anyhow::bail!("{base}: no host");
        }
        let addr = if host.contains(':') {
            host.to_owned()
        } else {
            format!("{host}:80")
        };
        Ok(Target {
            addr,
            host: host.to_owned(),
            prefix: prefix.trim_end_matches('/').to_owned(),
        })
    }
}

/// One client connection, opened on first use and again after an error.
#[derive(Debug)]
pub(crate) struct Conn {
    target: Target,
    keep_alive: bool,
    sender: Option<SendRequest<Full<Bytes>>>,
    /// The `Authorization` header every request carries, if any.
    authorization: Option<String>,
}

/// A response: its status and body.
#[derive(Debug)]
pub(crate) struct Response {
    pub(crate) status: u16,
    pub(crate) body: Bytes,
}

impl Conn {
    pub(crate) fn new(target: Target, keep_alive: bool) -> Conn {
        Conn {
            target,
            keep_alive,
            sender: None,
            authorization: None,
        }
    }

    /// The same connection, sending `Authorization: Bearer TOKEN`.
    pub(crate) fn with_bearer(mut self, token: &str) -> Conn {
        self.authorization = Some(format!("Bearer {token}"));
        self
    }

    /// Close the connection: the next request opens a new one.
    pub(crate) fn reset(&mut self) {
        self.sender = None;
    }

    /// Send one request (`path` after the prefix) and read the whole response.
    /// Any error drops the connection; the next request opens a new one.
    pub(crate) async fn send(
        &mut self,
        method: &str,
        path: &str,
        json: Option<&[u8]>,
    ) -> anyhow::Result<Response> {
        let result = self.exchange(method, path, json).await;
        if result.is_err() || !self.keep_alive {
            self.sender = None;
        }
        result
    }

    async fn exchange(
        &mut self,
        method: &str,
        path: &str,
        json: Option<&[u8]>,
    ) -> anyhow::Result<Response> {
        let mut request = hyper::Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.target.prefix))
            .header(HOST, &self.target.host);
        if !self.keep_alive {
            request = request.header(CONNECTION, "close");
        }
        if json.is_some() {
            request = request.header(CONTENT_TYPE, "application/json");
        }
        if let Some(value) = &self.authorization {
            request = request.header(AUTHORIZATION, value);
        }
        let body = Full::new(Bytes::copy_from_slice(json.unwrap_or_default()));
        let request = request.body(body)?;
        let sender = match &mut self.sender {
            Some(sender) => sender,
            None => {
                let stream = TcpStream::connect(&self.target.addr).await?;
                stream.set_nodelay(true)?;
                let (sender, connection) = http1::handshake(TokioIo::new(stream)).await?;
                // The connection's IO runs beside the requests; it ends when
                // the sender is dropped or the server closes.
                tokio::spawn(connection);
                self.sender.insert(sender)
            }
        };
        sender.ready().await?;
        let response = sender.send_request(request).await?;
        let status = response.status().as_u16();
        let body = response.into_body().collect().await?.to_bytes();
        Ok(Response { status, body })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_parse() {
        let target =
            Target::parse("http://127.0.0.1:5001/api/v2.0/").unwrap_or_else(|err| panic!("{err}"));
        assert_eq!(target.addr, "127.0.0.1:5001");
        assert_eq!(target.host, "127.0.0.1:5001");
        assert_eq!(target.prefix, "/api/v2.0");
        assert!(Target::parse("https://x/").is_err());
        assert!(Target::parse("http:///api").is_err());
    }
}

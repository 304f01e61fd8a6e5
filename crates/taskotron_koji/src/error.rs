//! Koji errors: typed where callers branch (faults by kind, what can be
//! retried), each naming the URL and the call.

use std::fmt;
use std::path::PathBuf;

/// A Koji fault's kind, from its `faultCode` (koji's exception classes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultKind {
    /// 1000: anything without a more specific class, e.g. "No such build".
    GenericError,
    /// 1001
    LockError,
    /// 1002
    AuthError,
    /// 1003
    TagError,
    /// 1004
    ActionNotAllowed,
    /// 1005
    BuildError,
    /// 1013: the method is deprecated.
    FunctionDeprecated,
    /// 1014: the hub is in maintenance; worth retrying later.
    ServerOffline,
    /// 1019: the call's arguments were wrong.
    ParameterError,
    /// Another code (kept as it came).
    Other(i32),
}

impl FaultKind {
    /// The kind of a `faultCode`.
    pub fn from_code(code: i32) -> FaultKind {
        match code {
            1000 => FaultKind::GenericError,
            1001 => FaultKind::LockError,
            1002 => FaultKind::AuthError,
            1003 => FaultKind::TagError,
            1004 => FaultKind::ActionNotAllowed,
            1005 => FaultKind::BuildError,
            1013 => FaultKind::FunctionDeprecated,
            1014 => FaultKind::ServerOffline,
            1019 => FaultKind::ParameterError,
            other => FaultKind::Other(other),
        }
    }

    /// The `faultCode` of this kind.
    pub fn code(self) -> i32 {
        match self {
            FaultKind::GenericError => 1000,
            FaultKind::LockError => 1001,
            FaultKind::AuthError => 1002,
            FaultKind::TagError => 1003,
            FaultKind::ActionNotAllowed => 1004,
            FaultKind::BuildError => 1005,
            FaultKind::FunctionDeprecated => 1013,
            FaultKind::ServerOffline => 1014,
            FaultKind::ParameterError => 1019,
            FaultKind::Other(code) => code,
        }
    }
}

impl fmt::Display for FaultKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FaultKind::Other(code) => write!(f, "fault {code}"),
            kind => write!(f, "{kind:?}"),
        }
    }
}

/// A fault the hub answered with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KojiFault {
    /// Its kind.
    pub kind: FaultKind,
    /// The hub's message.
    pub message: String,
}

impl fmt::Display for KojiFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({}): {}", self.kind, self.kind.code(), self.message)
    }
}

/// Why a Koji call or download failed.
#[derive(Debug, thiserror::Error)]
pub enum KojiError {
    /// The hub URL given is not usable.
    #[error("bad Koji URL {url:?}: {why}")]
    BadUrl {
        /// The URL.
        url: String,
        /// What is wrong with it.
        why: String,
    },
    /// The hub answered the call with a fault.
    #[error("{method} on {url}: Koji answered {fault}")]
    Fault {
        /// The hub.
        url: String,
        /// The method called.
        method: String,
        /// The fault.
        fault: KojiFault,
    },
    /// The server answered with an HTTP error.
    #[error("{method} on {url}: HTTP {status}{}", snippet_suffix(.snippet))]
    Http {
        /// The URL.
        url: String,
        /// The method called (or `GET` for a download).
        method: String,
        /// The status code.
        status: u16,
        /// The start of the body, for the log.
        snippet: String,
    },
    /// No answer: connection refused or reset, timeout, TLS.
    #[error("{method} on {url}: {source}")]
    Transport {
        /// The URL.
        url: String,
        /// The method called (or `GET` for a download).
        method: String,
        /// What went wrong.
        #[source]
        source: reqwest::Error,
    },
    /// The answer is not an XML-RPC response.
    #[error("{method} on {url}: the answer is not an XML-RPC response: {what}")]
    Malformed {
        /// The hub.
        url: String,
        /// The method called.
        method: String,
        /// What was wrong, with the start of the body.
        what: String,
    },
    /// The answer is XML-RPC, but not of the shape the call returns.
    #[error("{method} on {url}: unexpected result: {what}")]
    Unexpected {
        /// The hub.
        url: String,
        /// The method called.
        method: String,
        /// What did not fit, and where.
        what: String,
    },
    /// A download arrived, but not as Koji described it.
    #[error("{url}: {what}")]
    Corrupt {
        /// The URL.
        url: String,
        /// What was expected and what came (size, checksum, truncation).
        what: String,
    },
    /// A local file could not be written or read.
    #[error("{}: {source}", .path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

fn snippet_suffix(snippet: &str) -> String {
    if snippet.is_empty() {
        String::new()
    } else {
        format!(": {snippet}")
    }
}

impl taskotron_net::Retryable for KojiError {
    fn is_retryable(&self) -> bool {
        KojiError::is_retryable(self)
    }
}

impl KojiError {
    /// Whether trying again later can help: no answer, a 5xx or 429, a
    /// truncated or corrupt download, or a hub in maintenance.
    pub fn is_retryable(&self) -> bool {
        match self {
            KojiError::Transport { .. } | KojiError::Corrupt { .. } => true,
            KojiError::Http { status, .. } => *status >= 500 || *status == 429,
            KojiError::Fault { fault, .. } => fault.kind == FaultKind::ServerOffline,
            KojiError::BadUrl { .. }
            | KojiError::Malformed { .. }
            | KojiError::Unexpected { .. }
            | KojiError::Io { .. } => false,
        }
    }

    /// The fault, when the hub answered with one.
    pub fn fault(&self) -> Option<&KojiFault> {
        match self {
            KojiError::Fault { fault, .. } => Some(fault),
            _ => None,
        }
    }
}

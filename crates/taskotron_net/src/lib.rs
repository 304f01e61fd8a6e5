//! What Taskotron's clients of other services (Koji, Bodhi, dist-git)
//! share: [`Retry`], the policy for trying again with doubling waits, and
//! [`snippet`], the start of a body quoted in an error message.

use std::time::Duration;

/// An error that may go away when the request is made again.
pub trait Retryable: std::fmt::Display {
    /// Whether trying again later can help.
    fn is_retryable(&self) -> bool;
}

/// How often and how patiently to retry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retry {
    /// Attempts in all, the first included (1: never retry).
    pub attempts: u32,
    /// The wait before the second attempt; it doubles after each failure.
    pub first_delay: Duration,
    /// The longest wait.
    pub max_delay: Duration,
}

impl Default for Retry {
    fn default() -> Retry {
        Retry {
            attempts: 5,
            first_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(30),
        }
    }
}

impl Retry {
    /// Never retry.
    pub fn never() -> Retry {
        Retry {
            attempts: 1,
            ..Retry::default()
        }
    }

    /// The wait after the `failures`th failure (1-based).
    pub fn delay(&self, failures: u32) -> Duration {
        let factor = 2u32.saturating_pow(failures.saturating_sub(1));
        self.first_delay.saturating_mul(factor).min(self.max_delay)
    }

    /// Run `attempt` until it succeeds, fails for good, or the attempts are
    /// spent; `what` names it in the log.
    pub async fn run<T, E, F, Fut>(&self, what: &str, mut attempt: F) -> Result<T, E>
    where
        E: Retryable,
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        let mut failures = 0;
        loop {
            match attempt().await {
                Ok(value) => return Ok(value),
                Err(err) if err.is_retryable() && failures + 1 < self.attempts.max(1) => {
                    failures += 1;
                    let delay = self.delay(failures);
                    tracing::warn!(error = %err, retry_in = ?delay, attempt = failures, "{what} failed; retrying");
                    tokio::time::sleep(delay).await;
                }
                Err(err) => return Err(err),
            }
        }
    }
}

/// At most this many characters of a body go into an error.
pub const SNIPPET: usize = 200;

/// The start of `body`, on one line, for an error message.
pub fn snippet(body: &str) -> String {
    let flat: String = body
        .chars()
        .map(|it| if it.is_control() { ' ' } else { it })
        .take(SNIPPET)
        .collect();
    if body.chars().count() > SNIPPET {
        format!("{}…", flat.trim())
    } else {
        flat.trim().to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    #[derive(Debug)]
    struct Flaky(bool);

    impl std::fmt::Display for Flaky {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "flaky (retryable: {})", self.0)
        }
    }

    impl Retryable for Flaky {
        fn is_retryable(&self) -> bool {
            self.0
        }
    }

    fn quick(attempts: u32) -> Retry {
        Retry {
            attempts,
            first_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(2),
        }
    }

    #[test]
    fn delays_double_up_to_the_cap() {
        let retry = Retry {
            attempts: 10,
            first_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(500),
        };
        let delays: Vec<u128> = (1..=5).map(|n| retry.delay(n).as_millis()).collect();
        assert_eq!(delays, [100, 200, 400, 500, 500]);
    }

    #[tokio::test]
    async fn retries_only_what_can_go_away_and_only_so_often() {
        let calls = AtomicU32::new(0);
        let result: Result<u32, Flaky> = quick(3)
            .run("test", || async {
                let n = calls.fetch_add(1, Ordering::SeqCst);
                if n < 2 { Err(Flaky(true)) } else { Ok(n) }
            })
            .await;
        assert_eq!(result.unwrap(), 2);
        calls.store(0, Ordering::SeqCst);
        let result: Result<u32, Flaky> = quick(3)
            .run("test", || async {
                calls.fetch_add(1, Ordering::SeqCst);
                Err(Flaky(true))
            })
            .await;
        assert!(result.is_err());
        assert_eq!(calls.load(Ordering::SeqCst), 3);
        calls.store(0, Ordering::SeqCst);
        let result: Result<u32, Flaky> = quick(3)
            .run("test", || async {
                calls.fetch_add(1, Ordering::SeqCst);
                Err(Flaky(false))
            })
            .await;
        assert!(result.is_err());
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn snippets_are_short_and_on_one_line() {
        assert_eq!(
            snippet("  <html>\n<body>x</body>\n"),
            "<html> <body>x</body>"
        );
        let long = "a".repeat(500);
        assert_eq!(snippet(&long).chars().count(), SNIPPET + 1);
    }
}

//! Keeping broker passwords out of errors and logs.

/// `url` with the password of its userinfo replaced by `***`.
///
/// `amqp://guest:secret@broker:5672/%2f` becomes
/// `amqp://guest:***@broker:5672/%2f`; a URL without a password comes back
/// unchanged. This works on text, not on a parsed URL, so it also redacts
/// URLs that do not parse (a password with a raw `@` or `/`, a missing `//`).
/// When in doubt it hides more: everything between the first `:` after the
/// scheme and the last `@` counts as the password.
#[must_use]
pub fn redact_password(url: &str) -> String {
    // Where the authority starts: after `scheme://`, or after `scheme:`.
    let start = match url.find("://") {
        Some(i) => i + 3,
        None => match url.find(':') {
            Some(i) => i + 1,
            None => return url.to_owned(),
        },
    };
    let rest = &url[start..];
    let Some(at) = rest.rfind('@') else {
        return url.to_owned();
    };
    let Some(colon) = rest[..at].find(':') else {
        return url.to_owned();
    };
    format!("{}{}:***{}", &url[..start], &rest[..colon], &rest[at..])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(url: &str, expect: &str) {
        assert_eq!(redact_password(url), expect, "redacting {url:?}");
    }

    #[test]
    fn redacts_the_password() {
        check(
            "amqp://guest:guest@127.0.0.1:5672/%2f",
            "amqp://guest:***@127.0.0.1:5672/%2f",
        );
        check(
            "amqps://taskotron:s3cr%40t@rabbitmq.example.org/%2Fpubsub?heartbeat=30",
            "amqps://taskotron:***@rabbitmq.example.org/%2Fpubsub?heartbeat=30",
        );
        check("amqp://:pw@host", "amqp://:***@host");
        check("amqp://user:@host", "amqp://user:***@host");
    }

    #[test]
    fn leaves_urls_without_password_alone() {
        check("amqp://127.0.0.1:5672/%2f", "amqp://127.0.0.1:5672/%2f");
        check(
            "amqps://fedora@rabbitmq.example.org/%2Fpublic_pubsub",
            "amqps://fedora@rabbitmq.example.org/%2Fpublic_pubsub",
        );
        check(
            "amqp://host/vhost?auth_mechanism=external",
            "amqp://host/vhost?auth_mechanism=external",
        );
        check("", "");
        check("not a url", "not a url");
    }

    #[test]
    fn redacts_passwords_that_break_the_url() {
        check("amqp://user:p@ss@host/", "amqp://user:***@host/");
        check("amqp://user:pa/ss@host/%2f", "amqp://user:***@host/%2f");
        check("amqp://user:pa:ss@host", "amqp://user:***@host");
        check("amqp:user:secret@host", "amqp:user:***@host");
    }

    #[test]
    fn no_password_survives() {
        for url in [
            "amqp://guest:hunter2@127.0.0.1:5672/%2f",
            "amqp://u:hunter2@h:1/v?x=y#f",
            "amqp://u:hunter2@@h",
            "amqp:/u:hunter2@h",
            "amqp:u:hunter2@h/v",
        ] {
            let redacted = redact_password(url);
            assert!(!redacted.contains("hunter2"), "{url:?} became {redacted:?}");
        }
    }
}

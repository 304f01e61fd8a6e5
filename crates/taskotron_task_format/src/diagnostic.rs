//! Diagnostics: what is wrong with a formula or a ResultYAML document, and where.

use std::fmt;

/// A position in a source text, both 1-based.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Pos {
    /// Line, counting from 1.
    pub line: usize,
    /// Column in characters, counting from 1.
    pub column: usize,
}

impl fmt::Display for Pos {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.column)
    }
}

/// One problem found in a document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// Where the problem is.
    pub pos: Pos,
    /// What is wrong, one lowercase sentence without a trailing period.
    pub message: String,
    /// What was expected or how to fix it, when there is something useful to say.
    pub help: Option<String>,
}

impl Diagnostic {
    /// A diagnostic without help text.
    pub fn new(pos: Pos, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            pos,
            message: message.into(),
            help: None,
        }
    }

    /// Add help text.
    pub fn with_help(mut self, help: impl Into<String>) -> Diagnostic {
        self.help = Some(help.into());
        self
    }
}

/// Every problem found in one document, in source order, with the document's name.
///
/// Displayed as one `FILE:LINE:COLUMN: error: MESSAGE` line per problem, each
/// followed by an indented `help:` line when there is help.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostics {
    /// The document's name as the user knows it (usually its path).
    pub origin: String,
    /// The problems, sorted by position.
    pub items: Vec<Diagnostic>,
}

impl Diagnostics {
    /// Wrap a list of problems, sorting them by position.
    pub fn new(origin: impl Into<String>, mut items: Vec<Diagnostic>) -> Diagnostics {
        items.sort_by_key(|it| it.pos);
        items.dedup();
        Diagnostics {
            origin: origin.into(),
            items,
        }
    }
}

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (idx, it) in self.items.iter().enumerate() {
            if idx > 0 {
                writeln!(f)?;
            }
            write!(f, "{}:{}: error: {}", self.origin, it.pos, it.message)?;
            if let Some(help) = &it.help {
                write!(f, "\n    help: {help}")?;
            }
        }
        Ok(())
    }
}

impl std::error::Error for Diagnostics {}

/// Levenshtein distance, for "did you mean" hints.
pub(crate) fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

/// The candidate closest to `name`, if it is close enough to be a likely typo.
pub fn did_you_mean<'a>(
    name: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|it| (edit_distance(name, it), it))
        .filter(|(dist, it)| *dist <= (it.chars().count() / 3).max(1))
        .min_by_key(|(dist, _)| *dist)
        .map(|(_, it)| it)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn displays_every_problem_with_its_place() {
        let diags = Diagnostics::new(
            "task.yml",
            vec![
                Diagnostic::new(Pos { line: 7, column: 3 }, "second"),
                Diagnostic::new(Pos { line: 2, column: 1 }, "first").with_help("do this"),
            ],
        );
        assert_eq!(
            diags.to_string(),
            "task.yml:2:1: error: first\n    help: do this\ntask.yml:7:3: error: second"
        );
    }

    #[test]
    fn suggestions() {
        assert_eq!(
            did_you_mean("workdri", ["workdir", "arch"]),
            Some("workdir")
        );
        assert_eq!(did_you_mean("zzz", ["workdir", "arch"]), None);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }
}

//! Rich (boolean) dependencies, rpm 4.13+: `(A and B)`, `(A or B)`,
//! `(A if B [else C])`, `(A unless B [else C])`, `(A with B)`,
//! `(A without B)`, nested in parentheses, with simple dependencies as
//! leaves. In rpm-md the whole expression is an entry's `name`.

use std::collections::BTreeSet;
use std::fmt;

use crate::dep::{Dep, DepError, Op};

/// A dependency: simple, or a boolean expression of dependencies.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Rich {
    /// `name [op evr]`.
    Dep(Dep),
    /// `(A and B and …)`: all of them.
    And(Vec<Rich>),
    /// `(A or B or …)`: any of them.
    Or(Vec<Rich>),
    /// `(A with B with …)`: one package satisfies all of them.
    With(Vec<Rich>),
    /// `(A without B)`: one package satisfies A and not B.
    Without(Box<Rich>, Box<Rich>),
    /// `(A if B [else C])`: B ⇒ A, and ¬B ⇒ C when there is an else.
    If {
        /// A.
        then: Box<Rich>,
        /// B.
        cond: Box<Rich>,
        /// C.
        otherwise: Option<Box<Rich>>,
    },
    /// `(A unless B [else C])`: ¬B ⇒ A, and B ⇒ C when there is an else.
    Unless {
        /// A.
        then: Box<Rich>,
        /// B.
        cond: Box<Rich>,
        /// C.
        otherwise: Option<Box<Rich>>,
    },
}

/// Why a rich dependency does not parse: the byte offset and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("at character {}: {message}", .offset + 1)]
pub struct RichError {
    /// Byte offset into the text.
    pub offset: usize,
    /// What is wrong.
    pub message: String,
}

/// What a dependency is evaluated against: which packages provide it.
pub trait World {
    /// A package (an id, an index).
    type Pkg: Ord + Clone;
    /// Every package that provides `dep`.
    fn providers(&self, dep: &Dep) -> Vec<Self::Pkg>;
}

impl Rich {
    /// Parse a dependency as it appears in an RPM header or rpm-md: a rich
    /// expression when it starts with `(`, else a simple dependency.
    pub fn parse(text: &str) -> Result<Rich, RichError> {
        let trimmed = text.trim_start();
        if !trimmed.starts_with('(') {
            return Dep::parse(text).map(Rich::Dep).map_err(|err| RichError {
                offset: 0,
                message: err.to_string(),
            });
        }
        let mut parser = Parser {
            text,
            pos: text.len() - trimmed.len(),
        };
        let rich = parser.group()?;
        parser.skip_space();
        if parser.pos < text.len() {
            return Err(parser.error("unexpected text after the closing parenthesis"));
        }
        Ok(rich)
    }

    /// Whether the expression holds in `world`: a simple dependency holds
    /// when some package provides it.
    pub fn holds<W: World>(&self, world: &W) -> bool {
        match self {
            Rich::Dep(dep) => !world.providers(dep).is_empty(),
            Rich::And(items) => items.iter().all(|it| it.holds(world)),
            Rich::Or(items) => items.iter().any(|it| it.holds(world)),
            Rich::With(_) | Rich::Without(..) => !self.packages(world).is_empty(),
            Rich::If {
                then,
                cond,
                otherwise,
            } => {
                if cond.holds(world) {
                    then.holds(world)
                } else {
                    otherwise.as_ref().is_none_or(|it| it.holds(world))
                }
            }
            Rich::Unless {
                then,
                cond,
                otherwise,
            } => {
                if cond.holds(world) {
                    otherwise.as_ref().is_none_or(|it| it.holds(world))
                } else {
                    then.holds(world)
                }
            }
        }
    }

    /// The packages that satisfy the expression on their own (for `with`
    /// and `without`): providers of a simple dependency; the common ones of
    /// `with` and `and`; all of `or`; A's not in B's for `without`. A
    /// conditional is no set of packages and gives none.
    pub fn packages<W: World>(&self, world: &W) -> BTreeSet<W::Pkg> {
        match self {
            Rich::Dep(dep) => world.providers(dep).into_iter().collect(),
            Rich::With(items) | Rich::And(items) => {
                let mut sets = items.iter().map(|it| it.packages(world));
                let first = sets.next().unwrap_or_default();
                sets.fold(first, |acc, set| acc.intersection(&set).cloned().collect())
            }
            Rich::Or(items) => items.iter().flat_map(|it| it.packages(world)).collect(),
            Rich::Without(a, b) => {
                let minus = b.packages(world);
                a.packages(world)
                    .into_iter()
                    .filter(|it| !minus.contains(it))
                    .collect()
            }
            Rich::If { .. } | Rich::Unless { .. } => BTreeSet::new(),
        }
    }

    /// Every simple dependency in the expression, left to right.
    pub fn deps(&self) -> Vec<&Dep> {
        let mut out = Vec::new();
        self.collect(&mut out);
        out
    }

    fn collect<'a>(&'a self, out: &mut Vec<&'a Dep>) {
        match self {
            Rich::Dep(dep) => out.push(dep),
            Rich::And(items) | Rich::Or(items) | Rich::With(items) => {
                for it in items {
                    it.collect(out);
                }
            }
            Rich::Without(a, b) => {
                a.collect(out);
                b.collect(out);
            }
            Rich::If {
                then,
                cond,
                otherwise,
            }
            | Rich::Unless {
                then,
                cond,
                otherwise,
            } => {
                then.collect(out);
                cond.collect(out);
                if let Some(it) = otherwise {
                    it.collect(out);
                }
            }
        }
    }
}

struct Parser<'a> {
    text: &'a str,
    pos: usize,
}

/// The operators of a group, as written.
const OPERATORS: [&str; 7] = ["and", "or", "if", "unless", "else", "with", "without"];

impl<'a> Parser<'a> {
    fn error(&self, message: impl Into<String>) -> RichError {
        RichError {
            offset: self.pos,
            message: message.into(),
        }
    }

    fn rest(&self) -> &'a str {
        &self.text[self.pos..]
    }

    fn skip_space(&mut self) {
        let rest = self.rest();
        self.pos += rest.len() - rest.trim_start().len();
    }

    /// `( term op term … )`
    fn group(&mut self) -> Result<Rich, RichError> {
        self.skip_space();
        if !self.rest().starts_with('(') {
            return Err(self.error("expected `(`"));
        }
        let open = self.pos;
        self.pos += 1;
        let first = self.term()?;
        self.skip_space();
        if self.rest().starts_with(')') {
            self.pos += 1;
            // `(foo)`: a parenthesised single dependency.
            return Ok(first);
        }
        let op_at = self.pos;
        let op = self.word();
        let rich = match op {
            "and" | "or" | "with" => {
                let mut items = vec![first, self.term()?];
                loop {
                    self.skip_space();
                    if self.rest().starts_with(')') {
                        break;
                    }
                    if self.rest().is_empty() {
                        return Err(not_closed(open));
                    }
                    let at = self.pos;
                    let next = self.word();
                    if next != op {
                        return Err(RichError {
                            offset: at,
                            message: format!(
                                "`{next}` after `{op}`: mixing operators needs parentheses"
                            ),
                        });
                    }
                    items.push(self.term()?);
                }
                match op {
                    "and" => Rich::And(items),
                    "or" => Rich::Or(items),
                    _ => Rich::With(items),
                }
            }
            "without" => Rich::Without(Box::new(first), Box::new(self.term()?)),
            "if" | "unless" => {
                let cond = self.term()?;
                self.skip_space();
                let otherwise = if self.rest().starts_with(')') {
                    None
                } else if self.rest().is_empty() {
                    return Err(not_closed(open));
                } else {
                    let at = self.pos;
                    let word = self.word();
                    if word != "else" {
                        return Err(RichError {
                            offset: at,
                            message: format!("expected `else` or `)`, found `{word}`"),
                        });
                    }
                    Some(Box::new(self.term()?))
                };
                let (then, cond) = (Box::new(first), Box::new(cond));
                if op == "if" {
                    Rich::If {
                        then,
                        cond,
                        otherwise,
                    }
                } else {
                    Rich::Unless {
                        then,
                        cond,
                        otherwise,
                    }
                }
            }
            "" => return Err(not_closed(open)),
            other => {
                return Err(RichError {
                    offset: op_at,
                    message: format!(
                        "`{other}` is not an operator (use and, or, if, unless, else, with or without)"
                    ),
                });
            }
        };
        self.skip_space();
        if !self.rest().starts_with(')') {
            if self.rest().is_empty() {
                return Err(not_closed(open));
            }
            let at = self.pos;
            let word = self.word();
            return Err(RichError {
                offset: at,
                message: format!("expected `)`, found `{word}`"),
            });
        }
        self.pos += 1;
        Ok(rich)
    }

    /// A nested group or a simple dependency `name [op evr]`.
    fn term(&mut self) -> Result<Rich, RichError> {
        self.skip_space();
        if self.rest().starts_with('(') {
            return self.group();
        }
        let at = self.pos;
        let name = self.name();
        if name.is_empty() {
            return Err(self.error("expected a dependency"));
        }
        if OPERATORS.contains(&name) {
            return Err(RichError {
                offset: at,
                message: format!("expected a dependency, found the operator `{name}`"),
            });
        }
        let name = name.to_owned();
        // An optional comparison.
        let save = self.pos;
        self.skip_space();
        let op_at = self.pos;
        let op_text = self.word();
        let Some(op) = Op::parse(op_text) else {
            self.pos = save;
            return Ok(Rich::Dep(Dep::name(name)));
        };
        self.skip_space();
        let evr_at = self.pos;
        let evr = self.word();
        if evr.is_empty() || OPERATORS.contains(&evr) {
            return Err(RichError {
                offset: op_at,
                message: format!("`{name} {}` has no version after it", op.as_str()),
            });
        }
        let evr = taskotron_types::Evr::parse(evr).map_err(|err| RichError {
            offset: evr_at,
            message: DepError::BadEvr {
                evr: evr.to_owned(),
                why: err.to_string(),
            }
            .to_string(),
        })?;
        Ok(Rich::Dep(Dep {
            name,
            constraint: Some((op, evr)),
        }))
    }

    /// A dependency name: up to whitespace, or a `)` that closes no `(` of
    /// the name itself (so `pkgconfig(glib-2.0)` stays whole).
    fn name(&mut self) -> &'a str {
        let start = self.pos;
        let mut depth = 0usize;
        for (idx, c) in self.rest().char_indices() {
            match c {
                c if c.is_whitespace() => {
                    self.pos = start + idx;
                    return &self.text[start..self.pos];
                }
                '(' => depth += 1,
                ')' if depth == 0 => {
                    self.pos = start + idx;
                    return &self.text[start..self.pos];
                }
                ')' => depth -= 1,
                _ => {}
            }
        }
        self.pos = self.text.len();
        &self.text[start..]
    }

    /// A word: up to whitespace or a parenthesis.
    fn word(&mut self) -> &'a str {
        self.skip_space();
        let start = self.pos;
        let len = self
            .rest()
            .find(|c: char| c.is_whitespace() || c == '(' || c == ')')
            .unwrap_or(self.rest().len());
        self.pos += len;
        &self.text[start..self.pos]
    }
}

fn not_closed(open: usize) -> RichError {
    RichError {
        offset: open,
        message: "this parenthesis is not closed".to_owned(),
    }
}

impl fmt::Display for Rich {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let list = |f: &mut fmt::Formatter<'_>, items: &[Rich], op: &str| {
            f.write_str("(")?;
            for (idx, it) in items.iter().enumerate() {
                if idx > 0 {
                    write!(f, " {op} ")?;
                }
                write!(f, "{it}")?;
            }
            f.write_str(")")
        };
        match self {
            Rich::Dep(dep) => write!(f, "{dep}"),
            Rich::And(items) => list(f, items, "and"),
            Rich::Or(items) => list(f, items, "or"),
            Rich::With(items) => list(f, items, "with"),
            Rich::Without(a, b) => write!(f, "({a} without {b})"),
            Rich::If {
                then,
                cond,
                otherwise,
            } => match otherwise {
                Some(it) => write!(f, "({then} if {cond} else {it})"),
                None => write!(f, "({then} if {cond})"),
            },
            Rich::Unless {
                then,
                cond,
                otherwise,
            } => match otherwise {
                Some(it) => write!(f, "({then} unless {cond} else {it})"),
                None => write!(f, "({then} unless {cond})"),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Packages 0.. each with a list of provides.
    struct Pkgs(Vec<Vec<Dep>>);

    impl World for Pkgs {
        type Pkg = usize;
        fn providers(&self, dep: &Dep) -> Vec<usize> {
            (0..self.0.len())
                .filter(|idx| self.0[*idx].iter().any(|it| dep.overlaps(it)))
                .collect()
        }
    }

    fn world() -> Pkgs {
        let p = |items: &[&str]| items.iter().map(|it| Dep::parse(it).unwrap()).collect();
        Pkgs(vec![
            p(&["foo = 1.0-1", "libfoo = 1.0"]),
            p(&["bar = 2.0-1", "python3"]),
            p(&["baz = 3-1", "libfoo = 2.0"]),
            p(&["pkgconfig(glib-2.0) = 2.80"]),
        ])
    }

    fn holds(text: &str) -> bool {
        Rich::parse(text)
            .unwrap_or_else(|err| panic!("{text}: {err}"))
            .holds(&world())
    }

    #[test]
    fn every_operator_means_what_rpm_says() {
        for (text, want) in [
            ("(foo and bar)", true),
            ("(foo and nothere)", false),
            ("(nothere or bar or baz)", true),
            ("(nothere or nothere2)", false),
            ("(foo if bar)", true),
            ("(nothere if bar)", false),
            ("(nothere if nothere2)", true),
            ("(nothere if nothere2 else bar)", true),
            ("(nothere if nothere2 else nothere3)", false),
            ("(nothere unless bar)", true),
            ("(nothere unless nothere2)", false),
            ("(foo unless nothere2 else nothere)", true),
            ("(nothere unless bar else baz)", true),
            ("(libfoo >= 2 with baz)", true),
            ("(libfoo >= 2 with foo)", false),
            ("(libfoo without baz)", true),
            ("(libfoo >= 2 without baz)", false),
            ("((foo or nothere) and (bar >= 2.0 or nothere))", true),
            ("(pkgconfig(glib-2.0) >= 2.70 and foo)", true),
            (
                "(pkgconfig(glib-2.0) >= 2.90 or (libfoo = 1.0 with foo))",
                true,
            ),
            ("(foo)", true),
            ("foo >= 1.1", false),
        ] {
            assert_eq!(holds(text), want, "{text}");
        }
    }

    #[test]
    fn printing_reads_back() {
        for text in [
            "(foo and bar)",
            "(a or b or c)",
            "(python3-rpm-macros if rpm-build)",
            "(a if b else (c or d))",
            "(a unless b else c)",
            "(ansible-core >= 2.11.0 or ansible >= 2.9.0)",
            "((a with b) without c)",
            "(pkgconfig(x) >= 1:2-3 and /usr/bin/sh)",
        ] {
            let rich = Rich::parse(text).unwrap();
            assert_eq!(rich.to_string(), text);
            assert_eq!(Rich::parse(&rich.to_string()).unwrap(), rich);
        }
        let rich = Rich::parse("(a >= 1 and (b or c))").unwrap();
        let names: Vec<&str> = rich.deps().iter().map(|it| it.name.as_str()).collect();
        assert_eq!(names, ["a", "b", "c"]);
    }

    #[test]
    fn errors_say_where() {
        for (text, offset, fragment) in [
            ("(a and b or c)", 9, "mixing operators needs parentheses"),
            ("(a and b", 0, "not closed"),
            ("(a if b", 0, "not closed"),
            ("(a", 0, "not closed"),
            ("(a nand b)", 3, "`nand` is not an operator"),
            ("(a and)", 6, "expected a dependency"),
            ("(and b)", 1, "found the operator `and`"),
            ("(a >= and b)", 3, "no version"),
            ("(a if b or c)", 8, "expected `else` or `)`"),
            ("(a and b) c", 10, "unexpected text"),
            ("(a >= x:1 and b)", 6, "bad version"),
            ("(", 1, "expected a dependency"),
        ] {
            let err = Rich::parse(text).unwrap_err();
            assert_eq!(err.offset, offset, "{text}: {err}");
            assert!(err.message.contains(fragment), "{text}: {err}");
        }
    }
}

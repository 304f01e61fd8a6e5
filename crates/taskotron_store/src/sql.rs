//! Building SQL text with its arguments, for both dialects.

/// Which database the SQL is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dialect {
    Sqlite,
    Postgres,
}

/// A bound argument.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Arg {
    Int(i64),
    Text(String),
    OptText(Option<String>),
}

/// SQL text and its arguments, in placeholder order.
#[derive(Debug, Clone)]
pub(crate) struct Sql {
    pub(crate) dialect: Dialect,
    pub(crate) text: String,
    pub(crate) args: Vec<Arg>,
}

impl Sql {
    pub(crate) fn new(dialect: Dialect, text: &str) -> Sql {
        Sql {
            dialect,
            text: text.to_owned(),
            args: Vec::new(),
        }
    }

    /// Append SQL text.
    pub(crate) fn push(&mut self, text: &str) -> &mut Sql {
        self.text.push_str(text);
        self
    }

    /// Append a placeholder bound to `arg`.
    pub(crate) fn arg(&mut self, arg: Arg) -> &mut Sql {
        self.args.push(arg);
        match self.dialect {
            Dialect::Sqlite => self.text.push('?'),
            Dialect::Postgres => {
                self.text.push('$');
                self.text.push_str(&self.args.len().to_string());
            }
        }
        self
    }

    pub(crate) fn int(&mut self, value: i64) -> &mut Sql {
        self.arg(Arg::Int(value))
    }

    /// Append an integer as a literal, for `LIMIT` and `OFFSET`: SQLite
    /// re-prepares a statement on every run when a bound parameter gives
    /// its `LIMIT` (the planner looks at the value). The text stays safe:
    /// it is a number we format.
    pub(crate) fn int_literal(&mut self, value: i64) -> &mut Sql {
        self.push(&value.to_string())
    }

    pub(crate) fn text(&mut self, value: &str) -> &mut Sql {
        self.arg(Arg::Text(value.to_owned()))
    }

    pub(crate) fn opt_text(&mut self, value: Option<&str>) -> &mut Sql {
        self.arg(Arg::OptText(value.map(str::to_owned)))
    }

    /// Append `(a, b, c)` with one placeholder per text value.
    pub(crate) fn text_list(&mut self, values: &[String]) -> &mut Sql {
        self.push("(");
        for (idx, value) in values.iter().enumerate() {
            if idx > 0 {
                self.push(", ");
            }
            self.text(value);
        }
        self.push(")")
    }

    /// Append `(1, 2, 3)` with one placeholder per id.
    pub(crate) fn int_list(&mut self, values: &[i64]) -> &mut Sql {
        self.push("(");
        for (idx, value) in values.iter().enumerate() {
            if idx > 0 {
                self.push(", ");
            }
            self.int(*value);
        }
        self.push(")")
    }
}

/// Bind every argument of an [`Sql`] to a `sqlx::query`.
macro_rules! query {
    ($sql:expr) => {{
        let sql: &$crate::sql::Sql = &$sql;
        // Every value is a bound argument; the text is built only from constants.
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql.text.as_str()));
        for arg in &sql.args {
            query = match arg {
                $crate::sql::Arg::Int(it) => query.bind(*it),
                $crate::sql::Arg::Text(it) => query.bind(it.as_str()),
                $crate::sql::Arg::OptText(it) => query.bind(it.as_deref()),
            };
        }
        query
    }};
}
pub(crate) use query;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_per_dialect() {
        for (dialect, expect) in [
            (Dialect::Sqlite, "SELECT x WHERE a = ? AND b IN (?, ?)"),
            (Dialect::Postgres, "SELECT x WHERE a = $1 AND b IN ($2, $3)"),
        ] {
            let mut sql = Sql::new(dialect, "SELECT x WHERE a = ");
            sql.int(1)
                .push(" AND b IN ")
                .text_list(&["p".into(), "q".into()]);
            assert_eq!(sql.text, expect);
            assert_eq!(
                sql.args,
                [Arg::Int(1), Arg::Text("p".into()), Arg::Text("q".into())]
            );
        }
    }
}

//! The grammar of the extensions: the clauses after `TO <verb>`, attribute values and
//! the formulas of `TO MAXIMIZE`, each nesting at most [`MAX_NESTING`] deep.

use super::{
    ColumnClause, Constraint, Direction, Evaluate, Explain, Expr, ExtKind, Formula, MAX_NESTING,
    Optimize, ParseError, Predict, Run, Train,
    ast::{BinOp, Prec},
    lexer::{ExtParser, Tok, is_clause_keyword, is_formula_keyword},
};

const EXPECTED_VERB: &str = "TRAIN, PREDICT, EVALUATE, EXPLAIN, RUN, MAXIMIZE or MINIMIZE after TO";

pub(super) fn parse_extension(text: &str, at: usize) -> Result<ExtKind, ParseError> {
    let mut p = ExtParser::new(text, at);
    // The SQL lexer saw a bare keyword, but this lexer's names run on through dots,
    // dashes, slashes and colons: `TO train.x` reads as the name `train.x`.
    let verb = p.ident(EXPECTED_VERB)?;
    let kind = match verb.to_ascii_uppercase().as_str() {
        "TRAIN" => {
            let estimator = p.ident("a model name after TO TRAIN, such as DNNClassifier")?;
            let attrs = p.with_clause()?;
            let mut columns = Vec::new();
            while p.keyword("COLUMN") {
                columns.push(p.column_clause()?);
            }
            let label = if p.keyword("LABEL") {
                Some(p.column_name("a label column after LABEL", &["USING", "INTO"])?)
            } else {
                None
            };
            let using = if p.keyword("USING") {
                Some(p.ident("a model to start from after USING")?)
            } else {
                None
            };
            p.expect_keyword("INTO", "INTO <model_table> to name the trained model")?;
            let into = p.ident("a table to save the model into, after INTO")?;
            ExtKind::Train(Train {
                estimator,
                attrs,
                columns,
                label,
                using,
                into,
            })
        }
        "PREDICT" => {
            let target =
                p.ident("a result table after TO PREDICT, as <table> or <table>.<column>")?;
            // SQLFlow's split (`db.table.column`, `table.column`); a table alone gets its
            // result column named after the model's label when the statement runs.
            let (table, column) = match target.rsplit_once('.') {
                Some((table, column)) => (table.to_string(), Some(column.to_string())),
                None => (target, None),
            };
            let attrs = p.with_clause()?;
            p.expect_keyword("USING", "USING <model_table> to name the model")?;
            let using = p.ident("a model after USING")?;
            ExtKind::Predict(Predict {
                table,
                column,
                attrs,
                using,
            })
        }
        "EVALUATE" => {
            let model = p.ident("a model after TO EVALUATE")?;
            let attrs = p.with_clause()?;
            p.expect_keyword("LABEL", "LABEL <column> to name the true values")?;
            let label = p.column_name("a label column after LABEL", &["INTO"])?;
            p.expect_keyword("INTO", "INTO <table> for the metrics")?;
            let into = p.ident("a table after INTO")?;
            ExtKind::Evaluate(Evaluate {
                model,
                attrs,
                label,
                into,
            })
        }
        "EXPLAIN" => {
            let model = p.ident("a model after TO EXPLAIN")?;
            let attrs = p.with_clause()?;
            let using = if p.keyword("USING") {
                Some(p.ident("an explainer after USING")?)
            } else {
                None
            };
            let into = if p.keyword("INTO") {
                Some(p.ident("a table after INTO")?)
            } else {
                None
            };
            ExtKind::Explain(Explain {
                model,
                attrs,
                using,
                into,
            })
        }
        "RUN" => ExtKind::Run(p.run_clause()?),
        "MAXIMIZE" => ExtKind::Optimize(p.optimize_clause(Direction::Maximize)?),
        "MINIMIZE" => ExtKind::Optimize(p.optimize_clause(Direction::Minimize)?),
        _ => {
            return Err(p.error_at(at, format!("expected {EXPECTED_VERB}, found '{verb}'")));
        }
    };
    p.end()?;
    Ok(kind)
}

impl ExtParser<'_> {
    pub(super) fn ident(&mut self, what: &str) -> Result<String, ParseError> {
        let at = {
            self.skip_space();
            self.pos
        };
        match self.next()? {
            Some(Tok::Ident(s)) if !is_clause_keyword(&s) => Ok(s),
            Some(Tok::Quoted(s)) => Ok(s),
            other => Err(self.error_at(
                at,
                format!("expected {what}, found {}", Self::describe(&other)),
            )),
        }
    }

    /// A column name: an identifier, `` `name` `` or `"name"`, or a bare keyword when
    /// what follows it is one of `followers` (keywords, or `,`) or the end: so
    /// `LABEL label INTO m` names the column `label`, while `LABEL INTO m` lacks one.
    /// Columns are where data names collide with SQLFlow's keywords.
    pub(super) fn column_name(
        &mut self,
        what: &str,
        followers: &[&str],
    ) -> Result<String, ParseError> {
        self.skip_space();
        let at = self.pos;
        match self.peek()? {
            Some((Tok::Str(s) | Tok::Quoted(s), end)) => {
                self.pos = end;
                Ok(s)
            }
            Some((Tok::Ident(s), end)) if is_clause_keyword(&s) => {
                self.pos = end;
                let fits = match self.peek()? {
                    None | Some((Tok::Punct(';'), _)) => true,
                    Some((Tok::Punct(c), _)) => {
                        followers.iter().any(|f| f.len() == 1 && f.starts_with(c))
                    }
                    Some((Tok::Ident(n), _)) => followers.iter().any(|f| n.eq_ignore_ascii_case(f)),
                    Some(_) => false,
                };
                if fits {
                    Ok(s)
                } else {
                    self.pos = at;
                    Err(self.expected(what))
                }
            }
            _ => self.ident(what),
        }
    }

    /// Consumes keyword `kw` if it is next.
    fn keyword(&mut self, kw: &str) -> bool {
        match self.peek() {
            Ok(Some((Tok::Ident(s), end))) if s.eq_ignore_ascii_case(kw) => {
                self.pos = end;
                true
            }
            _ => false,
        }
    }

    fn expect_keyword(&mut self, kw: &str, what: &str) -> Result<(), ParseError> {
        if self.keyword(kw) {
            return Ok(());
        }
        Err(self.expected(what))
    }

    /// "expected {what}, found ..." at the next token.
    pub(super) fn expected(&mut self, what: &str) -> ParseError {
        let found = match self.peek() {
            Ok(t) => t.map(|(t, _)| t),
            Err(e) => return e,
        };
        self.error_at(
            self.pos,
            format!("expected {what}, found {}", Self::describe(&found)),
        )
    }

    pub(super) fn punct(&mut self, c: char) -> Result<bool, ParseError> {
        match self.peek()? {
            Some((Tok::Punct(p), end)) if p == c => {
                self.pos = end;
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    /// `WITH name = value, ...` (or nothing). Duplicates are errors.
    fn with_clause(&mut self) -> Result<Vec<(String, Expr)>, ParseError> {
        if !self.keyword("WITH") {
            return Ok(Vec::new());
        }
        self.attr_list()
    }

    /// `name = value, ...` after WITH.
    fn attr_list(&mut self) -> Result<Vec<(String, Expr)>, ParseError> {
        let mut attrs: Vec<(String, Expr)> = Vec::new();
        loop {
            self.skip_space();
            let at = self.pos;
            let name = self.ident("an attribute name such as model.n_classes")?;
            if !self.punct('=')? {
                return Err(self.expected(&format!("'=' after attribute {name}")));
            }
            let value = self.value(0)?;
            if attrs.iter().any(|(n, _)| n.eq_ignore_ascii_case(&name)) {
                return Err(self.error_at(at, format!("attribute {name} is given twice")));
            }
            attrs.push((name, value));
            if !self.punct(',')? {
                return Ok(attrs);
            }
        }
    }

    /// A value inside `depth` open lists and signs.
    fn value(&mut self, depth: usize) -> Result<Expr, ParseError> {
        self.skip_space();
        let at = self.pos;
        let tok = self.next()?;
        if matches!(tok, Some(Tok::Punct('[' | '-'))) && depth >= MAX_NESTING {
            return Err(self.error_at(
                at,
                format!(
                    "value nested too deeply: lists and '-' signs may nest at most \
                     {MAX_NESTING} levels"
                ),
            ));
        }
        Ok(match tok {
            Some(Tok::Int(i)) => Expr::Int(i),
            Some(Tok::Float(f)) => Expr::Float(f),
            Some(Tok::Str(s)) => Expr::Str(s),
            Some(Tok::Ident(s)) if s.eq_ignore_ascii_case("true") => Expr::Bool(true),
            Some(Tok::Ident(s)) if s.eq_ignore_ascii_case("false") => Expr::Bool(false),
            Some(Tok::Ident(s)) if !is_clause_keyword(&s) => Expr::Ident(s),
            Some(Tok::Quoted(s)) => Expr::Ident(s),
            Some(Tok::Punct('-')) => match self.value(depth + 1)? {
                // Literals are unsigned, so i64::MIN never gets here; were it to, a
                // float beats an overflow panic.
                Expr::Int(i) => i.checked_neg().map_or(Expr::Float(-(i as f64)), Expr::Int),
                Expr::Float(f) => Expr::Float(-f),
                _ => return Err(self.error_at(at, "'-' must be followed by a number")),
            },
            Some(Tok::Punct('[')) => {
                let mut items = Vec::new();
                if !self.punct(']')? {
                    loop {
                        items.push(self.value(depth + 1)?);
                        if self.punct(']')? {
                            break;
                        }
                        if !self.punct(',')? {
                            return Err(self.expected("',' or ']' in a list"));
                        }
                    }
                }
                Expr::List(items)
            }
            other => {
                return Err(self.error_at(
                    at,
                    format!(
                        "expected a value (number, string, name, true/false or [list]), found {}",
                        Self::describe(&other)
                    ),
                ));
            }
        })
    }

    /// After `COLUMN`: `a, b, c [FOR name]`.
    fn column_clause(&mut self) -> Result<ColumnClause, ParseError> {
        let (mut columns, mut features) = (Vec::new(), Vec::new());
        loop {
            let (text, feature) =
                self.column_item(&[",", "FOR", "COLUMN", "LABEL", "USING", "INTO"])?;
            columns.push(text);
            features.push(feature);
            if !self.punct(',')? {
                break;
            }
        }
        let for_input = if self.keyword("FOR") {
            Some(self.ident("an input name after FOR")?)
        } else {
            None
        };
        Ok(ColumnClause {
            columns,
            features,
            for_input,
        })
    }

    /// After `TO RUN`: `program [CMD "arg", ...] [INTO table, ...]`. SQLFlow takes INTO
    /// only after CMD; a program without arguments may write tables too.
    fn run_clause(&mut self) -> Result<Run, ParseError> {
        self.skip_space();
        let at = self.pos;
        let program =
            self.ident("a program or image after TO RUN, such as team/extract_features:1.0")?;
        if program.eq_ignore_ascii_case("CMD") {
            return Err(self.error_at(at, "expected a program or image after TO RUN, found 'CMD'"));
        }
        let mut args = Vec::new();
        if self.keyword("CMD") {
            loop {
                self.skip_space();
                match self.peek()? {
                    Some((Tok::Str(s), end)) => {
                        self.pos = end;
                        args.push(s);
                    }
                    _ => {
                        return Err(
                            self.expected("a quoted argument after CMD, such as \"--window=120\"")
                        );
                    }
                }
                if !self.punct(',')? {
                    break;
                }
            }
        }
        let mut into = Vec::new();
        if self.keyword("INTO") {
            loop {
                into.push(self.ident("a table after INTO")?);
                if !self.punct(',')? {
                    break;
                }
            }
        }
        Ok(Run {
            program,
            args,
            into,
        })
    }

    /// After `TO MAXIMIZE` or `TO MINIMIZE`.
    fn optimize_clause(&mut self, direction: Direction) -> Result<Optimize, ParseError> {
        let objective = self.formula("an objective such as SUM(price * amount)")?;
        let mut constraints = Vec::new();
        if self.keyword("CONSTRAINT") {
            loop {
                let expr = self.formula("a constraint such as SUM(amount) <= 100")?;
                let group_by = if self.keyword("GROUP") {
                    self.expect_keyword("BY", "BY after GROUP")?;
                    Some(self.ident("a column after GROUP BY")?)
                } else {
                    None
                };
                constraints.push(Constraint { expr, group_by });
                if !self.punct(',')? {
                    break;
                }
            }
        }
        self.expect_keyword(
            "WITH",
            "WITH variables = \"amount(product)\", var_type = \"...\"",
        )?;
        let attrs = self.attr_list()?;
        let solver = if self.keyword("USING") {
            Some(self.ident("a solver after USING, such as glpk")?)
        } else {
            None
        };
        self.expect_keyword("INTO", "INTO <table> for the solution")?;
        let into = self.ident("a table after INTO")?;
        Ok(Optimize {
            direction,
            objective,
            constraints,
            attrs,
            solver,
            into,
        })
    }

    /// One objective or constraint expression, read with formula lexing.
    fn formula(&mut self, what: &str) -> Result<Formula, ParseError> {
        self.in_formula = true;
        let f = self.formula_at(Prec::Or, 0, what);
        self.in_formula = false;
        f
    }

    /// An error unless one more level of nesting fits.
    fn nest(&self, depth: usize, at: usize) -> Result<usize, ParseError> {
        if depth >= MAX_NESTING {
            return Err(self.error_at(
                at,
                format!(
                    "expression nested too deeply: parentheses, lists, calls, NOT and '-' \
                     may nest at most {MAX_NESTING} levels"
                ),
            ));
        }
        Ok(depth + 1)
    }

    /// A formula binding at least as tight as `level`, inside `depth` nestings.
    fn formula_at(&mut self, level: Prec, depth: usize, what: &str) -> Result<Formula, ParseError> {
        self.skip_space();
        let at = self.pos;
        match level {
            Prec::Not if self.keyword("NOT") => {
                let inner = self.formula_at(Prec::Not, self.nest(depth, at)?, what)?;
                Ok(Formula::Not(Box::new(inner)))
            }
            Prec::Neg if self.punct('-')? => {
                let inner = self.formula_at(Prec::Neg, self.nest(depth, at)?, what)?;
                Ok(Formula::Neg(Box::new(inner)))
            }
            Prec::Not | Prec::Neg => self.formula_at(level.tighter(), depth, what),
            Prec::Atom => self.atom(depth, what),
            _ => {
                let first = self.formula_at(level.tighter(), depth, what)?;
                let mut rest = Vec::new();
                while let Some(op) = self.bin_op(level)? {
                    rest.push((op, self.formula_at(level.tighter(), depth, what)?));
                }
                Ok(if rest.is_empty() {
                    first
                } else {
                    Formula::Chain {
                        first: Box::new(first),
                        rest,
                    }
                })
            }
        }
    }

    /// Consumes a binary operator of `level` if one is next.
    fn bin_op(&mut self, level: Prec) -> Result<Option<BinOp>, ParseError> {
        let Some((tok, end)) = self.peek()? else {
            return Ok(None);
        };
        // Two-character operators are one token only when written together, as in SQL.
        let then = self.src[end..].chars().next();
        let (op, end) = match (level, tok) {
            (Prec::Or, Tok::Ident(w)) if w.eq_ignore_ascii_case("OR") => (BinOp::Or, end),
            (Prec::And, Tok::Ident(w)) if w.eq_ignore_ascii_case("AND") => (BinOp::And, end),
            (Prec::Compare, Tok::Punct(c)) => match (c, then) {
                ('=', _) => (BinOp::Eq, end),
                ('<', Some('=')) => (BinOp::Le, end + 1),
                ('<', Some('>')) => (BinOp::Ne, end + 1),
                ('<', _) => (BinOp::Lt, end),
                ('>', Some('=')) => (BinOp::Ge, end + 1),
                ('>', _) => (BinOp::Gt, end),
                ('!', Some('=')) => (BinOp::Ne, end + 1),
                _ => return Ok(None),
            },
            (Prec::Sum, Tok::Punct('+')) => (BinOp::Add, end),
            (Prec::Sum, Tok::Punct('-')) => (BinOp::Sub, end),
            (Prec::Product, Tok::Punct('*')) => (BinOp::Mul, end),
            (Prec::Product, Tok::Punct('/')) => (BinOp::Div, end),
            (Prec::Product, Tok::Punct('%')) => (BinOp::Mod, end),
            _ => return Ok(None),
        };
        self.pos = end;
        Ok(Some(op))
    }

    /// A literal, a column, a call, `(formula)` or `[list]`.
    fn atom(&mut self, depth: usize, what: &str) -> Result<Formula, ParseError> {
        self.skip_space();
        let at = self.pos;
        let tok = self.next()?;
        Ok(match tok {
            Some(Tok::Int(i)) => Formula::Int(i),
            Some(Tok::Float(x)) => Formula::Float(x),
            Some(Tok::Str(s)) => Formula::Str(s),
            Some(Tok::Quoted(c)) => Formula::Column(c),
            Some(Tok::Ident(name)) if !is_formula_keyword(&name) => {
                if !self.punct('(')? {
                    return Ok(Formula::Column(name));
                }
                let args = self.formula_list(')', self.nest(depth, at)?, what)?;
                Formula::Call { name, args }
            }
            Some(Tok::Punct('(')) => {
                let inner = self.formula_at(Prec::Or, self.nest(depth, at)?, what)?;
                if !self.punct(')')? {
                    return Err(self.expected("')'"));
                }
                inner
            }
            Some(Tok::Punct('[')) => {
                Formula::List(self.formula_list(']', self.nest(depth, at)?, what)?)
            }
            other => {
                return Err(self.error_at(
                    at,
                    format!("expected {what}, found {}", Self::describe(&other)),
                ));
            }
        })
    }

    /// `a, b, c` up to `close` (already past the opening bracket); may be empty.
    fn formula_list(
        &mut self,
        close: char,
        depth: usize,
        what: &str,
    ) -> Result<Vec<Formula>, ParseError> {
        let mut items = Vec::new();
        if self.punct(close)? {
            return Ok(items);
        }
        loop {
            items.push(self.formula_at(Prec::Or, depth, what)?);
            if self.punct(close)? {
                return Ok(items);
            }
            if !self.punct(',')? {
                return Err(self.expected(&format!("',' or '{close}'")));
            }
        }
    }

    pub(super) fn end(&mut self) -> Result<(), ParseError> {
        self.skip_space();
        let at = self.pos;
        match self.peek()? {
            None => Ok(()),
            Some((Tok::Punct(';'), _)) => Ok(()),
            Some((t, _)) => Err(self.error_at(
                at,
                format!(
                    "unexpected {} after the end of the statement",
                    Self::describe(&Some(t))
                ),
            )),
        }
    }
}

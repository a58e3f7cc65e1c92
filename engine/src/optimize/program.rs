//! From an optimization statement's formulas and the SELECT's rows to a linear program:
//! one decision variable per row, the objective and every constraint as linear
//! expressions over those variables, with SQLFlow's meaning of `SUM(...)` and
//! `GROUP BY` (`doc/tutorial/optimization_guide.md`):
//!
//! - inside `SUM(e)`, `e` is evaluated on each row of the group (all rows without
//!   `GROUP BY`) and the results added; a column is that row's value and the variable is
//!   that row's variable;
//! - outside `SUM`, a column is the group's value (the same on every row of the group,
//!   so `GROUP BY` is needed for it) and the variable may not appear;
//! - a constraint without `SUM` holds on each row separately (`amount <= max_num`).
//!
//! Anything that is not linear in the variable (a product of two variable terms, a
//! variable divided by, a variable in `%`) is refused, naming the expression.

use std::collections::HashMap;

use sqlflow_sql::extended::{BinOp, Formula};

use crate::{
    Value,
    backend::{Collected, Column},
};

/// Most decision variables (rows of the SELECT) a statement may have.
pub const MAX_VARIABLES: usize = 100_000;
/// Most constraints all CONSTRAINT clauses may make together (rows times per-row
/// clauses, groups times grouped ones).
pub const MAX_CONSTRAINTS: usize = 200_000;
/// Most variable terms the objective and the constraints may hold together.
pub const MAX_TERMS: usize = 2_000_000;

/// An affine expression: `constant + Σ coef · x[var]`. Terms are appended as found and
/// merged by [`Lin::normalize`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Lin {
    pub constant: f64,
    pub terms: Vec<(usize, f64)>,
}

impl Lin {
    fn constant(c: f64) -> Lin {
        Lin {
            constant: c,
            terms: Vec::new(),
        }
    }

    fn var(i: usize) -> Lin {
        Lin {
            constant: 0.0,
            terms: vec![(i, 1.0)],
        }
    }

    fn has_var(&self) -> bool {
        !self.terms.is_empty()
    }

    fn add(mut self, other: Lin, sign: f64) -> Lin {
        self.constant += sign * other.constant;
        self.terms
            .extend(other.terms.into_iter().map(|(v, c)| (v, sign * c)));
        self
    }

    fn scale(mut self, k: f64) -> Lin {
        self.constant *= k;
        for t in &mut self.terms {
            t.1 *= k;
        }
        self
    }

    /// Sorts the terms by variable, adds up each variable's coefficients and drops the
    /// zero ones.
    pub fn normalize(&mut self) {
        self.terms.sort_by_key(|t| t.0);
        let mut merged: Vec<(usize, f64)> = Vec::with_capacity(self.terms.len());
        for &(v, c) in &self.terms {
            match merged.last_mut() {
                Some(last) if last.0 == v => last.1 += c,
                _ => merged.push((v, c)),
            }
        }
        merged.retain(|t| t.1 != 0.0);
        self.terms = merged;
    }

    fn is_finite(&self) -> bool {
        self.constant.is_finite() && self.terms.iter().all(|t| t.1.is_finite())
    }

    /// The value at `x`.
    pub fn eval(&self, x: &[f64]) -> f64 {
        self.constant + self.terms.iter().map(|&(v, c)| c * x[v]).sum::<f64>()
    }
}

/// How a constraint compares its expression with zero.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sense {
    /// `expr <= 0`
    Le,
    /// `expr >= 0`
    Ge,
    /// `expr = 0`
    Eq,
}

/// `expr sense 0`, normalized.
#[derive(Debug, Clone, PartialEq)]
pub struct LinConstraint {
    pub expr: Lin,
    pub sense: Sense,
}

/// The linear program of a statement, over `n` variables (one per row).
#[derive(Debug, Clone, PartialEq)]
pub struct Program {
    pub n: usize,
    pub objective: Lin,
    pub constraints: Vec<LinConstraint>,
}

/// What the formulas are evaluated against: the rows, and how names resolve.
pub struct Data<'a> {
    pub data: &'a Collected,
    /// The variable's name as formulas write it (`amount`), matched in any case.
    pub variable: &'a str,
    /// The index columns (`product`), for naming rows in messages.
    pub index: &'a [usize],
}

/// One CONSTRAINT clause as the statement gives it.
pub struct ClauseIn<'a> {
    pub expr: &'a Formula,
    pub group_by: Option<&'a str>,
}

/// Where a formula is evaluated.
#[derive(Clone, Copy)]
enum Scope<'a> {
    /// On one row: inside SUM, or a per-row constraint.
    Row(usize),
    /// On a group of rows, outside SUM. `by` is the GROUP BY column (None: all rows).
    Group {
        rows: &'a [usize],
        by: Option<usize>,
    },
}

/// What a message says the formula is: `the objective`, `constraint 2`.
struct Place<'a> {
    what: &'a str,
    formula: &'a Formula,
}

impl Place<'_> {
    fn err(&self, msg: impl std::fmt::Display) -> String {
        format!("{} `{}`: {msg}", self.what, self.formula)
    }
}

impl Data<'_> {
    fn column(&self, name: &str) -> Option<usize> {
        let cols = &self.data.columns;
        cols.iter()
            .position(|c| c.name == name)
            .or_else(|| cols.iter().position(|c| c.name.eq_ignore_ascii_case(name)))
    }

    fn is_variable(&self, name: &str) -> bool {
        name.eq_ignore_ascii_case(self.variable)
    }

    /// `row 3 (product = 'soldier')`, for messages.
    pub fn row_label(&self, row: usize) -> String {
        let parts: Vec<String> = self
            .index
            .iter()
            .map(|&c| {
                format!(
                    "{} = {}",
                    self.data.columns[c].name,
                    show(&self.data.rows[row][c])
                )
            })
            .collect();
        format!("row {} ({})", row + 1, parts.join(", "))
    }

    fn columns_text(&self) -> String {
        self.data
            .columns
            .iter()
            .map(|c: &Column| c.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// The number in column `col` of `row`; NULL, text that is no number, and binary
    /// data are errors naming the row.
    fn number(&self, row: usize, col: usize) -> Result<f64, String> {
        let name = &self.data.columns[col].name;
        let v = &self.data.rows[row][col];
        let x = match v {
            Value::Int64(i) => *i as f64,
            Value::Double(f) => *f,
            Value::Bool(b) => f64::from(u8::from(*b)),
            Value::Decimal(s) | Value::String(s) => s.trim().parse::<f64>().map_err(|_| {
                format!(
                    "column {name} holds {} in {}, which is not a number",
                    show(v),
                    self.row_label(row)
                )
            })?,
            Value::Null(_) => {
                return Err(format!(
                    "column {name} is NULL in {}; give it a value (COALESCE) or leave the row out",
                    self.row_label(row)
                ));
            }
            _ => {
                return Err(format!(
                    "column {name} holds {} in {}, which is not a number",
                    show(v),
                    self.row_label(row)
                ));
            }
        };
        if !x.is_finite() {
            return Err(format!(
                "column {name} holds {x} in {}, which is not a finite number",
                self.row_label(row)
            ));
        }
        Ok(x)
    }
}

/// A cell as messages show it.
pub fn show(v: &Value) -> String {
    match v {
        Value::Null(_) => "NULL".into(),
        Value::Bool(b) => b.to_string(),
        Value::Int64(i) => i.to_string(),
        Value::Double(f) => f.to_string(),
        Value::Decimal(s) => s.clone(),
        Value::String(s) | Value::Date(s) | Value::Time(s) | Value::Timestamp(s) => {
            let s: String = s.chars().take(60).collect();
            format!("'{s}'")
        }
        Value::Bytes(b) => format!("{} bytes of binary data", b.len()),
    }
}

/// A key that is equal for equal cells, for grouping.
pub fn key(v: &Value) -> String {
    format!("{v:?}")
}

fn has_sum(f: &Formula) -> bool {
    match f {
        Formula::Call { name, args } => {
            name.eq_ignore_ascii_case("SUM") || args.iter().any(has_sum)
        }
        Formula::List(items) => items.iter().any(has_sum),
        Formula::Neg(x) | Formula::Not(x) => has_sum(x),
        Formula::Chain { first, rest } => has_sum(first) || rest.iter().any(|(_, x)| has_sum(x)),
        Formula::Int(_) | Formula::Float(_) | Formula::Str(_) | Formula::Column(_) => false,
    }
}

fn is_comparison(op: BinOp) -> bool {
    matches!(
        op,
        BinOp::Eq | BinOp::Ne | BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge
    )
}

/// Counts terms against [`MAX_TERMS`].
struct Budget {
    terms: usize,
}

impl Budget {
    fn take(&mut self, l: &Lin) -> Result<(), String> {
        self.terms += l.terms.len();
        if self.terms > MAX_TERMS {
            return Err(format!(
                "the objective and constraints hold more than {MAX_TERMS} variable terms \
                 together, more than this engine solves; select fewer rows or split the problem"
            ));
        }
        Ok(())
    }
}

fn eval(d: &Data<'_>, p: &Place<'_>, f: &Formula, scope: Scope<'_>) -> Result<Lin, String> {
    let out = match f {
        Formula::Int(i) => Lin::constant(*i as f64),
        Formula::Float(x) => Lin::constant(*x),
        Formula::Str(s) => {
            return Err(p.err(format!("the text '{s}' is not a number")));
        }
        Formula::List(_) => return Err(p.err("a list is not a number")),
        Formula::Column(name) => column(d, p, name, scope)?,
        Formula::Call { name, args } => {
            if !name.eq_ignore_ascii_case("SUM") {
                return Err(p.err(format!(
                    "{name}() is not supported: objectives and constraints take SUM(...) and \
                     + - * / over numbers, columns and the variable {}",
                    d.variable
                )));
            }
            let [arg] = args.as_slice() else {
                return Err(p.err(format!("SUM takes one argument, got {}", args.len())));
            };
            match scope {
                Scope::Row(_) => {
                    return Err(p.err("SUM inside SUM: the inner sum is already over the rows"));
                }
                Scope::Group { rows, .. } => {
                    let mut total = Lin::default();
                    for &r in rows {
                        total = total.add(eval(d, p, arg, Scope::Row(r))?, 1.0);
                        if total.terms.len() > MAX_TERMS {
                            return Err(p.err(format!(
                                "the sum holds more than {MAX_TERMS} variable terms"
                            )));
                        }
                    }
                    total
                }
            }
        }
        Formula::Neg(x) => eval(d, p, x, scope)?.scale(-1.0),
        Formula::Not(_) => {
            return Err(p.err(
                "NOT has no meaning in a linear program: the objective is a number, a \
                 constraint one comparison",
            ));
        }
        Formula::Chain { first, rest } => {
            let mut acc = eval(d, p, first, scope)?;
            let mut text = first.to_string();
            for (op, x) in rest {
                let rhs = eval(d, p, x, scope)?;
                let whole = format!("{text} {} {x}", op.symbol());
                acc = arith(p, *op, acc, rhs, &whole, x, scope, d)?;
                text = whole;
            }
            acc
        }
    };
    if !out.is_finite() {
        return Err(p.err(format!(
            "a value overflows to infinity{}",
            match scope {
                Scope::Row(r) => format!(" in {}", d.row_label(r)),
                Scope::Group { .. } => String::new(),
            }
        )));
    }
    Ok(out)
}

#[allow(clippy::too_many_arguments)]
fn arith(
    p: &Place<'_>,
    op: BinOp,
    a: Lin,
    b: Lin,
    whole: &str,
    right: &Formula,
    scope: Scope<'_>,
    d: &Data<'_>,
) -> Result<Lin, String> {
    let where_ = || match scope {
        Scope::Row(r) => format!(" in {}", d.row_label(r)),
        Scope::Group { .. } => String::new(),
    };
    match op {
        BinOp::Add => Ok(a.add(b, 1.0)),
        BinOp::Sub => Ok(a.add(b, -1.0)),
        BinOp::Mul => match (a.has_var(), b.has_var()) {
            (true, true) => Err(p.err(format!(
                "`{whole}` multiplies the variable {v} by the variable {v}: that is not \
                 linear, and this engine solves linear programs only",
                v = d.variable
            ))),
            (false, _) => Ok(b.scale(a.constant)),
            (true, false) => Ok(a.scale(b.constant)),
        },
        BinOp::Div => {
            if b.has_var() {
                return Err(p.err(format!(
                    "`{whole}` divides by the variable {}: that is not linear, and this \
                     engine solves linear programs only",
                    d.variable
                )));
            }
            if b.constant == 0.0 {
                return Err(p.err(format!("division by zero: `{right}` is 0{}", where_())));
            }
            Ok(a.scale(1.0 / b.constant))
        }
        BinOp::Mod => {
            if a.has_var() || b.has_var() {
                return Err(p.err(format!(
                    "`{whole}` takes % of the variable {}: that is not linear",
                    d.variable
                )));
            }
            if b.constant == 0.0 {
                return Err(p.err(format!("division by zero: `{right}` is 0 in %{}", where_())));
            }
            Ok(Lin::constant(a.constant % b.constant))
        }
        BinOp::And | BinOp::Or => Err(p.err(format!(
            "{} has no meaning in a linear program: write each condition as a constraint \
             of its own, separated by commas",
            op.symbol()
        ))),
        _ => Err(p.err(format!(
            "the comparison `{whole}` is inside an expression; a constraint is one \
             comparison (or a chain such as 0 <= SUM(x) <= 10)"
        ))),
    }
}

fn column(d: &Data<'_>, p: &Place<'_>, name: &str, scope: Scope<'_>) -> Result<Lin, String> {
    if d.is_variable(name) {
        return match scope {
            Scope::Row(r) => Ok(Lin::var(r)),
            Scope::Group { .. } => Err(p.err(format!(
                "the variable {name} is outside SUM(...): it has one value per row, so \
                 add it up with SUM({name}) or write a constraint without SUM that holds \
                 on each row"
            ))),
        };
    }
    let Some(col) = d.column(name) else {
        return Err(p.err(format!(
            "there is no column {name}: the SELECT gives {}, and the variable is {}",
            d.columns_text(),
            d.variable
        )));
    };
    match scope {
        Scope::Row(r) => Ok(Lin::constant(d.number(r, col)?)),
        Scope::Group { by: None, .. } => Err(p.err(format!(
            "column {name} is outside SUM(...) without GROUP BY: it has a value per row; \
             put it inside SUM, or add GROUP BY a column on whose groups it is constant"
        ))),
        Scope::Group { rows, by: Some(by) } => {
            let first = rows[0];
            let x = d.number(first, col)?;
            for &r in &rows[1..] {
                let y = d.number(r, col)?;
                if y != x {
                    return Err(p.err(format!(
                        "column {name} is outside SUM(...) but differs within the group \
                         {} = {}: {x} in {} and {y} in {}",
                        d.data.columns[by].name,
                        show(&d.data.rows[first][by]),
                        d.row_label(first),
                        d.row_label(r)
                    )));
                }
            }
            Ok(Lin::constant(x))
        }
    }
}

/// The groups of `col`'s values, in order of first appearance.
fn groups(data: &Collected, col: usize) -> Vec<Vec<usize>> {
    let mut index: HashMap<String, usize> = HashMap::new();
    let mut out: Vec<Vec<usize>> = Vec::new();
    for (r, row) in data.rows.iter().enumerate() {
        let k = key(&row[col]);
        let g = *index.entry(k).or_insert_with(|| {
            out.push(Vec::new());
            out.len() - 1
        });
        out[g].push(r);
    }
    out
}

/// Builds the program. `objective` is to be maximized or minimized by the caller.
pub fn build(
    d: &Data<'_>,
    objective: &Formula,
    clauses: &[ClauseIn<'_>],
) -> Result<Program, String> {
    let n = d.data.rows.len();
    let all: Vec<usize> = (0..n).collect();
    let mut budget = Budget { terms: 0 };

    let place = Place {
        what: "the objective",
        formula: objective,
    };
    if let Formula::Chain { rest, .. } = objective
        && rest.first().is_some_and(|(op, _)| is_comparison(*op))
    {
        return Err(place.err(
            "the objective is a comparison; it should be a number to maximize or \
             minimize, such as SUM(price * amount), and comparisons go after CONSTRAINT",
        ));
    }
    let mut obj = eval(
        d,
        &place,
        objective,
        Scope::Group {
            rows: &all,
            by: None,
        },
    )?;
    obj.normalize();
    budget.take(&obj)?;

    let mut constraints = Vec::new();
    for (i, clause) in clauses.iter().enumerate() {
        let what = format!("constraint {}", i + 1);
        let place = Place {
            what: &what,
            formula: clause.expr,
        };
        let Formula::Chain { first, rest } = clause.expr else {
            return Err(place.err(
                "a constraint compares: write it as expr <= bound, expr >= bound or \
                 expr = value",
            ));
        };
        if !rest.first().is_some_and(|(op, _)| is_comparison(*op)) {
            return Err(place.err(
                "a constraint compares: write it as expr <= bound, expr >= bound or \
                 expr = value",
            ));
        }
        let mut sides = vec![first.as_ref()];
        let mut ops = Vec::new();
        for (op, x) in rest {
            let sense = match op {
                BinOp::Le => (Sense::Le, false),
                BinOp::Ge => (Sense::Ge, false),
                BinOp::Eq => (Sense::Eq, false),
                BinOp::Lt | BinOp::Gt => {
                    return Err(place.err(format!(
                        "strict {} cannot be held exactly by a linear program's solver; \
                         use {}=",
                        op.symbol(),
                        op.symbol()
                    )));
                }
                _ => {
                    return Err(place.err(format!(
                        "{} is not a constraint a linear program can hold; use <=, >= or =",
                        op.symbol()
                    )));
                }
            };
            ops.push(sense.0);
            sides.push(x);
        }
        let grouped = has_sum(clause.expr);
        let by = match clause.group_by {
            None => None,
            Some(_) if !grouped => {
                return Err(place.err(
                    "GROUP BY goes with SUM(...): without SUM the constraint already holds \
                     on each row",
                ));
            }
            Some(g) => Some(d.column(g).ok_or_else(|| {
                place.err(format!(
                    "there is no GROUP BY column {g}: the SELECT gives {}",
                    d.columns_text()
                ))
            })?),
        };
        let scopes: Vec<(Scope<'_>, String)>;
        let group_rows: Vec<Vec<usize>>;
        if grouped {
            group_rows = match by {
                Some(col) => groups(d.data, col),
                None => vec![all.clone()],
            };
            scopes = group_rows
                .iter()
                .map(|rows| {
                    let label = match by {
                        Some(col) => format!(
                            "the group {} = {}",
                            d.data.columns[col].name,
                            show(&d.data.rows[rows[0]][col])
                        ),
                        None => "all rows".to_string(),
                    };
                    (Scope::Group { rows, by }, label)
                })
                .collect();
        } else {
            scopes = (0..n).map(|r| (Scope::Row(r), d.row_label(r))).collect();
        }
        for (scope, label) in scopes {
            let values: Vec<Lin> = sides
                .iter()
                .map(|s| eval(d, &place, s, scope))
                .collect::<Result<_, _>>()?;
            for (k, sense) in ops.iter().enumerate() {
                let mut expr = values[k].clone().add(values[k + 1].clone(), -1.0);
                expr.normalize();
                if expr.terms.is_empty() {
                    let c = expr.constant;
                    let holds = match sense {
                        Sense::Le => c <= 1e-9,
                        Sense::Ge => c >= -1e-9,
                        Sense::Eq => c.abs() <= 1e-9,
                    };
                    if holds {
                        continue;
                    }
                    return Err(place.err(format!(
                        "it does not hold for {label} whatever the variable is (it does not \
                         involve {}), so the problem is infeasible",
                        d.variable
                    )));
                }
                budget.take(&expr)?;
                constraints.push(LinConstraint {
                    expr,
                    sense: *sense,
                });
                if constraints.len() > MAX_CONSTRAINTS {
                    return Err(format!(
                        "the CONSTRAINT clauses make more than {MAX_CONSTRAINTS} constraints, \
                         more than this engine solves; select fewer rows or group them"
                    ));
                }
            }
        }
    }
    Ok(Program {
        n,
        objective: obj,
        constraints,
    })
}

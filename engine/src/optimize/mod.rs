//! `TO MAXIMIZE` / `TO MINIMIZE`: SQLFlow's mathematical programming
//! (`doc/tutorial/optimization_guide.md`). The SELECT's rows are the data; `variables =
//! "amount(product)"` makes one decision variable per row, named `amount` in the
//! formulas and identified by the index columns (`product`); `var_type` is its domain
//! (Pyomo's names, as SQLFlow's runtime took them); the objective and the CONSTRAINT
//! clauses become a linear program ([`program`]) that good_lp solves with microlp, a
//! pure-Rust simplex with branch and bound for integer domains. The index columns and
//! the solved values go into the INTO table, are shown, and a log line gives the optimal
//! objective value.

mod program;
#[cfg(test)]
mod tests;

use std::{collections::HashMap, io::Write, time::Instant};

use good_lp::{
    Expression, ProblemVariables, ResolutionError, Solution, SolutionStatus, SolverModel, Variable,
    VariableDefinition, WithTimeLimit, variable,
};
use sqlflow_proto::sqlflow::message::Kind;
use sqlflow_sql::extended::{Direction, Expr, Optimize};

use crate::{
    Value,
    backend::{Backend, Collected, Column, ColumnType, RowSink, TableName},
    exec::EngineError,
    output::{OutputError, RecordWriter},
};

use program::{ClauseIn, Data, Program, Sense, key};
pub use program::{MAX_CONSTRAINTS, MAX_TERMS, MAX_VARIABLES};

/// Solver names SQLFlow's users write after USING (Pyomo's solver factory names for LP
/// and MIP solvers). Each is accepted; microlp solves the problem in its place.
const SOLVER_NAMES: [&str; 11] = [
    "glpk",
    "cbc",
    "clp",
    "highs",
    "appsi_highs",
    "gurobi",
    "cplex",
    "scip",
    "xpress",
    "microlp",
    "minilp",
];

/// The solver's default time limit, in seconds (`solver.time_limit` changes it).
const DEFAULT_TIME_LIMIT_S: f64 = 300.0;

/// Result rows shown in the job's output; the table holds all of them.
const SHOWN_ROWS: usize = 1000;

/// A variable domain: bounds and integrality.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Domain {
    name: &'static str,
    min: f64,
    max: f64,
    integer: bool,
}

/// Pyomo's domains, the names SQLFlow's `var_type` takes. Strict bounds (Positive,
/// Negative) are held as their closure for reals, as Pyomo's LP writers do, and as the
/// next integer for integers.
const DOMAINS: [Domain; 14] = [
    Domain::new("Reals", f64::NEG_INFINITY, f64::INFINITY, false),
    Domain::new("PositiveReals", 0.0, f64::INFINITY, false),
    Domain::new("NonPositiveReals", f64::NEG_INFINITY, 0.0, false),
    Domain::new("NegativeReals", f64::NEG_INFINITY, 0.0, false),
    Domain::new("NonNegativeReals", 0.0, f64::INFINITY, false),
    Domain::new("PercentFraction", 0.0, 1.0, false),
    Domain::new("UnitInterval", 0.0, 1.0, false),
    Domain::new("Integers", f64::NEG_INFINITY, f64::INFINITY, true),
    Domain::new("PositiveIntegers", 1.0, f64::INFINITY, true),
    Domain::new("NonPositiveIntegers", f64::NEG_INFINITY, 0.0, true),
    Domain::new("NegativeIntegers", f64::NEG_INFINITY, -1.0, true),
    Domain::new("NonNegativeIntegers", 0.0, f64::INFINITY, true),
    Domain::new("Binary", 0.0, 1.0, true),
    Domain::new("Boolean", 0.0, 1.0, true),
];

impl Domain {
    const fn new(name: &'static str, min: f64, max: f64, integer: bool) -> Domain {
        Domain {
            name,
            min,
            max,
            integer,
        }
    }

    fn definition(&self) -> VariableDefinition {
        let mut v = variable();
        if self.min.is_finite() {
            v = v.min(self.min);
        }
        if self.max.is_finite() {
            v = v.max(self.max);
        }
        if self.integer { v.integer() } else { v }
    }
}

fn domain(name: &str) -> Result<Domain, String> {
    DOMAINS
        .iter()
        .find(|d| d.name.eq_ignore_ascii_case(name))
        .copied()
        .ok_or_else(|| {
            let names: Vec<&str> = DOMAINS.iter().map(|d| d.name).collect();
            format!(
                "var_type = \"{name}\" is not a variable type; use one of {}",
                names.join(", ")
            )
        })
}

/// What the WITH clause says.
#[derive(Debug)]
struct Settings {
    /// The variable's name in the formulas (`amount`).
    variable: String,
    /// The index columns as written (`product`).
    index: Vec<String>,
    domain: Domain,
    time_limit: f64,
    /// Attributes accepted without effect, for a note.
    ignored: Vec<String>,
}

fn is_name(s: &str) -> bool {
    s.starts_with(|c: char| c.is_alphabetic() || c == '_')
        && s.chars().all(|c| c.is_alphanumeric() || c == '_')
}

/// `"amount(product)"`, `"amount(plants, markets)"`, or `"product"` (SQLFlow: the
/// variable is then named after its one index column).
fn parse_variables(s: &str) -> Result<(String, Vec<String>), String> {
    let bad = || {
        format!(
            "variables = \"{s}\" should name the variable and the columns that index it, \
             such as variables = \"amount(product)\" or \"shipment(plants, markets)\""
        )
    };
    let s = s.trim();
    match s.split_once('(') {
        None if is_name(s) => Ok((s.to_string(), vec![s.to_string()])),
        None => Err(bad()),
        Some((name, rest)) => {
            let name = name.trim();
            let inner = rest.strip_suffix(')').ok_or_else(bad)?;
            let cols: Vec<String> = inner.split(',').map(|c| c.trim().to_string()).collect();
            if !is_name(name) || cols.iter().any(|c| !is_name(c)) {
                return Err(bad());
            }
            Ok((name.to_string(), cols))
        }
    }
}

fn text_attr(name: &str, e: &Expr) -> Result<String, String> {
    match e {
        Expr::Str(s) | Expr::Ident(s) => Ok(s.clone()),
        other => Err(format!("{name} should be a string, got {other}")),
    }
}

fn settings(attrs: &[(String, Expr)]) -> Result<Settings, String> {
    let mut variables = None;
    let mut var_type: Option<(String, String)> = None;
    let mut time_limit = DEFAULT_TIME_LIMIT_S;
    let mut ignored = Vec::new();
    for (name, value) in attrs {
        let lower = name.to_ascii_lowercase();
        match lower.as_str() {
            "variables" => variables = Some(parse_variables(&text_attr(name, value)?)?),
            "var_type" | "variable_type" => {
                if let Some((other, _)) = &var_type {
                    return Err(format!(
                        "{other} and {name} both give the variable type; keep one"
                    ));
                }
                var_type = Some((name.clone(), text_attr(name, value)?));
            }
            "solver.time_limit" | "solver.timelimit" | "solver.tmlim" => {
                let secs = match value {
                    Expr::Int(i) => *i as f64,
                    Expr::Float(f) => *f,
                    other => {
                        return Err(format!("{name} should be a number of seconds, got {other}"));
                    }
                };
                if !(secs > 0.0 && secs <= 86_400.0) {
                    return Err(format!(
                        "{name} = {secs} is out of range: give seconds in (0, 86400]"
                    ));
                }
                time_limit = secs;
            }
            _ if lower.starts_with("data.") || lower.starts_with("worker.") => {
                // SQLFlow's distributed solving service read these; one process here.
                ignored.push(name.clone());
            }
            _ if lower.starts_with("solver.") => {
                return Err(format!(
                    "unknown solver option {name}: this engine's solver takes \
                     solver.time_limit (seconds)"
                ));
            }
            _ => {
                return Err(format!(
                    "unknown attribute {name} for TO MAXIMIZE/TO MINIMIZE; it accepts \
                     variables, var_type, solver.time_limit (and data.*, worker.*, which \
                     have no effect here)"
                ));
            }
        }
    }
    let (variable, index) = variables.ok_or(
        "TO MAXIMIZE/TO MINIMIZE needs WITH variables = \"name(column, ...)\": the \
         variable to solve for and the columns whose rows index it, such as \
         variables = \"amount(product)\"",
    )?;
    // Pyomo's default domain for a variable is the reals.
    let domain = domain(var_type.as_ref().map_or("Reals", |(_, t)| t.as_str()))?;
    Ok(Settings {
        variable,
        index,
        domain,
        time_limit,
        ignored,
    })
}

/// Collects the SELECT's rows, refusing past [`MAX_VARIABLES`] without reading on.
struct Capped {
    data: Collected,
    over: bool,
}

impl RowSink for Capped {
    fn head(&mut self, columns: &[Column]) -> Result<(), OutputError> {
        self.data.columns = columns.to_vec();
        Ok(())
    }

    fn row(&mut self, values: Vec<Value>) -> Result<(), OutputError> {
        if self.data.rows.len() >= MAX_VARIABLES {
            self.over = true;
            return Err(OutputError::Io(std::io::Error::other("too many rows")));
        }
        self.data.rows.push(values);
        Ok(())
    }
}

fn load(db: &mut dyn Backend, select: &str) -> Result<Collected, EngineError> {
    let mut sink = Capped {
        data: Collected::default(),
        over: false,
    };
    match crate::backend::query_into(db, select, &mut sink) {
        Err(_) if sink.over => Err(format!(
            "the SELECT gives more than {MAX_VARIABLES} rows, one variable each: more than \
             this engine solves; select fewer rows or aggregate them first"
        )
        .into()),
        Err(e) => Err(e.into()),
        Ok(()) => Ok(sink.data),
    }
}

fn find(data: &Collected, name: &str) -> Option<usize> {
    let cols = &data.columns;
    cols.iter()
        .position(|c| c.name == name)
        .or_else(|| cols.iter().position(|c| c.name.eq_ignore_ascii_case(name)))
}

/// The result column's name: the variable's, or `<index>_value` when the variable is
/// named after its one index column (SQLFlow's rule), made unique among the columns.
fn result_column(data: &Collected, s: &Settings) -> Result<String, String> {
    let same = s.index.len() == 1 && s.index[0].eq_ignore_ascii_case(&s.variable);
    if !same {
        if let Some(c) = find(data, &s.variable) {
            return Err(format!(
                "the variable {} has the name of the SELECT's column {}; name the variable \
                 otherwise in variables = \"...\" (or leave the column out)",
                s.variable, data.columns[c].name
            ));
        }
        return Ok(s.variable.clone());
    }
    let base = format!(
        "{}_value",
        data.columns[find(data, &s.index[0]).unwrap_or(0)].name
    );
    if find(data, &base).is_none() {
        return Ok(base);
    }
    (0..)
        .map(|i| format!("{base}_{i}"))
        .find(|n| find(data, n).is_none())
        .ok_or_else(|| "no free column name".to_string())
}

/// The solver's values, tidied: an integer domain's values rounded, and reals within
/// 1e-9 of an integer taken as it (the simplex's rounding noise).
fn tidy(x: f64, integer: bool) -> f64 {
    let r = x.round();
    let v = if integer || (x - r).abs() <= 1e-9 * r.abs().max(1.0) {
        r
    } else {
        x
    };
    if v == 0.0 { 0.0 } else { v }
}

/// A number as a log shows it: integers without a fraction.
fn number_text(x: f64) -> String {
    if x.fract() == 0.0 && x.abs() < 1e15 {
        format!("{}", x as i64)
    } else {
        format!("{x}")
    }
}

fn expression(l: &program::Lin, xs: &[Variable]) -> Expression {
    let mut e = Expression::with_capacity(l.terms.len());
    for &(v, c) in &l.terms {
        e.add_mul(c, xs[v]);
    }
    e + l.constant
}

/// Solves `prog`; the variables' values and whether they are proven optimal.
fn solve(
    prog: &Program,
    direction: Direction,
    d: Domain,
    time_limit: f64,
    variable: &str,
) -> Result<(Vec<f64>, bool), String> {
    let mut vars = ProblemVariables::new();
    let xs: Vec<Variable> = (0..prog.n).map(|_| vars.add(d.definition())).collect();
    let objective = expression(&prog.objective, &xs);
    let unsolved = match direction {
        Direction::Maximize => vars.maximise(objective),
        Direction::Minimize => vars.minimise(objective),
    };
    let mut model = unsolved.using(good_lp::microlp).with_time_limit(time_limit);
    for c in &prog.constraints {
        let e = expression(&c.expr, &xs);
        model.add_constraint(match c.sense {
            Sense::Le => e.leq(0.0),
            Sense::Ge => e.geq(0.0),
            Sense::Eq => e.eq(0.0),
        });
    }
    let solution = model.solve().map_err(|e| match e {
        ResolutionError::Infeasible => format!(
            "the problem is infeasible: no value of {variable} in {} satisfies every \
             constraint",
            d.name
        ),
        ResolutionError::Unbounded => format!(
            "the problem is unbounded: the objective can grow without limit; bound \
             {variable} with a constraint or a var_type such as NonNegativeReals"
        ),
        ResolutionError::Other(m) if m.contains("Time limit") => format!(
            "the solver found no feasible solution within solver.time_limit = {time_limit} s"
        ),
        other => format!("the solver failed: {other}"),
    })?;
    let optimal = matches!(solution.status(), SolutionStatus::Optimal);
    let values: Vec<f64> = xs
        .iter()
        .map(|&x| tidy(solution.value(x), d.integer))
        .collect();
    // microlp holds an integer variable within i32 (good_lp bounds an unbounded one
    // there), so a value on that edge is an unbounded problem, or one beyond its reach.
    if d.integer && values.iter().any(|v| v.abs() >= f64::from(i32::MAX)) {
        return Err(format!(
            "the problem is unbounded, or needs a value of {variable} beyond ±{} (the              largest integer this engine's solver holds): bound {variable} with a              constraint, or use a real var_type such as NonNegativeReals",
            i32::MAX
        ));
    }
    Ok((values, optimal))
}

pub fn run<W: Write>(
    db: &mut dyn Backend,
    select: &str,
    o: &Optimize,
    out: &mut RecordWriter<W>,
) -> Result<(), EngineError> {
    let started = Instant::now();
    let into = TableName::parse(&o.into)?;
    let solver_named = o.solver.as_deref().unwrap_or("glpk");
    if !SOLVER_NAMES
        .iter()
        .any(|s| s.eq_ignore_ascii_case(solver_named))
    {
        return Err(format!(
            "USING {solver_named}: not a linear or mixed-integer programming solver this \
             engine knows; use one of {} (each is solved by microlp here), or leave USING out",
            SOLVER_NAMES.join(", ")
        )
        .into());
    }
    let s = settings(&o.attrs)?;
    let data = load(db, select)?;
    if data.rows.is_empty() {
        return Err("the SELECT gives no rows, so there is no variable to solve for".into());
    }
    let mut index = Vec::with_capacity(s.index.len());
    for name in &s.index {
        let c = find(&data, name).ok_or_else(|| {
            let have: Vec<&str> = data.columns.iter().map(|c| c.name.as_str()).collect();
            format!(
                "variables = \"{}({})\": the SELECT has no column {name}; its columns are {}",
                s.variable,
                s.index.join(", "),
                have.join(", ")
            )
        })?;
        if index.contains(&c) {
            return Err(format!("variables: the column {name} is named twice").into());
        }
        index.push(c);
    }
    let result = result_column(&data, &s)?;
    let d = Data {
        data: &data,
        variable: &s.variable,
        index: &index,
    };
    // One variable per row: the index columns must tell the rows apart.
    let mut seen: HashMap<String, usize> = HashMap::with_capacity(data.rows.len());
    for (r, row) in data.rows.iter().enumerate() {
        let k: String = index.iter().map(|&c| key(&row[c]) + "\u{0}").collect();
        if let Some(first) = seen.insert(k, r) {
            return Err(format!(
                "{} and {} have the same {}: each row is one value of {}, so the index \
                 columns must tell the rows apart (add a column to variables = \"{}(...)\", \
                 or aggregate the rows first)",
                d.row_label(first),
                d.row_label(r),
                s.index.join(", "),
                s.variable,
                s.variable
            )
            .into());
        }
    }
    let clauses: Vec<ClauseIn<'_>> = o
        .constraints
        .iter()
        .map(|c| ClauseIn {
            expr: &c.expr,
            group_by: c.group_by.as_deref(),
        })
        .collect();
    let prog = program::build(&d, &o.objective, &clauses)?;
    if !s.ignored.is_empty() {
        out.message(
            format!(
                "note: {} accepted without effect: one process solves the problem here",
                s.ignored.join(", ")
            ),
            Kind::Log,
        )?;
    }
    if prog.objective.terms.is_empty() {
        out.message(
            format!(
                "note: the objective does not depend on {}: any feasible solution is optimal",
                s.variable
            ),
            Kind::Log,
        )?;
    }
    out.message(
        format!(
            "{} over {} variables ({}) under {} constraints with microlp (pure-Rust \
             simplex{}) in place of {}",
            match o.direction {
                Direction::Maximize => "maximizing",
                Direction::Minimize => "minimizing",
            },
            prog.n,
            s.domain.name,
            prog.constraints.len(),
            if s.domain.integer {
                " with branch and bound"
            } else {
                ""
            },
            match &o.solver {
                Some(name) => format!("USING {name}"),
                None => "glpk, SQLFlow's default solver".to_string(),
            },
        ),
        Kind::Log,
    )?;
    out.flush()?;
    let (values, optimal) = solve(&prog, o.direction, s.domain, s.time_limit, &s.variable)
        .map_err(EngineError::Statement)?;
    let objective = prog.objective.eval(&values);

    let mut names: Vec<String> = index
        .iter()
        .map(|&c| data.columns[c].name.clone())
        .collect();
    names.push(result.clone());
    let mut cols: Vec<(String, ColumnType)> = index
        .iter()
        .map(|&c| {
            (
                data.columns[c].name.clone(),
                ColumnType::infer(data.rows.iter().map(|r| &r[c])),
            )
        })
        .collect();
    cols.push((
        result.clone(),
        if s.domain.integer {
            ColumnType::Int
        } else {
            ColumnType::Float
        },
    ));
    let rows: Vec<Vec<Value>> = data
        .rows
        .iter()
        .zip(&values)
        .map(|(row, &x)| {
            let mut r: Vec<Value> = index.iter().map(|&c| row[c].clone()).collect();
            r.push(if s.domain.integer {
                Value::Int64(x as i64)
            } else {
                Value::Double(x)
            });
            r
        })
        .collect();
    if let Some(schema) = &into.schema {
        db.ensure_schema(schema)?;
    }
    db.create_table(&into, &cols)?;
    db.insert_rows(&into, &cols, &rows)?;
    if !optimal {
        out.message(
            format!(
                "warning: solver.time_limit = {} s ran out before the solution was proven \
                 optimal; this is the best one found",
                s.time_limit
            ),
            Kind::Log,
        )?;
    }
    out.message(
        format!(
            "{} objective value is {} ({} {} s)",
            if optimal { "optimal" } else { "best" },
            number_text(objective),
            match o.direction {
                Direction::Maximize => "maximized in",
                Direction::Minimize => "minimized in",
            },
            (started.elapsed().as_secs_f64() * 1000.0).round() / 1000.0,
        ),
        Kind::Log,
    )?;
    out.message(
        format!("saved {} rows ({}) in {into}", rows.len(), names.join(", ")),
        Kind::Log,
    )?;
    out.saved_rows(&names, rows, SHOWN_ROWS, &into)?;
    Ok(())
}

use sqlflow_sql::{
    Dialect, Parsed,
    extended::{ExtKind, Extended},
    parse_statement,
};

use super::*;
use crate::backend::{Sqlite, query_all};

fn statement(sql: &str) -> (String, Optimize) {
    match parse_statement(sql, Dialect::Sqlite).expect("parses") {
        Parsed::Extended(Extended {
            select,
            kind: ExtKind::Optimize(o),
        }) => (select, o),
        other => panic!("not an optimization: {other:?}"),
    }
}

fn db(setup: &str) -> (tempfile::TempDir, Sqlite) {
    let dir = tempfile::tempdir().unwrap();
    let mut db = Sqlite::open(&dir.path().join("t.db")).unwrap();
    for s in setup.split(';').filter(|s| !s.trim().is_empty()) {
        db.execute(s, &mut Collected::default()).unwrap();
    }
    (dir, db)
}

/// Runs `sql` on `setup`'s tables: the log, then the result table's rows.
fn solve_sql(setup: &str, sql: &str) -> Result<(String, Collected), String> {
    let (_dir, mut db) = db(setup);
    let (select, o) = statement(sql);
    let mut bytes = Vec::new();
    let mut out = RecordWriter::new(&mut bytes);
    let r = run(&mut db, &select, &o, &mut out);
    out.flush().unwrap();
    drop(out);
    r.map_err(|e| e.to_string())?;
    // The records' Debug text holds their messages.
    let log = bytes
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| format!("{:?}", sqlflow_proto::stream::decode_line(l)))
        .collect::<Vec<_>>()
        .join("\n");
    let table = query_all(&mut db, &format!("SELECT * FROM {}", o.into)).unwrap();
    Ok((log, table))
}

const WOOD: &str = "CREATE TABLE wood (product TEXT, price FLOAT, materials_cost FLOAT, \
    other_cost FLOAT, finishing FLOAT, carpentry FLOAT, max_num FLOAT);\
    INSERT INTO wood VALUES ('soldier', 27, 10, 14, 2, 1, 40), ('train', 21, 9, 10, 1, 1, 10000)";

const WOOD_SQL: &str = "SELECT * FROM wood TO MAXIMIZE SUM((price - materials_cost - other_cost) * amount) \
    CONSTRAINT SUM(finishing * amount) <= 100, SUM(carpentry * amount) <= 80, amount <= max_num \
    WITH variables = \"amount(product)\", var_type = \"NonNegativeIntegers\" USING glpk INTO r";

const TRANSPORT: &str = "CREATE TABLE t (plants TEXT, markets TEXT, distance FLOAT, capacity FLOAT, demand FLOAT);\
    INSERT INTO t VALUES ('plantA', 'marketA', 140, 100, 130), ('plantA', 'marketB', 210, 100, 60),\
    ('plantB', 'marketA', 300, 90, 130), ('plantB', 'marketB', 90, 90, 60)";

fn col(t: &Collected, name: &str) -> Vec<Value> {
    let i = t.columns.iter().position(|c| c.name == name).unwrap();
    t.rows.iter().map(|r| r[i].clone()).collect()
}

#[test]
fn the_woodcarving_example_gives_the_tutorials_amounts() {
    let (log, t) = solve_sql(WOOD, WOOD_SQL).unwrap();
    assert!(log.contains("optimal objective value is 180"), "{log}");
    assert!(log.contains("microlp") && log.contains("glpk"), "{log}");
    let names: Vec<&str> = t.columns.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["product", "amount"]);
    assert_eq!(col(&t, "amount"), [Value::Int64(20), Value::Int64(60)]);
}

#[test]
fn the_transportation_example_gives_the_tutorials_cost() {
    let sql = "SELECT * FROM t TO MINIMIZE SUM(amount * distance) \
        CONSTRAINT SUM(amount) <= capacity GROUP BY plants, SUM(amount) >= demand GROUP BY markets \
        WITH variables = \"amount(plants,markets)\", var_type = \"NonNegativeIntegers\" INTO r";
    let (log, t) = solve_sql(TRANSPORT, sql).unwrap();
    assert!(log.contains("optimal objective value is 28400"), "{log}");
    assert_eq!(
        col(&t, "amount"),
        [
            Value::Int64(100),
            Value::Int64(0),
            Value::Int64(30),
            Value::Int64(60)
        ]
    );
}

#[test]
fn reals_and_integers_differ_where_the_optimum_is_fractional() {
    let setup = "CREATE TABLE p (item TEXT, w FLOAT, v FLOAT);\
        INSERT INTO p VALUES ('a', 2, 3), ('b', 2, 2)";
    let sql = |ty: &str| {
        format!(
            "SELECT * FROM p TO MAXIMIZE SUM(v * x) CONSTRAINT SUM(w * x) <= 5, x <= 10 \
             WITH variables = \"x(item)\", var_type = \"{ty}\" INTO r"
        )
    };
    let (log, t) = solve_sql(setup, &sql("NonNegativeReals")).unwrap();
    assert!(log.contains("objective value is 7.5"), "{log}");
    assert_eq!(col(&t, "x"), [Value::Double(2.5), Value::Double(0.0)]);
    let (log, t) = solve_sql(setup, &sql("NonNegativeIntegers")).unwrap();
    // 2 of a (weight 4, worth 6) leave room for no b.
    assert!(log.contains("objective value is 6"), "{log}");
    assert_eq!(col(&t, "x"), [Value::Int64(2), Value::Int64(0)]);
    let (_, t) = solve_sql(setup, &sql("Binary")).unwrap();
    assert_eq!(col(&t, "x"), [Value::Int64(1), Value::Int64(1)]);
}

#[test]
fn infeasible_and_unbounded_problems_say_so() {
    let e = solve_sql(
        WOOD,
        "SELECT * FROM wood TO MAXIMIZE SUM(amount) CONSTRAINT SUM(amount) >= 10, SUM(amount) <= 5 \
         WITH variables = \"amount(product)\", var_type = \"NonNegativeReals\" INTO r",
    )
    .unwrap_err();
    assert!(e.contains("infeasible"), "{e}");
    let e = solve_sql(
        WOOD,
        "SELECT * FROM wood TO MAXIMIZE SUM(amount) CONSTRAINT SUM(amount) >= 10 \
         WITH variables = \"amount(product)\", var_type = \"NonNegativeReals\" INTO r",
    )
    .unwrap_err();
    assert!(e.contains("unbounded"), "{e}");
    // Integers: microlp bounds them within i32, which must not pass for an optimum.
    let e = solve_sql(
        WOOD,
        "SELECT * FROM wood TO MAXIMIZE SUM(amount) CONSTRAINT SUM(amount) >= 10 \
         WITH variables = \"amount(product)\", var_type = \"NonNegativeIntegers\" INTO r",
    )
    .unwrap_err();
    assert!(e.contains("unbounded"), "{e}");
    // A constraint that no value of the variable changes, and that fails.
    let e = solve_sql(
        WOOD,
        "SELECT * FROM wood TO MAXIMIZE SUM(amount) CONSTRAINT price <= 25 \
         WITH variables = \"amount(product)\" INTO r",
    )
    .unwrap_err();
    assert!(
        e.contains("product = 'soldier'") && e.contains("infeasible"),
        "{e}"
    );
}

#[test]
fn what_is_not_linear_or_not_meaningful_is_named() {
    let cases = [
        ("SUM(amount * amount)", "", "multiplies the variable amount"),
        ("SUM(price / amount)", "", "divides by the variable"),
        ("SUM(amount % 2)", "", "% of the variable"),
        (
            "SUM(price / (finishing - 2) * amount)",
            "",
            "division by zero",
        ),
        ("SUM(amount) * 2 + amount", "", "outside SUM"),
        ("SUM(amount) + price", "", "column price is outside SUM"),
        ("SUM(SUM(amount))", "", "SUM inside SUM"),
        ("AVG(amount)", "", "AVG() is not supported"),
        ("SUM(nope * amount)", "", "there is no column nope"),
        ("SUM(product * amount)", "", "'soldier'"),
        ("SUM(amount)", "CONSTRAINT amount < 3", "strict <"),
        (
            "SUM(amount)",
            "CONSTRAINT SUM(amount)",
            "a constraint compares",
        ),
        ("SUM(amount) <= 3", "", "the objective is a comparison"),
        (
            "SUM(amount)",
            "CONSTRAINT amount <= 3 GROUP BY product",
            "GROUP BY goes with SUM",
        ),
        (
            "SUM(amount)",
            "CONSTRAINT SUM(amount) <= price GROUP BY nope",
            "no GROUP BY column nope",
        ),
    ];
    for (objective, constraint, want) in cases {
        let sql = format!(
            "SELECT * FROM wood TO MAXIMIZE {objective} {constraint} \
             WITH variables = \"amount(product)\", var_type = \"Binary\" INTO r"
        );
        let e = solve_sql(WOOD, &sql).unwrap_err();
        assert!(e.contains(want), "{sql}\n=> {e}");
    }
}

#[test]
fn nulls_and_duplicate_rows_are_errors_naming_the_row() {
    let setup = "CREATE TABLE n (k TEXT, c FLOAT); INSERT INTO n VALUES ('a', 1), ('b', NULL)";
    let e = solve_sql(
        setup,
        "SELECT * FROM n TO MINIMIZE SUM(c * x) WITH variables = \"x(k)\", var_type = \"Binary\" INTO r",
    )
    .unwrap_err();
    assert!(e.contains("column c is NULL in row 2 (k = 'b')"), "{e}");
    let setup = "CREATE TABLE n (k TEXT, c FLOAT); INSERT INTO n VALUES ('a', 1), ('a', 2)";
    let e = solve_sql(
        setup,
        "SELECT * FROM n TO MINIMIZE SUM(c * x) WITH variables = \"x(k)\", var_type = \"Binary\" INTO r",
    )
    .unwrap_err();
    assert!(e.contains("have the same k"), "{e}");
}

#[test]
fn attributes_are_checked() {
    let with = |w: &str| {
        solve_sql(
            WOOD,
            &format!(
                "SELECT * FROM wood TO MAXIMIZE SUM(amount) CONSTRAINT amount <= 1 WITH {w} INTO r"
            ),
        )
    };
    let e = with("var_type = \"Binary\"").unwrap_err();
    assert!(e.contains("needs WITH variables"), "{e}");
    let e = with("variables = \"amount(nope)\"").unwrap_err();
    assert!(e.contains("no column nope"), "{e}");
    let e = with("variables = \"amount(product\"").unwrap_err();
    assert!(e.contains("should name the variable"), "{e}");
    let e = with("variables = \"amount(product)\", var_type = \"Complex\"").unwrap_err();
    assert!(
        e.contains("not a variable type") && e.contains("NonNegativeIntegers"),
        "{e}"
    );
    let e = with("variables = \"amount(product)\", colour = 1").unwrap_err();
    assert!(e.contains("unknown attribute colour"), "{e}");
    let e = with("variables = \"price(product)\"").unwrap_err();
    assert!(
        e.contains("has the name of the SELECT's column price"),
        "{e}"
    );
    // data.* and worker.* are SQLFlow's distributed options: accepted, noted.
    let (log, _) =
        with("variables = \"amount(product)\", variable_type = \"Binary\", worker.num = 2")
            .unwrap();
    assert!(log.contains("worker.num accepted without effect"), "{log}");
    let e = solve_sql(
        WOOD,
        "SELECT * FROM wood TO MAXIMIZE SUM(amount) WITH variables = \"amount(product)\" USING ipopt INTO r",
    )
    .unwrap_err();
    assert!(e.contains("USING ipopt") && e.contains("glpk"), "{e}");
}

#[test]
fn a_variable_named_after_its_index_column_is_written_as_sqlflow_names_it() {
    // SQLFlow: variables = "product" names the result column product_value.
    let (_, t) = solve_sql(
        WOOD,
        "SELECT product, max_num FROM wood TO MAXIMIZE SUM(product) CONSTRAINT product <= max_num \
         WITH variables = \"product\", var_type = \"NonNegativeIntegers\" INTO r",
    )
    .unwrap();
    let names: Vec<&str> = t.columns.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["product", "product_value"]);
    assert_eq!(
        col(&t, "product_value"),
        [Value::Int64(40), Value::Int64(10000)]
    );
}

#[test]
fn too_many_rows_are_refused_before_solving() {
    let (_dir, mut db) = db("");
    let (select, o) = statement(&format!(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {}) \
         SELECT i FROM n TO MAXIMIZE SUM(x) CONSTRAINT x <= 1 WITH variables = \"x(i)\" INTO r",
        MAX_VARIABLES + 5
    ));
    let mut bytes = Vec::new();
    let mut out = RecordWriter::new(&mut bytes);
    let e = run(&mut db, &select, &o, &mut out).unwrap_err().to_string();
    assert!(
        e.contains(&format!("more than {MAX_VARIABLES} rows")),
        "{e}"
    );
}

#[test]
fn solver_time_limit_stops_a_hard_integer_program() {
    // A knapsack over 5000 integer variables takes microlp minutes in a debug build.
    let started = std::time::Instant::now();
    let r = solve_sql(
        "",
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 5000) \
         SELECT i, (i * 7919) % 1000 AS w FROM n TO MAXIMIZE SUM((i % 13) * x) \
         CONSTRAINT SUM(w * x) <= 10000, x <= 3 \
         WITH variables = \"x(i)\", var_type = \"NonNegativeIntegers\", solver.time_limit = 1 \
         INTO r",
    );
    assert!(started.elapsed().as_secs() < 60, "{:?}", started.elapsed());
    match r {
        Ok((log, _)) => assert!(
            log.contains("ran out before the solution was proven optimal")
                && log.contains("best objective value is"),
            "{log}"
        ),
        Err(e) => assert!(
            e.contains("no feasible solution within solver.time_limit"),
            "{e}"
        ),
    }
    for bad in ["0", "-1", "\"soon\"", "100000"] {
        let e = solve_sql(
            WOOD,
            &format!(
                "SELECT * FROM wood TO MAXIMIZE SUM(amount) CONSTRAINT amount <= 1 \
                 WITH variables = \"amount(product)\", solver.time_limit = {bad} INTO r"
            ),
        )
        .unwrap_err();
        assert!(e.contains("solver.time_limit"), "{bad}: {e}");
    }
    let e = solve_sql(
        WOOD,
        "SELECT * FROM wood TO MAXIMIZE SUM(amount) CONSTRAINT amount <= 1 \
         WITH variables = \"amount(product)\", solver.presolve = 1 INTO r",
    )
    .unwrap_err();
    assert!(e.contains("unknown solver option solver.presolve"), "{e}");
}

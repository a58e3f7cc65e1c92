//! `TO MAXIMIZE` / `TO MINIMIZE` end to end, through the server and the local runner, on
//! SQLite and (when SQLFLOW_TEST_MYSQL / SQLFLOW_TEST_POSTGRES are set, as `.ci/run`
//! does) on MariaDB and PostgreSQL: SQLFlow's two tutorial problems
//! (`doc/tutorial/optimization_guide.md`) with the optimal values the tutorial states,
//! integer against real variables, and the errors for infeasible, unbounded and
//! non-linear problems.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test

use sqlflow_e2e::{
    results::{Db, Kind, Output, Table, number},
    sqlflow::cell::Value,
};

/// The tutorial's tables, under the test's prefix.
async fn setup(db: Db) -> Db {
    let p = &db.p;
    db.ok(&format!(
        "CREATE TABLE {p}woodcarving (product VARCHAR(255), price FLOAT, materials_cost FLOAT, \
             other_cost FLOAT, finishing FLOAT, carpentry FLOAT, max_num FLOAT);\n\
         INSERT INTO {p}woodcarving VALUES ('soldier', 27, 10, 14, 2, 1, 40), \
             ('train', 21, 9, 10, 1, 1, 10000);\n\
         CREATE TABLE {p}plants (plants VARCHAR(255), capacity FLOAT);\n\
         INSERT INTO {p}plants VALUES ('plantA', 100), ('plantB', 90);\n\
         CREATE TABLE {p}markets (markets VARCHAR(255), demand FLOAT);\n\
         INSERT INTO {p}markets VALUES ('marketA', 130), ('marketB', 60);\n\
         CREATE TABLE {p}transportation (plants VARCHAR(255), markets VARCHAR(255), distance FLOAT);\n\
         INSERT INTO {p}transportation VALUES ('plantA', 'marketA', 140), ('plantA', 'marketB', 210), \
             ('plantB', 'marketA', 300), ('plantB', 'marketB', 90);\n\
         CREATE TABLE {p}knapsack (item VARCHAR(10), weight FLOAT, worth FLOAT);\n\
         INSERT INTO {p}knapsack VALUES ('a', 2, 3), ('b', 2, 2);"
    ))
    .await;
    db
}

/// A result table's rows as text, sorted: "plantA marketA 100".
fn plan(t: &Table) -> Vec<String> {
    let mut rows: Vec<String> = t
        .rows
        .iter()
        .map(|r| {
            r.iter()
                .map(|c| match c {
                    Some(Value::String(s)) => s.clone(),
                    other => number(other).to_string(),
                })
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect();
    rows.sort();
    rows
}

/// The objective value the log gives.
fn objective(out: &Output) -> f64 {
    let line = out.line("optimal objective value is ");
    line["optimal objective value is ".len()..]
        .split(' ')
        .next()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no value in {line:?}"))
}

async fn woodcarving(db: &Db) {
    let p = &db.p;
    let out = db
        .ok(&format!(
            "SELECT * FROM {p}woodcarving\n\
             TO MAXIMIZE SUM((price - materials_cost - other_cost) * amount)\n\
             CONSTRAINT SUM(finishing * amount) <= 100, SUM(carpentry * amount) <= 80, \
                 amount <= max_num\n\
             WITH variables = \"amount(product)\", var_type = \"NonNegativeIntegers\"\n\
             USING glpk\n\
             INTO {p}woodcarving_result"
        ))
        .await;
    // The tutorial: 20 soldiers and 60 trains, 3 * 20 + 2 * 60 = 180.
    assert_eq!(objective(&out), 180.0);
    assert!(
        out.has("with microlp") && out.has("USING glpk"),
        "{:?}",
        out.messages
    );
    assert_eq!(plan(out.table()), ["soldier 20", "train 60"]);
    let t = db.ok(&format!("SELECT * FROM {p}woodcarving_result")).await;
    let t = t.table();
    assert_eq!(t.columns, ["product", "amount"]);
    assert_eq!(plan(t), ["soldier 20", "train 60"]);
    // Integers are written as integers.
    assert!(
        t.column("amount")
            .iter()
            .all(|v| matches!(v, Some(Value::Int64(_)))),
        "{t:?}"
    );
}

async fn transportation(db: &Db) {
    let p = &db.p;
    let out = db
        .ok(&format!(
            "SELECT t.plants AS plants, t.markets AS markets, t.distance AS distance, \
                 p.capacity AS capacity, m.demand AS demand\n\
             FROM {p}transportation AS t\n\
             LEFT JOIN {p}plants AS p ON t.plants = p.plants\n\
             LEFT JOIN {p}markets AS m ON t.markets = m.markets\n\
             TO MINIMIZE SUM(amount * distance)\n\
             CONSTRAINT SUM(amount) <= capacity GROUP BY plants,\n\
                 SUM(amount) >= demand GROUP BY markets\n\
             WITH variables = \"amount(plants,markets)\", var_type = \"NonNegativeIntegers\"\n\
             USING glpk\n\
             INTO {p}transportation_result"
        ))
        .await;
    // The tutorial: 100 * 140 + 30 * 300 + 0 * 210 + 60 * 90 = 28400.
    assert_eq!(objective(&out), 28400.0);
    let t = db
        .ok(&format!("SELECT * FROM {p}transportation_result"))
        .await;
    let t = t.table();
    assert_eq!(t.columns, ["plants", "markets", "amount"]);
    assert_eq!(
        plan(t),
        [
            "plantA marketA 100",
            "plantA marketB 0",
            "plantB marketA 30",
            "plantB marketB 60"
        ]
    );
}

async fn integers_against_reals(db: &Db) {
    let p = &db.p;
    let sql = |ty: &str| {
        format!(
            "SELECT * FROM {p}knapsack TO MAXIMIZE SUM(worth * x) \
             CONSTRAINT SUM(weight * x) <= 5, x <= 10 \
             WITH variables = \"x(item)\", var_type = \"{ty}\" INTO {p}knapsack_{}",
            ty.to_lowercase()
        )
    };
    // Reals: 2.5 of a, worth 7.5. Integers: 2 of a (weight 4) and no room for b.
    // Binary: one of each, worth 5.
    for (ty, value, rows) in [
        ("NonNegativeReals", 7.5, ["a 2.5", "b 0"]),
        ("NonNegativeIntegers", 6.0, ["a 2", "b 0"]),
        ("Binary", 5.0, ["a 1", "b 1"]),
    ] {
        let out = db.ok(&sql(ty)).await;
        assert_eq!(objective(&out), value, "{ty}");
        assert_eq!(plan(out.table()), rows, "{ty}");
        let t = db
            .ok(&format!("SELECT * FROM {p}knapsack_{}", ty.to_lowercase()))
            .await;
        assert_eq!(plan(t.table()), rows, "{ty} as stored");
    }
}

async fn errors_say_what_is_wrong(db: &Db) {
    let p = &db.p;
    let with = "WITH variables = \"amount(product)\", var_type = \"NonNegativeReals\"";
    let m = db
        .fails(&format!(
            "SELECT * FROM {p}woodcarving TO MAXIMIZE SUM(amount) \
             CONSTRAINT SUM(amount) >= 10, SUM(amount) <= 5 {with} INTO {p}bad"
        ))
        .await;
    assert!(m.contains("the problem is infeasible"), "{m}");
    let m = db
        .fails(&format!(
            "SELECT * FROM {p}woodcarving TO MAXIMIZE SUM(price * amount) \
             CONSTRAINT SUM(amount) >= 10 {with} INTO {p}bad"
        ))
        .await;
    assert!(m.contains("the problem is unbounded"), "{m}");
    let m = db
        .fails(&format!(
            "SELECT * FROM {p}woodcarving TO MAXIMIZE SUM(price * amount * amount) \
             CONSTRAINT SUM(amount) <= 10 {with} INTO {p}bad"
        ))
        .await;
    assert!(
        m.contains("price * amount * amount") && m.contains("not linear"),
        "{m}"
    );
    let m = db
        .fails(&format!(
            "SELECT * FROM {p}woodcarving TO MINIMIZE SUM(amount / (finishing - 2)) \
             CONSTRAINT SUM(amount) >= 1 {with} INTO {p}bad"
        ))
        .await;
    assert!(m.contains("division by zero"), "{m}");
    let m = db
        .fails(&format!(
            "SELECT * FROM {p}woodcarving TO MAXIMIZE SUM(amount) \
             WITH variables = \"amount(product)\", var_type = \"Quaternions\" INTO {p}bad"
        ))
        .await;
    assert!(
        m.contains("Quaternions") && m.contains("NonNegativeIntegers"),
        "{m}"
    );
}

async fn cleanup(db: &Db) {
    let p = &db.p;
    let mut program = String::new();
    for t in [
        "woodcarving",
        "plants",
        "markets",
        "transportation",
        "knapsack",
        "woodcarving_result",
        "transportation_result",
        "knapsack_nonnegativereals",
        "knapsack_nonnegativeintegers",
        "knapsack_binary",
    ] {
        program.push_str(&format!("DROP TABLE IF EXISTS {p}{t};\n"));
    }
    let _ = db.run(&program).await;
}

async fn whole_suite(kind: Kind) {
    let Some(db) = Db::open(kind, "optimize", "t", &[]) else {
        return;
    };
    let db = setup(db).await;
    woodcarving(&db).await;
    transportation(&db).await;
    integers_against_reals(&db).await;
    errors_say_what_is_wrong(&db).await;
    cleanup(&db).await;
}

#[tokio::test]
async fn on_sqlite() {
    whole_suite(Kind::Sqlite).await;
}

#[tokio::test]
async fn on_mariadb() {
    whole_suite(Kind::MariaDb).await;
}

#[tokio::test]
async fn on_postgresql() {
    whole_suite(Kind::Postgres).await;
}

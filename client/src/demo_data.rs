//! `sqlflow demo-data`: the datasets of SQLFlow's tutorials, as SQL programs that run on
//! SQLite, MySQL and PostgreSQL alike (submitted like any other program).
//!
//! - `iris.train` / `iris.test`: the iris flowers (150 rows, real data, from scikit-learn);
//! - `boston.train` / `boston.test`: Boston housing prices (506 rows, real data, from
//!   scikit-learn 1.1);
//! - `churn.train` / `churn.test`: customers in the shape of IBM's Telco churn sample
//!   (21 columns, strings, a `TotalCharges` that is NULL for new customers, `Churn`
//!   Yes/No). No package registry we can reach ships IBM's file, so the rows are
//!   generated, deterministically, from a churn model with the same drivers (contract,
//!   tenure, fibre, electronic checks).

use std::fmt::Write as _;

const IRIS: &str = include_str!("../../models/testdata/iris.csv");
const BOSTON: &str = include_str!("../../models/testdata/boston_house_prices.csv");

/// Rows per INSERT: small enough for any server's packet limit.
const ROWS_PER_INSERT: usize = 200;

/// A tiny deterministic generator (SplitMix64), so every run loads the same rows.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    fn pick<'a>(&mut self, options: &[&'a str]) -> &'a str {
        options[(self.next() % options.len() as u64) as usize]
    }

    fn shuffle<T>(&mut self, v: &mut [T]) {
        for i in (1..v.len()).rev() {
            let j = (self.next() % (i as u64 + 1)) as usize;
            v.swap(i, j);
        }
    }
}

fn sql_str(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// One table: `CREATE` then batched `INSERT`s.
fn table(schema: &str, name: &str, columns: &str, rows: &[String]) -> String {
    let full = format!("{schema}.{name}");
    let mut p = format!("DROP TABLE IF EXISTS {full};\nCREATE TABLE {full} ({columns});\n");
    for batch in rows.chunks(ROWS_PER_INSERT) {
        let _ = writeln!(p, "INSERT INTO {full} VALUES\n  {};", batch.join(",\n  "));
    }
    p
}

/// Splits rows into train and test after a seeded shuffle.
fn split(mut rows: Vec<String>, test_share: f64, seed: u64) -> (Vec<String>, Vec<String>) {
    Rng(seed).shuffle(&mut rows);
    let test = ((rows.len() as f64) * test_share).round() as usize;
    let train = rows.split_off(test);
    (train, rows)
}

/// A dataset as `<schema>.train` and `<schema>.test` (a fifth of the rows, shuffled the
/// same way on every run).
fn dataset(schema: &str, cols: &str, rows: Vec<String>) -> String {
    let (train, test) = split(rows, 0.2, 42);
    format!(
        "CREATE SCHEMA IF NOT EXISTS {schema};\n{}{}",
        table(schema, "train", cols, &train),
        table(schema, "test", cols, &test)
    )
}

/// The rows of a numeric CSV file after its `header_lines`, as SQL tuples.
fn csv_rows(csv: &str, header_lines: usize) -> Vec<String> {
    csv.lines()
        .skip(header_lines)
        .filter(|l| !l.trim().is_empty())
        .map(|l| format!("({})", l.trim()))
        .collect()
}

fn iris(schema: &str) -> String {
    let cols = "sepal_length DOUBLE PRECISION, sepal_width DOUBLE PRECISION, \
                petal_length DOUBLE PRECISION, petal_width DOUBLE PRECISION, class INT";
    dataset(schema, cols, csv_rows(IRIS, 1))
}

fn boston(schema: &str) -> String {
    let cols = "crim DOUBLE PRECISION, zn DOUBLE PRECISION, indus DOUBLE PRECISION, chas INT, \
                nox DOUBLE PRECISION, rm DOUBLE PRECISION, age DOUBLE PRECISION, \
                dis DOUBLE PRECISION, rad INT, tax INT, ptratio DOUBLE PRECISION, \
                b DOUBLE PRECISION, lstat DOUBLE PRECISION, medv DOUBLE PRECISION";
    // Its first line is the row count, the second the column names.
    dataset(schema, cols, csv_rows(BOSTON, 2))
}

fn churn(schema: &str) -> String {
    let mut rng = Rng(7);
    let yes_no = ["Yes", "No"];
    let mut rows = Vec::new();
    for i in 0..1000 {
        let senior = i64::from(rng.unit() < 0.16);
        let partner = rng.pick(&yes_no);
        let dependents = if partner == "Yes" && rng.unit() < 0.6 {
            "Yes"
        } else {
            "No"
        };
        let tenure = (rng.unit() * 73.0) as i64;
        let phone = if rng.unit() < 0.9 { "Yes" } else { "No" };
        let multiple = if phone == "No" {
            "No phone service"
        } else {
            rng.pick(&yes_no)
        };
        let internet = rng.pick(&["DSL", "Fiber optic", "Fiber optic", "No"]);
        let mut addon = || {
            if internet == "No" {
                "No internet service"
            } else if rng.unit() < 0.4 {
                "Yes"
            } else {
                "No"
            }
        };
        let (security, backup, protection, support, tv, movies) =
            (addon(), addon(), addon(), addon(), addon(), addon());
        let contract = rng.pick(&["Month-to-month", "Month-to-month", "One year", "Two year"]);
        let paperless = rng.pick(&yes_no);
        let payment = rng.pick(&[
            "Electronic check",
            "Mailed check",
            "Bank transfer (automatic)",
            "Credit card (automatic)",
        ]);
        let mut monthly = 20.0 + if phone == "Yes" { 10.0 } else { 0.0 };
        monthly += match internet {
            "Fiber optic" => 45.0,
            "DSL" => 25.0,
            _ => 0.0,
        };
        for a in [security, backup, protection, support, tv, movies] {
            if a == "Yes" {
                monthly += 5.0;
            }
        }
        monthly = ((monthly + rng.unit() * 10.0) * 100.0).round() / 100.0;
        // New customers have no total yet: NULL, as in IBM's file (blank there).
        let total = if tenure == 0 {
            "NULL".to_string()
        } else {
            format!("{:.2}", monthly * tenure as f64 * (0.95 + rng.unit() * 0.1))
        };
        let logit =
            -1.2 + match contract {
                "Month-to-month" => 1.3,
                "Two year" => -1.5,
                _ => -0.3,
            } + if internet == "Fiber optic" { 0.9 } else { 0.0 }
                + if payment == "Electronic check" {
                    0.6
                } else {
                    0.0
                }
                + if security == "Yes" { -0.5 } else { 0.0 }
                + if support == "Yes" { -0.4 } else { 0.0 }
                + 0.4 * senior as f64
                - 0.045 * tenure as f64;
        let churned = rng.unit() < 1.0 / (1.0 + (-logit).exp());
        let gender = rng.pick(&["Female", "Male"]);
        rows.push(format!(
            "({}, {}, {senior}, {}, {}, {tenure}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {monthly:.2}, {total}, {})",
            sql_str(&format!("{:04}-CHRN", 1000 + i)),
            sql_str(gender),
            sql_str(partner),
            sql_str(dependents),
            sql_str(phone),
            sql_str(multiple),
            sql_str(internet),
            sql_str(security),
            sql_str(backup),
            sql_str(protection),
            sql_str(support),
            sql_str(tv),
            sql_str(movies),
            sql_str(contract),
            sql_str(paperless),
            sql_str(payment),
            sql_str(if churned { "Yes" } else { "No" }),
        ));
    }
    let v = "VARCHAR(32)";
    let cols = format!(
        "customerID {v}, gender {v}, SeniorCitizen INT, Partner {v}, Dependents {v}, tenure INT, \
         PhoneService {v}, MultipleLines {v}, InternetService {v}, OnlineSecurity {v}, \
         OnlineBackup {v}, DeviceProtection {v}, TechSupport {v}, StreamingTV {v}, \
         StreamingMovies {v}, Contract {v}, PaperlessBilling {v}, PaymentMethod {v}, \
         MonthlyCharges DOUBLE PRECISION, TotalCharges DOUBLE PRECISION, Churn {v}"
    );
    dataset(schema, &cols, rows)
}

/// The loading programs, one per dataset, with schema names `<prefix>iris`, ...
pub fn programs(prefix: &str) -> Vec<(String, String)> {
    type Program = fn(&str) -> String;
    let datasets: [(&str, Program); 3] = [("iris", iris), ("boston", boston), ("churn", churn)];
    datasets
        .into_iter()
        .map(|(name, program)| {
            let schema = format!("{prefix}{name}");
            let p = program(&schema);
            (schema, p)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn programs_hold_every_row_once() {
        let p = programs("");
        let count = |s: &str, table: &str| {
            s.split(&format!("INSERT INTO {table} VALUES"))
                .skip(1)
                .map(|chunk| {
                    chunk
                        .split(';')
                        .next()
                        .unwrap_or("")
                        .matches("\n  (")
                        .count()
                })
                .sum::<usize>()
        };
        assert_eq!(
            count(&p[0].1, "iris.train") + count(&p[0].1, "iris.test"),
            150
        );
        assert_eq!(count(&p[0].1, "iris.test"), 30);
        assert_eq!(
            count(&p[1].1, "boston.train") + count(&p[1].1, "boston.test"),
            506
        );
        assert_eq!(
            count(&p[2].1, "churn.train") + count(&p[2].1, "churn.test"),
            1000
        );
        assert!(p[2].1.contains("NULL, 'Yes')") || p[2].1.contains("NULL, 'No')"));
        // Deterministic.
        assert_eq!(programs("x_")[2].1, programs("x_")[2].1);
        assert!(
            programs("x_")[0]
                .1
                .starts_with("CREATE SCHEMA IF NOT EXISTS x_iris;")
        );
    }
}

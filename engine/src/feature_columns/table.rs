//! A query's result held by column, for TRAIN: numbers as `f64` beside a validity flag,
//! text dictionary-encoded once, so that the rows of a large training set never exist
//! as `Value`s all at once. The database's rows are appended as they arrive.

use std::{collections::HashMap, rc::Rc};

use super::cells::{Cell, cell};
use crate::{
    Value,
    backend::{Collected, Column, RowSink},
    exec::EngineError,
    output::OutputError,
};

/// What the feature columns read of a query's result: its columns and each cell.
/// Both the columnar [`Table`] (TRAIN) and a [`Collected`] batch (PREDICT, EVALUATE)
/// are read through it, so every statement sees the same cells.
pub trait Rows {
    fn columns(&self) -> &[Column];
    fn len(&self) -> usize;
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Column `i` of row `r` (0-based), `field` naming the column in errors.
    fn cell(&self, i: usize, r: usize, field: &str) -> Result<Cell<'_>, EngineError>;
    /// Whether column `i` holds binary data in some row.
    fn has_bytes(&self, i: usize) -> bool;
    /// Whether some text cell of column `i` (not a date or time) contains `c`.
    fn any_string_contains(&self, i: usize, c: char) -> bool;
    /// Column `i`'s numbers and which rows hold one (the others are NULL), when it is
    /// held as numbers: a shortcut past [`cell`](Self::cell) that reads the same.
    fn numbers(&self, _i: usize) -> Option<(&[f64], &[bool])> {
        None
    }
}

impl Rows for Collected {
    fn columns(&self) -> &[Column] {
        &self.columns
    }

    fn len(&self) -> usize {
        self.rows.len()
    }

    fn cell(&self, i: usize, r: usize, field: &str) -> Result<Cell<'_>, EngineError> {
        match self.rows.get(r).and_then(|row| row.get(i)) {
            Some(v) => cell(v, field, r + 1),
            None => Ok(Cell::Null),
        }
    }

    fn has_bytes(&self, i: usize) -> bool {
        self.rows
            .iter()
            .any(|r| matches!(r.get(i), Some(Value::Bytes(_))))
    }

    fn any_string_contains(&self, i: usize, c: char) -> bool {
        self.rows
            .iter()
            .any(|row| matches!(row.get(i), Some(Value::String(s)) if s.contains(c)))
    }
}

/// A query's result by column.
#[derive(Debug, Default)]
pub(crate) struct Table {
    columns: Vec<Column>,
    cells: Vec<Cells>,
    rows: usize,
}

/// One column's cells. A column starts as the type of its first non-NULL value and
/// falls back to keeping `Value`s when a later one differs (mixed, DECIMAL, dates,
/// binary), which a training set rarely needs.
#[derive(Debug)]
enum Cells {
    /// Only NULLs so far.
    Nulls,
    /// Integers, doubles and booleans, read as feature columns read them (`f64`).
    Num {
        x: Vec<f64>,
        valid: Vec<bool>,
    },
    /// Text: each row's code into `dict`, `NULL_CODE` for NULL.
    Text {
        codes: Vec<u32>,
        dict: Vec<Rc<str>>,
        index: HashMap<Rc<str>, u32>,
    },
    Values(Vec<Value>),
}

const NULL_CODE: u32 = u32::MAX;

impl Cells {
    /// Appends `v` as row `row` (0-based); `self` holds `row` rows before.
    fn push(&mut self, v: Value, row: usize) {
        match (&mut *self, v) {
            (Cells::Values(vs), v) => vs.push(v),
            (_, Value::Null(_)) => match self {
                Cells::Nulls => {}
                Cells::Num { x, valid } => {
                    x.push(0.0);
                    valid.push(false);
                }
                Cells::Text { codes, .. } => codes.push(NULL_CODE),
                Cells::Values(vs) => vs.push(Value::Null(Default::default())),
            },
            (Cells::Nulls, v) => {
                *self = match number(&v) {
                    Some(_) => Cells::Num {
                        x: vec![0.0; row],
                        valid: vec![false; row],
                    },
                    None if matches!(v, Value::String(_)) => Cells::Text {
                        codes: vec![NULL_CODE; row],
                        dict: Vec::new(),
                        index: HashMap::new(),
                    },
                    None => {
                        let mut vs = vec![Value::Null(Default::default()); row];
                        vs.reserve(1);
                        Cells::Values(vs)
                    }
                };
                self.push(v, row);
            }
            (Cells::Num { x, valid }, v) => match number(&v) {
                Some(n) => {
                    x.push(n);
                    valid.push(true);
                }
                None => {
                    self.fall_back_to_values();
                    self.push(v, row);
                }
            },
            (Cells::Text { codes, dict, index }, Value::String(s)) => {
                let code = match index.get(s.as_str()) {
                    Some(&c) => c,
                    None => {
                        // u32::MAX distinct strings do not fit in memory anyway; the
                        // last code is NULL's.
                        let c = u32::try_from(dict.len()).unwrap_or(NULL_CODE - 1);
                        let s: Rc<str> = Rc::from(s);
                        dict.push(Rc::clone(&s));
                        index.insert(s, c);
                        c
                    }
                };
                codes.push(code);
            }
            (Cells::Text { .. }, v) => {
                self.fall_back_to_values();
                self.push(v, row);
            }
        }
    }

    /// Falls back to `Value`s. Numbers become doubles: feature columns read every number
    /// as one.
    fn fall_back_to_values(&mut self) {
        let vs = match std::mem::replace(self, Cells::Nulls) {
            Cells::Num { x, valid } => x
                .into_iter()
                .zip(valid)
                .map(|(x, ok)| {
                    if ok {
                        Value::Double(x)
                    } else {
                        Value::Null(Default::default())
                    }
                })
                .collect(),
            Cells::Text { codes, dict, .. } => codes
                .into_iter()
                .map(|c| match dict.get(c as usize) {
                    Some(s) => Value::String(s.to_string()),
                    None => Value::Null(Default::default()),
                })
                .collect(),
            Cells::Values(vs) => vs,
            Cells::Nulls => Vec::new(),
        };
        *self = Cells::Values(vs);
    }
}

/// A number as feature columns read it; `None` for every other value.
fn number(v: &Value) -> Option<f64> {
    match v {
        Value::Bool(b) => Some(f64::from(u8::from(*b))),
        Value::Int64(i) => Some(*i as f64),
        Value::Double(x) => Some(*x),
        _ => None,
    }
}

impl Table {
    /// Moves column `i`'s numbers out (see [`Rows::numbers`]); the column then reads as
    /// NULLs.
    pub(crate) fn take_numbers(&mut self, i: usize) -> Option<(Vec<f64>, Vec<bool>)> {
        let c = self.cells.get_mut(i)?;
        if !matches!(c, Cells::Num { .. }) {
            return None;
        }
        match std::mem::replace(c, Cells::Nulls) {
            Cells::Num { x, valid } => Some((x, valid)),
            _ => None,
        }
    }

    /// The index is only needed while rows arrive.
    fn finish(&mut self) {
        for c in &mut self.cells {
            if let Cells::Text { index, .. } = c {
                *index = HashMap::new();
            }
        }
    }
}

impl Rows for Table {
    fn columns(&self) -> &[Column] {
        &self.columns
    }

    fn len(&self) -> usize {
        self.rows
    }

    fn cell(&self, i: usize, r: usize, field: &str) -> Result<Cell<'_>, EngineError> {
        Ok(match self.cells.get(i) {
            None | Some(Cells::Nulls) => Cell::Null,
            Some(Cells::Num { x, valid }) => match (x.get(r), valid.get(r)) {
                (Some(x), Some(true)) => Cell::Num(*x),
                _ => Cell::Null,
            },
            Some(Cells::Text { codes, dict, .. }) => {
                match codes.get(r).and_then(|&c| dict.get(c as usize)) {
                    Some(s) => Cell::Text(s),
                    None => Cell::Null,
                }
            }
            Some(Cells::Values(vs)) => match vs.get(r) {
                Some(v) => cell(v, field, r + 1)?,
                None => Cell::Null,
            },
        })
    }

    fn has_bytes(&self, i: usize) -> bool {
        match self.cells.get(i) {
            Some(Cells::Values(vs)) => vs.iter().any(|v| matches!(v, Value::Bytes(_))),
            _ => false,
        }
    }

    fn numbers(&self, i: usize) -> Option<(&[f64], &[bool])> {
        match self.cells.get(i)? {
            Cells::Num { x, valid } => Some((x, valid)),
            _ => None,
        }
    }

    fn any_string_contains(&self, i: usize, c: char) -> bool {
        match self.cells.get(i) {
            Some(Cells::Text { dict, .. }) => dict.iter().any(|s| s.contains(c)),
            Some(Cells::Values(vs)) => vs
                .iter()
                .any(|v| matches!(v, Value::String(s) if s.contains(c))),
            _ => false,
        }
    }
}

impl RowSink for Table {
    fn head(&mut self, columns: &[Column]) -> Result<(), OutputError> {
        self.columns = columns.to_vec();
        self.cells = columns.iter().map(|_| Cells::Nulls).collect();
        Ok(())
    }

    fn row(&mut self, values: Vec<Value>) -> Result<(), OutputError> {
        let mut values = values.into_iter();
        for c in &mut self.cells {
            // A short row reads as NULLs, as a `Collected` row does.
            let v = values.next().unwrap_or(Value::Null(Default::default()));
            c.push(v, self.rows);
        }
        self.rows += 1;
        Ok(())
    }
}

/// Runs a query into a [`Table`], a row at a time.
pub(crate) fn query_table(
    db: &mut dyn crate::backend::Backend,
    sql: &str,
) -> Result<Table, EngineError> {
    let mut t = Table::default();
    crate::backend::query_into(db, sql, &mut t)?;
    t.finish();
    Ok(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn col(name: &str) -> Column {
        Column {
            name: name.into(),
            decl_type: String::new(),
        }
    }

    fn null() -> Value {
        Value::Null(Default::default())
    }

    /// Each cell as text, to compare both readings.
    fn cells(data: &dyn Rows) -> Vec<Vec<String>> {
        (0..data.len())
            .map(|r| {
                (0..data.columns().len())
                    .map(|i| match data.cell(i, r, "c") {
                        Ok(Cell::Null) => "NULL".to_string(),
                        Ok(Cell::Num(x)) => format!("{x:?}"),
                        Ok(Cell::Text(t)) => format!("'{t}'"),
                        Err(e) => format!("error: {e}"),
                    })
                    .collect()
            })
            .collect()
    }

    #[test]
    fn reads_every_cell_as_the_rows_do() {
        let rows = vec![
            // NULLs first; numbers turning into text; text into dates; a short row.
            vec![
                null(),
                Value::Int64(3),
                Value::String("a".into()),
                Value::Bool(true),
                Value::Decimal(" 1.5".into()),
            ],
            vec![
                Value::Double(0.5),
                null(),
                Value::String("b".into()),
                Value::Double(2.0),
                Value::Bytes(vec![1]),
            ],
            vec![
                Value::Int64(-7),
                Value::String("x:y".into()),
                Value::Date("2024-01-02".into()),
                null(),
            ],
            vec![
                null(),
                Value::Double(f64::NAN),
                Value::String("a".into()),
                Value::Int64(1 << 60),
                null(),
            ],
        ];
        let collected = Collected {
            columns: ["n", "m", "t", "b", "d"].map(col).to_vec(),
            rows: rows.clone(),
        };
        let mut table = Table::default();
        table.head(&collected.columns).unwrap();
        for r in rows {
            table.row(r).unwrap();
        }
        table.finish();
        assert_eq!(table.len(), 4);
        assert_eq!(cells(&table), cells(&collected));
        for i in 0..5 {
            assert_eq!(table.has_bytes(i), collected.has_bytes(i), "column {i}");
            assert_eq!(
                table.any_string_contains(i, ':'),
                collected.any_string_contains(i, ':'),
                "column {i}"
            );
        }
        assert!(table.has_bytes(4) && table.any_string_contains(1, ':'));
        // The numbers stayed numbers, the text a dictionary of two strings.
        assert!(
            matches!(&table.cells[0], Cells::Num { valid, .. } if valid == &[false, true, true, false])
        );
        assert!(matches!(&table.cells[3], Cells::Num { .. }));
        assert!(matches!(&table.cells[1], Cells::Values(_)));
        assert!(matches!(&table.cells[2], Cells::Values(_)));
    }

    #[test]
    fn text_is_encoded_once() {
        let mut table = Table::default();
        table.head(&[col("c")]).unwrap();
        for s in ["b", "a", "b", "b", "a"] {
            table.row(vec![Value::String(s.into())]).unwrap();
        }
        table.row(vec![null()]).unwrap();
        table.finish();
        let Cells::Text { codes, dict, index } = &table.cells[0] else {
            panic!("{:?}", table.cells[0]);
        };
        assert_eq!(codes, &[0, 1, 0, 0, 1, NULL_CODE]);
        assert_eq!(dict.iter().map(|s| &**s).collect::<Vec<_>>(), ["b", "a"]);
        assert!(index.is_empty());
        assert_eq!(
            cells(&table),
            [["'b'"], ["'a'"], ["'b'"], ["'b'"], ["'a'"], ["NULL"]]
        );
    }
}

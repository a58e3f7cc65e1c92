//! Reading a query's cells as feature columns see them: typed cells, lists and pairs
//! split from text, stable id hashes, columns found by name.

use std::borrow::Cow;

use super::plan::Read;
use super::table::Rows;
use crate::{Value, exec::EngineError};

/// One cell, typed for feature columns.
pub enum Cell<'a> {
    Null,
    Num(f64),
    Text(&'a str),
}

pub(super) fn cell<'a>(v: &'a Value, field: &str, row: usize) -> Result<Cell<'a>, EngineError> {
    Ok(match v {
        Value::Null(_) => Cell::Null,
        Value::Bool(b) => Cell::Num(f64::from(u8::from(*b))),
        Value::Int64(i) => Cell::Num(*i as f64),
        Value::Double(x) => Cell::Num(*x),
        Value::Decimal(s) => Cell::Num(s.trim().parse().map_err(|_| {
            format!("column {field}: DECIMAL value {s} in row {row} is not a number")
        })?),
        Value::String(s) | Value::Date(s) | Value::Time(s) | Value::Timestamp(s) => Cell::Text(s),
        Value::Bytes(_) => {
            return Err(format!(
                "column {field} holds binary data, which cannot be a feature; leave it out of \
                 the SELECT"
            )
            .into());
        }
    })
}

/// How a number reads as text: whole numbers without a fraction, as ids are written.
pub(super) fn number_text(x: f64) -> String {
    if x.fract() == 0.0 && x.abs() < 9.0e15 {
        format!("{}", x as i64)
    } else {
        format!("{x}")
    }
}

pub(super) fn parse_number(s: &str) -> Option<f64> {
    s.trim().parse::<f64>().ok()
}

/// One cell's pieces as `read` splits them: (text, weight).
pub(super) fn pieces<'a>(
    c: &Cell<'a>,
    read: &Read,
    what: &str,
    row: usize,
) -> Result<Vec<(Cow<'a, str>, f64)>, EngineError> {
    let text: Cow<'a, str> = match c {
        Cell::Null => return Ok(Vec::new()),
        Cell::Num(x) => Cow::Owned(number_text(*x)),
        Cell::Text(t) => Cow::Borrowed(*t),
    };
    Ok(match read {
        Read::Whole => vec![(text, 1.0)],
        Read::List { delimiter, .. } => split_list(&text, delimiter)
            .into_iter()
            .map(|p| (Cow::Owned(p.to_string()), 1.0))
            .collect(),
        Read::Pairs { delimiter, kv, .. } => {
            let mut out = Vec::new();
            for p in split_pairs(&text, delimiter) {
                match kv {
                    None => out.push((Cow::Owned(p.to_string()), 1.0)),
                    Some(sep) => {
                        let Some((k, v)) = p.split_once(sep.as_str()) else {
                            return Err(format!(
                                "{what}: '{p}' in row {row} is not a key{sep}value pair"
                            )
                            .into());
                        };
                        let w = parse_number(v).ok_or_else(|| {
                            format!("{what}: the value of '{p}' in row {row} is not a number")
                        })?;
                        out.push((Cow::Owned(k.trim().to_string()), w));
                    }
                }
            }
            out
        }
    })
}

pub(super) fn split_list<'t>(text: &'t str, delimiter: &str) -> Vec<&'t str> {
    text.split(delimiter)
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .collect()
}

/// Pairs are split on the delimiter and on whitespace: libsvm writes `0:3.2 5:-0.5`.
pub(super) fn split_pairs<'t>(text: &'t str, delimiter: &str) -> Vec<&'t str> {
    text.split(delimiter)
        .flat_map(str::split_whitespace)
        .filter(|p| !p.is_empty())
        .collect()
}

/// A stable 64-bit hash (FNV-1a): the same ids on every machine and in every version,
/// unlike std's randomly keyed hasher.
pub(super) fn fnv1a(parts: &[&str]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for (i, p) in parts.iter().enumerate() {
        if i > 0 {
            h ^= 0x1f;
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        for b in p.bytes() {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    h
}

/// The query's column named `name`: exact, then ignoring ASCII case.
pub(crate) fn column_index(data: &dyn Rows, name: &str) -> Result<usize, EngineError> {
    let columns = data.columns();
    columns
        .iter()
        .position(|c| c.name == name)
        .or_else(|| {
            columns
                .iter()
                .position(|c| c.name.eq_ignore_ascii_case(name))
        })
        .ok_or_else(|| {
            let have: Vec<&str> = columns.iter().map(|c| c.name.as_str()).collect();
            format!(
                "the query has no column {name}; its columns are {}",
                have.join(", ")
            )
            .into()
        })
}

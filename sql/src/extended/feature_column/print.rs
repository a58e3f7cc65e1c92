//! Printing: canonical text that parses back to the same value (SHOW TRAIN prints it).

use std::fmt;

use super::{Category, DType, FeatureColumn, FieldDesc, Input};
use crate::extended::{
    Expr,
    lexer::{is_clause_keyword, is_ident_continue, is_ident_start},
};

/// A column name as it can be written back: bare when the lexer reads it whole and it
/// is no keyword, else quoted.
pub fn name_text(name: &str) -> String {
    let plain = name.starts_with(is_ident_start)
        && name.chars().all(is_ident_continue)
        && !name.ends_with(['.', '-', ':', '/'])
        && !is_clause_keyword(name);
    if plain {
        name.to_string()
    } else if name.contains('`') {
        Expr::Str(name.to_string()).to_string()
    } else {
        format!("`{name}`")
    }
}

pub(super) fn number_text(x: f64) -> String {
    if x.fract() == 0.0 && x.abs() < 1e15 {
        format!("{}", x as i64)
    } else {
        format!("{x:?}")
    }
}

pub(super) fn quoted(s: &str) -> String {
    Expr::Str(s.to_string()).to_string()
}

impl fmt::Display for FieldDesc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut args = vec![name_text(&self.field)];
        // Positional: everything up to the last given argument is printed.
        let given = [
            self.shape.is_some(),
            self.delimiter.is_some(),
            self.dtype.is_some(),
            self.delimiter_kv.is_some(),
            self.dtype_weight.is_some(),
        ];
        let count = given.iter().rposition(|g| *g).map_or(0, |i| i + 1);
        if count > 0 {
            args.push(match &self.shape {
                None => "none".to_string(),
                Some(s) if s.len() == 1 => s[0].to_string(),
                Some(s) => format!(
                    "[{}]",
                    s.iter().map(u64::to_string).collect::<Vec<_>>().join(", ")
                ),
            });
        }
        if count > 1 {
            args.push(quoted(self.delimiter.as_deref().unwrap_or(",")));
        }
        if count > 2 {
            args.push(self.dtype.unwrap_or(DType::Float).name().to_string());
        }
        if count > 3 {
            args.push(quoted(self.delimiter_kv.as_deref().unwrap_or(":")));
        }
        if count > 4 {
            args.push(self.dtype_weight.unwrap_or(DType::Float).name().to_string());
        }
        f.write_str(&args.join(", "))
    }
}

impl fmt::Display for Input {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Input::Field(name) => f.write_str(&name_text(name)),
            Input::Dense(d) => write!(f, "DENSE({d})"),
            Input::Sparse(d) => write!(f, "SPARSE({d})"),
        }
    }
}

impl fmt::Display for FeatureColumn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let category = |f: &mut fmt::Formatter<'_>, name: &str, c: &Category| {
            write!(f, "{name}({}, {}", c.input, c.buckets)?;
            if let Some(d) = &c.delimiter {
                write!(f, ", {}", quoted(d))?;
            }
            f.write_str(")")
        };
        match self {
            FeatureColumn::Field(name) => f.write_str(&name_text(name)),
            FeatureColumn::Numeric(i) => write!(f, "NUMERIC({i})"),
            FeatureColumn::Dense(d) => write!(f, "DENSE({d})"),
            FeatureColumn::Sparse(d) => write!(f, "SPARSE({d})"),
            FeatureColumn::CategoryId(c) => category(f, "CATEGORY_ID", c),
            FeatureColumn::SeqCategoryId(c) => category(f, "SEQ_CATEGORY_ID", c),
            FeatureColumn::CategoryHash(c) => category(f, "CATEGORY_HASH", c),
            FeatureColumn::WeightedCategory(inner) => write!(f, "WEIGHTED_CATEGORY({inner})"),
            FeatureColumn::Indicator(inner) => write!(f, "INDICATOR({inner})"),
            FeatureColumn::Embedding(e) => {
                write!(f, "EMBEDDING({}, {}", e.source, e.dimension)?;
                if let Some(c) = e.combiner {
                    write!(f, ", {}", c.name())?;
                }
                if let Some(i) = &e.initializer {
                    write!(f, ", {}", quoted(i))?;
                }
                f.write_str(")")
            }
            FeatureColumn::Cross(c) => {
                let keys: Vec<String> = c.keys.iter().map(ToString::to_string).collect();
                write!(f, "CROSS([{}], {})", keys.join(", "), c.buckets)
            }
            FeatureColumn::Bucket(b) => {
                let bounds: Vec<String> = b.boundaries.iter().map(|x| number_text(*x)).collect();
                write!(f, "BUCKET({}, [{}])", b.input, bounds.join(", "))
            }
        }
    }
}

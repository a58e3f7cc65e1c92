//! Aligned tables like psql's: centered names over a rule, numbers to the right, text to
//! the left, the row count after the last row.

use std::fmt::Write as _;

use sqlflow_proto::sqlflow::{Cell, cell::Value};
use unicode_width::UnicodeWidthStr;

use super::fields::cell_text;

/// Rows of a table buffered before rendering, to align columns. Longer results are
/// rendered in batches of this many rows (like psql's FETCH_COUNT).
const TABLE_BATCH: usize = 10_000;

/// A table being received: its columns, and the rows not yet printed.
pub struct Table {
    pub names: Vec<String>,
    numeric: Vec<bool>,
    rows: Vec<Vec<String>>,
    total: u64,
    header_printed: bool,
}

impl Table {
    pub fn new(names: Vec<String>) -> Self {
        Self {
            numeric: vec![true; names.len()],
            names,
            rows: Vec::new(),
            total: 0,
            header_printed: false,
        }
    }

    /// Keeps a row for the next batch; true when the batch is full.
    pub fn push(&mut self, cells: &[Cell]) -> bool {
        self.total += 1;
        let mut row = Vec::with_capacity(cells.len());
        for (i, c) in cells.iter().enumerate() {
            if let Some(n) = self.numeric.get_mut(i) {
                *n &= matches!(
                    c.value,
                    Some(Value::Int64(_) | Value::Double(_) | Value::Decimal(_) | Value::Null(_))
                        | None
                );
            }
            row.push(cell_text(c, "NULL").into_owned());
        }
        self.rows.push(row);
        self.rows.len() >= TABLE_BATCH
    }

    /// Whether nothing of this table has been printed yet.
    pub fn is_new(&self) -> bool {
        !self.header_printed
    }

    /// The kept rows as one aligned block, and forgets them: the header (after a blank
    /// line when `blank_line` says so) before the first batch, the row count after the
    /// `last`.
    pub fn take_block(&mut self, blank_line: bool, last: bool) -> String {
        let first_batch = !self.header_printed;
        self.header_printed = true;
        let mut widths: Vec<usize> = self.names.iter().map(|n| n.width()).collect();
        for row in &self.rows {
            for (i, cell) in row.iter().enumerate() {
                if let Some(w) = widths.get_mut(i) {
                    *w = (*w).max(display_width(cell));
                }
            }
        }
        let mut block = String::new();
        if first_batch {
            if blank_line {
                block.push('\n');
            }
            let header: Vec<String> = self
                .names
                .iter()
                .zip(&widths)
                .map(|(n, &w)| center(n, w))
                .collect();
            let _ = writeln!(block, " {}", header.join(" | ").trim_end());
            let rule: Vec<String> = widths.iter().map(|&w| "-".repeat(w + 2)).collect();
            let _ = writeln!(block, "{}", rule.join("+"));
        }
        for row in &self.rows {
            let mut line = String::new();
            for (i, w) in widths.iter().enumerate() {
                let cell = row.get(i).map(String::as_str).unwrap_or("");
                let pad = w.saturating_sub(display_width(cell));
                if i > 0 {
                    line.push_str(" | ");
                } else {
                    line.push(' ');
                }
                let cell = cell.replace('\n', "\\n");
                if self.numeric.get(i).copied().unwrap_or(false) {
                    line.push_str(&" ".repeat(pad));
                    line.push_str(&cell);
                } else {
                    line.push_str(&cell);
                    line.push_str(&" ".repeat(pad));
                }
            }
            let _ = writeln!(block, "{}", line.trim_end());
        }
        if last {
            let noun = if self.total == 1 { "row" } else { "rows" };
            let _ = writeln!(block, "({} {noun})", self.total);
        }
        self.rows.clear();
        block
    }
}

fn display_width(s: &str) -> usize {
    if s.contains('\n') {
        s.replace('\n', "\\n").width()
    } else {
        s.width()
    }
}

fn center(s: &str, width: usize) -> String {
    let pad = width.saturating_sub(s.width());
    let left = pad / 2;
    format!("{}{s}{}", " ".repeat(left), " ".repeat(pad - left))
}

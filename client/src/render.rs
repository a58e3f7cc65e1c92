//! Renders responses: aligned tables like psql, or CSV / TSV / JSON lines for scripts;
//! figures become files.
//!
//! - `table`: psql-like aligned tables;
//! - `fields`: a cell's text and its escaping in CSV, TSV and JSON;
//! - `figures`: figure files and the lines naming them.

mod fields;
mod figures;
mod table;

use std::io::{self, Write};

use sqlflow_proto::sqlflow::{Cell, Head, Message, Response, message::Kind, response};

pub use self::figures::FiguresDir;
use self::{
    fields::{
        json_string, json_value, write_csv_cell, write_csv_field, write_tsv_cell, write_tsv_field,
    },
    figures::Figures,
    table::Table,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Aligned columns, like psql.
    Table,
    /// RFC 4180; NULL is an empty field, the empty string `""`.
    Csv,
    /// Tab-separated, backslash escapes as in `mysql --batch`; NULL is `\N`.
    Tsv,
    /// One JSON object per row.
    Json,
}

pub struct Renderer<W: Write, E: Write> {
    format: Format,
    out: W,
    err: E,
    current: Option<Current>,
    tables_printed: usize,
    figures: Figures,
}

/// The table whose rows are arriving.
enum Current {
    /// Kept in batches, to align them.
    Aligned(Table),
    /// Written row by row (CSV, TSV, JSON): only the names are needed.
    Streamed { names: Vec<String> },
}

impl<W: Write, E: Write> Renderer<W, E> {
    pub fn new(format: Format, out: W, err: E) -> Self {
        Self {
            format,
            out,
            err,
            current: None,
            tables_printed: 0,
            figures: Figures {
                dir: FiguresDir::Temporary,
                pending: Vec::new(),
                last_statement: None,
            },
        }
    }

    /// Writes figures into `dir` (default: a fresh temporary directory).
    pub fn figures_dir(mut self, dir: FiguresDir) -> Self {
        self.figures.dir = dir;
        self
    }

    pub fn response(&mut self, r: &Response) -> io::Result<()> {
        match &r.response {
            Some(response::Response::Head(h)) => self.head(h),
            Some(response::Response::Row(row)) => self.row(&row.cells),
            Some(response::Response::Message(m)) => self.message(m),
            Some(response::Response::Figure(f)) => {
                self.figures.pending.push(f.clone());
                Ok(())
            }
            Some(response::Response::Eoe(e)) => {
                self.end_table()?;
                self.write_figures(e.statement_index)?;
                self.figures.last_statement = Some(e.statement_index);
                Ok(())
            }
            None => Ok(()),
        }
    }

    /// Sends what has been written on: call after each reply, so what it completed is
    /// seen while the job goes on. Rows of an aligned table that is still arriving stay
    /// kept until the table ends (or fills a batch).
    pub fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }

    /// Writes anything still kept. Call when the job ends.
    pub fn finish(&mut self) -> io::Result<()> {
        self.end_table()?;
        // Figures of a statement that did not end (it failed after drawing them).
        let next = self
            .figures
            .last_statement
            .map_or(0, |i| i.saturating_add(1));
        self.write_figures(next)?;
        self.out.flush()?;
        self.err.flush()
    }

    /// Writes a line to the diagnostics stream (stderr), keeping stdout for results.
    pub fn note(&mut self, line: &str) -> io::Result<()> {
        self.out.flush()?;
        writeln!(self.err, "{line}")?;
        self.err.flush()
    }

    fn head(&mut self, h: &Head) -> io::Result<()> {
        self.end_table()?;
        let names = h.column_names.clone();
        match self.format {
            Format::Table => {
                self.current = Some(Current::Aligned(Table::new(names)));
                return Ok(());
            }
            Format::Csv => {
                self.separate()?;
                self.header(&names, b',', write_csv_field)?;
            }
            Format::Tsv => {
                self.separate()?;
                self.header(&names, b'\t', write_tsv_field)?;
            }
            Format::Json => {}
        }
        self.current = Some(Current::Streamed { names });
        self.tables_printed += 1;
        Ok(())
    }

    fn header(
        &mut self,
        names: &[String],
        separator: u8,
        field: fn(&mut W, &str) -> io::Result<()>,
    ) -> io::Result<()> {
        write_row(&mut self.out, names, separator, |out, n| field(out, n))
    }

    fn separate(&mut self) -> io::Result<()> {
        if self.tables_printed > 0 {
            writeln!(self.out)?;
        }
        Ok(())
    }

    fn row(&mut self, cells: &[Cell]) -> io::Result<()> {
        match &mut self.current {
            None => Ok(()),
            Some(Current::Aligned(table)) => {
                if table.push(cells) {
                    self.print_batch(false)?;
                }
                Ok(())
            }
            // Each row goes into the buffered writer as it comes: no per-row flush.
            Some(Current::Streamed { names }) => match self.format {
                Format::Csv => write_row(&mut self.out, cells, b',', write_csv_cell),
                Format::Tsv => write_row(&mut self.out, cells, b'\t', write_tsv_cell),
                // An aligned table never streams.
                Format::Json | Format::Table => {
                    let mut line = String::from("{");
                    for (i, c) in cells.iter().enumerate() {
                        if i > 0 {
                            line.push(',');
                        }
                        let name = names.get(i).map(String::as_str).unwrap_or("?");
                        json_string(&mut line, name);
                        line.push(':');
                        json_value(&mut line, c);
                    }
                    line.push('}');
                    writeln!(self.out, "{line}")
                }
            },
        }
    }

    fn message(&mut self, m: &Message) -> io::Result<()> {
        let text = if m.kind() == Kind::Error {
            format!("ERROR: {}", m.message)
        } else {
            m.message.clone()
        };
        // Progress (training loss per epoch, ...) is for a person watching, not part of
        // the results: keep it off stdout.
        if self.format == Format::Table && m.kind() == Kind::Log {
            self.end_table()?;
            writeln!(self.out, "{text}")
        } else {
            self.note(&text)
        }
    }

    fn end_table(&mut self) -> io::Result<()> {
        if matches!(self.current, Some(Current::Aligned(_))) {
            self.print_batch(true)?;
        }
        self.current = None;
        Ok(())
    }

    /// Prints the kept rows of the current aligned table as one block.
    fn print_batch(&mut self, last: bool) -> io::Result<()> {
        let Some(Current::Aligned(t)) = self.current.as_mut() else {
            return Ok(());
        };
        let first = t.is_new();
        let block = t.take_block(self.tables_printed > 0, last);
        self.out.write_all(block.as_bytes())?;
        if first {
            self.tables_printed += 1;
        }
        Ok(())
    }
}

/// One line of fields, each written by `field`, between separators.
fn write_row<W: Write, T>(
    out: &mut W,
    fields: &[T],
    separator: u8,
    field: impl Fn(&mut W, &T) -> io::Result<()>,
) -> io::Result<()> {
    for (i, f) in fields.iter().enumerate() {
        if i > 0 {
            out.write_all(&[separator])?;
        }
        field(out, f)?;
    }
    out.write_all(b"\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use sqlflow_proto::sqlflow::{EndOfExecution, Row, cell, cell::Value};

    fn resp(r: response::Response) -> Response {
        Response { response: Some(r) }
    }

    fn cells(vals: Vec<Value>) -> response::Response {
        response::Response::Row(Row {
            cells: vals.into_iter().map(|v| Cell { value: Some(v) }).collect(),
        })
    }

    fn render(format: Format) -> (String, String) {
        let mut out = Vec::new();
        let mut err = Vec::new();
        {
            let mut r = Renderer::new(format, &mut out, &mut err);
            let script = vec![
                resp(response::Response::Head(Head {
                    column_names: vec!["a".into(), "name".into()],
                    column_types: vec![],
                })),
                resp(cells(vec![
                    Value::Int64(1),
                    Value::String("x,\"y\"".into()),
                ])),
                resp(cells(vec![Value::Int64(22), Value::Null(cell::Null {})])),
                resp(response::Response::Eoe(EndOfExecution::default())),
                resp(response::Response::Message(Message {
                    message: "2 rows affected".into(),
                    kind: 0,
                })),
            ];
            for s in &script {
                r.response(s).unwrap();
            }
            r.finish().unwrap();
        }
        (
            String::from_utf8(out).unwrap(),
            String::from_utf8(err).unwrap(),
        )
    }

    #[test]
    fn a_table_is_written_whole_at_its_end_not_at_the_job_end() {
        // What `follow` flushes after the reply that ended the table.
        let script = [
            resp(response::Response::Head(Head {
                column_names: vec!["a".into()],
                column_types: vec![],
            })),
            resp(cells(vec![Value::Int64(1)])),
            resp(response::Response::Eoe(EndOfExecution::default())),
        ];
        for (format, table) in [
            (Format::Table, " a\n---\n 1\n(1 row)\n"),
            (Format::Csv, "a\n1\n"),
            (Format::Tsv, "a\n1\n"),
            (Format::Json, "{\"a\":1}\n"),
        ] {
            let mut out = Vec::new();
            let mut r = Renderer::new(format, &mut out, Vec::new());
            for s in &script {
                r.response(s).unwrap();
            }
            // No finish().
            drop(r);
            assert_eq!(String::from_utf8(out).unwrap(), table, "{format:?}");
        }
    }

    #[test]
    fn tables_align_like_psql() {
        let (out, _) = render(Format::Table);
        assert_eq!(
            out,
            " a  | name\n----+-------\n  1 | x,\"y\"\n 22 | NULL\n(2 rows)\n2 rows affected\n"
        );
    }

    #[test]
    fn csv_quotes_and_keeps_messages_off_stdout() {
        let (out, err) = render(Format::Csv);
        assert_eq!(out, "a,name\n1,\"x,\"\"y\"\"\"\n22,\n");
        assert_eq!(err, "2 rows affected\n");
    }

    #[test]
    fn json_lines_are_typed() {
        let (out, _) = render(Format::Json);
        assert_eq!(
            out,
            "{\"a\":1,\"name\":\"x,\\\"y\\\"\"}\n{\"a\":22,\"name\":null}\n"
        );
    }
}

//! Renders responses: aligned tables like psql, or CSV / TSV / JSON lines for scripts.

use std::{
    borrow::Cow,
    fmt::Write as _,
    io::{self, Write},
    path::{Path, PathBuf},
};

use base64::{Engine as _, engine::general_purpose::STANDARD};
use sqlflow_proto::sqlflow::{
    Cell, Figure, Head, Message, Response, cell::Value, message::Kind, response,
};
use unicode_width::UnicodeWidthStr;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Aligned columns, like psql.
    Table,
    Csv,
    Tsv,
    /// One JSON object per row.
    Json,
}

/// Rows of a table buffered before rendering, to align columns. Longer results are
/// rendered in batches of this many rows (like psql's FETCH_COUNT).
const TABLE_BATCH: usize = 10_000;

pub struct Renderer<W: Write, E: Write> {
    format: Format,
    out: W,
    err: E,
    table: Option<Table>,
    tables_printed: usize,
    figures: Figures,
}

/// Where figures go: files in a directory, named after their statement, which only its
/// EndOfExecution tells; so a statement's figures wait for it.
struct Figures {
    dir: FiguresDir,
    pending: Vec<Figure>,
    /// The 0-based index of the last statement that ended, if any.
    last_statement: Option<u32>,
}

/// The directory figures are written into.
#[derive(Debug, Clone)]
pub enum FiguresDir {
    /// This one (created if missing).
    Given(PathBuf),
    /// A fresh one in the system's temporary directory, created at the first figure.
    Temporary,
    /// Created (or checked) already.
    Ready(PathBuf),
}

struct Table {
    names: Vec<String>,
    numeric: Vec<bool>,
    rows: Vec<Vec<String>>,
    total: u64,
    header_printed: bool,
}

impl<W: Write, E: Write> Renderer<W, E> {
    pub fn new(format: Format, out: W, err: E) -> Self {
        Self {
            format,
            out,
            err,
            table: None,
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

    /// Writes anything still buffered. Call when the job ends.
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

    /// Writes the waiting figures of statement `index` (0-based) to files, one line each:
    /// on stdout for tables (like log lines), on stderr for CSV and TSV (stdout stays
    /// one clean table), and as a JSON object with the data for JSON.
    fn write_figures(&mut self, index: u32) -> io::Result<()> {
        let pending = std::mem::take(&mut self.figures.pending);
        if pending.is_empty() {
            return Ok(());
        }
        let statement = u64::from(index) + 1;
        let dir = match self.ensure_figures_dir() {
            Ok(dir) => Some(dir),
            Err(e) => {
                self.note(&format!("sqlflow: cannot write figures: {e}"))?;
                None
            }
        };
        for (n, f) in pending.iter().enumerate() {
            let name = format!(
                "s{statement}-{}-{}.{}",
                n + 1,
                slug(&f.title),
                extension(&f.mime_type)
            );
            let path = match &dir {
                Some(d) => {
                    let path = d.join(name);
                    match std::fs::write(&path, &f.data) {
                        Ok(()) => Some(path),
                        Err(e) => {
                            self.note(&format!(
                                "sqlflow: cannot write figure {}: {e}",
                                path.display()
                            ))?;
                            None
                        }
                    }
                }
                None => None,
            };
            let shown = path
                .as_ref()
                .map_or_else(|| "(not written)".to_string(), |p| p.display().to_string());
            let line = format!("figure: {} (statement {statement}) -> {shown}", f.title);
            match self.format {
                Format::Table => {
                    self.end_table()?;
                    writeln!(self.out, "{line}")?;
                }
                Format::Csv | Format::Tsv => self.note(&line)?,
                Format::Json => {
                    let mut json = String::from("{\"figure\":{\"title\":");
                    json_string(&mut json, &f.title);
                    let _ = write!(json, ",\"statement\":{statement},\"mime_type\":");
                    json_string(&mut json, &f.mime_type);
                    json.push_str(",\"file\":");
                    match &path {
                        Some(p) => json_string(&mut json, &p.display().to_string()),
                        None => json.push_str("null"),
                    }
                    json.push_str(",\"data\":\"");
                    STANDARD.encode_string(&f.data, &mut json);
                    json.push_str("\"}}");
                    writeln!(self.out, "{json}")?;
                }
            }
        }
        Ok(())
    }

    fn ensure_figures_dir(&mut self) -> io::Result<PathBuf> {
        let dir = match &self.figures.dir {
            FiguresDir::Ready(d) => return Ok(d.clone()),
            FiguresDir::Given(d) => {
                std::fs::create_dir_all(d)?;
                d.clone()
            }
            FiguresDir::Temporary => fresh_dir(&std::env::temp_dir())?,
        };
        self.figures.dir = FiguresDir::Ready(dir.clone());
        Ok(dir)
    }

    /// Writes a line to the diagnostics stream (stderr), keeping stdout for results.
    pub fn note(&mut self, line: &str) -> io::Result<()> {
        self.out.flush()?;
        writeln!(self.err, "{line}")?;
        self.err.flush()
    }

    fn head(&mut self, h: &Head) -> io::Result<()> {
        self.end_table()?;
        match self.format {
            Format::Table => {
                self.table = Some(Table {
                    names: h.column_names.clone(),
                    numeric: vec![true; h.column_names.len()],
                    rows: Vec::new(),
                    total: 0,
                    header_printed: false,
                });
                return Ok(());
            }
            Format::Csv => {
                self.separate()?;
                let line: Vec<Cow<'_, str>> = h.column_names.iter().map(|n| csv_field(n)).collect();
                writeln!(self.out, "{}", line.join(","))?;
            }
            Format::Tsv => {
                self.separate()?;
                let line: Vec<Cow<'_, str>> = h.column_names.iter().map(|n| tsv_field(n)).collect();
                writeln!(self.out, "{}", line.join("\t"))?;
            }
            Format::Json => {}
        }
        self.table = Some(Table {
            names: h.column_names.clone(),
            numeric: Vec::new(),
            rows: Vec::new(),
            total: 0,
            header_printed: true,
        });
        self.tables_printed += 1;
        Ok(())
    }

    fn separate(&mut self) -> io::Result<()> {
        if self.tables_printed > 0 {
            writeln!(self.out)?;
        }
        Ok(())
    }

    fn row(&mut self, cells: &[Cell]) -> io::Result<()> {
        let Some(table) = self.table.as_mut() else {
            return Ok(());
        };
        table.total += 1;
        match self.format {
            Format::Table => {
                let mut row = Vec::with_capacity(cells.len());
                for (i, c) in cells.iter().enumerate() {
                    if let Some(n) = table.numeric.get_mut(i) {
                        *n &= matches!(
                            c.value,
                            Some(
                                Value::Int64(_)
                                    | Value::Double(_)
                                    | Value::Decimal(_)
                                    | Value::Null(_)
                            ) | None
                        );
                    }
                    row.push(cell_text(c, "NULL").into_owned());
                }
                table.rows.push(row);
                if table.rows.len() >= TABLE_BATCH {
                    self.print_table_batch(false)?;
                }
            }
            Format::Csv => {
                for (i, c) in cells.iter().enumerate() {
                    if i > 0 {
                        self.out.write_all(b",")?;
                    }
                    self.out
                        .write_all(csv_field(&cell_text(c, "")).as_bytes())?;
                }
                self.out.write_all(b"\n")?;
            }
            Format::Tsv => {
                for (i, c) in cells.iter().enumerate() {
                    if i > 0 {
                        self.out.write_all(b"\t")?;
                    }
                    self.out
                        .write_all(tsv_field(&cell_text(c, "\\N")).as_bytes())?;
                }
                self.out.write_all(b"\n")?;
            }
            Format::Json => {
                let mut line = String::from("{");
                for (i, c) in cells.iter().enumerate() {
                    if i > 0 {
                        line.push(',');
                    }
                    let name = table.names.get(i).map(String::as_str).unwrap_or("?");
                    json_string(&mut line, name);
                    line.push(':');
                    json_value(&mut line, c);
                }
                line.push('}');
                writeln!(self.out, "{line}")?;
            }
        }
        Ok(())
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
        if self.format == Format::Table && self.table.is_some() {
            self.print_table_batch(true)?;
        }
        self.table = None;
        Ok(())
    }

    /// Prints the buffered rows of the current table as one aligned block.
    fn print_table_batch(&mut self, last: bool) -> io::Result<()> {
        let Some(t) = self.table.as_mut() else {
            return Ok(());
        };
        let first_batch = !t.header_printed;
        t.header_printed = true;
        let mut widths: Vec<usize> = t.names.iter().map(|n| n.width()).collect();
        for row in &t.rows {
            for (i, cell) in row.iter().enumerate() {
                if let Some(w) = widths.get_mut(i) {
                    *w = (*w).max(display_width(cell));
                }
            }
        }
        let mut block = String::new();
        if first_batch {
            if self.tables_printed > 0 {
                block.push('\n');
            }
            let header: Vec<String> = t
                .names
                .iter()
                .zip(&widths)
                .map(|(n, &w)| center(n, w))
                .collect();
            let _ = writeln!(block, " {}", header.join(" | ").trim_end());
            let rule: Vec<String> = widths.iter().map(|&w| "-".repeat(w + 2)).collect();
            let _ = writeln!(block, "{}", rule.join("+"));
        }
        for row in &t.rows {
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
                if t.numeric.get(i).copied().unwrap_or(false) {
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
            let noun = if t.total == 1 { "row" } else { "rows" };
            let _ = writeln!(block, "({} {noun})", t.total);
        }
        self.out.write_all(block.as_bytes())?;
        t.rows.clear();
        if first_batch {
            self.tables_printed += 1;
        }
        Ok(())
    }
}

/// A new directory `sqlflow-figures-<pid>-<n>` under `parent`, readable by its owner only.
fn fresh_dir(parent: &Path) -> io::Result<PathBuf> {
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let mut last = None;
    for attempt in 0..100u32 {
        let dir = parent.join(format!(
            "sqlflow-figures-{}-{}",
            std::process::id(),
            stamp.wrapping_add(attempt)
        ));
        let mut builder = std::fs::DirBuilder::new();
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
        match builder.create(&dir) {
            Ok(()) => return Ok(dir),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => last = Some(e),
            Err(e) => return Err(e),
        }
    }
    Err(last.unwrap_or_else(|| io::Error::other("no free directory name")))
}

/// A file name part from a figure's title: lowercase letters, digits and dashes.
fn slug(title: &str) -> String {
    let mut s = String::new();
    for c in title.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_alphanumeric() {
            s.push(c);
        } else if !s.ends_with('-') && !s.is_empty() {
            s.push('-');
        }
        if s.len() >= 40 {
            break;
        }
    }
    let s = s.trim_end_matches('-');
    if s.is_empty() {
        "figure".into()
    } else {
        s.to_string()
    }
}

fn extension(mime_type: &str) -> &'static str {
    match mime_type {
        "image/png" => "png",
        "image/svg+xml" => "svg",
        "image/jpeg" => "jpg",
        _ => "bin",
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

/// The text of a cell; `null` is what NULL looks like in this format.
pub fn cell_text<'a>(c: &'a Cell, null: &'a str) -> Cow<'a, str> {
    match &c.value {
        None | Some(Value::Null(_)) => Cow::Borrowed(null),
        Some(Value::Bool(b)) => Cow::Borrowed(if *b { "true" } else { "false" }),
        Some(Value::Int64(i)) => Cow::Owned(i.to_string()),
        // Debug keeps the type visible (`2.0`, not `2`) and switches to an exponent for
        // very large or small magnitudes, where Display writes out hundreds of digits.
        Some(Value::Double(f)) => Cow::Owned(format!("{f:?}")),
        Some(
            Value::String(s)
            | Value::Decimal(s)
            | Value::Date(s)
            | Value::Time(s)
            | Value::Timestamp(s),
        ) => Cow::Borrowed(s),
        Some(Value::Bytes(b)) => {
            let mut s = String::with_capacity(2 + b.len() * 2);
            s.push_str("\\x");
            for byte in b {
                let _ = write!(s, "{byte:02x}");
            }
            Cow::Owned(s)
        }
    }
}

fn csv_field(s: &str) -> Cow<'_, str> {
    if s.contains([',', '"', '\n', '\r']) {
        Cow::Owned(format!("\"{}\"", s.replace('"', "\"\"")))
    } else {
        Cow::Borrowed(s)
    }
}

fn tsv_field(s: &str) -> Cow<'_, str> {
    if s.contains(['\t', '\n', '\r', '\\']) && s != "\\N" {
        Cow::Owned(
            s.replace('\\', "\\\\")
                .replace('\t', "\\t")
                .replace('\n', "\\n")
                .replace('\r', "\\r"),
        )
    } else {
        Cow::Borrowed(s)
    }
}

fn json_string(out: &mut String, s: &str) {
    out.push('"');
    for ch in s.chars() {
        match ch {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

fn json_value(out: &mut String, c: &Cell) {
    match &c.value {
        None | Some(Value::Null(_)) => out.push_str("null"),
        Some(Value::Bool(b)) => out.push_str(if *b { "true" } else { "false" }),
        Some(Value::Int64(i)) => {
            let _ = write!(out, "{i}");
        }
        Some(Value::Double(f)) if f.is_finite() => {
            let _ = write!(out, "{f:?}");
        }
        // NaN and infinities, like every other value, as their text.
        _ => json_string(out, &cell_text(c, "")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sqlflow_proto::sqlflow::{EndOfExecution, Row, cell};

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

    fn figure_script() -> Vec<Response> {
        let figure = |title: &str| {
            resp(response::Response::Figure(Figure {
                title: title.into(),
                mime_type: "image/png".into(),
                data: b"\x89PNG fake".to_vec(),
            }))
        };
        vec![
            resp(response::Response::Message(Message {
                message: "trained".into(),
                kind: 0,
            })),
            figure("loss"),
            resp(response::Response::Eoe(EndOfExecution {
                statement_index: 1,
                ..Default::default()
            })),
            figure("../ROC curve!"),
            figure(""),
        ]
    }

    fn render_figures(format: Format, dir: &Path) -> (String, String) {
        let (mut out, mut err) = (Vec::new(), Vec::new());
        {
            let mut r = Renderer::new(format, &mut out, &mut err)
                .figures_dir(FiguresDir::Given(dir.to_path_buf()));
            for s in &figure_script() {
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
    fn figures_are_files_named_after_their_statement() {
        let tmp = std::env::temp_dir().join(format!("sqlflow-render-test-{}", std::process::id()));
        let dir = tmp.join("new");
        let (out, err) = render_figures(Format::Table, &dir);
        let path = |name: &str| dir.join(name).display().to_string();
        assert_eq!(
            out,
            format!(
                "trained\nfigure: loss (statement 2) -> {}\n\
                 figure: ../ROC curve! (statement 3) -> {}\n\
                 figure:  (statement 3) -> {}\n",
                path("s2-1-loss.png"),
                path("s3-1-roc-curve.png"),
                path("s3-2-figure.png")
            )
        );
        assert_eq!(err, "");
        assert_eq!(
            std::fs::read(dir.join("s2-1-loss.png")).unwrap(),
            b"\x89PNG fake"
        );
        // CSV keeps stdout for the table.
        let (out, err) = render_figures(Format::Csv, &dir);
        assert_eq!(out, "");
        assert!(err.contains("figure: loss (statement 2) -> "), "{err}");
        // JSON: one object per figure, the data in base64.
        let (out, _) = render_figures(Format::Json, &dir);
        let first = out.lines().next().unwrap();
        assert_eq!(
            first,
            format!(
                "{{\"figure\":{{\"title\":\"loss\",\"statement\":2,\"mime_type\":\"image/png\",\
                 \"file\":\"{}\",\"data\":\"{}\"}}}}",
                path("s2-1-loss.png"),
                STANDARD.encode(b"\x89PNG fake")
            )
        );
        std::fs::remove_dir_all(&tmp).unwrap();
    }

    #[test]
    fn the_default_figures_dir_is_new_and_private() {
        let parent = std::env::temp_dir();
        let a = fresh_dir(&parent).unwrap();
        let b = fresh_dir(&parent).unwrap();
        assert_ne!(a, b);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&a).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o700);
        }
        std::fs::remove_dir(a).unwrap();
        std::fs::remove_dir(b).unwrap();
    }

    #[test]
    fn doubles_stay_floats_and_huge_ones_use_an_exponent() {
        let text = |f: f64| {
            cell_text(
                &Cell {
                    value: Some(Value::Double(f)),
                },
                "",
            )
            .into_owned()
        };
        assert_eq!(text(2.0), "2.0");
        assert_eq!(text(0.5), "0.5");
        assert_eq!(text(1e300), "1e300");
        assert_eq!(text(-1.5e-9), "-1.5e-9");
    }
}

//! A cell's text in each output format: plain for aligned tables, RFC 4180 fields for
//! CSV, backslash escapes for TSV (the text format of `mysql --batch` and PostgreSQL's
//! COPY), JSON values. In every script format NULL reads differently from any string.

use std::{
    borrow::Cow,
    fmt::Write as _,
    io::{self, Write},
};

use sqlflow_proto::sqlflow::{Cell, cell::Value};

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

fn is_null(c: &Cell) -> bool {
    matches!(c.value, None | Some(Value::Null(_)))
}

/// A cell as a CSV field: NULL is the empty field and an empty string is `""`, as
/// PostgreSQL's CSV writes them.
pub fn write_csv_cell(out: &mut impl Write, c: &Cell) -> io::Result<()> {
    if is_null(c) {
        return Ok(());
    }
    if write_number(out, c)? {
        return Ok(());
    }
    write_csv_field(out, &cell_text(c, ""))
}

/// Writes a number cell straight into `out` as [`cell_text`] spells it, without a
/// `String` per cell (a million-row result is mostly numbers); false for other cells.
/// No number's text needs quoting or escaping in CSV or TSV.
fn write_number(out: &mut impl Write, c: &Cell) -> io::Result<bool> {
    match &c.value {
        Some(Value::Int64(i)) => write!(out, "{i}").map(|()| true),
        Some(Value::Double(f)) => write!(out, "{f:?}").map(|()| true),
        _ => Ok(false),
    }
}

/// RFC 4180: a field holding a comma, a double quote, CR or LF is quoted and its quotes
/// doubled; so is an empty one, which would otherwise read as NULL.
pub fn write_csv_field(out: &mut impl Write, s: &str) -> io::Result<()> {
    if !s.is_empty() && !s.contains([',', '"', '\n', '\r']) {
        return out.write_all(s.as_bytes());
    }
    out.write_all(b"\"")?;
    for (i, piece) in s.split('"').enumerate() {
        if i > 0 {
            out.write_all(b"\"\"")?;
        }
        out.write_all(piece.as_bytes())?;
    }
    out.write_all(b"\"")
}

/// A cell as a TSV field: NULL is `\N`; a string's backslashes are doubled, so none
/// reads as NULL (the string `\N` is `\\N`).
pub fn write_tsv_cell(out: &mut impl Write, c: &Cell) -> io::Result<()> {
    if is_null(c) {
        return out.write_all(b"\\N");
    }
    if write_number(out, c)? {
        return Ok(());
    }
    write_tsv_field(out, &cell_text(c, ""))
}

/// A backslash, tab, newline and carriage return as `\\`, `\t`, `\n`, `\r`: a field
/// never splits a row or a line, and reads back as it was.
pub fn write_tsv_field(out: &mut impl Write, s: &str) -> io::Result<()> {
    let bytes = s.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let escape: &[u8] = match b {
            b'\\' => b"\\\\",
            b'\t' => b"\\t",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            _ => continue,
        };
        out.write_all(&bytes[start..i])?;
        out.write_all(escape)?;
        start = i + 1;
    }
    out.write_all(&bytes[start..])
}

pub fn json_string(out: &mut String, s: &str) {
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

pub fn json_value(out: &mut String, c: &Cell) {
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
    use sqlflow_proto::sqlflow::cell;

    /// Strings that break naive writers: separators, quotes, line ends, backslashes,
    /// the NULL markers themselves, and non-ASCII text.
    const HOSTILE: &[&str] = &[
        "",
        " ",
        "\\N",
        "\\\\N",
        "N",
        "NULL",
        "\\",
        "a\\tb",
        "tab\there",
        "line\nbreak",
        "cr\rlf\r\n",
        "\n",
        "\"",
        "\"\"",
        "\"quoted\"",
        "a,b",
        ",",
        "trailing\\",
        "\\n is not a newline",
        " lead and trail ",
        "naïve ☃ 日本",
        "\u{0}nul",
        "mixed,\"\t\n\r\\N",
    ];

    fn string(s: &str) -> Cell {
        Cell {
            value: Some(Value::String(s.into())),
        }
    }

    fn null() -> Cell {
        Cell {
            value: Some(Value::Null(cell::Null {})),
        }
    }

    /// One row of cells in a format, as the renderer writes it.
    fn line(cells: &[Cell], sep: u8, write: fn(&mut Vec<u8>, &Cell) -> io::Result<()>) -> Vec<u8> {
        let mut out = Vec::new();
        for (i, c) in cells.iter().enumerate() {
            if i > 0 {
                out.push(sep);
            }
            write(&mut out, c).unwrap();
        }
        out.push(b'\n');
        out
    }

    fn tsv_line(cells: &[Cell]) -> Vec<u8> {
        line(cells, b'\t', write_tsv_cell)
    }

    fn csv_line(cells: &[Cell]) -> Vec<u8> {
        line(cells, b',', write_csv_cell)
    }

    /// Reads a TSV line back by the convention of `mysql --batch` and PostgreSQL's COPY
    /// text format: `None` for NULL.
    fn read_tsv(line: &str) -> Vec<Option<String>> {
        let line = line.strip_suffix('\n').expect("one line");
        assert!(
            !line.contains(['\n', '\r']),
            "a field split the line: {line:?}"
        );
        line.split('\t')
            .map(|field| {
                if field == "\\N" {
                    return None;
                }
                let mut s = String::new();
                let mut chars = field.chars();
                while let Some(c) = chars.next() {
                    if c != '\\' {
                        s.push(c);
                        continue;
                    }
                    match chars.next() {
                        Some('\\') => s.push('\\'),
                        Some('t') => s.push('\t'),
                        Some('n') => s.push('\n'),
                        Some('r') => s.push('\r'),
                        other => panic!("unknown escape \\{other:?} in {field:?}"),
                    }
                }
                Some(s)
            })
            .collect()
    }

    #[test]
    fn tsv_keeps_null_apart_from_the_string_backslash_n() {
        assert_eq!(tsv_line(&[null(), string("\\N")]), b"\\N\t\\\\N\n");
        assert_eq!(
            tsv_line(&[string("a\tb\nc\rd\\e")]),
            b"a\\tb\\nc\\rd\\\\e\n"
        );
        assert_eq!(tsv_line(&[string("")]), b"\n");
    }

    #[test]
    fn tsv_reads_back_every_hostile_string() {
        for s in HOSTILE {
            let cells = [string(s), null(), string(s)];
            let out = String::from_utf8(tsv_line(&cells)).unwrap();
            assert_eq!(
                read_tsv(&out),
                vec![Some(s.to_string()), None, Some(s.to_string())],
                "{s:?} written as {out:?}"
            );
        }
    }

    #[test]
    fn csv_quotes_as_rfc_4180_says() {
        assert_eq!(
            csv_line(&[string("plain"), string("a,b")]),
            b"plain,\"a,b\"\n"
        );
        assert_eq!(csv_line(&[string("say \"hi\"")]), b"\"say \"\"hi\"\"\"\n");
        assert_eq!(csv_line(&[string("two\nlines")]), b"\"two\nlines\"\n");
        assert_eq!(csv_line(&[string("cr\r")]), b"\"cr\r\"\n");
        // NULL is nothing, the empty string is quoted; a backslash is no escape.
        assert_eq!(
            csv_line(&[null(), string(""), string("\\N")]),
            b",\"\",\\N\n"
        );
    }

    #[test]
    fn csv_reads_back_every_hostile_string_with_an_independent_reader() {
        // All hostile strings as one table, read by the csv crate (RFC 4180).
        let mut out = Vec::new();
        for s in HOSTILE {
            out.extend(csv_line(&[string(s), null(), string("x")]));
        }
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .from_reader(out.as_slice());
        let mut rows = 0;
        for (record, s) in reader.byte_records().zip(HOSTILE) {
            let record = record.unwrap();
            let fields: Vec<&[u8]> = record.iter().collect();
            assert_eq!(fields, [s.as_bytes(), b"", b"x"], "{s:?}");
            rows += 1;
        }
        assert_eq!(rows, HOSTILE.len());
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

    #[test]
    fn numbers_written_in_place_read_as_their_text() {
        let cells: Vec<Cell> = [
            Value::Int64(0),
            Value::Int64(i64::MIN),
            Value::Int64(i64::MAX),
            Value::Double(2.0),
            Value::Double(-1.5e-9),
            Value::Double(1e300),
            Value::Double(f64::NAN),
            Value::Double(f64::NEG_INFINITY),
        ]
        .into_iter()
        .map(|v| Cell { value: Some(v) })
        .collect();
        let text: Vec<String> = cells
            .iter()
            .map(|c| cell_text(c, "").into_owned())
            .collect();
        let want = format!("{}\n", text.join(","));
        assert_eq!(String::from_utf8(csv_line(&cells)).unwrap(), want);
        assert_eq!(
            String::from_utf8(tsv_line(&cells)).unwrap(),
            want.replace(',', "\t")
        );
    }

    #[test]
    fn bytes_are_hex_text_escaped_like_any_string() {
        let bytes = Cell {
            value: Some(Value::Bytes(vec![0x0a, 0xff])),
        };
        assert_eq!(tsv_line(std::slice::from_ref(&bytes)), b"\\\\x0aff\n");
        assert_eq!(csv_line(&[bytes]), b"\\x0aff\n");
    }
}

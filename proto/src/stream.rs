//! The record stream a `sqlflow-step` process writes on stdout: one record per line.
//!
//! A record line is `SQLFLOW/1 ` followed by the base64 of a protobuf `step::Record`.
//! Any other line is human text (a library printing to stdout, say) and reaches the
//! client as a log message. Runners read this stream from a file (local runner) or a pod
//! log (Argo runner), so a result looks the same whichever runner produced it.

use base64::{Engine as _, engine::general_purpose::STANDARD_NO_PAD};
use prost::Message as _;

use crate::step::Record;

/// Versioned, so a future format can live beside this one.
pub const RECORD_PREFIX: &[u8] = b"SQLFLOW/1 ";

/// Appends one record line (with its newline) to `out`.
pub fn encode_record(record: &Record, out: &mut Vec<u8>) {
    let bytes = record.encode_to_vec();
    out.reserve(RECORD_PREFIX.len() + bytes.len() * 4 / 3 + 4);
    out.extend_from_slice(RECORD_PREFIX);
    let start = out.len();
    out.resize(
        start + base64::encoded_len(bytes.len(), false).unwrap_or(0),
        0,
    );
    // The length was computed for exactly this input, so encoding cannot fail.
    let written = STANDARD_NO_PAD
        .encode_slice(&bytes, &mut out[start..])
        .unwrap_or(0);
    out.truncate(start + written);
    out.push(b'\n');
}

/// One decoded line of the stream.
#[derive(Debug, Clone, PartialEq)]
pub enum Line {
    Record(Record),
    /// A line that is not a record, without its line ending.
    Text(String),
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum DecodeError {
    #[error("corrupt record line: {0}")]
    Corrupt(String),
}

/// Decodes one line (with or without its trailing newline).
pub fn decode_line(line: &[u8]) -> Result<Line, DecodeError> {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    match line.strip_prefix(RECORD_PREFIX) {
        Some(b64) => {
            let bytes = STANDARD_NO_PAD
                .decode(b64)
                .map_err(|e| DecodeError::Corrupt(e.to_string()))?;
            Record::decode(bytes.as_slice())
                .map(Line::Record)
                .map_err(|e| DecodeError::Corrupt(e.to_string()))
        }
        None => Ok(Line::Text(String::from_utf8_lossy(line).into_owned())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sqlflow::{Cell, Response, Row, cell, response};
    use crate::step::record;

    fn row(cells: Vec<cell::Value>) -> Record {
        Record {
            record: Some(record::Record::Response(Response {
                response: Some(response::Response::Row(Row {
                    cells: cells.into_iter().map(|v| Cell { value: Some(v) }).collect(),
                })),
            })),
        }
    }

    #[test]
    fn round_trips_a_record_with_newlines_inside() {
        let rec = row(vec![
            cell::Value::String("a\nb\r\nc".into()),
            cell::Value::Int64(-3),
            cell::Value::Null(cell::Null {}),
        ]);
        let mut out = Vec::new();
        encode_record(&rec, &mut out);
        assert_eq!(out.iter().filter(|&&b| b == b'\n').count(), 1);
        assert!(out.starts_with(RECORD_PREFIX));
        assert_eq!(decode_line(&out).unwrap(), Line::Record(rec));
    }

    #[test]
    fn plain_lines_are_text() {
        assert_eq!(
            decode_line(b"epoch 1 loss 0.5\r\n").unwrap(),
            Line::Text("epoch 1 loss 0.5".into())
        );
        assert_eq!(decode_line(b"").unwrap(), Line::Text(String::new()));
    }

    #[test]
    fn corrupt_records_are_errors() {
        assert!(matches!(
            decode_line(b"SQLFLOW/1 !!!notbase64"),
            Err(DecodeError::Corrupt(_))
        ));
        assert!(matches!(
            decode_line(b"SQLFLOW/1 AAAA/w"),
            Err(DecodeError::Corrupt(_))
        ));
    }
}

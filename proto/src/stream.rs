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
    let line = trim_eol(line);
    let mut scratch = Vec::new();
    match record_bytes(line, &mut scratch)? {
        Some(bytes) => Record::decode(bytes)
            .map(Line::Record)
            .map_err(|e| DecodeError::Corrupt(e.to_string())),
        None => Ok(Line::Text(String::from_utf8_lossy(line).into_owned())),
    }
}

/// Appends a line's response to `out` as one entry of `Responses.response` (field 2),
/// without decoding it: a record holds its `Response` as field 1, byte for byte, so it
/// is copied as it is. Text lines become log messages; statement starts, failures and ends
/// are not responses. Returns whether something was appended. `scratch` is reused.
pub fn append_response_field(line: &[u8], scratch: &mut Vec<u8>, out: &mut Vec<u8>) -> bool {
    use crate::sqlflow::message::Kind;
    let line = trim_eol(line);
    let response = match record_bytes(line, scratch) {
        Ok(Some(record)) => response_field(record),
        Ok(None) => {
            append_message(String::from_utf8_lossy(line).into_owned(), Kind::Log, out);
            return true;
        }
        Err(e) => Err(e),
    };
    match response {
        Ok(Some(r)) => {
            prost::encoding::encode_key(2, prost::encoding::WireType::LengthDelimited, out);
            prost::encoding::encode_varint(r.len() as u64, out);
            out.extend_from_slice(r);
        }
        Ok(None) => return false,
        Err(e) => append_message(
            format!("skipped a corrupt output line: {e}"),
            Kind::Error,
            out,
        ),
    }
    true
}

fn append_message(text: String, kind: crate::sqlflow::message::Kind, out: &mut Vec<u8>) {
    use crate::sqlflow::{Message, Response, response};
    let r = Response {
        response: Some(response::Response::Message(Message {
            message: text,
            kind: kind as i32,
        })),
    };
    prost::encoding::message::encode(2, &r, out);
}

fn trim_eol(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// The encoded `Record` of a record line, base64-decoded into `scratch`; `None` for a
/// text line.
fn record_bytes<'s>(
    line: &[u8],
    scratch: &'s mut Vec<u8>,
) -> Result<Option<&'s [u8]>, DecodeError> {
    let Some(b64) = line.strip_prefix(RECORD_PREFIX) else {
        return Ok(None);
    };
    scratch.clear();
    STANDARD_NO_PAD
        .decode_vec(b64, scratch)
        .map_err(|e| DecodeError::Corrupt(e.to_string()))?;
    Ok(Some(scratch.as_slice()))
}

/// The `Response` bytes of an encoded `Record` (its field 1); `None` for the other kinds
/// of record and for a record of nothing.
fn response_field(mut buf: &[u8]) -> Result<Option<&[u8]>, DecodeError> {
    if buf.is_empty() {
        return Ok(None);
    }
    let corrupt = DecodeError::Corrupt;
    let key = prost::encoding::decode_varint(&mut buf).map_err(|e| corrupt(e.to_string()))?;
    match (key >> 3, key & 7) {
        (1, 2) => {
            let len =
                prost::encoding::decode_varint(&mut buf).map_err(|e| corrupt(e.to_string()))?;
            if len as usize != buf.len() {
                return Err(corrupt(format!(
                    "a response of {len} bytes in a record of {}",
                    buf.len()
                )));
            }
            Ok(Some(buf))
        }
        (2, 2) | (3, 2) | (4, 2) => Ok(None),
        (field, wire) => Err(corrupt(format!(
            "unexpected field {field} (wire type {wire})"
        ))),
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
    fn responses_are_copied_without_decoding() {
        use crate::{
            sqlflow::Responses,
            step::{End, Failure, StatementStart},
        };
        let rec = row(vec![cell::Value::Int64(7), cell::Value::String("x".into())]);
        let mut lines = Vec::new();
        encode_record(&rec, &mut lines);
        encode_record(
            &Record {
                record: Some(record::Record::Start(StatementStart::default())),
            },
            &mut lines,
        );
        encode_record(
            &Record {
                record: Some(record::Record::Failure(Failure::default())),
            },
            &mut lines,
        );
        encode_record(
            &Record {
                record: Some(record::Record::End(End {
                    status_json: b"{}".to_vec(),
                })),
            },
            &mut lines,
        );
        lines.extend_from_slice(b"plain text\n");
        lines.extend_from_slice(b"SQLFLOW/1 !!\n");
        let (mut scratch, mut out) = (Vec::new(), Vec::new());
        let appended: Vec<bool> = lines
            .split_inclusive(|&b| b == b'\n')
            .map(|l| append_response_field(l, &mut scratch, &mut out))
            .collect();
        assert_eq!(appended, [true, false, false, false, true, true]);
        let decoded = Responses::decode(out.as_slice()).unwrap();
        let Some(record::Record::Response(r)) = rec.record else {
            panic!()
        };
        assert_eq!(decoded.response[0], r);
        assert_eq!(decoded.response.len(), 3);
        let text = |i: usize| match &decoded.response[i].response {
            Some(crate::sqlflow::response::Response::Message(m)) => m.message.clone(),
            other => panic!("not a message: {other:?}"),
        };
        assert_eq!(text(1), "plain text");
        assert!(text(2).starts_with("skipped a corrupt output line: corrupt record line"));
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

//! Turns a piece of a step's pod log (read with `timestamps=true`) into responses.
//!
//! Each line is `<RFC3339Nano timestamp> <what the step wrote>`; what the step wrote is
//! the record stream the local runner reads from its output file, decoded by the same
//! [`decode_line`], so a result looks the same whichever runner produced it. Two
//! differences come from the pod log merging stdout and stderr:
//! - after a `Failure` record nothing more of the step is read: the step then only
//!   reports the failure on stderr, which the runner turns into the job's status;
//! - lines starting `sqlflow-step: ` are the step binary's own diagnostics on stderr
//!   (the local runner keeps them in a separate file); they are consumed, not shown.

use std::str::FromStr;

use sqlflow_proto::{
    sqlflow::{Message, Response, message::Kind, response},
    step::{Failure, record},
    stream::{Line, decode_line},
};

use crate::cursor::{LogPos, Stamp};

/// The step binary's prefix on its stderr diagnostics.
const STEP_DIAGNOSTIC: &str = "sqlflow-step: ";

#[derive(Debug, Default)]
pub struct LogPage {
    pub responses: Vec<Response>,
    /// Where the next read starts.
    pub pos: LogPos,
    /// The step's `Failure` record, if this page held it. The step's log ends there.
    pub failure: Option<Failure>,
    /// Whether any line after the starting position was consumed.
    pub progressed: bool,
    /// Whether the page ended on a line boundary with nothing left unconsumed in it.
    pub consumed_all: bool,
    /// Bytes of lines skipped as already delivered before the first new one.
    pub skipped_bytes: u64,
}

/// Reads the lines of `body` that follow `from`.
///
/// `body` is what the API returned for `sinceTime = from`'s second (or from the start).
/// With `cut`, the body may stop mid-line (`limitBytes`), so a last line without its
/// newline is left for the next read; without it and with `ended` (the container has
/// terminated), such a line is complete.
pub fn read_page(body: &[u8], from: LogPos, cut: bool, ended: bool) -> LogPage {
    let mut page = LogPage {
        pos: from,
        consumed_all: true,
        ..LogPage::default()
    };
    let mut same_skipped = 0u32;
    let mut prev_stamp = from.last;
    let mut rest = body;
    while !rest.is_empty() {
        let (line, complete, next) = match rest.iter().position(|&b| b == b'\n') {
            Some(i) => (&rest[..i], true, &rest[i + 1..]),
            None => (rest, ended && !cut, &rest[rest.len()..]),
        };
        if !complete {
            page.consumed_all = false;
            break;
        }
        let line_bytes = (rest.len() - next.len()) as u64;
        rest = next;
        let (stamp, content) = split_stamp(line);
        // A line without a timestamp cannot happen with timestamps=true; placing it with
        // its predecessor keeps positions deterministic if it ever does.
        let Some(stamp) = stamp.or(prev_stamp) else {
            page.skipped_bytes += line_bytes;
            continue;
        };
        prev_stamp = Some(stamp);
        if let Some(last) = from.last
            && (stamp < last || (stamp == last && same_skipped < from.count))
        {
            if stamp == last {
                same_skipped += 1;
            }
            if !page.progressed {
                page.skipped_bytes += line_bytes;
            }
            continue;
        }
        page.progressed = true;
        page.pos = if page.pos.last == Some(stamp) {
            LogPos {
                last: Some(stamp),
                count: page.pos.count + 1,
            }
        } else {
            LogPos {
                last: Some(stamp),
                count: 1,
            }
        };
        match decode_line(content) {
            Ok(Line::Record(rec)) => match rec.record {
                Some(record::Record::Response(r)) => page.responses.push(r),
                Some(record::Record::Failure(f)) => {
                    page.failure = Some(f);
                    break;
                }
                Some(record::Record::Start(_)) | None => {}
            },
            Ok(Line::Text(text)) if text.starts_with(STEP_DIAGNOSTIC) => {}
            Ok(Line::Text(text)) => page.responses.push(message(text, Kind::Log)),
            Err(e) => page.responses.push(message(
                format!("skipped a corrupt output line: {e}"),
                Kind::Error,
            )),
        }
    }
    page
}

pub fn message(text: String, kind: Kind) -> Response {
    Response {
        response: Some(response::Response::Message(Message {
            message: text,
            kind: kind as i32,
        })),
    }
}

/// Splits `2024-01-02T03:04:05.123456789Z rest` into the timestamp and the rest.
fn split_stamp(line: &[u8]) -> (Option<Stamp>, &[u8]) {
    let Some(sp) = line.iter().position(|&b| b == b' ') else {
        return (parse_stamp(line), &line[line.len()..]);
    };
    match parse_stamp(&line[..sp]) {
        Some(s) => (Some(s), &line[sp + 1..]),
        None => (None, line),
    }
}

pub fn parse_stamp(s: &[u8]) -> Option<Stamp> {
    let s = std::str::from_utf8(s).ok()?;
    let t = jiff::Timestamp::from_str(s).ok()?;
    Some(Stamp {
        secs: t.as_second(),
        nanos: u32::try_from(t.subsec_nanosecond()).ok()?,
    })
}

/// The step's failure as the local runner words it (the engine's `ProgramFailure`),
/// so a failed job reads the same on both runners.
pub fn failure_text(f: &Failure, statement_count: usize) -> String {
    if f.setup {
        return f.error.clone();
    }
    let one_line = f.statement.split_whitespace().collect::<Vec<_>>().join(" ");
    let shown: String = one_line.chars().take(160).collect();
    let ellipsis = if shown.len() < one_line.len() {
        "..."
    } else {
        ""
    };
    format!(
        "statement {} of {statement_count} failed: {}\n  in: {shown}{ellipsis}",
        f.statement_index + 1,
        f.error
    )
}

/// What a failed step said about its failure: its `Failure` record if the log holds
/// one, else its diagnostics on stderr (a step that failed before running anything,
/// say because the database is unreachable).
pub fn failure_from_log(body: &[u8], statement_count: usize) -> Option<String> {
    let mut diagnostics: Vec<String> = Vec::new();
    for line in body.split(|&b| b == b'\n') {
        let (_, content) = split_stamp(line);
        match decode_line(content) {
            Ok(Line::Record(rec)) => {
                if let Some(record::Record::Failure(f)) = rec.record {
                    return Some(failure_text(&f, statement_count));
                }
            }
            Ok(Line::Text(t)) => {
                if let Some(d) = t.strip_prefix(STEP_DIAGNOSTIC) {
                    diagnostics.clear();
                    diagnostics.push(d.to_string());
                } else if !diagnostics.is_empty() && !t.is_empty() {
                    diagnostics.push(t);
                }
            }
            Err(_) => {}
        }
    }
    (!diagnostics.is_empty()).then(|| diagnostics.join("\n"))
}

#[cfg(test)]
mod tests {
    use sqlflow_proto::{
        sqlflow::{Head, Row},
        step::{Record, StatementStart},
        stream::encode_record,
    };

    use super::*;

    fn rec(r: record::Record) -> Vec<u8> {
        let mut out = Vec::new();
        encode_record(&Record { record: Some(r) }, &mut out);
        out.pop();
        out
    }

    fn head(name: &str) -> Vec<u8> {
        rec(record::Record::Response(Response {
            response: Some(response::Response::Head(Head {
                column_names: vec![name.into()],
                column_types: vec![],
            })),
        }))
    }

    fn line(ts: &str, content: &[u8]) -> Vec<u8> {
        let mut l = ts.as_bytes().to_vec();
        l.push(b' ');
        l.extend_from_slice(content);
        l.push(b'\n');
        l
    }

    fn texts(page: &LogPage) -> Vec<String> {
        page.responses
            .iter()
            .map(|r| match &r.response {
                Some(response::Response::Message(m)) => m.message.clone(),
                Some(response::Response::Head(h)) => format!("head {}", h.column_names[0]),
                other => format!("{other:?}"),
            })
            .collect()
    }

    #[test]
    fn timestamps_parse_at_any_precision() {
        let s = parse_stamp(b"2024-01-02T03:04:05.123456789Z").unwrap();
        assert_eq!(s.nanos, 123_456_789);
        assert_eq!(parse_stamp(b"2024-01-02T03:04:05Z").unwrap().nanos, 0);
        // Go's RFC3339Nano drops trailing zeros.
        assert_eq!(
            parse_stamp(b"2024-01-02T03:04:05.5Z").unwrap().nanos,
            500_000_000
        );
        assert!(parse_stamp(b"yesterday").is_none());
    }

    #[test]
    fn lines_with_equal_timestamps_are_counted_not_lost() {
        let mut body = Vec::new();
        body.extend(line("2024-01-02T03:04:05.1Z", b"one"));
        body.extend(line("2024-01-02T03:04:05.2Z", b"two"));
        body.extend(line("2024-01-02T03:04:05.2Z", b"three"));
        // The read stopped at its byte limit in the middle of "three".
        let first = read_page(&body[..body.len() - 3], LogPos::default(), true, false);
        assert_eq!(texts(&first), ["one", "two"]);
        assert_eq!(first.pos.count, 1);
        // The same second is read again; what was delivered is skipped.
        body.extend(line("2024-01-02T03:04:05.2Z", b"four"));
        body.extend(line("2024-01-02T03:04:06Z", b"five"));
        let second = read_page(&body, first.pos, false, false);
        assert_eq!(texts(&second), ["three", "four", "five"]);
        let third = read_page(&body, second.pos, false, false);
        assert!(third.responses.is_empty() && !third.progressed);
    }

    #[test]
    fn partial_lines_wait_unless_the_container_ended() {
        let body = b"2024-01-02T03:04:05Z done\n2024-01-02T03:04:06Z no newline";
        let running = read_page(body, LogPos::default(), false, false);
        assert_eq!(texts(&running), ["done"]);
        assert!(!running.consumed_all);
        let ended = read_page(body, LogPos::default(), false, true);
        assert_eq!(texts(&ended), ["done", "no newline"]);
        assert!(ended.consumed_all);
        let cut = read_page(body, LogPos::default(), true, true);
        assert_eq!(texts(&cut), ["done"]);
    }

    #[test]
    fn records_become_responses_and_the_failure_ends_the_step() {
        let mut body = Vec::new();
        body.extend(line(
            "2024-01-02T03:04:05Z",
            &rec(record::Record::Start(StatementStart {
                statement_index: 1,
                statement_count: 3,
                statement: "SELECT x".into(),
            })),
        ));
        body.extend(line("2024-01-02T03:04:05Z", &head("x")));
        body.extend(line("2024-01-02T03:04:05Z", b"epoch 1 loss 0.5"));
        body.extend(line(
            "2024-01-02T03:04:06Z",
            &rec(record::Record::Failure(Failure {
                statement_index: 1,
                statement: "SELECT x".into(),
                error: "no such column: x".into(),
                setup: false,
            })),
        ));
        body.extend(line(
            "2024-01-02T03:04:06Z",
            b"sqlflow-step: statement 2 of 3 failed",
        ));
        body.extend(line("2024-01-02T03:04:06Z", b"  in: SELECT x"));
        let page = read_page(&body, LogPos::default(), false, true);
        assert_eq!(texts(&page), ["head x", "epoch 1 loss 0.5"]);
        let f = page.failure.unwrap();
        assert_eq!(
            failure_text(&f, 3),
            "statement 2 of 3 failed: no such column: x\n  in: SELECT x"
        );
        assert_eq!(
            failure_from_log(&body, 3).unwrap(),
            "statement 2 of 3 failed: no such column: x\n  in: SELECT x"
        );
    }

    #[test]
    fn diagnostics_are_consumed_and_explain_an_early_failure() {
        let mut body = Vec::new();
        body.extend(line(
            "2024-01-02T03:04:05Z",
            b"sqlflow-step: cannot connect to db:3306",
        ));
        let page = read_page(&body, LogPos::default(), false, true);
        assert!(page.responses.is_empty());
        assert!(page.progressed && page.consumed_all);
        assert_eq!(
            failure_from_log(&body, 2).unwrap(),
            "cannot connect to db:3306"
        );
        assert_eq!(failure_from_log(b"2024-01-02T03:04:05Z hello\n", 2), None);
    }

    #[test]
    fn corrupt_records_are_reported_not_fatal() {
        let body = line("2024-01-02T03:04:05Z", b"SQLFLOW/1 !!!");
        let page = read_page(&body, LogPos::default(), false, false);
        assert!(texts(&page)[0].starts_with("skipped a corrupt output line"));
    }

    #[test]
    fn rows_survive_base64_and_long_lines() {
        let row = rec(record::Record::Response(Response {
            response: Some(response::Response::Row(Row { cells: vec![] })),
        }));
        let body = line("2024-01-02T03:04:05.000000001Z", &row);
        let page = read_page(&body, LogPos::default(), false, false);
        assert!(matches!(
            page.responses[0].response,
            Some(response::Response::Row(_))
        ));
        assert_eq!(
            page.pos.last,
            Some(Stamp {
                secs: 1_704_164_645,
                nanos: 1
            })
        );
    }
}

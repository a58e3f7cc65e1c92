use sqlflow_proto::{
    sqlflow::{Head, Message, Response, Row, message::Kind, response},
    step::{Failure, Record, StatementStart, record},
    stream::encode_record,
};

use super::{
    MAX_FAILURE_TEXT, MAX_RECORD_BYTES,
    failure::{failure_from_log, failure_text},
    lines::{Flow, Lines, LogLine},
    page::{Budget, LogPage, parse_stamp, read_page},
};
use crate::cursor::{LogPos, MAX_STAMP_SECS, Stamp};

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

fn all() -> Budget {
    Budget::new(u64::MAX)
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
    let first = read_page(
        &body[..body.len() - 3],
        LogPos::default(),
        true,
        false,
        &mut all(),
    );
    assert_eq!(texts(&first), ["one", "two"]);
    assert_eq!(first.pos.count, 1);
    // The same second is read again; what was delivered is skipped.
    body.extend(line("2024-01-02T03:04:05.2Z", b"four"));
    body.extend(line("2024-01-02T03:04:06Z", b"five"));
    let second = read_page(&body, first.pos, false, false, &mut all());
    assert_eq!(texts(&second), ["three", "four", "five"]);
    let third = read_page(&body, second.pos, false, false, &mut all());
    assert!(third.responses.is_empty() && !third.progressed);
}

#[test]
fn partial_lines_wait_unless_the_container_ended() {
    let body = b"2024-01-02T03:04:05Z done\n2024-01-02T03:04:06Z no newline";
    let running = read_page(body, LogPos::default(), false, false, &mut all());
    assert_eq!(texts(&running), ["done"]);
    assert!(!running.at_end);
    let ended = read_page(body, LogPos::default(), false, true, &mut all());
    assert_eq!(texts(&ended), ["done", "no newline"]);
    assert!(ended.at_end);
    let cut = read_page(body, LogPos::default(), true, true, &mut all());
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
    let page = read_page(&body, LogPos::default(), false, true, &mut all());
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
    let page = read_page(&body, LogPos::default(), false, true, &mut all());
    assert!(page.responses.is_empty());
    assert!(page.progressed && page.at_end);
    assert_eq!(
        failure_from_log(&body, 2).unwrap(),
        "cannot connect to db:3306"
    );
    assert_eq!(failure_from_log(b"2024-01-02T03:04:05Z hello\n", 2), None);
}

#[test]
fn corrupt_records_are_reported_not_fatal() {
    let body = line("2024-01-02T03:04:05Z", b"SQLFLOW/1 !!!");
    let page = read_page(&body, LogPos::default(), false, false, &mut all());
    assert!(texts(&page)[0].starts_with("skipped a corrupt output line"));
}

#[test]
fn rows_survive_base64_and_long_lines() {
    let row = rec(record::Record::Response(Response {
        response: Some(response::Response::Row(Row { cells: vec![] })),
    }));
    let body = line("2024-01-02T03:04:05.000000001Z", &row);
    let page = read_page(&body, LogPos::default(), false, false, &mut all());
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

#[test]
fn a_page_ends_within_its_budget_and_the_next_starts_there() {
    let mut body = Vec::new();
    for (i, word) in ["one", "two", "three", "four"].iter().enumerate() {
        body.extend(line(
            &format!("2024-01-02T03:04:0{i}Z"),
            &[b"x".repeat(100), word.as_bytes().to_vec()].concat(),
        ));
    }
    let mut budget = Budget::new(300);
    let first = read_page(&body, LogPos::default(), false, true, &mut budget);
    assert_eq!(first.responses.len(), 2);
    assert!(!first.at_end);
    let second = read_page(&body, first.pos, false, true, &mut Budget::new(300));
    assert_eq!(texts(&second).len(), 2);
    assert!(texts(&second)[1].ends_with("four") && second.at_end);
    // The first response of a reply is taken whatever the budget.
    let tiny = read_page(&body, LogPos::default(), false, true, &mut Budget::new(1));
    assert_eq!(tiny.responses.len(), 1);
}

#[test]
fn lines_are_split_across_chunks_and_bounded() {
    let mut lines = Lines::new(4);
    let mut got: Vec<(Vec<u8>, u64)> = Vec::new();
    let mut f = |l: LogLine<'_>| {
        got.push((l.bytes.to_vec(), l.dropped));
        Flow::Go
    };
    for chunk in [&b"ab"[..], b"c\nlonger than four\n", b"", b"x\ny"] {
        let (used, flow) = lines.feed(chunk, &mut f);
        assert_eq!((used, flow), (chunk.len(), Flow::Go));
    }
    assert_eq!(
        got,
        [
            (b"abc".to_vec(), 0),
            (b"long".to_vec(), 12),
            (b"x".to_vec(), 0)
        ]
    );
    let rest = lines.rest().unwrap();
    assert_eq!((rest.bytes, rest.dropped), (&b"y"[..], 0));
    // A consumer that stops leaves the rest of the chunk unused.
    let mut lines = Lines::new(100);
    let (used, flow) = lines.feed(b"a\nb\n", &mut |_| Flow::Stop);
    assert_eq!((used, flow), (2, Flow::Stop));
}

#[test]
fn lines_beyond_the_record_limit_are_never_held_whole() {
    let stamp = "2024-01-02T03:04:05Z";
    let huge_row = rec(record::Record::Response(Response {
        response: Some(response::Response::Message(Message {
            message: "r".repeat(MAX_RECORD_BYTES),
            kind: Kind::Log as i32,
        })),
    }));
    let huge_start = rec(record::Record::Start(StatementStart {
        statement_index: 0,
        statement_count: 1,
        statement: "s".repeat(MAX_RECORD_BYTES),
    }));
    let huge_failure = rec(record::Record::Failure(Failure {
        statement_index: 0,
        statement: "s".repeat(MAX_RECORD_BYTES),
        error: "boom".into(),
        setup: false,
    }));
    let mut long_text = b"t".repeat(MAX_RECORD_BYTES + 10);
    long_text.extend(b" mysql://u:pw@h");

    // A statement start is skipped, text is cut, a response cannot be delivered.
    let mut body = Vec::new();
    body.extend(line(stamp, &huge_start));
    body.extend(line(stamp, &long_text));
    body.extend(line(stamp, &huge_row));
    let page = read_page(&body, LogPos::default(), false, true, &mut all());
    assert_eq!(page.responses.len(), 1);
    assert!(texts(&page)[0].ends_with(&format!(
        "... (a line of {} bytes, cut to {MAX_RECORD_BYTES} bytes)",
        long_text.len()
    )));
    assert_eq!(page.too_long, Some(huge_row.len() as u64));
    assert_eq!(
        page.pos.count, 2,
        "positioned before the record it cannot deliver"
    );
    // A failure record too long to read still ends the step.
    let body = line(stamp, &huge_failure);
    let page = read_page(&body, LogPos::default(), false, true, &mut all());
    assert!(page.failed && page.failure.is_none() && page.progressed);
}

#[test]
fn timestamps_outside_what_a_cursor_carries_are_no_timestamps() {
    assert!(parse_stamp(b"1969-12-31T23:59:59Z").is_none());
    assert!(parse_stamp(b"1970-01-01T00:00:00Z").is_some());
    assert!(parse_stamp(b"9999-12-30T22:00:00.999999999Z").is_some());
    assert!(parse_stamp(b"9999-12-30T22:00:01Z").is_none());
    // Every second a cursor may name can be asked for as `sinceTime`.
    assert!(jiff::Timestamp::from_second(MAX_STAMP_SECS).is_ok());
    assert!(parse_stamp(b"-000001-01-01T00:00:00Z").is_none());
}

#[test]
fn failure_texts_are_bounded_redacted_and_check_their_index() {
    let f = |i: u32, error: &str| Failure {
        statement_index: i,
        statement: "SELECT 1".into(),
        error: error.into(),
        setup: false,
    };
    let t = failure_text(&f(u32::MAX, "boom"), 2);
    assert!(
        t.contains("statement_index 4294967295") && t.contains("boom"),
        "{t}"
    );
    let t = failure_text(
        &f(0, &format!("at mysql://u:pw@h {}", "e".repeat(1 << 20))),
        2,
    );
    assert!(t.len() < MAX_FAILURE_TEXT + 40, "{}", t.len());
    assert!(
        t.contains("mysql://u:***@h") && !t.contains(":pw@"),
        "{}",
        &t[..80]
    );
    let mut body = line(
        "2024-01-02T03:04:05Z",
        b"sqlflow-step: cannot reach mysql://u:pw@h",
    );
    body.extend(line("2024-01-02T03:04:05Z", &b"d".repeat(1 << 20)));
    let t = failure_from_log(&body, 1).unwrap();
    assert!(
        t.len() < MAX_FAILURE_TEXT + 40 && !t.contains(":pw@"),
        "{}",
        t.len()
    );
}

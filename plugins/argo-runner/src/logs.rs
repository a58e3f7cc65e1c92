//! Turns a step's pod log (read with `timestamps=true`) into responses.
//!
//! Each line is `<RFC3339Nano timestamp> <what the step wrote>`; what the step wrote is
//! the record stream the local runner reads from its output file, decoded by the same
//! [`decode_line`], so a result looks the same whichever runner produced it. Two
//! differences come from the pod log merging stdout and stderr:
//! - after a `Failure` record nothing more of the step is read: the step then only
//!   reports the failure on stderr, which the runner turns into the job's status;
//! - lines starting `sqlflow-step: ` are the step binary's own diagnostics on stderr
//!   (the local runner keeps them in a separate file); they are consumed, not shown.
//!
//! A log is read as a stream, one line at a time ([`Lines`]): memory holds the page
//! being built and one line of at most [`MAX_RECORD_BYTES`], however long the log, the
//! line, or the run of lines already delivered. A page is built within a [`Budget`],
//! so every Fetch reply fits what a default gRPC client accepts (4 MiB).

use std::str::FromStr;

use base64::{Engine as _, engine::general_purpose::STANDARD_NO_PAD};
use sqlflow_proto::{
    sqlflow::{Message, Response, message::Kind, response},
    step::{Failure, record},
    stream::{Line, RECORD_PREFIX, decode_line},
};

use crate::{
    cursor::{LogPos, MAX_STAMP_SECS, Stamp},
    text::{cap, redact},
};

/// The step binary's prefix on its stderr diagnostics.
const STEP_DIAGNOSTIC: &str = "sqlflow-step: ";

/// The longest record (a log line after its timestamp) a reply carries. Not the page
/// budget: Start and EndOfExecution records quote their whole statement, so a program
/// the host accepts (1 MiB by default, 4/3 of that in base64) must fit; and below the
/// 4 MiB a default gRPC client accepts, with room for the status.
pub const MAX_RECORD_BYTES: usize = 3 << 20;

/// Room for `<RFC3339Nano timestamp> ` before a record.
const STAMP_ROOM: usize = 64;

/// The longest line [`Lines`] keeps: a record and its timestamp.
pub const MAX_LINE_BYTES: usize = MAX_RECORD_BYTES + STAMP_ROOM;

/// The longest failure text a status carries (the step's error may quote anything).
pub const MAX_FAILURE_TEXT: usize = 4 << 10;

/// Whether a line consumer wants more.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    Go,
    Stop,
}

/// How a streamed read ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadEnd {
    /// The log ended (for now, if the container still runs).
    Eof,
    /// The consumer stopped.
    Stopped,
    /// The read stopped at its transfer limit: the last line may be incomplete.
    Cut,
}

/// One line of a log, without its newline: its first bytes, and how many more it had.
#[derive(Debug, Clone, Copy)]
pub struct LogLine<'a> {
    pub bytes: &'a [u8],
    /// Bytes beyond the limit, counted but not kept.
    pub dropped: u64,
}

/// Splits a byte stream into lines, keeping at most `max` bytes of each.
pub struct Lines {
    max: usize,
    line: Vec<u8>,
    dropped: u64,
}

impl Lines {
    pub fn new(max: usize) -> Lines {
        Lines {
            max,
            line: Vec::new(),
            dropped: 0,
        }
    }

    /// Feeds the next bytes of the stream, calling `f` with each line they complete.
    /// Returns how many bytes were used: all of them, unless `f` said stop.
    pub fn feed(
        &mut self,
        mut chunk: &[u8],
        f: &mut (dyn FnMut(LogLine<'_>) -> Flow + Send),
    ) -> (usize, Flow) {
        let mut used = 0;
        while !chunk.is_empty() {
            let (piece, newline) = match chunk.iter().position(|&b| b == b'\n') {
                Some(i) => (&chunk[..i], true),
                None => (chunk, false),
            };
            let keep = piece.len().min(self.max.saturating_sub(self.line.len()));
            self.line.extend_from_slice(&piece[..keep]);
            self.dropped += (piece.len() - keep) as u64;
            let n = piece.len() + usize::from(newline);
            used += n;
            chunk = &chunk[n..];
            if newline {
                let flow = f(LogLine {
                    bytes: &self.line,
                    dropped: self.dropped,
                });
                self.line.clear();
                self.dropped = 0;
                if flow == Flow::Stop {
                    return (used, Flow::Stop);
                }
            }
        }
        (used, Flow::Go)
    }

    /// What followed the last newline, if anything.
    pub fn rest(&self) -> Option<LogLine<'_>> {
        (!self.line.is_empty() || self.dropped > 0).then_some(LogLine {
            bytes: &self.line,
            dropped: self.dropped,
        })
    }
}

/// What one Fetch reply may still carry, in bytes of responses. The first response of
/// a reply is always taken (it is at most [`MAX_RECORD_BYTES`]), so a reply makes
/// progress whatever the budget.
#[derive(Debug)]
pub struct Budget {
    left: u64,
    took_any: bool,
}

impl Budget {
    pub fn new(bytes: u64) -> Budget {
        Budget {
            left: bytes,
            took_any: false,
        }
    }

    /// Takes `cost` if it fits (or is the reply's first).
    pub fn take(&mut self, cost: u64) -> bool {
        if self.took_any && cost > self.left {
            return false;
        }
        self.left = self.left.saturating_sub(cost);
        self.took_any = true;
        true
    }

    /// Charges what the reply carries anyway (messages the runner adds).
    pub fn charge(&mut self, cost: u64) {
        self.left = self.left.saturating_sub(cost);
    }

    pub fn has_room(&self) -> bool {
        self.left > 0
    }
}

#[derive(Debug, Default)]
pub struct LogPage {
    pub responses: Vec<Response>,
    /// Where the next read starts.
    pub pos: LogPos,
    /// The step's `Failure` record, if this page held one it could read.
    pub failure: Option<Failure>,
    /// The page held the step's `Failure` record (readable or too long): the step's
    /// log ends there.
    pub failed: bool,
    /// Whether any line after the starting position was consumed.
    pub progressed: bool,
    /// Every line of the log was consumed (as far as the log went when read).
    pub at_end: bool,
    /// A response record of this many bytes, more than [`MAX_RECORD_BYTES`], is next:
    /// it cannot be delivered.
    pub too_long: Option<u64>,
}

/// What one new line amounts to.
enum Outcome {
    Response(Response, u64),
    Nothing,
    Failure(Option<Failure>),
    TooLong(u64),
}

/// Builds the page of a log after a position, one line at a time.
pub struct PageReader {
    from: LogPos,
    ended: bool,
    /// Stop at the first new line: a probe only asks whether there is one.
    first_only: bool,
    page: LogPage,
    same_skipped: u32,
    prev_stamp: Option<Stamp>,
    stopped: bool,
}

impl PageReader {
    /// A page after `from`; `ended`: the container has terminated, so a last line
    /// without its newline is complete.
    pub fn new(from: LogPos, ended: bool) -> PageReader {
        PageReader {
            from,
            ended,
            first_only: false,
            page: LogPage {
                pos: from,
                ..LogPage::default()
            },
            same_skipped: 0,
            prev_stamp: from.last,
            stopped: false,
        }
    }

    /// A reader that stops at the first line after `from`.
    pub fn probe(from: LogPos, ended: bool) -> PageReader {
        PageReader {
            first_only: true,
            ..PageReader::new(from, ended)
        }
    }

    /// Where the page starts.
    pub fn from(&self) -> LogPos {
        self.from
    }

    /// Offers the next complete line.
    pub fn line(&mut self, l: LogLine<'_>, budget: &mut Budget) -> Flow {
        let (stamp, content) = split_stamp(l.bytes);
        // A line without a timestamp cannot happen with timestamps=true; placing it with
        // its predecessor keeps positions deterministic if it ever does.
        let Some(stamp) = stamp.or(self.prev_stamp) else {
            return Flow::Go;
        };
        self.prev_stamp = Some(stamp);
        if let Some(last) = self.from.last
            && (stamp < last || (stamp == last && self.same_skipped < self.from.count))
        {
            if stamp == last {
                self.same_skipped += 1;
            }
            return Flow::Go;
        }
        let outcome = if l.dropped > 0 || content.len() > MAX_RECORD_BYTES {
            oversized(content, content.len() as u64 + l.dropped)
        } else {
            decoded(content)
        };
        match outcome {
            Outcome::TooLong(bytes) => {
                self.page.too_long = Some(bytes);
                return self.stop();
            }
            Outcome::Response(r, cost) => {
                // Bytes of log, timestamp included, as fetch_page_bytes counts them; or
                // the response's own size when that is larger.
                let cost = cost.max(l.bytes.len() as u64 + 1);
                if !budget.take(cost) {
                    return self.stop();
                }
                self.advance(stamp);
                self.page.responses.push(r);
            }
            Outcome::Nothing => self.advance(stamp),
            Outcome::Failure(f) => {
                self.advance(stamp);
                self.page.failure = f;
                self.page.failed = true;
                return self.stop();
            }
        }
        if self.first_only {
            return self.stop();
        }
        Flow::Go
    }

    fn stop(&mut self) -> Flow {
        self.stopped = true;
        Flow::Stop
    }

    fn advance(&mut self, stamp: Stamp) {
        self.page.progressed = true;
        self.page.pos = if self.page.pos.last == Some(stamp) {
            LogPos {
                last: Some(stamp),
                count: self.page.pos.count.saturating_add(1),
            }
        } else {
            LogPos {
                last: Some(stamp),
                count: 1,
            }
        };
    }

    /// The read ended as `end` says, with `rest` after its last newline.
    pub fn finish(
        mut self,
        rest: Option<LogLine<'_>>,
        end: ReadEnd,
        budget: &mut Budget,
    ) -> LogPage {
        if self.stopped || end == ReadEnd::Stopped {
            return self.page;
        }
        if let Some(rest) = rest {
            // Without a newline a line is complete only when nothing can follow it.
            if !(self.ended && end == ReadEnd::Eof) || self.line(rest, budget) == Flow::Stop {
                return self.page;
            }
        }
        self.page.at_end = end == ReadEnd::Eof;
        self.page
    }
}

/// A line within the limit, decoded.
fn decoded(content: &[u8]) -> Outcome {
    let cost = content.len() as u64;
    match decode_line(content) {
        Ok(Line::Record(rec)) => match rec.record {
            Some(record::Record::Response(r)) => Outcome::Response(redact_response(r), cost),
            Some(record::Record::Failure(f)) => Outcome::Failure(Some(f)),
            Some(record::Record::Start(_)) | None => Outcome::Nothing,
        },
        Ok(Line::Text(text)) if text.starts_with(STEP_DIAGNOSTIC) => Outcome::Nothing,
        Ok(Line::Text(text)) => {
            // Charged as shown: "***" can be longer than the password it hides.
            let shown = redact(&text).into_owned();
            let cost = cost.max(shown.len() as u64);
            Outcome::Response(message(shown, Kind::Log), cost)
        }
        Err(e) => Outcome::Response(
            message(format!("skipped a corrupt output line: {e}"), Kind::Error),
            cost,
        ),
    }
}

/// A line longer than the limit, of which `content` is the beginning. What it is
/// decides: a response cannot be delivered; a statement start (it quotes the whole
/// statement) carries nothing for the client; a failure record ends the step (its
/// account then comes from the diagnostics the step writes after it); text is cut.
fn oversized(content: &[u8], bytes: u64) -> Outcome {
    if let Some(b64) = content.strip_prefix(RECORD_PREFIX) {
        // The first base64 quadruple holds the record's first byte: its field's key.
        let key = b64
            .get(..4)
            .and_then(|q| STANDARD_NO_PAD.decode(q).ok())
            .and_then(|b| b.first().copied());
        return match key.map(|k| k >> 3) {
            Some(2) => Outcome::Failure(None),
            Some(3) => Outcome::Nothing,
            _ => Outcome::TooLong(bytes),
        };
    }
    if content.starts_with(STEP_DIAGNOSTIC.as_bytes()) {
        return Outcome::Nothing;
    }
    let kept = &content[..content.len().min(MAX_RECORD_BYTES)];
    let text = format!(
        "{} ... (a line of {bytes} bytes, cut to {} bytes)",
        redact(&String::from_utf8_lossy(kept)),
        kept.len()
    );
    let cost = text.len() as u64;
    Outcome::Response(message(text, Kind::Log), cost)
}

/// Messages the step wrote may quote its connection string.
fn redact_response(mut r: Response) -> Response {
    if let Some(response::Response::Message(m)) = &mut r.response
        && let std::borrow::Cow::Owned(clean) = redact(&m.message)
    {
        m.message = clean;
    }
    r
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

/// A log line's timestamp, if it is one a cursor can carry (0 to year 9999): a kubelet
/// clock outside that range is treated as no timestamp at all.
pub fn parse_stamp(s: &[u8]) -> Option<Stamp> {
    if s.len() > STAMP_ROOM {
        return None;
    }
    let s = std::str::from_utf8(s).ok()?;
    let t = jiff::Timestamp::from_str(s).ok()?;
    let secs = t.as_second();
    if !(0..=MAX_STAMP_SECS).contains(&secs) {
        return None;
    }
    Some(Stamp {
        secs,
        nanos: u32::try_from(t.subsec_nanosecond()).ok()?,
    })
}

/// The step's failure as the local runner words it (the engine's `ProgramFailure`),
/// so a failed job reads the same on both runners; without passwords, and bounded.
pub fn failure_text(f: &Failure, statement_count: usize) -> String {
    if f.setup {
        return cap(&redact(&f.error), MAX_FAILURE_TEXT);
    }
    let one_line = f.statement.split_whitespace().collect::<Vec<_>>().join(" ");
    let shown: String = one_line.chars().take(160).collect();
    let ellipsis = if shown.len() < one_line.len() {
        "..."
    } else {
        ""
    };
    let index = f.statement_index as usize;
    let text = if index < statement_count {
        format!(
            "statement {} of {statement_count} failed: {}\n  in: {shown}{ellipsis}",
            index + 1,
            f.error
        )
    } else {
        format!(
            "a statement failed: {}\n  in: {shown}{ellipsis}\n  (the step's Failure record \
             gives statement_index {}, but the job has {statement_count} statements)",
            f.error, f.statement_index
        )
    };
    cap(&redact(&text), MAX_FAILURE_TEXT)
}

/// What a failed step said about its failure, from its log's last lines: its `Failure`
/// record if they hold one, else its diagnostics on stderr (a step that failed before
/// running anything, say because the database is unreachable).
pub struct FailureScan {
    statements: usize,
    found: Option<String>,
    diagnostics: String,
}

impl FailureScan {
    pub fn new(statements: usize) -> FailureScan {
        FailureScan {
            statements,
            found: None,
            diagnostics: String::new(),
        }
    }

    /// The next line (or the beginning of a line too long to keep).
    pub fn line(&mut self, line: &[u8]) {
        if self.found.is_some() {
            return;
        }
        let (_, content) = split_stamp(line);
        match decode_line(content) {
            Ok(Line::Record(rec)) => {
                if let Some(record::Record::Failure(f)) = rec.record {
                    self.found = Some(failure_text(&f, self.statements));
                }
            }
            Ok(Line::Text(t)) => {
                if let Some(d) = t.strip_prefix(STEP_DIAGNOSTIC) {
                    self.diagnostics.clear();
                    self.push(d);
                } else if !self.diagnostics.is_empty() && !t.is_empty() {
                    self.diagnostics.push('\n');
                    self.push(&t);
                }
            }
            Err(_) => {}
        }
    }

    fn push(&mut self, s: &str) {
        // Room for the cut mark: the whole is capped once more at the end.
        let room = (MAX_FAILURE_TEXT + 1).saturating_sub(self.diagnostics.len());
        if room > 0 {
            self.diagnostics.push_str(&cap(s, room));
        }
    }

    pub fn finish(self) -> Option<String> {
        self.found.or_else(|| {
            (!self.diagnostics.is_empty())
                .then(|| cap(&redact(&self.diagnostics), MAX_FAILURE_TEXT))
        })
    }
}

/// [`FailureScan`] over a whole log held in memory.
pub fn failure_from_log(body: &[u8], statement_count: usize) -> Option<String> {
    let mut scan = FailureScan::new(statement_count);
    for line in body.split(|&b| b == b'\n') {
        scan.line(line);
    }
    scan.finish()
}

/// [`PageReader`] over a log held in memory (`cut`: it stopped at a read limit).
pub fn read_page(
    body: &[u8],
    from: LogPos,
    cut: bool,
    ended: bool,
    budget: &mut Budget,
) -> LogPage {
    let mut reader = PageReader::new(from, ended);
    let mut lines = Lines::new(MAX_LINE_BYTES);
    let (_, flow) = lines.feed(body, &mut |l| reader.line(l, budget));
    let end = match flow {
        Flow::Stop => ReadEnd::Stopped,
        Flow::Go if cut => ReadEnd::Cut,
        Flow::Go => ReadEnd::Eof,
    };
    reader.finish(lines.rest(), end, budget)
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
}

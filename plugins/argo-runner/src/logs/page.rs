//! A page of a log: the responses after a position, within a reply's budget, with the
//! step's records decoded and its diagnostics consumed.

use std::str::FromStr;

use base64::{Engine as _, engine::general_purpose::STANDARD_NO_PAD};
use sqlflow_proto::{
    sqlflow::{Message, Response, message::Kind, response},
    step::{Failure, record},
    stream::{Line, RECORD_PREFIX, decode_line},
};

use super::{
    MAX_LINE_BYTES, MAX_RECORD_BYTES, STAMP_ROOM, STEP_DIAGNOSTIC,
    lines::{Flow, Lines, LogLine, ReadEnd},
};
use crate::{
    cursor::{LogPos, MAX_STAMP_SECS, Stamp},
    text::redact,
};

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
            Some(record::Record::Start(_) | record::Record::End(_)) | None => Outcome::Nothing,
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
pub(super) fn split_stamp(line: &[u8]) -> (Option<Stamp>, &[u8]) {
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

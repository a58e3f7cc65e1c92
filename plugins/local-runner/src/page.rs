//! Reads a page of a job's output file and turns its lines into responses.
//!
//! Memory is bounded by the page, never by the output: a line longer than the record
//! limit (an old job's, or one a step wrote around the engine's record writer) is
//! skipped in small reads and reported, not loaded whole.

use std::{
    fs::File,
    io::{self, Read, Seek, SeekFrom},
    path::Path,
};

use sqlflow_proto::{
    sqlflow::{Message, Response, message, response},
    stream::append_response_field,
};

/// A page of complete lines read from `offset`.
pub struct Page {
    /// How many responses were appended.
    pub count: usize,
    /// Offset just after the last consumed line.
    pub next_offset: u64,
    /// Length of the file when it was read.
    pub file_len: u64,
}

#[derive(Debug)]
pub enum PageError {
    /// The offset is beyond the output or not at the start of a line.
    BadOffset,
    Io(io::Error),
}

impl From<io::Error> for PageError {
    fn from(e: io::Error) -> Self {
        PageError::Io(e)
    }
}

/// What a page may hold.
#[derive(Debug, Clone, Copy)]
pub struct Budget {
    /// Bytes of responses per page; the first response of a page may exceed it.
    pub page_bytes: u64,
    /// The longest line (without its line ending) that becomes a response; longer ones
    /// are skipped and reported.
    pub max_line: u64,
}

/// Reads complete lines starting at `offset` and appends their responses to `out`,
/// encoded as `Responses.response` entries (field 2) copied out of the record lines
/// without being decoded, until about `budget.page_bytes` of responses were appended.
/// A single line longer than the page is still returned whole if it is within
/// `budget.max_line`. With `final_`, the job has ended and a last line without its
/// newline (the process was killed mid-write) counts as complete.
pub fn read_page(
    path: &Path,
    offset: u64,
    budget: Budget,
    final_: bool,
    out: &mut Vec<u8>,
) -> Result<Page, PageError> {
    let mut f = match File::open(path) {
        Ok(f) => f,
        // No output file yet: the process has not started, and the output is empty, so
        // only the first cursor is valid.
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            if offset > 0 {
                return Err(PageError::BadOffset);
            }
            return Ok(Page {
                count: 0,
                next_offset: 0,
                file_len: 0,
            });
        }
        Err(e) => return Err(e.into()),
    };
    let file_len = f.metadata()?.len();
    read_page_from(&mut f, file_len, offset, budget, final_, out)
}

/// [`read_page`] of an output held in memory (an archived job's).
pub fn read_page_of(
    bytes: &[u8],
    offset: u64,
    budget: Budget,
    final_: bool,
    out: &mut Vec<u8>,
) -> Result<Page, PageError> {
    let len = bytes.len() as u64;
    read_page_from(
        &mut io::Cursor::new(bytes),
        len,
        offset,
        budget,
        final_,
        out,
    )
}

fn read_page_from<R: Read + Seek>(
    f: &mut R,
    file_len: u64,
    offset: u64,
    budget: Budget,
    final_: bool,
    out: &mut Vec<u8>,
) -> Result<Page, PageError> {
    if offset > file_len {
        return Err(PageError::BadOffset);
    }
    if offset > 0 {
        // A valid cursor always points just after a newline.
        f.seek(SeekFrom::Start(offset - 1))?;
        let mut b = [0u8; 1];
        f.read_exact(&mut b)?;
        if b[0] != b'\n' {
            return Err(PageError::BadOffset);
        }
    }
    let available = file_len - offset;
    // Enough for a full page, or for one line as long as allowed, with its "\r\n".
    let chunk = available.min(budget.page_bytes.max(budget.max_line.saturating_add(2)));
    let mut buf = Vec::with_capacity(chunk as usize);
    f.by_ref().take(chunk).read_to_end(&mut buf)?;
    let page_start = out.len();
    let mut scratch = Vec::new();
    let mut count = 0;
    let mut consumed = 0usize;
    for line in buf.split_inclusive(|&b| b == b'\n') {
        if line.last() != Some(&b'\n') {
            break;
        }
        let before = out.len();
        append_line(line, budget.max_line, &mut scratch, out, &mut count);
        if count > 1 && (out.len() - page_start) as u64 > budget.page_bytes {
            // This line starts the next page.
            out.truncate(before);
            count -= 1;
            break;
        }
        consumed += line.len();
    }
    let whole_rest = buf.len() as u64 == available;
    if consumed == 0 && !buf.is_empty() {
        if !whole_rest {
            // No newline within `chunk` bytes, which is more than the longest line
            // allowed: skip the line without reading it into memory.
            if let Some(len) = skip_line(f, buf.len() as u64, available, final_)? {
                append_skipped(len, budget.max_line, out);
                count += 1;
                consumed = len as usize;
            }
        } else if final_ {
            // The job ended mid-line: its last line is all there will be.
            append_line(&buf, budget.max_line, &mut scratch, out, &mut count);
            consumed = buf.len();
        }
    }
    Ok(Page {
        count,
        next_offset: offset + consumed as u64,
        file_len,
    })
}

/// Appends one line's response, or a report that it was skipped.
fn append_line(
    line: &[u8],
    max_line: u64,
    scratch: &mut Vec<u8>,
    out: &mut Vec<u8>,
    count: &mut usize,
) {
    let body = line.strip_suffix(b"\n").unwrap_or(line);
    let body = body.strip_suffix(b"\r").unwrap_or(body);
    if body.len() as u64 > max_line {
        append_skipped(line.len() as u64, max_line, out);
        *count += 1;
    } else if append_response_field(line, scratch, out) {
        *count += 1;
    }
}

/// Finds the end of a line already known to be `seen` bytes long (the file is
/// positioned just after them), reading in small pieces. Returns the line's length
/// with its newline, or `None` while a running job has not finished writing it.
fn skip_line(
    f: &mut impl Read,
    seen: u64,
    available: u64,
    final_: bool,
) -> io::Result<Option<u64>> {
    let mut piece = vec![0u8; 64 * 1024];
    let mut len = seen;
    while len < available {
        let want = piece.len().min((available - len) as usize);
        let n = f.read(&mut piece[..want])?;
        if n == 0 {
            break;
        }
        if let Some(i) = piece[..n].iter().position(|&b| b == b'\n') {
            return Ok(Some(len + i as u64 + 1));
        }
        len += n as u64;
    }
    Ok(final_.then_some(len))
}

/// Reports a skipped line in its place, as an error message.
fn append_skipped(len: u64, max_line: u64, out: &mut Vec<u8>) {
    let r = Response {
        response: Some(response::Response::Message(Message {
            message: format!(
                "skipped an output line of {len} bytes: larger than the largest record a \
                 reply may carry ({max_line} bytes, limits.record_kb)"
            ),
            kind: message::Kind::Error as i32,
        })),
    };
    prost::encoding::message::encode(2, &r, out);
}

#[cfg(test)]
mod tests {
    use sqlflow_proto::sqlflow::Responses;

    use super::*;

    fn page_of(content: &[u8], offset: u64, budget: Budget, final_: bool) -> (Page, Responses) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("output");
        std::fs::write(&path, content).unwrap();
        let mut out = Vec::new();
        let page = read_page(&path, offset, budget, final_, &mut out).unwrap();
        let decoded = prost::Message::decode(out.as_slice()).unwrap();
        (page, decoded)
    }

    fn text(r: &Response) -> &str {
        match &r.response {
            Some(response::Response::Message(m)) => &m.message,
            _ => "",
        }
    }

    const SMALL: Budget = Budget {
        page_bytes: 1024,
        max_line: 4096,
    };

    /// Before the job's process starts there is no output file: the output is empty, so
    /// the first cursor gives an empty page and any other is a bad cursor (a client's
    /// error), not an I/O failure.
    #[test]
    fn a_missing_output_is_empty() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("output");
        let mut out = Vec::new();
        let page = read_page(&path, 0, SMALL, false, &mut out).unwrap();
        assert_eq!((page.count, page.next_offset, page.file_len), (0, 0, 0));
        assert!(matches!(
            read_page(&path, 7, SMALL, false, &mut out),
            Err(PageError::BadOffset)
        ));
    }

    #[test]
    fn a_line_over_the_limit_is_skipped_and_reported() {
        let mut content = b"first\n".to_vec();
        content.extend(vec![b'x'; 100_000]);
        content.extend(b"\nlast\n");
        let (p1, r1) = page_of(&content, 0, SMALL, false);
        assert_eq!((p1.count, p1.next_offset), (1, 6));
        assert_eq!(text(&r1.response[0]), "first");
        let (p2, r2) = page_of(&content, p1.next_offset, SMALL, false);
        assert_eq!(p2.count, 1);
        assert!(text(&r2.response[0]).contains("skipped an output line of 100001 bytes"));
        let (p3, r3) = page_of(&content, p2.next_offset, SMALL, false);
        assert_eq!(text(&r3.response[0]), "last");
        assert_eq!(p3.next_offset, content.len() as u64);
    }

    #[test]
    fn an_unfinished_long_line_waits_until_it_ends() {
        let content = vec![b'x'; 100_000];
        let (running, _) = page_of(&content, 0, SMALL, false);
        assert_eq!((running.count, running.next_offset), (0, 0));
        let (ended, r) = page_of(&content, 0, SMALL, true);
        assert_eq!((ended.count, ended.next_offset), (1, 100_000));
        assert!(text(&r.response[0]).contains("skipped"));
    }

    #[test]
    fn a_line_longer_than_a_page_but_within_the_limit_comes_whole() {
        let mut content = vec![b'y'; 3000];
        content.push(b'\n');
        let (p, r) = page_of(&content, 0, SMALL, false);
        assert_eq!((p.count, p.next_offset), (1, 3001));
        assert_eq!(text(&r.response[0]).len(), 3000);
    }

    #[test]
    fn pages_are_bounded_by_what_they_hold_not_by_what_they_read() {
        // Empty lines become messages several times their size.
        let content = vec![b'\n'; 100_000];
        let (p, r) = page_of(&content, 0, SMALL, false);
        let reply = prost::Message::encode_to_vec(&r);
        assert!(reply.len() <= 1024 + 16, "{} bytes", reply.len());
        assert_eq!(p.count, r.response.len());
        assert_eq!(p.next_offset, p.count as u64);
    }

    #[test]
    fn a_last_line_without_newline_counts_once_the_job_ended() {
        let (running, _) = page_of(b"a\nb", 0, SMALL, false);
        assert_eq!((running.count, running.next_offset), (1, 2));
        let (ended, r) = page_of(b"a\nb", 2, SMALL, true);
        assert_eq!((ended.count, ended.next_offset), (1, 3));
        assert_eq!(text(&r.response[0]), "b");
    }
}

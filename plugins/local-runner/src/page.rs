//! Reads a page of a job's output file and turns its lines into responses.

use std::{
    fs::File,
    io::{self, Read, Seek, SeekFrom},
    path::Path,
};

use sqlflow_proto::stream::append_response_field;

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

/// Reads about `max_bytes` of complete lines starting at `offset` and appends their
/// responses to `out`, encoded as `Responses.response` entries (field 2) copied out of
/// the record lines without being decoded. A single line longer than `max_bytes` is
/// still returned whole. With `final_`, the job has ended and a last line without its
/// newline (the process was killed mid-write) counts as complete.
pub fn read_page(
    path: &Path,
    offset: u64,
    max_bytes: u64,
    final_: bool,
    out: &mut Vec<u8>,
) -> Result<Page, PageError> {
    let mut f = match File::open(path) {
        Ok(f) => f,
        // No output file yet: the process has not started.
        Err(e) if e.kind() == io::ErrorKind::NotFound && offset == 0 => {
            return Ok(Page {
                count: 0,
                next_offset: 0,
                file_len: 0,
            });
        }
        Err(e) => return Err(e.into()),
    };
    let file_len = f.metadata()?.len();
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
    let mut buf = Vec::with_capacity(available.min(max_bytes) as usize);
    (&mut f)
        .take(available.min(max_bytes))
        .read_to_end(&mut buf)?;
    let mut consumed = match buf.iter().rposition(|&b| b == b'\n') {
        Some(i) => i + 1,
        None => 0,
    };
    if consumed == 0 && (buf.len() as u64) < available {
        // One line longer than a page: read on to its end, and no further.
        let mut rest = f.take(available - buf.len() as u64);
        loop {
            let start = buf.len();
            if (&mut rest).take(max_bytes.max(1)).read_to_end(&mut buf)? == 0 {
                break;
            }
            if let Some(i) = buf[start..].iter().position(|&b| b == b'\n') {
                consumed = start + i + 1;
                break;
            }
        }
    }
    if final_ && consumed == 0 && buf.len() as u64 == available {
        consumed = buf.len();
    }
    out.reserve(consumed);
    let mut scratch = Vec::new();
    let mut count = 0;
    for line in buf[..consumed].split_inclusive(|&b| b == b'\n') {
        if append_response_field(line, &mut scratch, out) {
            count += 1;
        }
    }
    Ok(Page {
        count,
        next_offset: offset + consumed as u64,
        file_len,
    })
}

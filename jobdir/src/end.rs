//! The final status as the last record of the job's output.
//!
//! With `sync_writes`, a job's end costs one flush of its output (and, alongside it, of
//! the directory holding the output's entry) instead of three in a row: the status is
//! appended to the output as an `End` record and made durable with it, and status.json
//! is written afterwards without a flush, as the quick way to read it. After a power
//! loss that took status.json (or left it empty), the `End` record is the status.
//! status.json is written only once the record is durable, so a status.json on disk
//! never describes output that a power loss could take back.

use std::{
    fs,
    io::{self, Read, Seek, SeekFrom, Write},
    path::Path,
};

use sqlflow_proto::{
    step::{End, Record, record},
    stream::{Line, decode_line, encode_record},
};

use crate::{FinalStatus, OUTPUT};

/// The longest status line looked for at the end of the output: a status quotes a
/// statement (bounded by the server's program size) and a stderr tail, JSON-escaped.
const MAX_END_LINE: u64 = 16 << 20;

/// The `End` record line for `status`.
fn end_line(status: &FinalStatus) -> io::Result<Vec<u8>> {
    let json = serde_json::to_vec(status).map_err(io::Error::other)?;
    let mut line = Vec::with_capacity(json.len() * 4 / 3 + 16);
    encode_record(
        &Record {
            record: Some(record::Record::End(End { status_json: json })),
        },
        &mut line,
    );
    Ok(line)
}

/// Appends the `End` record to the output and makes it durable, flushing the output
/// and the directory (the output's entry) at the same time. On failure the output is
/// cut back to where it was, so no half record is left for a later line to join.
/// `dir_handle` is the directory, open.
pub(crate) fn append_durably(
    dir: &Path,
    dir_handle: &fs::File,
    status: &FinalStatus,
) -> io::Result<()> {
    let line = end_line(status)?;
    let mut f = fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join(OUTPUT))?;
    let before = f.metadata()?.len();
    if let Err(e) = f.write_all(&line) {
        let _ = f.set_len(before);
        return Err(e);
    }
    let (data, entry) = std::thread::scope(|s| {
        let entry = s.spawn(|| dir_handle.sync_all());
        let data = f.sync_all();
        (data, entry.join())
    });
    let entry = entry.unwrap_or_else(|_| Err(io::Error::other("directory flush panicked")));
    if let Err(e) = data.and(entry) {
        // A record that may not be on disk must not count later either.
        let _ = f.set_len(before);
        return Err(e);
    }
    Ok(())
}

/// The status in the `End` record that ends the output, if the output ends with one.
pub(crate) fn read(dir: &Path) -> io::Result<Option<FinalStatus>> {
    let mut f = match fs::File::open(dir.join(OUTPUT)) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    let len = f.metadata()?.len();
    let Some(line) = last_line(&mut f, len)? else {
        return Ok(None);
    };
    let Ok(Line::Record(Record {
        record: Some(record::Record::End(end)),
    })) = decode_line(&line)
    else {
        return Ok(None);
    };
    serde_json::from_slice(&end.status_json)
        .map(Some)
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
}

/// The output's last complete line (ending in a newline), reading backwards in growing
/// windows; `None` if the output does not end a line or the line is longer than any
/// status.
fn last_line(f: &mut fs::File, len: u64) -> io::Result<Option<Vec<u8>>> {
    let mut window = 4096u64;
    loop {
        let start = len.saturating_sub(window);
        f.seek(SeekFrom::Start(start))?;
        let mut buf = Vec::with_capacity((len - start) as usize);
        Read::take(&mut *f, len - start).read_to_end(&mut buf)?;
        if buf.last() != Some(&b'\n') {
            return Ok(None);
        }
        let body = &buf[..buf.len() - 1];
        if let Some(nl) = body.iter().rposition(|&b| b == b'\n') {
            return Ok(Some(body[nl + 1..].to_vec()));
        }
        if start == 0 {
            return Ok(Some(body.to_vec()));
        }
        if window >= MAX_END_LINE {
            return Ok(None);
        }
        window *= 4;
    }
}

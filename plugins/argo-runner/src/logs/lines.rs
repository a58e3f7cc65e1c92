//! A streamed log cut into lines, each kept up to a limit and the rest counted.

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

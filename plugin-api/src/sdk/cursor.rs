//! The Fetch cursor every SDK runner uses: `1:<offset>:<state>`.
//!
//! - `offset` says where the client is in the job's output, in the runner's own unit
//!   (bytes of an output file for the local runner, responses for an in-memory runner).
//! - `state` is the job state the client saw, as one letter ([`state_letter`]), so a state
//!   change alone makes a new cursor: the host's long-poll returns when the cursor changes,
//!   so a job that ends without new output still ends the wait.
//! - The empty cursor is the start. A cursor that does not parse, or whose offset lies past
//!   the end of the output (one past the end included), is `INVALID_ARGUMENT`.
//! - `eof` is true exactly when the job has ended and the returned `next_cursor` is at the
//!   end of the output; a fetch at that final cursor returns nothing and `eof` again.

use sqlflow_proto::sqlflow::job_status::Code;

use crate::RunnerError;

/// Characters of a malformed cursor an error quotes.
const CLIP_CHARS: usize = 64;

/// A parsed cursor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    /// Where the client is in the job's output, in the runner's unit.
    pub offset: u64,
    /// The state the client saw; `None` for the empty (initial) cursor.
    pub seen: Option<Code>,
}

impl Cursor {
    /// The empty cursor: the start of the output, no state seen.
    pub const START: Cursor = Cursor {
        offset: 0,
        seen: None,
    };

    /// Parses a cursor; `None` if it is not one this format produced.
    pub fn parse(s: &str) -> Option<Cursor> {
        if s.is_empty() {
            return Some(Cursor::START);
        }
        let mut parts = s.split(':');
        let (Some("1"), Some(offset), Some(state), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return None;
        };
        if offset.is_empty() || !offset.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        Some(Cursor {
            offset: offset.parse().ok()?,
            seen: Some(state_from_letter(state)?),
        })
    }

    /// Parses a request's cursor: a malformed one is `INVALID_ARGUMENT`, quoting a clipped
    /// piece of it.
    pub fn from_request(s: &str) -> Result<Cursor, RunnerError> {
        Cursor::parse(s)
            .ok_or_else(|| RunnerError::invalid_argument(format!("malformed cursor '{}'", clip(s))))
    }

    /// Checks the cursor against the output's end `len` (in the same unit): an offset
    /// past it is `INVALID_ARGUMENT`, since no fetch ever returned such a cursor.
    pub fn check_within(&self, len: u64) -> Result<(), RunnerError> {
        if self.offset > len {
            return Err(RunnerError::invalid_argument(format!(
                "cursor offset {} is past the end of the job's output ({len})",
                self.offset
            )));
        }
        Ok(())
    }

    /// The cursor a reply returns: the offset after what it holds, and the state it
    /// reports.
    pub fn encode(offset: u64, state: Code) -> String {
        format!("1:{offset}:{}", state_letter(state))
    }
}

/// Whether a reply ends the job's stream: the job ended and the reply's cursor is at the
/// end of the output.
pub fn is_eof(state: Code, next_offset: u64, len: u64) -> bool {
    is_final(state) && next_offset == len
}

/// Whether a job in `state` has ended (SUCCEEDED, FAILED or CANCELLED).
pub fn is_final(state: Code) -> bool {
    matches!(state, Code::Succeeded | Code::Failed | Code::Cancelled)
}

/// The job state as one letter, for cursors: a cursor carries the state the client last
/// saw, so a state change alone makes a new cursor (which ends a long-poll).
/// `UNKNOWN` reads as running.
pub fn state_letter(code: Code) -> char {
    match code {
        Code::Pending => 'P',
        Code::Running | Code::Unknown => 'R',
        Code::Succeeded => 'S',
        Code::Failed => 'F',
        Code::Cancelled => 'C',
    }
}

/// The inverse of [`state_letter`].
pub fn state_from_letter(s: &str) -> Option<Code> {
    Some(match s {
        "P" => Code::Pending,
        "R" => Code::Running,
        "S" => Code::Succeeded,
        "F" => Code::Failed,
        "C" => Code::Cancelled,
        _ => return None,
    })
}

fn clip(s: &str) -> String {
    let mut escaped = s.chars().flat_map(char::escape_debug);
    let mut out: String = escaped.by_ref().take(CLIP_CHARS).collect();
    if escaped.next().is_some() {
        out.push_str("...");
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test

    use proptest::prelude::*;

    use super::*;
    use crate::ErrorCode;

    const CODES: [Code; 5] = [
        Code::Pending,
        Code::Running,
        Code::Succeeded,
        Code::Failed,
        Code::Cancelled,
    ];

    #[test]
    fn round_trips() {
        for code in CODES {
            let s = Cursor::encode(12345, code);
            assert_eq!(
                Cursor::parse(&s),
                Some(Cursor {
                    offset: 12345,
                    seen: Some(code)
                })
            );
        }
        assert_eq!(Cursor::parse(""), Some(Cursor::START));
    }

    #[test]
    fn rejects_garbage() {
        for bad in [
            "x",
            "1:",
            "1::R",
            "1:12",
            "1:12:Q",
            "2:12:R",
            "1:-1:R",
            "1:1e3:R",
            "1:12:R:",
            " 1:12:R",
            "1:99999999999999999999999:R",
        ] {
            assert_eq!(Cursor::parse(bad), None, "{bad:?}");
            let e = Cursor::from_request(bad).unwrap_err();
            assert_eq!(e.code, ErrorCode::INVALID_ARGUMENT);
        }
        let long = "y".repeat(10_000);
        assert!(Cursor::from_request(&long).unwrap_err().message.len() < 100);
    }

    #[test]
    fn one_past_the_end_is_invalid_and_the_end_is_eof() {
        let c = Cursor::parse(&Cursor::encode(10, Code::Running)).unwrap();
        c.check_within(10).unwrap();
        let past = Cursor::parse(&Cursor::encode(11, Code::Running)).unwrap();
        assert_eq!(
            past.check_within(10).unwrap_err().code,
            ErrorCode::INVALID_ARGUMENT
        );
        assert!(is_eof(Code::Succeeded, 10, 10));
        assert!(!is_eof(Code::Running, 10, 10));
        assert!(!is_eof(Code::Failed, 9, 10));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(3000))]

        #[test]
        fn parsing_never_panics(s in "\\PC{0,40}") {
            let _ = Cursor::parse(&s);
        }

        #[test]
        fn whatever_parses_is_canonical(s in "[0-9:RSFCPx+ -]{0,30}") {
            if let Some(c) = Cursor::parse(&s)
                && let Some(seen) = c.seen
            {
                prop_assert_eq!(Cursor::encode(c.offset, seen), s);
            }
        }

        #[test]
        fn encoded_cursors_round_trip(offset in any::<u64>(), i in 0usize..5) {
            let code = CODES[i];
            prop_assert_eq!(
                Cursor::parse(&Cursor::encode(offset, code)),
                Some(Cursor { offset, seen: Some(code) })
            );
        }
    }
}

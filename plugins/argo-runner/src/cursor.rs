//! The Fetch cursor: which step's log the client is in, how far, and the state it last
//! saw (so a state change alone yields a new cursor, which ends a long-poll).
//!
//! Opaque to clients: `a1:<step>:<secs>:<nanos>:<count>:<state>`.
//! - `step`: 0-based index of the step whose log is being read; the statement count
//!   once every step's log was delivered;
//! - `secs`, `nanos`: the timestamp of the last delivered line of that step's log
//!   (`0:0` before its first line);
//! - `count`: how many lines carrying exactly that timestamp were delivered.
//!
//! Kubernetes' `sinceTime` has one-second resolution, so the next read asks for the
//! log from `secs` and skips what this position says was delivered. Only what the log
//! holds decides the position, so the same cursor gives the same responses on any
//! replica.

use sqlflow_plugin_api::sdk::{state_from_letter, state_letter};
use sqlflow_proto::sqlflow::job_status::Code;

use crate::kubeapi::MAX_LOG_READ;

/// The last second a timestamp may name (9999-12-30T22:00:00Z, the end of jiff's
/// range): every position a cursor carries can be asked for as `sinceTime`.
pub const MAX_STAMP_SECS: i64 = 253_402_207_200;

/// The most lines one position can count: each takes at least one byte of a read, and
/// a read holds at most [`MAX_LOG_READ`] bytes.
const MAX_COUNT: u64 = MAX_LOG_READ;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    pub step: u32,
    pub pos: LogPos,
    /// None for the empty (initial) cursor.
    pub seen: Option<Code>,
}

/// A position in one step's log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LogPos {
    /// Timestamp of the last delivered line; `None` before the first.
    pub last: Option<Stamp>,
    /// Lines with exactly `last` already delivered.
    pub count: u32,
}

/// A log line's timestamp (seconds since the epoch, nanoseconds).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Stamp {
    pub secs: i64,
    pub nanos: u32,
}

impl Cursor {
    pub const START: Cursor = Cursor {
        step: 0,
        pos: LogPos {
            last: None,
            count: 0,
        },
        seen: None,
    };

    pub fn parse(s: &str) -> Option<Cursor> {
        if s.is_empty() {
            return Some(Cursor::START);
        }
        let mut p = s.split(':');
        let (Some("a1"), Some(step), Some(secs), Some(nanos), Some(count), Some(state), None) = (
            p.next(),
            p.next(),
            p.next(),
            p.next(),
            p.next(),
            p.next(),
            p.next(),
        ) else {
            return None;
        };
        let step: u32 = digits(step)?;
        let secs: i64 = digits(secs)?;
        let nanos: u32 = digits(nanos)?;
        let count: u32 = digits(count)?;
        if nanos >= 1_000_000_000 || secs > MAX_STAMP_SECS || u64::from(count) > MAX_COUNT {
            return None;
        }
        let last = if secs == 0 && nanos == 0 {
            if count != 0 {
                return None;
            }
            None
        } else {
            if count == 0 {
                return None;
            }
            Some(Stamp { secs, nanos })
        };
        Some(Cursor {
            step,
            pos: LogPos { last, count },
            seen: Some(state_from_letter(state)?),
        })
    }

    pub fn encode(step: u32, pos: LogPos, state: Code) -> String {
        let c = state_letter(state);
        let (secs, nanos) = pos.last.map_or((0, 0), |t| (t.secs, t.nanos));
        format!("a1:{step}:{secs}:{nanos}:{}:{c}", pos.count)
    }
}

/// Canonical non-negative decimal: digits only, no leading zeros (so each position has
/// one spelling and a cursor that parses re-encodes to itself).
fn digits<T: std::str::FromStr>(s: &str) -> Option<T> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) || (s.len() > 1 && s.starts_with('0'))
    {
        return None;
    }
    s.parse().ok()
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    const CODES: [Code; 5] = [
        Code::Pending,
        Code::Running,
        Code::Succeeded,
        Code::Failed,
        Code::Cancelled,
    ];

    #[test]
    fn round_trips() {
        let pos = LogPos {
            last: Some(Stamp {
                secs: 1_700_000_000,
                nanos: 123_456_789,
            }),
            count: 2,
        };
        for code in CODES {
            let s = Cursor::encode(3, pos, code);
            assert_eq!(
                Cursor::parse(&s),
                Some(Cursor {
                    step: 3,
                    pos,
                    seen: Some(code)
                })
            );
        }
        assert_eq!(Cursor::parse(""), Some(Cursor::START));
        assert_eq!(
            Cursor::encode(0, LogPos::default(), Code::Pending),
            "a1:0:0:0:0:P"
        );
    }

    #[test]
    fn rejects_garbage() {
        for bad in [
            "not a cursor",
            "\u{0}\u{1}",
            "999999999999999999999999999999",
            "1:12:R",
            "a1:0:0:0:0",
            "a1:0:0:0:0:Q",
            "a2:0:0:0:0:R",
            "a1:-1:0:0:0:R",
            "a1:0:5:0:0:R",
            "a1:0:0:0:3:R",
            "a1:0:5:1000000000:1:R",
            "a1:01:5:0:1:R",
            "a1:0:5:0:1:R:",
            " a1:0:0:0:0:R",
            "a1:99999999999:5:0:1:R",
            "a1:0:253402207201:0:1:R",
            "a1:0:9223372036854775807:0:1:R",
            "a1:0:5:0:4294967295:R",
        ] {
            assert_eq!(Cursor::parse(bad), None, "{bad:?}");
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(3000))]

        #[test]
        fn parsing_never_panics(s in "\\PC{0,40}") {
            let _ = Cursor::parse(&s);
        }

        #[test]
        fn whatever_parses_is_canonical(s in "a1(:[0-9]{1,3}){5}:[PRSFCX]") {
            if let Some(c) = Cursor::parse(&s)
                && let Some(seen) = c.seen
            {
                prop_assert_eq!(Cursor::encode(c.step, c.pos, seen), s);
            }
        }

        #[test]
        fn encoded_cursors_round_trip(
            step in any::<u32>(),
            secs in 1i64..4_000_000_000,
            nanos in 0u32..1_000_000_000,
            count in 1u32..1000,
            i in 0usize..5,
        ) {
            let pos = LogPos { last: Some(Stamp { secs, nanos }), count };
            prop_assert_eq!(
                Cursor::parse(&Cursor::encode(step, pos, CODES[i])),
                Some(Cursor { step, pos, seen: Some(CODES[i]) })
            );
        }
    }
}

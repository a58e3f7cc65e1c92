//! The Fetch cursor: a byte offset into the job's output file plus the state the client
//! last saw, so that a state change alone yields a new cursor (the host's long-poll
//! returns when the cursor changes). Opaque to clients: `1:<offset>:<state>`.

use sqlflow_proto::sqlflow::job_status::Code;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    pub offset: u64,
    /// None for the empty (initial) cursor.
    pub seen: Option<Code>,
}

impl Cursor {
    pub const START: Cursor = Cursor {
        offset: 0,
        seen: None,
    };

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
        let seen = match state {
            "P" => Code::Pending,
            "R" => Code::Running,
            "S" => Code::Succeeded,
            "F" => Code::Failed,
            "C" => Code::Cancelled,
            _ => return None,
        };
        Some(Cursor {
            offset: offset.parse().ok()?,
            seen: Some(seen),
        })
    }

    pub fn encode(offset: u64, state: Code) -> String {
        let c = match state {
            Code::Pending => 'P',
            Code::Running => 'R',
            Code::Succeeded => 'S',
            Code::Failed => 'F',
            Code::Cancelled => 'C',
            Code::Unknown => 'R',
        };
        format!("1:{offset}:{c}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        for code in [
            Code::Pending,
            Code::Running,
            Code::Succeeded,
            Code::Failed,
            Code::Cancelled,
        ] {
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
        }
    }
}

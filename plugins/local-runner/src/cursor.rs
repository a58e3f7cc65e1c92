//! The Fetch cursor: a byte offset into the job's output file plus the state the client
//! last saw, so that a state change alone yields a new cursor (the host's long-poll
//! returns when the cursor changes). Opaque to clients: `1:<offset>:<state>`.

use sqlflow_plugin_api::sdk::{state_from_letter, state_letter};
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
        Some(Cursor {
            offset: offset.parse().ok()?,
            seen: Some(state_from_letter(state)?),
        })
    }

    pub fn encode(offset: u64, state: Code) -> String {
        format!("1:{offset}:{}", state_letter(state))
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

#[cfg(test)]
mod fuzz {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(5000))]

        #[test]
        fn parsing_never_panics(s in "\\PC{0,40}") {
            let _ = Cursor::parse(&s);
        }

        #[test]
        fn cursor_like_strings_never_panic(s in "[0-9:RSFCPx+ -]{0,30}") {
            if let Some(c) = Cursor::parse(&s) {
                // Whatever parses is canonical: it re-encodes to itself.
                if let Some(seen) = c.seen {
                    prop_assert_eq!(Cursor::encode(c.offset, seen), s);
                }
            }
        }

        #[test]
        fn encoded_cursors_round_trip(offset in any::<u64>(), i in 0usize..5) {
            let code = [Code::Pending, Code::Running, Code::Succeeded, Code::Failed, Code::Cancelled][i];
            prop_assert_eq!(
                Cursor::parse(&Cursor::encode(offset, code)),
                Some(Cursor { offset, seen: Some(code) })
            );
        }
    }

    #[test]
    fn the_cursor_corpus_never_panics() {
        let dir =
            std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus/cursor");
        let mut n = 0;
        for entry in std::fs::read_dir(&dir).expect("fuzz/corpus/cursor") {
            let bytes = std::fs::read(entry.expect("entry").path()).expect("read");
            let _ = Cursor::parse(&String::from_utf8_lossy(&bytes));
            n += 1;
        }
        assert!(n >= 10, "the corpus went missing");
    }
}

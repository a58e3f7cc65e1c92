//! The cursors in `fuzz/corpus/cursor` (inputs that once mattered) never make the cursor
//! parser the local runner uses panic.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test

use sqlflow_plugin_api::sdk::Cursor;

#[test]
fn the_cursor_corpus_never_panics() {
    let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus/cursor");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).expect("fuzz/corpus/cursor") {
        let bytes = std::fs::read(entry.expect("entry").path()).expect("read");
        let _ = Cursor::parse(&String::from_utf8_lossy(&bytes));
        n += 1;
    }
    assert!(n >= 10, "the corpus went missing");
}

//! Replays the splitter corpus (`fuzz/corpus/splitter`) in every dialect.

use std::path::PathBuf;

use sqlflow_sql::{Dialect, lexer::tokenize, parse_statement, split::split};

#[test]
fn the_splitter_corpus_never_panics_and_keeps_its_invariants() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus/splitter");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).expect("fuzz/corpus/splitter") {
        let path = entry.unwrap().path();
        let bytes = std::fs::read(&path).unwrap();
        let src = String::from_utf8_lossy(&bytes);
        for d in [Dialect::Sqlite, Dialect::MySql, Dialect::Postgres] {
            let tokens = tokenize(&src, d);
            let covered: usize = tokens.iter().map(|t| t.end - t.start).sum();
            assert_eq!(covered, src.len(), "{} ({d:?})", path.display());
            if let Ok(stmts) = split(&src, d) {
                for s in stmts {
                    assert_eq!(&src[s.start..s.end], s.text, "{}", path.display());
                    let _ = parse_statement(&s.text, d);
                }
            }
        }
        n += 1;
    }
    assert!(
        n >= 10,
        "the corpus went missing: {n} files in {}",
        dir.display()
    );
}

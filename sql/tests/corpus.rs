//! Replays the fuzz corpus in every dialect: `fuzz/corpus/splitter` (any input: the
//! splitter keeps its invariants and nothing panics), `fuzz/corpus/extended` (hostile
//! extended statements: each one is a syntax error with a position) and
//! `fuzz/corpus/extended/valid` (the grammar's edge cases: each one parses as an
//! extended statement).

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test

use std::path::{Path, PathBuf};

use sqlflow_sql::{Dialect, Parsed, lexer::tokenize, parse_statement, split::split};

const DIALECTS: [Dialect; 3] = [Dialect::Sqlite, Dialect::MySql, Dialect::Postgres];

/// What std gives a spawned thread and tokio its workers, where the server parses: the
/// replay must hold there, not just on the main thread's larger stack.
const SMALL_STACK: usize = 2 << 20;

fn on_small_stack(f: impl FnOnce() + Send + 'static) {
    std::thread::Builder::new()
        .stack_size(SMALL_STACK)
        .spawn(f)
        .expect("spawn a replay thread")
        .join()
        .unwrap_or_else(|e| std::panic::resume_unwind(e));
}

/// Every file of `fuzz/corpus/<name>` (not its subdirectories), as text, with its path.
fn corpus(name: &str) -> Vec<(PathBuf, String)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/corpus")
        .join(name);
    let mut files: Vec<(PathBuf, String)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.is_file())
        .map(|path| {
            let bytes = std::fs::read(&path).unwrap();
            (path, String::from_utf8_lossy(&bytes).into_owned())
        })
        .collect();
    files.sort();
    assert!(
        files.len() >= 10,
        "the corpus went missing: {} files in {}",
        files.len(),
        dir.display()
    );
    files
}

/// Lexes, splits and parses `src`: tokens cover it exactly, statements are its own text.
fn replay(path: &Path, src: &str) {
    for d in DIALECTS {
        let tokens = tokenize(src, d);
        let covered: usize = tokens.iter().map(|t| t.end - t.start).sum();
        assert_eq!(covered, src.len(), "{} ({d:?})", path.display());
        if let Ok(stmts) = split(src, d) {
            for s in stmts {
                assert_eq!(&src[s.start..s.end], s.text, "{}", path.display());
                let _ = parse_statement(&s.text, d);
            }
        }
    }
}

#[test]
fn the_splitter_corpus_never_panics_and_keeps_its_invariants() {
    on_small_stack(|| {
        for (path, src) in corpus("splitter") {
            replay(&path, &src);
        }
    });
}

#[test]
fn the_extended_corpus_gets_syntax_errors_with_positions() {
    on_small_stack(|| {
        for (path, src) in corpus("extended") {
            replay(&path, &src);
            for d in DIALECTS {
                match parse_statement(&src, d) {
                    Err(e) => assert!(e.line >= 1 && e.column >= 1, "{}: {e}", path.display()),
                    Ok(p) => panic!("{} ({d:?}) parsed: {p:?}", path.display()),
                }
            }
        }
    });
}

#[test]
fn the_valid_extended_corpus_parses_in_every_dialect() {
    on_small_stack(|| {
        for (path, src) in corpus("extended/valid") {
            replay(&path, &src);
            for d in DIALECTS {
                match parse_statement(&src, d) {
                    Ok(Parsed::Extended(_)) => {}
                    other => panic!("{} ({d:?}): {other:?}", path.display()),
                }
            }
        }
    });
}

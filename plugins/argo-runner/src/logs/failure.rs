//! What a failed step said about its failure, worded as the local runner words it.

use sqlflow_proto::{
    step::{Failure, record},
    stream::{Line, decode_line},
};

use super::{MAX_FAILURE_TEXT, STEP_DIAGNOSTIC, page::split_stamp};
use crate::text::{cap, redact};

/// The step's failure as the local runner words it (the engine's `ProgramFailure`),
/// so a failed job reads the same on both runners; without passwords, and bounded.
pub fn failure_text(f: &Failure, statement_count: usize) -> String {
    if f.setup {
        return cap(&redact(&f.error), MAX_FAILURE_TEXT);
    }
    let one_line = f.statement.split_whitespace().collect::<Vec<_>>().join(" ");
    let shown: String = one_line.chars().take(160).collect();
    let ellipsis = if shown.len() < one_line.len() {
        "..."
    } else {
        ""
    };
    let index = f.statement_index as usize;
    let text = if index < statement_count {
        format!(
            "statement {} of {statement_count} failed: {}\n  in: {shown}{ellipsis}",
            index + 1,
            f.error
        )
    } else {
        format!(
            "a statement failed: {}\n  in: {shown}{ellipsis}\n  (the step's Failure record \
             gives statement_index {}, but the job has {statement_count} statements)",
            f.error, f.statement_index
        )
    };
    cap(&redact(&text), MAX_FAILURE_TEXT)
}

/// What a failed step said about its failure, from its log's last lines: its `Failure`
/// record if they hold one, else its diagnostics on stderr (a step that failed before
/// running anything, say because the database is unreachable).
pub struct FailureScan {
    statements: usize,
    found: Option<String>,
    diagnostics: String,
}

impl FailureScan {
    pub fn new(statements: usize) -> FailureScan {
        FailureScan {
            statements,
            found: None,
            diagnostics: String::new(),
        }
    }

    /// The next line (or the beginning of a line too long to keep).
    pub fn line(&mut self, line: &[u8]) {
        if self.found.is_some() {
            return;
        }
        let (_, content) = split_stamp(line);
        match decode_line(content) {
            Ok(Line::Record(rec)) => {
                if let Some(record::Record::Failure(f)) = rec.record {
                    self.found = Some(failure_text(&f, self.statements));
                }
            }
            Ok(Line::Text(t)) => {
                if let Some(d) = t.strip_prefix(STEP_DIAGNOSTIC) {
                    self.diagnostics.clear();
                    self.push(d);
                } else if !self.diagnostics.is_empty() && !t.is_empty() {
                    self.diagnostics.push('\n');
                    self.push(&t);
                }
            }
            Err(_) => {}
        }
    }

    fn push(&mut self, s: &str) {
        // Room for the cut mark: the whole is capped once more at the end.
        let room = (MAX_FAILURE_TEXT + 1).saturating_sub(self.diagnostics.len());
        if room > 0 {
            self.diagnostics.push_str(&cap(s, room));
        }
    }

    pub fn finish(self) -> Option<String> {
        self.found.or_else(|| {
            (!self.diagnostics.is_empty())
                .then(|| cap(&redact(&self.diagnostics), MAX_FAILURE_TEXT))
        })
    }
}

/// [`FailureScan`] over a whole log held in memory.
pub fn failure_from_log(body: &[u8], statement_count: usize) -> Option<String> {
    let mut scan = FailureScan::new(statement_count);
    for line in body.split(|&b| b == b'\n') {
        scan.line(line);
    }
    scan.finish()
}

//! Turns a step's pod log (read with `timestamps=true`) into responses.
//!
//! Each line is `<RFC3339Nano timestamp> <what the step wrote>`; what the step wrote is
//! the record stream the local runner reads from its output file, decoded by the same
//! [`decode_line`](sqlflow_proto::stream::decode_line), so a result looks the same whichever runner produced it. Two
//! differences come from the pod log merging stdout and stderr:
//! - after a `Failure` record nothing more of the step is read: the step then only
//!   reports the failure on stderr, which the runner turns into the job's status;
//! - lines starting `sqlflow-step: ` are the step binary's own diagnostics on stderr
//!   (the local runner keeps them in a separate file); they are consumed, not shown.
//!
//! A log is read as a stream, one line at a time ([`Lines`]): memory holds the page
//! being built and one line of at most [`MAX_RECORD_BYTES`], however long the log, the
//! line, or the run of lines already delivered. A page is built within a [`Budget`],
//! so every Fetch reply fits what a default gRPC client accepts (4 MiB).
//!
//! Its files: `lines` (a byte stream cut into bounded lines), `page` (a page of responses
//! from the lines after a position, within a budget), `failure` (a failed step's own
//! account of its failure).

mod failure;
mod lines;
mod page;

pub use failure::{FailureScan, failure_from_log, failure_text};
pub use lines::{Flow, Lines, LogLine, ReadEnd};
pub use page::{Budget, LogPage, PageReader, message, parse_stamp, read_page};

#[cfg(test)]
mod tests;

/// The step binary's prefix on its stderr diagnostics.
const STEP_DIAGNOSTIC: &str = "sqlflow-step: ";

/// The longest record (a log line after its timestamp) a reply carries. Not the page
/// budget: Start and EndOfExecution records quote their whole statement, so a program
/// the host accepts (1 MiB by default, 4/3 of that in base64) must fit; and below the
/// 4 MiB a default gRPC client accepts, with room for the status.
pub const MAX_RECORD_BYTES: usize = 3 << 20;

/// Room for `<RFC3339Nano timestamp> ` before a record.
const STAMP_ROOM: usize = 64;

/// The longest line [`Lines`] keeps: a record and its timestamp.
pub const MAX_LINE_BYTES: usize = MAX_RECORD_BYTES + STAMP_ROOM;

/// The longest failure text a status carries (the step's error may quote anything).
pub const MAX_FAILURE_TEXT: usize = 4 << 10;

//! A one-line status on stderr while the job runs, when stderr is a terminal.

use std::{
    io::{self, Write},
    time::Duration,
};

use sqlflow_proto::sqlflow::job_status::Code;

pub struct Spinner {
    pub enabled: bool,
    shown: bool,
    frame: usize,
    /// The latest progress message, shown after the status.
    pub detail: String,
}

impl Spinner {
    const FRAMES: [char; 10] = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

    pub fn new(enabled: bool) -> Self {
        Self {
            enabled,
            shown: false,
            frame: 0,
            detail: String::new(),
        }
    }

    pub fn draw(&mut self, status: Code, elapsed: Duration) {
        if !self.enabled {
            return;
        }
        self.frame = (self.frame + 1) % Self::FRAMES.len();
        let mut err = io::stderr().lock();
        let detail: String = self.detail.chars().take(100).collect();
        let _ = write!(
            err,
            "\r\x1b[2K{} {} {:.1}s {detail}",
            Self::FRAMES[self.frame],
            status.as_str_name(),
            elapsed.as_secs_f64()
        );
        let _ = err.flush();
        self.shown = true;
    }

    pub fn clear(&mut self) {
        if self.shown {
            let _ = write!(io::stderr(), "\r\x1b[2K");
            self.shown = false;
        }
    }
}

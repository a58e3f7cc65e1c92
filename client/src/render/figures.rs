//! Figures (loss curves, feature importance, confusion matrices, ROC curves) as files in
//! a directory, named after their statement, and one line each saying where.

use std::{
    fmt::Write as _,
    io::{self, Write},
    path::{Path, PathBuf},
};

use base64::{Engine as _, engine::general_purpose::STANDARD};
use sqlflow_proto::sqlflow::Figure;

use super::{Format, Renderer, fields::json_string};

/// Where figures go. A figure's file is named after its statement, which only the
/// statement's EndOfExecution tells, so a statement's figures wait for it.
pub(super) struct Figures {
    pub dir: FiguresDir,
    pub pending: Vec<Figure>,
    /// The 0-based index of the last statement that ended, if any.
    pub last_statement: Option<u32>,
}

/// The directory figures are written into.
#[derive(Debug, Clone)]
pub enum FiguresDir {
    /// This one (created if missing).
    Given(PathBuf),
    /// A fresh one in the system's temporary directory, created at the first figure.
    Temporary,
    /// Created (or checked) already.
    Ready(PathBuf),
}

impl<W: Write, E: Write> Renderer<W, E> {
    /// Writes the waiting figures of statement `index` (0-based) to files, one line each:
    /// on stdout for tables (like log lines), on stderr for CSV and TSV (stdout stays
    /// one clean table), and as a JSON object with the data for JSON.
    pub(super) fn write_figures(&mut self, index: u32) -> io::Result<()> {
        let pending = std::mem::take(&mut self.figures.pending);
        if pending.is_empty() {
            return Ok(());
        }
        let statement = u64::from(index) + 1;
        let dir = match self.ensure_figures_dir() {
            Ok(dir) => Some(dir),
            Err(e) => {
                self.note(&format!("sqlflow: cannot write figures: {e}"))?;
                None
            }
        };
        for (n, f) in pending.iter().enumerate() {
            let name = format!(
                "s{statement}-{}-{}.{}",
                n + 1,
                slug(&f.title),
                extension(&f.mime_type)
            );
            let path = match &dir {
                Some(d) => {
                    let path = d.join(name);
                    match std::fs::write(&path, &f.data) {
                        Ok(()) => Some(path),
                        Err(e) => {
                            self.note(&format!(
                                "sqlflow: cannot write figure {}: {e}",
                                path.display()
                            ))?;
                            None
                        }
                    }
                }
                None => None,
            };
            let shown = path
                .as_ref()
                .map_or_else(|| "(not written)".to_string(), |p| p.display().to_string());
            let line = format!("figure: {} (statement {statement}) -> {shown}", f.title);
            match self.format {
                Format::Table => {
                    self.end_table()?;
                    writeln!(self.out, "{line}")?;
                }
                Format::Csv | Format::Tsv => self.note(&line)?,
                Format::Json => {
                    let mut json = String::from("{\"figure\":{\"title\":");
                    json_string(&mut json, &f.title);
                    let _ = write!(json, ",\"statement\":{statement},\"mime_type\":");
                    json_string(&mut json, &f.mime_type);
                    json.push_str(",\"file\":");
                    match &path {
                        Some(p) => json_string(&mut json, &p.display().to_string()),
                        None => json.push_str("null"),
                    }
                    json.push_str(",\"data\":\"");
                    STANDARD.encode_string(&f.data, &mut json);
                    json.push_str("\"}}");
                    writeln!(self.out, "{json}")?;
                }
            }
        }
        Ok(())
    }

    fn ensure_figures_dir(&mut self) -> io::Result<PathBuf> {
        let dir = match &self.figures.dir {
            FiguresDir::Ready(d) => return Ok(d.clone()),
            FiguresDir::Given(d) => {
                std::fs::create_dir_all(d)?;
                d.clone()
            }
            FiguresDir::Temporary => fresh_dir(&std::env::temp_dir())?,
        };
        self.figures.dir = FiguresDir::Ready(dir.clone());
        Ok(dir)
    }
}

/// A new directory `sqlflow-figures-<pid>-<n>` under `parent`, readable by its owner only.
fn fresh_dir(parent: &Path) -> io::Result<PathBuf> {
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let mut last = None;
    for attempt in 0..100u32 {
        let dir = parent.join(format!(
            "sqlflow-figures-{}-{}",
            std::process::id(),
            stamp.wrapping_add(attempt)
        ));
        let mut builder = std::fs::DirBuilder::new();
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
        match builder.create(&dir) {
            Ok(()) => return Ok(dir),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => last = Some(e),
            Err(e) => return Err(e),
        }
    }
    Err(last.unwrap_or_else(|| io::Error::other("no free directory name")))
}

/// A file name part from a figure's title: lowercase letters, digits and dashes.
fn slug(title: &str) -> String {
    let mut s = String::new();
    for c in title.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_alphanumeric() {
            s.push(c);
        } else if !s.ends_with('-') && !s.is_empty() {
            s.push('-');
        }
        if s.len() >= 40 {
            break;
        }
    }
    let s = s.trim_end_matches('-');
    if s.is_empty() {
        "figure".into()
    } else {
        s.to_string()
    }
}

fn extension(mime_type: &str) -> &'static str {
    match mime_type {
        "image/png" => "png",
        "image/svg+xml" => "svg",
        "image/jpeg" => "jpg",
        _ => "bin",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sqlflow_proto::sqlflow::{EndOfExecution, Message, Response, response};

    fn resp(r: response::Response) -> Response {
        Response { response: Some(r) }
    }

    fn figure_script() -> Vec<Response> {
        let figure = |title: &str| {
            resp(response::Response::Figure(Figure {
                title: title.into(),
                mime_type: "image/png".into(),
                data: b"\x89PNG fake".to_vec(),
            }))
        };
        vec![
            resp(response::Response::Message(Message {
                message: "trained".into(),
                kind: 0,
            })),
            figure("loss"),
            resp(response::Response::Eoe(EndOfExecution {
                statement_index: 1,
                ..Default::default()
            })),
            figure("../ROC curve!"),
            figure(""),
        ]
    }

    fn render_figures(format: Format, dir: &Path) -> (String, String) {
        let (mut out, mut err) = (Vec::new(), Vec::new());
        {
            let mut r = Renderer::new(format, &mut out, &mut err)
                .figures_dir(FiguresDir::Given(dir.to_path_buf()));
            for s in &figure_script() {
                r.response(s).unwrap();
            }
            r.finish().unwrap();
        }
        (
            String::from_utf8(out).unwrap(),
            String::from_utf8(err).unwrap(),
        )
    }

    #[test]
    fn figures_are_files_named_after_their_statement() {
        let tmp = std::env::temp_dir().join(format!("sqlflow-render-test-{}", std::process::id()));
        let dir = tmp.join("new");
        let (out, err) = render_figures(Format::Table, &dir);
        let path = |name: &str| dir.join(name).display().to_string();
        assert_eq!(
            out,
            format!(
                "trained\nfigure: loss (statement 2) -> {}\n\
                 figure: ../ROC curve! (statement 3) -> {}\n\
                 figure:  (statement 3) -> {}\n",
                path("s2-1-loss.png"),
                path("s3-1-roc-curve.png"),
                path("s3-2-figure.png")
            )
        );
        assert_eq!(err, "");
        assert_eq!(
            std::fs::read(dir.join("s2-1-loss.png")).unwrap(),
            b"\x89PNG fake"
        );
        // CSV keeps stdout for the table.
        let (out, err) = render_figures(Format::Csv, &dir);
        assert_eq!(out, "");
        assert!(err.contains("figure: loss (statement 2) -> "), "{err}");
        // JSON: one object per figure, the data in base64.
        let (out, _) = render_figures(Format::Json, &dir);
        let first = out.lines().next().unwrap();
        assert_eq!(
            first,
            format!(
                "{{\"figure\":{{\"title\":\"loss\",\"statement\":2,\"mime_type\":\"image/png\",\
                 \"file\":\"{}\",\"data\":\"{}\"}}}}",
                path("s2-1-loss.png"),
                STANDARD.encode(b"\x89PNG fake")
            )
        );
        std::fs::remove_dir_all(&tmp).unwrap();
    }

    #[test]
    fn the_default_figures_dir_is_new_and_private() {
        let parent = std::env::temp_dir();
        let a = fresh_dir(&parent).unwrap();
        let b = fresh_dir(&parent).unwrap();
        assert_ne!(a, b);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&a).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o700);
        }
        std::fs::remove_dir(a).unwrap();
        std::fs::remove_dir(b).unwrap();
    }
}

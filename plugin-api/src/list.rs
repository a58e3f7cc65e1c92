//! ListJobs paging, the same in every runner: a caller's jobs newest first (ties by job
//! id, descending), `page_size` 0 meaning [`DEFAULT_PAGE`] and anything above
//! [`MAX_PAGE`] capped, and a page token `<submitted ms>.<job id>` naming the last job of
//! the previous page, so a page that follows stays right while jobs come and go.

use crate::RunnerError;

/// Jobs in a page when the request names no size.
pub const DEFAULT_PAGE: usize = 50;
/// The most jobs in one page, whatever the request asks.
pub const MAX_PAGE: usize = 1000;
/// Characters of a malformed token an error quotes.
const CLIP_CHARS: usize = 100;

/// One page of jobs, cut from all of a caller's jobs.
#[derive(Debug)]
pub struct Page<T> {
    /// This page's jobs, newest first: at most the page size.
    pub jobs: Vec<T>,
    /// Whether older jobs follow the page's last one.
    more: bool,
}

impl<T> Page<T> {
    /// The page of `jobs` that `page_size` and `page_token` ask for. `key` gives a job's
    /// submission time (ms since the epoch) and id; `valid_id` says whether a token's id
    /// has the runner's job id format, so a malformed token is `INVALID_ARGUMENT`.
    pub fn select(
        mut jobs: Vec<T>,
        key: impl Fn(&T) -> (u64, &str),
        page_size: u32,
        page_token: &str,
        valid_id: impl Fn(&str) -> bool,
    ) -> Result<Page<T>, RunnerError> {
        let after = parse_token(page_token, valid_id)?;
        let size = page_size_for(page_size);
        jobs.sort_by(|a, b| key(b).cmp(&key(a)));
        let start = match &after {
            None => 0,
            Some((ms, id)) => jobs
                .iter()
                .position(|j| key(j) < (*ms, id.as_str()))
                .unwrap_or(jobs.len()),
        };
        let end = start.saturating_add(size).min(jobs.len());
        let more = end < jobs.len();
        jobs.truncate(end);
        jobs.drain(..start);
        Ok(Page { jobs, more })
    }

    /// The token of the page after the first `taken` jobs of this one (a runner may end
    /// a page early, to keep a reply small), or "" when no job follows them.
    pub fn next_token(&self, taken: usize, key: impl Fn(&T) -> (u64, &str)) -> String {
        match taken.checked_sub(1).and_then(|i| self.jobs.get(i)) {
            Some(last) if taken < self.jobs.len() || self.more => {
                let (ms, id) = key(last);
                format!("{ms}.{id}")
            }
            _ => String::new(),
        }
    }
}

/// The jobs a page holds when `page_size` is asked: [`DEFAULT_PAGE`] for 0, at most
/// [`MAX_PAGE`]. A runner that reads jobs from its own store reads this many (and one
/// more, to know whether another page follows).
pub fn page_size_for(page_size: u32) -> usize {
    match page_size as usize {
        0 => DEFAULT_PAGE,
        n => n.min(MAX_PAGE),
    }
}

/// A page token's position, `(submitted ms, job id)` of the previous page's last job, or
/// `None` for the first page; a malformed one is `INVALID_ARGUMENT`. A runner that reads
/// jobs from its own store starts there.
pub fn parse_token(
    token: &str,
    valid_id: impl Fn(&str) -> bool,
) -> Result<Option<(u64, String)>, RunnerError> {
    if token.is_empty() {
        return Ok(None);
    }
    let bad = || RunnerError::invalid_argument(format!("malformed page_token '{}'", clip(token)));
    let (ms, id) = token.split_once('.').ok_or_else(bad)?;
    let ms: u64 = ms.parse().map_err(|_| bad())?;
    if !valid_id(id) {
        return Err(bad());
    }
    Ok(Some((ms, id.to_string())))
}

/// Client input as an error quotes it: escaped, at most [`CLIP_CHARS`] characters.
fn clip(s: &str) -> String {
    let mut escaped = s.chars().flat_map(char::escape_debug);
    let mut out: String = escaped.by_ref().take(CLIP_CHARS).collect();
    if escaped.next().is_some() {
        out.push_str(&format!("... ({} bytes)", s.len()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorCode;

    fn jobs(n: u64) -> Vec<(u64, String)> {
        // Two jobs per millisecond, so ties are broken by id.
        (0..n).map(|i| (i / 2, format!("job{i:03}"))).collect()
    }

    fn key(j: &(u64, String)) -> (u64, &str) {
        (j.0, &j.1)
    }

    fn ids(p: &Page<(u64, String)>) -> Vec<&str> {
        p.jobs.iter().map(|j| j.1.as_str()).collect()
    }

    fn valid(id: &str) -> bool {
        id.starts_with("job")
    }

    #[test]
    fn pages_walk_every_job_once_newest_first() {
        let all = jobs(7);
        let mut seen = Vec::new();
        let mut token = String::new();
        loop {
            let page = Page::select(all.clone(), key, 3, &token, valid).unwrap();
            assert!(page.jobs.len() <= 3);
            seen.extend(ids(&page).into_iter().map(str::to_string));
            token = page.next_token(page.jobs.len(), key);
            if token.is_empty() {
                break;
            }
        }
        let expected: Vec<String> = (0..7).rev().map(|i| format!("job{i:03}")).collect();
        assert_eq!(seen, expected);
    }

    #[test]
    fn a_full_last_page_has_no_next_token() {
        let page = Page::select(jobs(4), key, 2, "1.job002", valid).unwrap();
        assert_eq!(ids(&page), ["job001", "job000"]);
        assert_eq!(page.next_token(2, key), "");
        let empty = Page::select(jobs(0), key, 2, "", valid).unwrap();
        assert!(empty.jobs.is_empty());
        assert_eq!(empty.next_token(0, key), "");
    }

    #[test]
    fn a_page_ended_early_continues_after_its_last_taken_job() {
        let page = Page::select(jobs(3), key, 0, "", valid).unwrap();
        assert_eq!(page.jobs.len(), 3);
        assert_eq!(page.next_token(1, key), "1.job002");
        assert_eq!(page.next_token(3, key), "");
        assert_eq!(page.next_token(0, key), "");
    }

    #[test]
    fn sizes_default_and_are_capped() {
        let all = jobs(1500);
        assert_eq!(
            Page::select(all.clone(), key, 0, "", valid)
                .unwrap()
                .jobs
                .len(),
            DEFAULT_PAGE
        );
        assert_eq!(
            Page::select(all.clone(), key, 5000, "", valid)
                .unwrap()
                .jobs
                .len(),
            MAX_PAGE
        );
        assert_eq!(Page::select(all, key, 7, "", valid).unwrap().jobs.len(), 7);
    }

    #[test]
    fn a_token_of_a_removed_job_still_finds_its_place() {
        let mut all = jobs(6);
        let page = Page::select(all.clone(), key, 2, "", valid).unwrap();
        let token = page.next_token(2, key);
        assert_eq!(token, "2.job004");
        all.retain(|j| j.1 != "job004");
        let next = Page::select(all, key, 2, &token, valid).unwrap();
        assert_eq!(ids(&next), ["job003", "job002"]);
    }

    #[test]
    fn malformed_tokens_are_invalid_arguments_that_quote_little() {
        let long = format!("x{}", "y".repeat(10_000));
        for token in [
            "garbage",
            "12",
            "x.job001",
            "12.other",
            "12.",
            ".job001",
            long.as_str(),
        ] {
            let e = Page::select(jobs(3), key, 2, token, valid).unwrap_err();
            assert_eq!(e.code, ErrorCode::INVALID_ARGUMENT, "{token}");
            assert!(e.message.len() < 200, "{}", e.message);
        }
        let e = Page::select(jobs(3), key, 2, "bad\n", valid).unwrap_err();
        assert!(e.message.contains("bad\\n"), "{}", e.message);
    }
}

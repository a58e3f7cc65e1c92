//! A runner's jobs: who owns each, which `request_id` made it, and ListJobs over them.
//!
//! The host keeps no state, so the promises built on "which jobs exist" are the runner's:
//! a caller sees only their own jobs (another user's job is `NOT_FOUND`, exactly like a
//! missing one), a `Run` repeating a `request_id` gets the job the first one made (and
//! `ALREADY_EXISTS` if it asks for something else), and ListJobs pages a caller's jobs
//! newest first. [`JobTable`] keeps all three for any job type.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, MutexGuard, PoisonError},
};

use sqlflow_proto::sqlflow::{JobInfo, ListJobsRequest, ListJobsResponse, Request};

use crate::{ErrorCode, RunnerError, list::Page};

/// What [`JobTable`] needs to know about a job.
pub trait TableJob: Send + Sync + 'static {
    /// The user who submitted it (`Caller.user_id`; empty without authentication).
    fn owner(&self) -> &str;
    /// The `request_id` of the Run that made it ("" for none).
    fn request_id(&self) -> &str;
    /// Its ListJobs entry (`job_id` and `submitted_at_ms` order the listing).
    fn info(&self) -> JobInfo;
}

/// A new job id: 32 lowercase hex digits (a v4 UUID, 122 random bits), unguessable, so
/// ids cannot be probed, and safe as a file or object name.
pub fn new_job_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// Whether `id` has the form [`new_job_id`] makes. Check it before an id names a path.
pub fn valid_job_id(id: &str) -> bool {
    id.len() == 32 && id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// Whether a retried `Run` repeats the first one: the same program on the same datasource.
pub fn same_request(program: &str, datasource_url: &str, retry: &Request) -> bool {
    program == retry.sql && datasource_url == datasource(retry)
}

/// A request's datasource (`Session.db_conn_str`; "" without a session).
pub fn datasource(request: &Request) -> &str {
    request
        .session
        .as_ref()
        .map(|s| s.db_conn_str.as_str())
        .unwrap_or_default()
}

/// The error for a `request_id` reused with another request.
pub fn request_reused(id: &str) -> RunnerError {
    RunnerError::new(
        ErrorCode::ALREADY_EXISTS,
        format!(
            "this request_id was already used for job {id}, with a different program or \
             datasource; a retried Run must repeat its request, a new request needs a new \
             request_id"
        ),
    )
}

/// Jobs by id, per owner and per `(owner, request_id)`.
pub struct JobTable<J> {
    tables: Mutex<Tables<J>>,
    /// Held while a job with a request id is made, so two Runs carrying the same id cannot
    /// both make one (without holding `tables` over the runner's slow work).
    submitting: Mutex<()>,
}

struct Tables<J> {
    jobs: HashMap<String, Arc<J>>,
    requests: HashMap<(String, String), String>,
}

impl<J: TableJob> Default for JobTable<J> {
    fn default() -> Self {
        JobTable::new()
    }
}

impl<J: TableJob> JobTable<J> {
    /// An empty table.
    pub fn new() -> Self {
        JobTable {
            tables: Mutex::new(Tables {
                jobs: HashMap::new(),
                requests: HashMap::new(),
            }),
            submitting: Mutex::new(()),
        }
    }

    fn tables(&self) -> MutexGuard<'_, Tables<J>> {
        self.tables.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The job `id` if `user` owns it; otherwise `NOT_FOUND`, the same answer as for a job
    /// that does not exist.
    pub fn lookup(&self, id: &str, user: &str) -> Result<Arc<J>, RunnerError> {
        match self.tables().jobs.get(id) {
            Some(job) if job.owner() == user => Ok(job.clone()),
            _ => Err(RunnerError::unknown_job(id)),
        }
    }

    /// The job `id`, whoever owns it (for the runner's own work).
    pub fn get(&self, id: &str) -> Option<Arc<J>> {
        self.tables().jobs.get(id).cloned()
    }

    /// A Run: with a `request_id` this user already used, the earlier job if `same` says
    /// the retry repeats its request (else `ALREADY_EXISTS`, see [`request_reused`]);
    /// otherwise `create` makes the job under a [new id](new_job_id) and it is added.
    /// Returns the job's id and whether this call made it.
    pub fn submit(
        &self,
        user: &str,
        request_id: &str,
        same: impl FnOnce(&str, &Arc<J>) -> Result<bool, RunnerError>,
        create: impl FnOnce(String) -> Result<Arc<J>, RunnerError>,
    ) -> Result<(String, bool), RunnerError> {
        let _one_at_a_time = (!request_id.is_empty()).then(|| {
            self.submitting
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
        });
        let earlier = if request_id.is_empty() {
            None
        } else {
            let t = self.tables();
            t.requests
                .get(&(user.to_string(), request_id.to_string()))
                .and_then(|id| Some((id.clone(), t.jobs.get(id)?.clone())))
        };
        if let Some((id, job)) = earlier {
            return if same(&id, &job)? {
                Ok((id, false))
            } else {
                Err(request_reused(&id))
            };
        }
        let id = new_job_id();
        let job = create(id.clone())?;
        self.insert(id.clone(), job);
        Ok((id, true))
    }

    /// Adds a job (one found again after a restart, say), indexing its request id.
    pub fn insert(&self, id: String, job: Arc<J>) {
        let mut t = self.tables();
        if !job.request_id().is_empty() {
            t.requests.insert(
                (job.owner().to_string(), job.request_id().to_string()),
                id.clone(),
            );
        }
        t.jobs.insert(id, job);
    }

    /// Removes a job (retention) and its request id, so the id may be used again.
    pub fn remove(&self, id: &str) -> Option<Arc<J>> {
        let mut t = self.tables();
        let job = t.jobs.remove(id)?;
        if !job.request_id().is_empty() {
            t.requests
                .remove(&(job.owner().to_string(), job.request_id().to_string()));
        }
        Some(job)
    }

    /// Every job (for the runner's own sweeps: abandonment, retention, statistics).
    pub fn all(&self) -> Vec<Arc<J>> {
        self.tables().jobs.values().cloned().collect()
    }

    /// ListJobs: `user`'s jobs, newest first, a page at a time (see [`crate::list`]).
    pub fn list(&self, user: &str, req: &ListJobsRequest) -> Result<ListJobsResponse, RunnerError> {
        let mine: Vec<JobInfo> = self
            .all()
            .iter()
            .filter(|j| j.owner() == user)
            .map(|j| j.info())
            .collect();
        let page = Page::select(mine, info_key, req.page_size, &req.page_token, valid_job_id)?;
        Ok(ListJobsResponse {
            next_page_token: page.next_token(page.jobs.len(), info_key),
            jobs: page.jobs,
        })
    }
}

/// What ListJobs orders a job by: submission time, then id.
pub fn info_key(i: &JobInfo) -> (u64, &str) {
    (i.submitted_at_ms.max(0) as u64, &i.job_id)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test

    use super::*;

    struct J {
        owner: String,
        request_id: String,
        id: String,
        at: i64,
    }

    impl TableJob for J {
        fn owner(&self) -> &str {
            &self.owner
        }
        fn request_id(&self) -> &str {
            &self.request_id
        }
        fn info(&self) -> JobInfo {
            JobInfo {
                job_id: self.id.clone(),
                submitted_at_ms: self.at,
                ..Default::default()
            }
        }
    }

    fn make(owner: &str, request_id: &str) -> impl FnOnce(String) -> Result<Arc<J>, RunnerError> {
        let (owner, request_id) = (owner.to_string(), request_id.to_string());
        move |id| {
            Ok(Arc::new(J {
                owner,
                request_id,
                id,
                at: 1,
            }))
        }
    }

    #[test]
    fn another_users_job_reads_like_a_missing_one() {
        let t = JobTable::new();
        let (id, _) = t
            .submit("alice", "", |_, _| Ok(true), make("alice", ""))
            .unwrap();
        assert!(valid_job_id(&id));
        t.lookup(&id, "alice").unwrap();
        let theirs = t.lookup(&id, "bob").err().unwrap();
        let missing = t.lookup(&new_job_id(), "bob").err().unwrap();
        assert_eq!(theirs.code, ErrorCode::NOT_FOUND);
        assert_eq!(theirs.code, missing.code);
        assert!(
            t.list("bob", &ListJobsRequest::default())
                .unwrap()
                .jobs
                .is_empty()
        );
        assert_eq!(
            t.list("alice", &ListJobsRequest::default())
                .unwrap()
                .jobs
                .len(),
            1
        );
    }

    #[test]
    fn a_request_id_gives_the_same_job_per_user_until_removed() {
        let t = JobTable::new();
        let (a, new) = t
            .submit("alice", "r1", |_, _| Ok(true), make("alice", "r1"))
            .unwrap();
        assert!(new);
        let (again, new) = t
            .submit("alice", "r1", |_, _| Ok(true), make("alice", "r1"))
            .unwrap();
        assert_eq!((again.as_str(), new), (a.as_str(), false));
        let other = t.submit("alice", "r1", |_, _| Ok(false), make("alice", "r1"));
        assert_eq!(other.err().unwrap().code, ErrorCode::ALREADY_EXISTS);
        let (bobs, _) = t
            .submit("bob", "r1", |_, _| Ok(true), make("bob", "r1"))
            .unwrap();
        assert_ne!(bobs, a);
        t.remove(&a).unwrap();
        let (fresh, new) = t
            .submit("alice", "r1", |_, _| Ok(true), make("alice", "r1"))
            .unwrap();
        assert!(new && fresh != a);
    }
}

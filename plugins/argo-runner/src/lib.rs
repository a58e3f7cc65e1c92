//! The `argo` job runner (work in progress).

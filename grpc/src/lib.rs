//! `service SQLFlow` as tonic code: what the host serves and clients call. Only they
//! depend on this crate; runners and the engine use `sqlflow-proto`'s messages and never
//! compile tonic, whatever else a workspace build enables.
//!
//! - [`sql_flow_client`], [`sql_flow_server`]: the generated client and server;
//! - [`raw`]: [`RawResponses`](raw::RawResponses) and the server the host serves, whose
//!   Fetch passes a runner's encoded responses through;
//! - [`codec`]: the server's decoder (a request that does not decode is
//!   `INVALID_ARGUMENT`) and the client's, which decodes a reply from one slice.

#![allow(clippy::doc_lazy_continuation, clippy::large_enum_variant)]

include!(concat!(env!("OUT_DIR"), "/sqlflow.rs"));

pub mod codec;
pub mod raw;

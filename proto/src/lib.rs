//! The SQLFlow protocol types, generated from `proto/*.proto` at build time, and the
//! record stream's line codec ([`stream`]). Messages only: the tonic service code is
//! `sqlflow-grpc`, which only the host and clients depend on.

#![allow(clippy::doc_lazy_continuation, clippy::large_enum_variant)]

/// The public protocol: `service SQLFlow` and its messages (package `sqlflow`).
pub mod sqlflow {
    include!(concat!(env!("OUT_DIR"), "/sqlflow.rs"));

    /// The record stream of a `sqlflow-step` process (package `sqlflow.step`).
    pub mod step {
        include!(concat!(env!("OUT_DIR"), "/sqlflow.step.rs"));
    }

    /// Payloads crossing the runner plugin boundary (package `sqlflow.plugin`).
    pub mod plugin {
        include!(concat!(env!("OUT_DIR"), "/sqlflow.plugin.rs"));
    }
}

pub use sqlflow::{plugin, step};

/// The encoded `FileDescriptorSet` of all protocol files, for gRPC reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/sqlflow_descriptor.bin"));

pub use prost::Message as ProstMessage;

pub mod stream;

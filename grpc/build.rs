//! Generates the tonic service code for `service SQLFlow` from `sqlflow-proto`'s own
//! `.proto` files with protox (pure Rust, no system `protoc`). Every message is the one
//! `sqlflow-proto` generated (extern paths), so only the client and the servers are new.

use std::{env, path::PathBuf};

const PROTO_DIR: &str = "../proto/proto";

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let files = ["sqlflow.proto"];
    for f in files {
        println!("cargo:rerun-if-changed={PROTO_DIR}/{f}");
    }
    let fds = protox::compile(files, [PROTO_DIR])?;
    tonic_prost_build::configure()
        .build_server(true)
        .build_client(true)
        .extern_path(".sqlflow", "::sqlflow_proto::sqlflow")
        // Replies decode from one contiguous slice: a 1 MiB page of rows decodes in
        // about half the time prost takes through tonic's chained buffer.
        .codec_path("crate::codec::SliceCodec")
        .compile_fds(fds.clone())?;
    // The server once more, replying to Fetch with `RawResponses` (the same wire
    // format, responses left encoded) so the host passes a runner's page through
    // without decoding it.
    let raw = PathBuf::from(env::var("OUT_DIR")?).join("raw");
    std::fs::create_dir_all(&raw)?;
    tonic_prost_build::configure()
        .build_server(true)
        .build_client(false)
        .extern_path(".sqlflow", "::sqlflow_proto::sqlflow")
        .extern_path(".sqlflow.Responses", "crate::raw::RawResponses")
        // Malformed requests are INVALID_ARGUMENT, not tonic's INTERNAL.
        .codec_path("crate::codec::StrictCodec")
        .out_dir(&raw)
        .compile_fds(fds)?;
    Ok(())
}

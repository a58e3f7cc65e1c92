//! Compiles the .proto files with protox (pure Rust), so no system `protoc` is needed.

use std::{env, path::PathBuf};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let files = [
        "proto/sqlflow.proto",
        "proto/step.proto",
        "proto/plugin.proto",
    ];
    for f in files {
        println!("cargo:rerun-if-changed={f}");
    }
    let fds = protox::compile(files, ["proto"])?;
    let out = PathBuf::from(env::var("OUT_DIR")?);
    // For gRPC reflection.
    std::fs::write(
        out.join("sqlflow_descriptor.bin"),
        prost::Message::encode_to_vec(&fds),
    )?;
    let grpc = env::var_os("CARGO_FEATURE_GRPC").is_some();
    tonic_prost_build::configure()
        .build_server(grpc)
        .build_client(grpc)
        .compile_fds(fds.clone())?;
    if grpc {
        // The server once more, replying to Fetch with `RawResponses` (the same wire
        // format, responses left encoded) so the host passes a runner's page through
        // without decoding it. Every message is the one generated above.
        let raw = out.join("raw");
        std::fs::create_dir_all(&raw)?;
        tonic_prost_build::configure()
            .build_server(true)
            .build_client(false)
            .extern_path(".sqlflow", "crate::sqlflow")
            .extern_path(".sqlflow.Responses", "crate::raw::RawResponses")
            // Malformed requests are INVALID_ARGUMENT, not tonic's INTERNAL.
            .codec_path("crate::codec::StrictCodec")
            .out_dir(&raw)
            .compile_fds(fds)?;
    }
    Ok(())
}

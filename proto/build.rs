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
        .compile_fds(fds)?;
    Ok(())
}

//! Rust-native models behind SQLFlow's `TO TRAIN / PREDICT / EVALUATE / EXPLAIN`.

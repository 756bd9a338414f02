//! The protocol's published test vectors, one binary (`cargo test -p onepush-protocol --test main`).

mod ocra_vectors;
mod rfc_vectors;

//! libFuzzer target: [`bodies::stored_documents`].
#![no_main]

#[path = "../bodies.rs"]
#[allow(dead_code)]
mod bodies;

libfuzzer_sys::fuzz_target!(|data: &[u8]| bodies::stored_documents(data));

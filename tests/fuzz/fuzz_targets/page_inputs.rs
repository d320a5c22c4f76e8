//! libFuzzer target: [`bodies::page_inputs`].
#![no_main]

#[path = "../bodies.rs"]
#[allow(dead_code)]
mod bodies;

libfuzzer_sys::fuzz_target!(|data: &[u8]| bodies::page_inputs(data));

//! The fuzz corpus and every input that once made a fuzz target fail, replayed on stable in
//! the ordinary test suite: each parser of hostile input must return on each of them, never
//! panic. The bodies are the fuzz targets' own (`tests/fuzz/bodies.rs`); `scripts/fuzz` runs
//! the targets themselves under libFuzzer.

#[path = "../../tests/fuzz/bodies.rs"]
mod bodies;

use std::path::{Path, PathBuf};

fn inputs(folder: &Path) -> Vec<PathBuf> {
    match std::fs::read_dir(folder) {
        Ok(entries) => entries.filter_map(Result::ok).map(|entry| entry.path()).collect(),
        Err(_) => Vec::new(),
    }
}

#[test]
fn every_committed_fuzz_input_is_handled_without_a_panic() {
    let fuzz = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fuzz");
    let mut replayed = 0;
    for (target, body) in bodies::TARGETS {
        let corpus = inputs(&fuzz.join("corpus").join(target));
        assert!(!corpus.is_empty(), "tests/fuzz/corpus/{target} has no inputs");
        for input in corpus
            .iter()
            .chain(inputs(&fuzz.join("regressions").join(target)).iter())
        {
            let data = std::fs::read(input).unwrap_or_else(|e| panic!("{}: {e}", input.display()));
            body(&data);
            replayed += 1;
        }
    }
    println!("{replayed} fuzz inputs replayed");
}

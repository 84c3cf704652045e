//! The committed vectors (`tests/vectors/`) are what the core computes today. Pyverify and the
//! page are checked against those files, so a change to a hash, a fingerprint or a check made
//! here without regenerating them (`cargo run -p stark-por-core --example vectors [-- v2 | v3]`)
//! fails here rather than passing unnoticed.

#[allow(dead_code)]
#[path = "../examples/vectors.rs"]
mod vectors;

fn same(computed: &str, committed: &str, file: &str) {
    if let Some((k, (a, b))) = computed.lines().zip(committed.lines()).enumerate().find(|(_, (a, b))| a != b) {
        panic!("tests/vectors/{file} line {}: the core gives\n{a}\nthe file holds\n{b}", k + 1);
    }
    assert_eq!(computed.lines().count(), committed.lines().count(), "tests/vectors/{file}: line count");
}

#[test]
fn the_committed_vectors_of_version_1_are_the_cores() {
    same(&vectors::vectors_v1(), include_str!("../../../tests/vectors/inclusion.json"), "inclusion.json");
}

#[test]
fn the_committed_vectors_of_version_2_are_the_cores() {
    same(&vectors::vectors_v2(), include_str!("../../../tests/vectors/inclusion_v2.json"), "inclusion_v2.json");
}

#[test]
fn the_committed_vectors_of_version_3_are_the_cores() {
    same(&vectors::vectors_v3(), include_str!("../../../tests/vectors/inclusion_v3.json"), "inclusion_v3.json");
}

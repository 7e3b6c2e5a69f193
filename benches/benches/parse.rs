//! Manifest parsing benchmarks: `smf_core::manifest::parse` (read, lower and validate, i.e.
//! `svccfg validate`) over
//!
//! - `corpus`: every `*.xml` of the real-manifest corpus (`$SMF_CORPUS`, else
//!   `<workspace>/../shared/corpus/smf-manifests`), all of them per iteration; skipped with a
//!   printed reason when the corpus is absent;
//! - `generated_10k`: 10,000 manifests from [`smf_benches::generate_manifests`] per iteration;
//! - `typical`: one generated manifest of median size.
//!
//! Inputs are read into memory before measuring. Throughput is reported in decimal MB/s;
//! each bench first prints how many manifests and bytes one iteration parses, so manifests/s
//! is `manifests / time`. Run with `cargo bench -p smf-benches --bench parse`.

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::Duration;

use criterion::{Criterion, SamplingMode, Throughput, criterion_group, criterion_main};
use smf_core::manifest;

/// `(file name, bytes)` of one manifest.
type Input = (String, Vec<u8>);

/// Where the corpus is: `$SMF_CORPUS`, else next to the workspace.
fn corpus_dir() -> PathBuf {
    match std::env::var_os("SMF_CORPUS") {
        Some(dir) => PathBuf::from(dir),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpus/smf-manifests"),
    }
}

/// Every `*.xml` under `dir`, sorted by path, read into memory.
fn read_xml_files(dir: &Path) -> std::io::Result<Vec<Input>> {
    let mut paths = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(current) = pending.pop() {
        for entry in std::fs::read_dir(&current)? {
            let path = entry?.path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|extension| extension == "xml") {
                paths.push(path);
            }
        }
    }
    paths.sort();
    paths
        .into_iter()
        .map(|path| {
            let bytes = std::fs::read(&path)?;
            let name = path
                .strip_prefix(dir)
                .unwrap_or(&path)
                .display()
                .to_string();
            Ok((name, bytes))
        })
        .collect()
}

/// Parses every input once; returns the number of diagnostics so nothing is optimised away.
fn parse_all(inputs: &[Input]) -> usize {
    inputs
        .iter()
        .map(|(name, bytes)| black_box(manifest::parse(name, bytes)).diagnostics.len())
        .sum()
}

/// Prints what one iteration of a bench parses: manifests, bytes, and how many are valid.
fn describe(id: &str, inputs: &[Input]) -> u64 {
    let bytes: usize = inputs.iter().map(|(_, bytes)| bytes.len()).sum();
    let parsed: Vec<_> = inputs
        .iter()
        .map(|(name, bytes)| manifest::parse(name, bytes))
        .collect();
    let bundles = parsed
        .iter()
        .filter(|parsed| parsed.bundle.is_some())
        .count();
    let valid = parsed.iter().filter(|parsed| parsed.is_valid()).count();
    let services: usize = parsed
        .iter()
        .filter_map(|parsed| parsed.bundle.as_ref())
        .map(|bundle| bundle.services.len())
        .sum();
    println!(
        "parse/{id}: {} manifests, {bytes} bytes per iteration ({bundles} well-formed, {valid} valid, {services} services)",
        inputs.len()
    );
    bytes as u64
}

fn bench_parse(c: &mut Criterion) {
    let mut group = c.benchmark_group("parse");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4))
        .sampling_mode(SamplingMode::Flat);

    let dir = corpus_dir();
    match read_xml_files(&dir) {
        Ok(corpus) if !corpus.is_empty() => {
            let bytes = describe("corpus", &corpus);
            group.throughput(Throughput::BytesDecimal(bytes));
            group.bench_function("corpus", |b| b.iter(|| parse_all(black_box(&corpus))));
        }
        Ok(_) => println!(
            "parse/corpus: skipped: no *.xml under {} (set SMF_CORPUS)",
            dir.display()
        ),
        Err(error) => println!(
            "parse/corpus: skipped: cannot read the corpus at {}: {error} (set SMF_CORPUS)",
            dir.display()
        ),
    }

    let generated = smf_benches::generate_manifests(10_000);
    let bytes = describe("generated_10k", &generated);
    // One iteration takes well over 100 ms: give the 10 samples the time they need.
    group.measurement_time(Duration::from_secs(10));
    group.throughput(Throughput::BytesDecimal(bytes));
    group.bench_function("generated_10k", |b| {
        b.iter(|| parse_all(black_box(&generated)))
    });
    group.measurement_time(Duration::from_secs(4));

    // The generated manifest of median size stands for a typical one.
    let mut by_size: Vec<&Input> = generated.iter().collect();
    by_size.sort_by_key(|(_, bytes)| bytes.len());
    let typical = vec![by_size[by_size.len() / 2].clone()];
    let bytes = describe("typical", &typical);
    group.throughput(Throughput::BytesDecimal(bytes));
    group.bench_function("typical", |b| b.iter(|| parse_all(black_box(&typical))));

    group.finish();
}

criterion_group!(benches, bench_parse);
criterion_main!(benches);

//! Dependency graph and engine benchmarks over [`smf_benches::layered_dag`] (a pseudo-random
//! layered DAG, layers of 100 services, 1-3 dependencies of 1-2 targets each, every instance
//! enabled) at 1,000, 10,000 and 100,000 instances:
//!
//! - `graph_build/<size>`: `smf_core::graph::DependencyGraph::build` of every service (instance
//!   composition, vertices, dependency groups, cycle search);
//! - `simulate_to_online/<size>`: a whole simulated boot, `World::new` + `import_services` +
//!   `run` until nothing is left to happen, i.e. the engine building its graph, evaluating
//!   every instance and starting all of them, layer after layer, on the fake clock.
//!
//! The services are generated before measuring, and cloned for each simulation outside the
//! timed part; dropping the graph or the world is not timed either. Throughput is reported as
//! elements/s where an element is an instance or a dependency edge, so equal figures at every
//! size mean cost linear in instances + edges. Before measuring, each simulation is run once
//! untimed by criterion and every instance is checked to be online; a size whose check run
//! does not finish within [`CHECK_BUDGET`], or would not even at linear cost from the size
//! before, is skipped with a printed reason (10 samples of it would not fit the few minutes
//! this bench is meant to take). Run with
//! `cargo bench -p smf-benches --bench engine`.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{
    BatchSize, BenchmarkGroup, Criterion, SamplingMode, Throughput, criterion_group,
    criterion_main, measurement::WallTime,
};
use smf_core::graph::DependencyGraph;
use smf_core::manifest::Service;
use smf_core::sim::World;
use smf_core::state::State;

/// The sizes measured: (bench id, instances).
const SIZES: [(&str, usize); 3] = [("1k", 1_000), ("10k", 10_000), ("100k", 100_000)];

/// The seed of every generated DAG (the same services on every run and machine).
const SEED: u64 = 1;

/// How long the untimed check run of a simulation may take before its size is skipped.
const CHECK_BUDGET: Duration = Duration::from_secs(20);

/// Events handled between two looks at the clock during the check run.
const CHECK_STEPS: u64 = 1_000;

/// Sets the sampling of `group` for one size: 100,000 instances get criterion's minimum of 10
/// samples and flat sampling, smaller sizes a few seconds each.
fn configure(group: &mut BenchmarkGroup<'_, WallTime>, instances: usize) {
    if instances >= 100_000 {
        group
            .sample_size(10)
            .sampling_mode(SamplingMode::Flat)
            .warm_up_time(Duration::from_millis(500))
            .measurement_time(Duration::from_secs(5));
    } else {
        group
            .sample_size(20)
            .sampling_mode(SamplingMode::Auto)
            .warm_up_time(Duration::from_secs(1))
            .measurement_time(Duration::from_secs(3));
    }
}

/// Instances + dependency edges of `services`: criterion's element count.
fn elements(services: &[Service]) -> u64 {
    (services.len() + smf_benches::edge_count(services)) as u64
}

fn bench_graph_build(c: &mut Criterion) {
    let mut group = c.benchmark_group("graph_build");
    for (id, instances) in SIZES {
        let services = smf_benches::layered_dag(instances, SEED);
        let graph = DependencyGraph::build(&services);
        assert!(graph.problems().is_empty(), "{:?}", graph.problems());
        let (vertices, graph_edges) = graph.size();
        drop(graph);
        println!(
            "graph_build/{id}: {instances} instances, {} dependency edges ({vertices} vertices, \
             {graph_edges} edges in the graph)",
            smf_benches::edge_count(&services),
        );
        configure(&mut group, instances);
        group.throughput(Throughput::Elements(elements(&services)));
        group.bench_function(id, |b| {
            b.iter_batched(
                || (),
                |()| DependencyGraph::build(black_box(&services)),
                BatchSize::PerIteration,
            )
        });
    }
    group.finish();
}

/// A simulated boot of `services`: import, then run until nothing is pending.
fn boot(services: Vec<Service>) -> World {
    let mut world = World::new();
    world.import_services(services);
    world.run();
    world
}

/// Boots `services` once, untimed by criterion, and checks every instance comes online.
/// Returns how long it took, or `None` (with the reason printed) when it did not finish
/// within [`CHECK_BUDGET`].
fn check_boot(id: &str, services: &[Service]) -> Option<Duration> {
    let started = Instant::now();
    let mut world = World::new();
    world.import_services(services.to_vec());
    let boot_started = world.now();
    while !world.run_steps(CHECK_STEPS) {
        if started.elapsed() > CHECK_BUDGET {
            let online = (0..services.len())
                .filter(|&index| {
                    world.state(&smf_benches::dag_instance_fmri(index)) == Some(State::Online)
                })
                .count();
            println!(
                "simulate_to_online/{id}: skipped: one run did not finish within {:?} \
                 ({online} of {} instances online after {:.1?}); 10 samples would take too long",
                CHECK_BUDGET,
                services.len(),
                started.elapsed(),
            );
            return None;
        }
    }
    let elapsed = started.elapsed();
    for index in 0..services.len() {
        let fmri = smf_benches::dag_instance_fmri(index);
        assert_eq!(world.state(&fmri), Some(State::Online), "{fmri}");
    }
    let simulated = world.now().millis() - boot_started.millis();
    let counters = world.engine().counters();
    let per = |count: u64| count as f64 / services.len() as f64;
    println!(
        "simulate_to_online/{id}: {} instances, {} dependency edges: all online after \
         {simulated} simulated ms; one untimed check run took {elapsed:.1?}; per instance: \
         {:.2} events, {:.2} evaluations, {:.2} state changes",
        services.len(),
        smf_benches::edge_count(services),
        per(counters.events),
        per(counters.evaluations),
        per(counters.transitions),
    );
    Some(elapsed)
}

fn bench_simulate_to_online(c: &mut Criterion) {
    let mut group = c.benchmark_group("simulate_to_online");
    // The previous size: (bench id, instances, one run).
    let mut previous: Option<(&str, usize, Duration)> = None;
    for (id, instances) in SIZES {
        // Even at linear cost a run of this size takes the previous run's time scaled up;
        // when that alone exceeds the budget the check run is not worth trying.
        if let Some((previous_id, previous_instances, took)) = previous {
            let at_least = took.mul_f64(instances as f64 / previous_instances as f64);
            if at_least > CHECK_BUDGET {
                println!(
                    "simulate_to_online/{id}: skipped: one {previous_id} run took {took:.1?}, so \
                     one {id} run would take at least {at_least:.1?} even if the cost were \
                     linear (budget {CHECK_BUDGET:?})"
                );
                continue;
            }
        }
        let services = smf_benches::layered_dag(instances, SEED);
        let Some(took) = check_boot(id, &services) else {
            continue;
        };
        previous = Some((id, instances, took));
        configure(&mut group, instances);
        if took > Duration::from_millis(500) {
            // Long runs: criterion's minimum, one run per sample.
            group.sample_size(10).sampling_mode(SamplingMode::Flat);
        }
        group.throughput(Throughput::Elements(elements(&services)));
        group.bench_function(id, |b| {
            b.iter_batched(
                || services.clone(),
                |services| boot(black_box(services)),
                BatchSize::PerIteration,
            )
        });
    }
    group.finish();
}

criterion_group!(benches, bench_graph_build, bench_simulate_to_online);
criterion_main!(benches);

//! The bottleneck verdict tells the truth for work that sleeps or waits on I/O and for work that burns CPU: the per-thread CPU time separates the two.

use std::thread;
use std::time::Duration;

use pc_pipeline::{Pipeline, Stage};

#[test]
fn a_stage_that_sleeps_is_advised_more_workers_however_many_it_has() {
    let cores = thread::available_parallelism().map_or(1, usize::from);
    // More workers than cores, each sleeping 2 ms per item: busy all the time, on no core.
    for workers in [1, 2 * cores] {
        let collected = Pipeline::source(0..(20 * workers) as u64)
            .stage(Stage::new("fetch").workers(workers).capacity(64), |n| {
                thread::sleep(Duration::from_millis(2));
                n
            })
            .collect()
            .unwrap();
        let report = &collected.report;
        let bottleneck = report.bottleneck.as_ref().unwrap();
        assert_eq!(bottleneck.stage, "fetch", "{report}");
        assert!(bottleneck.off_cpu_share > 0.75, "{report}");
        assert!(bottleneck.more_workers_help, "{report}");
        assert!(bottleneck.reason.contains("off-CPU"), "{report}");
    }
}

#[test]
fn a_stage_that_burns_cpu_on_every_core_is_not_advised_more_workers() {
    let cores = thread::available_parallelism().map_or(1, usize::from);
    // A fixed amount of arithmetic per item, a millisecond or so: its threads only ever wait
    // for a core, never for anything else.
    let burn = |n: u64| {
        (0..1_000_000u64).fold(n, |x, i| {
            std::hint::black_box(x.wrapping_mul(6364136223846793005).wrapping_add(i))
        })
    };
    let collected = Pipeline::source(0..(20 * cores) as u64)
        .stage(Stage::new("burn").workers(cores).capacity(64), burn)
        .collect()
        .unwrap();
    let report = &collected.report;
    let bottleneck = report.bottleneck.as_ref().unwrap();
    assert_eq!(bottleneck.stage, "burn", "{report}");
    assert!(!bottleneck.more_workers_help, "{report}");
}

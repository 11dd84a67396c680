//! The pool of shard numbers can be sized as on a machine with more CPUs than this one, so that
//! the benchmarks see the shards a large machine gets. Its own test binary: the pool is
//! process-wide.

use std::sync::{Arc, Barrier};

use routemeter::bench_support::{simulate_cpus, SyntheticHandlers};

/// Parts of one handler after `threads` threads, all alive at once, recorded into it.
fn parts_after(threads: usize) -> usize {
    let handlers = Arc::new(SyntheticHandlers::new(1));
    let barrier = Arc::new(Barrier::new(threads));
    let spawned: Vec<_> = (0..threads)
        .map(|_| {
            let (handlers, barrier) = (Arc::clone(&handlers), Arc::clone(&barrier));
            std::thread::spawn(move || {
                // Every thread is alive before any records, so none reuses another's number.
                barrier.wait();
                handlers.record_all(0.01, 100);
                barrier.wait();
            })
        })
        .collect();
    // Joined one by one rather than in a scope: a join returns once the thread has exited, after
    // its locals gave its number back to the pool, where a scope ends as soon as the threads'
    // closures have, so the next call could find numbers still held.
    for thread in spawned {
        assert!(thread.join().is_ok(), "a recording thread panicked");
    }
    handlers.parts_per_handler()
}

#[test]
fn the_pool_follows_the_simulated_cpus() {
    assert_eq!(simulate_cpus(16), 32, "two numbers per CPU, at most 32");
    assert_eq!(parts_after(20), 20, "each of 20 threads owns a part");
    assert_eq!(parts_after(40), 33, "32 owned parts and the shared one");

    assert_eq!(simulate_cpus(1), 4, "at least 4");
    assert_eq!(parts_after(20), 5, "4 owned parts and the shared one");
}

//! Measures the TSC frequency for `scripts/bench.py`: rdtsc before and after
//! a 200 ms sleep, against the monotonic clock over the same interval, five
//! times; prints the median as `tsc_mhz <value>` (and every sample).
//!
//! With a constant, non-stop TSC (`constant_tsc nonstop_tsc` in
//! /proc/cpuinfo) this is the rate at which rdtsc counts, whatever the core
//! clock does; it is what converts criterion's nanoseconds into TSC ticks.
//! It is not the core's clock under boost.

use std::arch::x86_64::{__rdtscp, _mm_lfence};
use std::time::{Duration, Instant};

/// rdtscp waits for earlier instructions; the lfence keeps later ones from
/// starting before it.
fn tsc() -> u64 {
    let mut aux = 0;
    // SAFETY: rdtscp and lfence only read the TSC and order instructions;
    // every x86_64 CPU this runs on has them (`rdtscp` in /proc/cpuinfo).
    unsafe {
        let t = __rdtscp(&mut aux);
        _mm_lfence();
        t
    }
}

fn main() {
    // `cargo bench` passes `--bench` (and maybe a filter): nothing to parse.
    let mut samples: Vec<f64> = (0..5)
        .map(|_| {
            let (t0, c0) = (Instant::now(), tsc());
            std::thread::sleep(Duration::from_millis(200));
            let (c1, t1) = (tsc(), Instant::now());
            (c1 - c0) as f64 / (t1 - t0).as_secs_f64() / 1e6
        })
        .collect();
    samples.sort_by(f64::total_cmp);
    let text: Vec<String> = samples.iter().map(|s| format!("{s:.2}")).collect();
    println!("tsc_samples_mhz {}", text.join(" "));
    println!("tsc_mhz {:.2}", samples[samples.len() / 2]);
}

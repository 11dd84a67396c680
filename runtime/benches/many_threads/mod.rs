//! routemeter at production scale: many threads recording into 100 handlers, with the shard pool
//! sized as on a machine with 16 or 32 CPUs (`simulate_cpus`), whatever this machine has.
//!
//! - `many_threads/record/{1,16,32,64}`: CPU time per request (two observations and a count)
//!   when that many threads record into the 100 handlers at once, each request to a random
//!   handler, latencies log-uniform over 0.1 ms – 1 s and sizes over 100 B – 1 MB. More threads
//!   than cores is fine: the time is each thread's own CPU time.
//! - Memory per handler after `T` threads, all alive at once, each recorded 2,000 such requests
//!   into every handler: by the crate's own count, and in resident memory (the process's RSS
//!   before and after, over 100 handlers). Each is measured in a process of its own (this
//!   executable, run again with [`MEMORY_OF`] set), whose heap has held nothing before: in a
//!   process that has run other benchmarks, memory freed or reserved by them would be reused.
//! - `many_threads/render_text/{2,16,32,64}`: rendering those 100 handlers; and
//!   `many_threads/render_1000_16threads/{text,gzip}`: 1000 handlers recorded so by 16 threads.
//!
//! The requests of the render sets, and of the first memory figures, end at one instant, so they
//! fill one age bucket of each shard. A service that has been up for a while has a window's worth
//! of history, in up to five: the second memory figures spread each thread's requests over the
//! last 8 minutes of the default 10-minute window, as `bytes_per_handler` does.

use std::hint::black_box;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Barrier, OnceLock};
use std::thread;
use std::time::{Duration, Instant};

use criterion::{BatchSize, BenchmarkId, Criterion};
use routemeter::bench_support::{simulate_cpus, SyntheticHandlers};

use crate::LogNormal;

/// Recording threads in the memory and render figures (2 for comparison).
pub const THREADS: [usize; 4] = [2, 16, 32, 64];
/// Recording threads in the cost per request (1 for comparison).
pub const RECORD_THREADS: [usize; 4] = [1, 16, 32, 64];
/// Handlers the threads record into.
pub const HANDLERS: usize = 100;
/// Handlers of the large render.
pub const LARGE_HANDLERS: usize = 1000;
/// Threads that record the large render's handlers.
pub const LARGE_THREADS: usize = 16;
/// When set to a number of threads, this executable measures the memory of those threads'
/// recording, prints it and exits.
pub const MEMORY_OF: &str = "ROUTEMETER_BENCH_MEMORY_OF";
/// How long a process measuring memory may take before it is killed.
const MEMORY_DEADLINE: Duration = Duration::from_secs(120);

/// Requests each thread records into each handler of the memory and render sets.
const REQUESTS_PER_THREAD: usize = 2000;

/// The CPUs of the machine simulated for `threads` recording threads: 16 cores for up to 16
/// threads (one worker thread per core, as tokio runs), 32 beyond.
pub fn simulated_cpus(threads: usize) -> usize {
    if threads <= 16 {
        16
    } else {
        32
    }
}

/// Requests with latencies log-uniform over 0.1 ms – 1 s and sizes over 100 B – 1 MB, each to a
/// handler drawn uniformly from `handlers`.
pub struct Requests(LogNormal);

impl Requests {
    pub fn new(seed: u64) -> Requests {
        Requests(LogNormal::new(seed))
    }

    /// `(handler, seconds, bytes)`.
    pub fn next(&mut self, handlers: usize) -> (usize, f64, u64) {
        let log_uniform = |uniform: f64, low: f64, high: f64| low * (high / low).powf(uniform);
        let seconds = log_uniform(self.0.next_uniform(), 1e-4, 1.0);
        let bytes = log_uniform(self.0.next_uniform(), 100.0, 1e6) as u64;
        let handler = (self.0.next_uniform() * handlers as f64) as usize;
        (handler, seconds, bytes)
    }
}

/// When the requests of a memory figure ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum History {
    /// All at one instant: one age bucket of each shard.
    Instant,
    /// Spread over the last 8 minutes: every age bucket of each shard.
    Window,
}

impl History {
    /// How long before the benchmark's instant request `index` (of `REQUESTS_PER_THREAD`) ended:
    /// a thread's requests end in time order, the oldest first.
    fn ago(self, index: usize) -> Duration {
        let later = REQUESTS_PER_THREAD.saturating_sub(index + 1) as u32;
        match self {
            History::Instant => Duration::ZERO,
            History::Window => Duration::from_secs(480) * later / REQUESTS_PER_THREAD as u32,
        }
    }

    /// The name in the process's environment.
    pub fn name(self) -> &'static str {
        match self {
            History::Instant => "instant",
            History::Window => "window",
        }
    }
}

/// What a set of handlers cost after `threads` threads recorded into it.
#[derive(Clone, Copy, Debug)]
pub struct Memory {
    pub threads: usize,
    pub history: History,
    pub simulated_cpus: usize,
    /// The crate's own count for one handler.
    pub counted: usize,
    /// The growth of resident memory over the set, per handler.
    pub resident: usize,
}

/// The sets the render benchmarks read, recorded before criterion starts.
struct Sets {
    by_threads: Vec<(usize, SyntheticHandlers)>,
    large: SyntheticHandlers,
}

static SETS: OnceLock<Sets> = OnceLock::new();

/// Resident memory of the process in bytes, from `/proc/self/statm`.
fn resident_bytes() -> usize {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: usize = statm
        .split_whitespace()
        .nth(1)
        .and_then(|pages| pages.parse().ok())
        .unwrap_or(0);
    // SAFETY: sysconf only reads a configuration value.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    pages * usize::try_from(page).unwrap_or(4096)
}

/// `threads` threads, all alive at once, each record `REQUESTS_PER_THREAD` requests into every
/// handler of `handlers`. Returns the resident memory the recording added. The threads start
/// before the first reading of memory and end after the second, so their stacks are in both.
fn record_from(handlers: &SyntheticHandlers, threads: usize, history: History) -> usize {
    let barrier = Barrier::new(threads + 1);
    let mut grown = 0;
    thread::scope(|scope| {
        for thread in 0..threads {
            let barrier = &barrier;
            scope.spawn(move || {
                let mut requests = Requests::new(1000 + thread as u64);
                // Alive, waiting for the first reading.
                barrier.wait();
                barrier.wait();
                for index in 0..REQUESTS_PER_THREAD {
                    let (_, seconds, bytes) = requests.next(1);
                    handlers.record_all_ago(seconds, bytes, history.ago(index));
                }
                // Done, alive until the second reading.
                barrier.wait();
                barrier.wait();
            });
        }
        barrier.wait();
        let before = resident_bytes();
        barrier.wait();
        barrier.wait();
        grown = resident_bytes().saturating_sub(before);
        barrier.wait();
    });
    grown
}

/// Measures, in this process, the memory of the recording `what` names (`<threads>:<history>`)
/// into a new set, and prints it as `memory <counted> <resident>` (bytes per handler).
pub fn print_memory_of(what: &str) {
    let (threads, history) = match what.split_once(':') {
        Some((threads, "window")) => (threads, History::Window),
        Some((threads, _)) => (threads, History::Instant),
        None => (what, History::Instant),
    };
    let Ok(threads) = threads.parse() else {
        eprintln!("{MEMORY_OF}={what}: not <threads>:<history>");
        return;
    };
    simulate_cpus(simulated_cpus(threads));
    let before = resident_bytes();
    let handlers = SyntheticHandlers::new(HANDLERS);
    let created = resident_bytes().saturating_sub(before);
    let recorded = record_from(&handlers, threads, history);
    println!(
        "memory {} {}",
        handlers.heap_bytes_per_handler(),
        (created + recorded) / HANDLERS
    );
}

/// A child process, killed if it is still running when this is dropped.
struct Reaped(Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

/// Runs this executable again to measure the memory of `threads` threads' `history`.
fn memory_of(threads: usize, history: History) -> Result<Memory, String> {
    let exe = std::env::current_exe().map_err(|err| err.to_string())?;
    let child = Command::new(exe)
        .env(MEMORY_OF, format!("{threads}:{}", history.name()))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|err| err.to_string())?;
    let mut child = Reaped(child);
    let started = Instant::now();
    loop {
        match child.0.try_wait().map_err(|err| err.to_string())? {
            Some(_) => break,
            None if started.elapsed() > MEMORY_DEADLINE => {
                return Err(format!("the memory of {threads} threads took too long"));
            }
            None => thread::sleep(Duration::from_millis(20)),
        }
    }
    let mut out = String::new();
    if let Some(stdout) = child.0.stdout.as_mut() {
        std::io::Read::read_to_string(stdout, &mut out).map_err(|err| err.to_string())?;
    }
    let figures: Vec<usize> = out
        .lines()
        .find_map(|line| line.strip_prefix("memory "))
        .map(|rest| rest.split(' ').filter_map(|n| n.parse().ok()).collect())
        .unwrap_or_default();
    match figures[..] {
        [counted, resident] => Ok(Memory {
            threads,
            history,
            simulated_cpus: simulated_cpus(threads),
            counted,
            resident,
        }),
        _ => Err(format!("no memory figures from {threads} threads: {out:?}")),
    }
}

/// Measures the memory of every number of threads and history, each in a process of its own.
pub fn memory() -> Vec<Memory> {
    [History::Instant, History::Window]
        .into_iter()
        .flat_map(|history| THREADS.map(|threads| (threads, history)))
        .filter_map(|(threads, history)| {
            memory_of(threads, history)
                .map_err(|err| eprintln!("{err}"))
                .ok()
        })
        .collect()
}

/// Builds the sets the render benchmarks read; call once, before them.
pub fn prepare() {
    let mut by_threads = Vec::new();
    for threads in THREADS {
        simulate_cpus(simulated_cpus(threads));
        let handlers = SyntheticHandlers::new(HANDLERS);
        record_from(&handlers, threads, History::Instant);
        by_threads.push((threads, handlers));
    }
    simulate_cpus(simulated_cpus(LARGE_THREADS));
    let large = SyntheticHandlers::new(LARGE_HANDLERS);
    record_from(&large, LARGE_THREADS, History::Instant);
    let _ = SETS.set(Sets { by_threads, large });
}

/// Threads that record `iters` requests each whenever the benchmark asks, and report their CPU
/// time: what an async runtime's worker threads do, minus the waiting.
struct Workers {
    orders: Vec<mpsc::Sender<u64>>,
    barrier: Arc<Barrier>,
    done: mpsc::Receiver<Duration>,
    threads: Vec<thread::JoinHandle<()>>,
}

impl Workers {
    fn start(count: usize, handlers: &'static SyntheticHandlers) -> Workers {
        let barrier = Arc::new(Barrier::new(count + 1));
        let (report, done) = mpsc::channel();
        let mut orders = Vec::new();
        let mut threads = Vec::new();
        for worker in 0..count {
            let (order, receive) = mpsc::channel::<u64>();
            orders.push(order);
            let barrier = Arc::clone(&barrier);
            let report = report.clone();
            threads.push(thread::spawn(move || {
                let mut requests = Requests::new(worker as u64);
                let batch: Vec<(usize, f64, u64)> =
                    (0..4096).map(|_| requests.next(handlers.len())).collect();
                for iters in receive {
                    barrier.wait();
                    let started = thread_cpu_time();
                    for i in 0..iters {
                        let (handler, seconds, bytes) = batch[(i & 4095) as usize];
                        handlers.record(handler, black_box(seconds), bytes);
                    }
                    if report.send(thread_cpu_time() - started).is_err() {
                        return;
                    }
                }
            }));
        }
        Workers {
            orders,
            barrier,
            done,
            threads,
        }
    }

    /// Every worker records `iters` requests; the CPU time they took, averaged over workers.
    fn run(&self, iters: u64) -> Duration {
        for order in &self.orders {
            order.send(iters).expect("worker alive");
        }
        self.barrier.wait();
        let total: Duration = (0..self.orders.len())
            .map(|_| self.done.recv().expect("worker alive"))
            .sum();
        total / u32::try_from(self.orders.len()).unwrap_or(1)
    }

    fn stop(self) {
        drop(self.orders);
        for thread in self.threads {
            thread.join().expect("worker ended");
        }
    }
}

/// The calling thread's CPU time.
fn thread_cpu_time() -> Duration {
    let mut time = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `time` is a valid timespec to write into.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut time) };
    Duration::new(
        u64::try_from(time.tv_sec).unwrap_or(0),
        u32::try_from(time.tv_nsec).unwrap_or(0),
    )
}

/// CPU time per request with 1 to 64 threads recording into 100 handlers at once.
pub fn record(c: &mut Criterion) {
    let mut group = c.benchmark_group("many_threads");
    for threads in RECORD_THREADS {
        simulate_cpus(simulated_cpus(threads));
        let handlers: &'static SyntheticHandlers =
            Box::leak(Box::new(SyntheticHandlers::new(HANDLERS)));
        let workers = Workers::start(threads, handlers);
        group.bench_function(BenchmarkId::new("record", threads), |b| {
            b.iter_custom(|iters| workers.run(iters))
        });
        workers.stop();
    }
    group.finish();
}

/// Renders of the prepared sets, each after a new request on every handler, as in `render`.
pub fn render(c: &mut Criterion) {
    let Some(sets) = SETS.get() else {
        return;
    };
    let mut group = c.benchmark_group("many_threads");
    let mut requests = Requests::new(99);
    for (threads, handlers) in &sets.by_threads {
        group.bench_function(BenchmarkId::new("render_text", threads), |b| {
            b.iter_batched(
                || {
                    let (_, seconds, bytes) = requests.next(1);
                    handlers.record_all(seconds, bytes);
                },
                |()| black_box(handlers.render()),
                BatchSize::PerIteration,
            )
        });
    }
    let large = &sets.large;
    group.bench_function(BenchmarkId::new("render_1000_16threads", "text"), |b| {
        b.iter_batched(
            || {
                let (_, seconds, bytes) = requests.next(1);
                large.record_all(seconds, bytes);
            },
            |()| black_box(large.render()),
            BatchSize::PerIteration,
        )
    });
    group.bench_function(BenchmarkId::new("render_1000_16threads", "gzip"), |b| {
        b.iter_batched(
            || {
                let (_, seconds, bytes) = requests.next(1);
                large.record_all(seconds, bytes);
            },
            |()| black_box(large.render_gzip()),
            BatchSize::PerIteration,
        )
    });
    group.finish();
}

//! Per-thread shards: where each thread records, so that recording needs no locked instruction.
//!
//! A summary or a handler's request counts keep one part (a *shard*) per thread that records
//! into them. A thread claims a shard number from a small process-wide pool the first time it
//! records anything and keeps it until it exits, when the number goes back to the pool. While
//! a thread holds a number, it is the only thread that writes to the shards of that number, so
//! its counters are updated with a plain load and store ([`Owner`]) instead of an atomic
//! read-modify-write: on x86-64 that saves the locked instruction that was most of the cost of
//! an observation, and two threads never write to the same cache line. Readers (scrapes) add the
//! shards up with plain atomic loads.
//!
//! The pool holds two numbers per CPU the process may use (at least 4, at most
//! [`MAX_OWNED`]): enough for an async runtime's worker threads and a few more. The crate's
//! benchmarks and tests can size it as a machine with more CPUs would (`simulate_cpus`). Threads that
//! find it empty, and threads recording while they exit, share one extra shard written with
//! atomic read-modify-writes ([`Sharer`]): slower, never wrong.
//!
//! A shard is allocated the first time its thread records into it, so memory grows with the
//! number of threads that actually record into a metric, up to the pool size plus one.

use std::cell::Cell;
use std::sync::atomic::{AtomicU16, AtomicU64, AtomicUsize, Ordering};

use crate::primitives::lazy_box::{self, LazyBox};

/// Most shard numbers the pool ever holds.
pub(crate) const MAX_OWNED: usize = 32;
/// Shards per metric: one per number of the pool, plus the shared one.
pub(crate) const CELLS: usize = MAX_OWNED + 1;

/// A shard number: one the calling thread owns, or the shared one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Shard(usize);

impl Shard {
    /// The shard of threads that hold no number of their own.
    pub(crate) const SHARED: Shard = Shard(MAX_OWNED);

    /// Whether only the calling thread writes to this shard.
    #[inline]
    pub(crate) fn is_owned(self) -> bool {
        self.0 < MAX_OWNED
    }
}

/// The calling thread's shard, claimed on its first call.
#[inline]
pub(crate) fn current() -> Shard {
    match NUMBER.get() {
        UNCLAIMED => claim(),
        number => Shard(number),
    }
}

/// Claims a number for the calling thread, with the guard that gives it back when the thread
/// exits.
#[cold]
fn claim() -> Shard {
    // Fails only while the thread's locals are being destroyed: the number would never be
    // given back. The thread then holds the shared shard's number, as after the guard's drop,
    // and does not come back here.
    if GUARD.try_with(|_| ()).is_err() {
        NUMBER.set(Shard::SHARED.0);
        return Shard::SHARED;
    }
    let shard = POOL.claim();
    NUMBER.set(shard.0);
    shard
}

/// The process-wide pool of shard numbers.
static POOL: Pool = Pool::new();

/// Shard numbers, each held by at most one living thread.
struct Pool {
    /// Bit `i` is set while a thread holds number `i`.
    claimed: AtomicU64,
    /// How many numbers the pool holds; 0 until first needed (see [`Pool::size`]).
    size: AtomicUsize,
}

/// The pool's size on a machine whose process may use `cpus` CPUs: two numbers per CPU, at
/// least 4, at most [`MAX_OWNED`].
fn pool_size_for(cpus: usize) -> usize {
    cpus.saturating_mul(2).clamp(4, MAX_OWNED)
}

/// Sizes the pool as on a machine with `cpus` CPUs, instead of the CPUs this process may use,
/// so that a benchmark or a test on a small machine sees the shards a large one would get.
/// Threads that hold a number keep it; numbers from then on are handed out within the new size.
/// Only the crate's benchmarks and tests call this: production sizes the pool from the machine.
#[cfg(any(test, feature = "bench"))]
pub(crate) fn simulate_cpus(cpus: usize) -> usize {
    let size = pool_size_for(cpus);
    POOL.size.store(size, Ordering::Relaxed);
    size
}

impl Pool {
    const fn new() -> Pool {
        Pool {
            claimed: AtomicU64::new(0),
            size: AtomicUsize::new(0),
        }
    }

    /// [`pool_size_for`] the CPUs the process may use, fixed when first needed.
    fn size(&self) -> usize {
        match self.size.load(Ordering::Relaxed) {
            0 => {
                let cpus =
                    std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
                // Whoever sets it first wins: a simulated size set meanwhile stays.
                match self.size.compare_exchange(
                    0,
                    pool_size_for(cpus),
                    Ordering::Relaxed,
                    Ordering::Relaxed,
                ) {
                    Ok(_) => pool_size_for(cpus),
                    Err(set) => set,
                }
            }
            size => size,
        }
    }

    /// Takes the lowest free number, or the shared shard when there is none.
    #[cold]
    fn claim(&self) -> Shard {
        let limit = self.size();
        let mut claimed = self.claimed.load(Ordering::Relaxed);
        loop {
            let free = (!claimed).trailing_zeros() as usize;
            if free >= limit {
                return Shard::SHARED;
            }
            // Acquire: the new owner sees every write of the number's previous owner.
            match self.claimed.compare_exchange_weak(
                claimed,
                claimed | 1 << free,
                Ordering::Acquire,
                Ordering::Relaxed,
            ) {
                Ok(_) => return Shard(free),
                Err(now) => claimed = now,
            }
        }
    }

    /// Gives `shard` back; the shared shard is never taken, so never given back.
    fn release(&self, shard: Shard) {
        if shard.is_owned() {
            // Release: the next owner of the number sees every write this thread made.
            self.claimed.fetch_and(!(1 << shard.0), Ordering::Release);
        }
    }
}

std::thread_local! {
    /// The thread's shard number, [`UNCLAIMED`] before its first use. Once the thread's locals
    /// are being destroyed and its number is back in the pool, the shared shard's: the thread
    /// must not write as an owner any more. Apart from the guard, with no destructor, so that
    /// reading it is one load: every request reads it twice.
    static NUMBER: Cell<usize> = const { Cell::new(UNCLAIMED) };
    /// Gives the thread's number back when the thread exits; first touched when it claims one.
    static GUARD: Guard = const { Guard };
}

const UNCLAIMED: usize = usize::MAX;

/// See [`GUARD`].
struct Guard;

impl Drop for Guard {
    fn drop(&mut self) {
        // `release` leaves alone what is not an owned number (unclaimed, the shared shard).
        POOL.release(Shard(NUMBER.replace(Shard::SHARED.0)));
    }
}

/// One part per shard of a metric, each allocated when its shard first records.
pub(crate) struct Shards<T> {
    cells: [LazyBox<Padded<T>>; CELLS],
    /// Bit `i` is set once cell `i` is installed, so that readers visit only those.
    installed: AtomicU64,
}

impl<T> Default for Shards<T> {
    fn default() -> Self {
        Shards {
            cells: std::array::from_fn(|_| LazyBox::default()),
            installed: AtomicU64::new(0),
        }
    }
}

/// A part on cache lines of its own: two threads' parts never share a line, nor a pair of lines
/// that the processor fetches together.
#[repr(align(128))]
struct Padded<T>(T);

impl<T> Shards<T> {
    /// Heap bytes of one part, padding included.
    pub(crate) const PART_BYTES: usize = std::mem::size_of::<Padded<T>>();

    /// The part of `shard`, created by `init` on first use.
    #[inline]
    pub(crate) fn get_or_init(&self, shard: Shard, init: impl FnOnce() -> T) -> &T {
        // A shard number is at most `MAX_OWNED` by construction; `min` lets the compiler see it.
        let index = shard.0.min(MAX_OWNED);
        match self.cells[index].get() {
            Some(part) => &part.0,
            None => self.install(index, init),
        }
    }

    #[cold]
    #[inline(never)]
    fn install(&self, index: usize, init: impl FnOnce() -> T) -> &T {
        let part = &self.cells[index].get_or_init(|| Padded(init())).0;
        // After the pointer is published, so a reader that sees the bit finds the part.
        self.installed.fetch_or(1 << index, Ordering::Release);
        part
    }

    /// The parts created so far.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &T> + Clone {
        lazy_box::installed(&self.cells, self.installed.load(Ordering::Acquire))
            .map(|(_, part)| &part.0)
    }
}

/// How the counters of a shard are written: by their one owner, or by any thread.
pub(crate) trait Writer {
    /// Whether one thread alone writes through it: the shard's owner.
    const OWNED: bool;
    /// Adds `n` to `counter`.
    fn add(counter: &AtomicU64, n: u64);
    /// Adds `n` to `counter` with release ordering: a reader that loads the new value with
    /// acquire ordering sees everything that happened before it.
    fn add_release(counter: &AtomicU64, n: u64);
    /// Adds one to `counter` and returns its previous value.
    fn increment(counter: &AtomicU16) -> u16;
    /// Adds `value` to the `f64` whose bit pattern `sum` holds.
    fn add_float(sum: &AtomicU64, value: f64);
    /// Sets `entry` to `key` if it is still 0, with release ordering, and returns what it holds
    /// now: `key`, or another key that got there first.
    fn take(entry: &AtomicU16, key: u16) -> u16;
    /// Lowers `least` to `value` if `value` is smaller.
    fn lower(least: &AtomicU64, value: u64);
    /// Raises `most` to `value` if `value` is larger.
    fn raise(most: &AtomicU64, value: u64);
}

/// The shard's owner: the only thread that writes to it, so a load and a store are enough.
pub(crate) enum Owner {}

/// Any thread: atomic read-modify-writes, so that concurrent writes are not lost.
pub(crate) enum Sharer {}

impl Writer for Owner {
    const OWNED: bool = true;

    #[inline]
    fn add(counter: &AtomicU64, n: u64) {
        counter.store(
            counter.load(Ordering::Relaxed).wrapping_add(n),
            Ordering::Relaxed,
        );
    }

    #[inline]
    fn add_release(counter: &AtomicU64, n: u64) {
        counter.store(
            counter.load(Ordering::Relaxed).wrapping_add(n),
            Ordering::Release,
        );
    }

    #[inline]
    fn increment(counter: &AtomicU16) -> u16 {
        let previous = counter.load(Ordering::Relaxed);
        counter.store(previous.wrapping_add(1), Ordering::Relaxed);
        previous
    }

    #[inline]
    fn add_float(sum: &AtomicU64, value: f64) {
        let total = f64::from_bits(sum.load(Ordering::Relaxed)) + value;
        sum.store(total.to_bits(), Ordering::Relaxed);
    }

    #[inline]
    fn take(entry: &AtomicU16, key: u16) -> u16 {
        match entry.load(Ordering::Relaxed) {
            0 => {
                entry.store(key, Ordering::Release);
                key
            }
            held => held,
        }
    }

    #[inline]
    fn lower(least: &AtomicU64, value: u64) {
        if value < least.load(Ordering::Relaxed) {
            least.store(value, Ordering::Relaxed);
        }
    }

    #[inline]
    fn raise(most: &AtomicU64, value: u64) {
        if value > most.load(Ordering::Relaxed) {
            most.store(value, Ordering::Relaxed);
        }
    }
}

impl Writer for Sharer {
    const OWNED: bool = false;

    #[inline]
    fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    #[inline]
    fn add_release(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Release);
    }

    #[inline]
    fn increment(counter: &AtomicU16) -> u16 {
        counter.fetch_add(1, Ordering::Relaxed)
    }

    #[inline]
    fn add_float(sum: &AtomicU64, value: f64) {
        let mut current = sum.load(Ordering::Relaxed);
        loop {
            let next = (f64::from_bits(current) + value).to_bits();
            match sum.compare_exchange_weak(current, next, Ordering::Relaxed, Ordering::Relaxed) {
                Ok(_) => return,
                Err(actual) => current = actual,
            }
        }
    }

    #[inline]
    fn take(entry: &AtomicU16, key: u16) -> u16 {
        match entry.compare_exchange(0, key, Ordering::AcqRel, Ordering::Acquire) {
            Ok(_) => key,
            Err(held) => held,
        }
    }

    #[inline]
    fn lower(least: &AtomicU64, value: u64) {
        // Read first: once the extremes settle, most observations change neither.
        if value < least.load(Ordering::Relaxed) {
            least.fetch_min(value, Ordering::Relaxed);
        }
    }

    #[inline]
    fn raise(most: &AtomicU64, value: u64) {
        if value > most.load(Ordering::Relaxed) {
            most.fetch_max(value, Ordering::Relaxed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_handed_out_once_and_come_back() {
        let pool = Pool::new();
        pool.size.store(2, Ordering::Relaxed);
        assert_eq!(pool.claim(), Shard(0));
        assert_eq!(pool.claim(), Shard(1));
        assert_eq!(pool.claim(), Shard::SHARED, "the pool is empty");
        pool.release(Shard(0));
        pool.release(Shard::SHARED);
        assert_eq!(pool.claim(), Shard(0));
        assert_eq!(pool.claim(), Shard::SHARED);
    }

    #[test]
    fn a_thread_keeps_its_shard() {
        let mine = current();
        assert_eq!(current(), mine);
        let other = std::thread::spawn(current).join().ok();
        if mine.is_owned() {
            assert_ne!(other, Some(mine), "two living threads own one shard");
        }
    }

    #[test]
    fn a_thread_whose_number_went_back_writes_as_a_sharer() {
        let seen = std::thread::spawn(|| {
            // Claims a number, then gives it back as the thread's exit does, while its other
            // locals may still record.
            current();
            drop(Guard);
            (current(), current())
        })
        .join()
        .ok();
        let Some((after, again)) = seen else {
            panic!("the thread panicked");
        };
        assert_eq!(after, Shard::SHARED);
        assert_eq!(again, Shard::SHARED, "no number is claimed again");
    }

    #[test]
    fn living_threads_never_share_an_owned_shard() {
        let threads = MAX_OWNED + 8;
        let barrier = std::sync::Barrier::new(threads);
        let shards: Vec<Shard> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..threads)
                .map(|_| {
                    let barrier = &barrier;
                    scope.spawn(move || {
                        let shard = current();
                        // Every thread holds its shard at this point.
                        barrier.wait();
                        shard
                    })
                })
                .collect();
            handles.into_iter().filter_map(|h| h.join().ok()).collect()
        });
        assert_eq!(shards.len(), threads);
        let mut owned: Vec<usize> = shards
            .iter()
            .filter(|shard| shard.is_owned())
            .map(|shard| shard.0)
            .collect();
        let count = owned.len();
        owned.sort_unstable();
        owned.dedup();
        assert_eq!(owned.len(), count, "an owned shard was handed out twice");
        assert!(count <= POOL.size());
        assert!(shards.contains(&Shard::SHARED), "more threads than numbers");
    }

    #[test]
    fn the_pool_is_sized_as_the_machine_would_be() {
        assert_eq!(pool_size_for(1), 4, "at least 4");
        assert_eq!(pool_size_for(2), 4);
        assert_eq!(pool_size_for(8), 16);
        assert_eq!(pool_size_for(16), MAX_OWNED);
        assert_eq!(pool_size_for(64), MAX_OWNED, "at most MAX_OWNED");
    }

    #[test]
    fn owners_and_sharers_add_alike() {
        fn add_all<W: Writer>() -> (u64, u16, f64) {
            let (count, small, sum) = (AtomicU64::new(0), AtomicU16::new(0), AtomicU64::new(0));
            for i in 0..10 {
                W::add(&count, 2);
                W::add_release(&count, 1);
                assert_eq!(W::increment(&small), i);
                W::add_float(&sum, 0.5);
            }
            let entry = AtomicU16::new(0);
            assert_eq!(W::take(&entry, 7), 7);
            assert_eq!(W::take(&entry, 9), 7, "an entry is taken once");
            let (least, most) = (AtomicU64::new(u64::MAX), AtomicU64::new(0));
            for value in [5, 3, 8, 4] {
                W::lower(&least, value);
                W::raise(&most, value);
            }
            assert_eq!((least.into_inner(), most.into_inner()), (3, 8));
            (
                count.into_inner(),
                small.into_inner(),
                f64::from_bits(sum.into_inner()),
            )
        }
        assert_eq!(add_all::<Owner>(), (30, 10, 5.0));
        assert_eq!(add_all::<Sharer>(), (30, 10, 5.0));
    }
}

//! Lock-free building blocks that know nothing of metrics: per-thread [`shard`]s, heap values
//! created on first use ([`lazy_box`]) in blocks of the thread that creates them ([`arena`]), an
//! atomic `f64` ([`atomic_float`]) and the process [`clock`].

pub(crate) mod arena;
pub(crate) mod atomic_float;
pub(crate) mod clock;
pub(crate) mod lazy_box;
pub(crate) mod shard;

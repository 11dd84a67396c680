//! A heap value created on first use by whichever thread gets there first: how summaries and
//! request counts allocate only the parts that something is recorded in.

use std::alloc::Layout;
use std::marker::PhantomData;
use std::ptr::{self, NonNull};
use std::sync::atomic::{AtomicPtr, Ordering};

use crate::primitives::arena;

/// A heap value installed at most once, on first use, by whichever thread gets there first, and
/// freed with its owner. With the [`arena`] its memory comes from, the one place in the crate
/// that handles raw pointers to metric storage.
pub(crate) struct LazyBox<T> {
    pointer: AtomicPtr<T>,
    owns: PhantomData<Box<T>>,
}

/// The values of `boxes` whose bit is set in `installed` (a bitmap its owner sets after
/// installing a box, with release ordering, and reads with acquire), with their index.
#[inline]
pub(crate) fn installed<T>(
    boxes: &[LazyBox<T>],
    installed: u64,
) -> impl Iterator<Item = (usize, &T)> + Clone {
    let mut installed = installed;
    std::iter::from_fn(move || {
        while installed != 0 {
            let index = installed.trailing_zeros() as usize;
            installed &= installed - 1;
            if let Some(value) = boxes.get(index).and_then(LazyBox::get) {
                return Some((index, value));
            }
        }
        None
    })
}

impl<T> Default for LazyBox<T> {
    fn default() -> Self {
        LazyBox::new()
    }
}

impl<T> LazyBox<T> {
    /// Nothing installed yet.
    pub(crate) const fn new() -> LazyBox<T> {
        LazyBox {
            pointer: AtomicPtr::new(ptr::null_mut()),
            owns: PhantomData,
        }
    }

    /// The value, if it was installed.
    #[inline]
    pub(crate) fn get(&self) -> Option<&T> {
        let pointer = self.pointer.load(Ordering::Acquire);
        // SAFETY: a non-null pointer came from `install`, was published
        // with release ordering (paired with the acquire load above) and is freed only in `drop`,
        // which cannot run while `&self` is borrowed.
        unsafe { pointer.as_ref() }
    }

    /// The value, installed from `init` first if there is none yet.
    #[inline]
    pub(crate) fn get_or_init(&self, init: impl FnOnce() -> T) -> &T {
        match self.get() {
            Some(value) => value,
            None => self.install(init),
        }
    }

    /// Builds the value out of line, so that callers on a hot path do not reserve stack for it.
    #[cold]
    #[inline(never)]
    fn install(&self, init: impl FnOnce() -> T) -> &T {
        let value = init();
        let fresh = arena::allocate(Layout::new::<T>()).cast::<T>().as_ptr();
        // SAFETY: `fresh` is fresh memory for a `T`, written before it is shared.
        unsafe { fresh.write(value) };
        match self.pointer.compare_exchange(
            ptr::null_mut(),
            fresh,
            Ordering::AcqRel,
            Ordering::Acquire,
        ) {
            // SAFETY: `fresh` is now owned by `self` and lives until `drop`, as in `get`.
            Ok(_) => unsafe { &*fresh },
            Err(winner) => {
                // SAFETY: the exchange failed, so `fresh` was never shared: free it here, once.
                unsafe { free(fresh) };
                // SAFETY: `winner` is non-null (the exchange only fails on a non-null value) and
                // lives until `drop`, as in `get`.
                unsafe { &*winner }
            }
        }
    }
}

/// Drops the value at `pointer` and gives its memory back.
///
/// # Safety
///
/// `pointer` holds a value written by `install`, which nothing uses any more, freed once.
unsafe fn free<T>(pointer: *mut T) {
    // SAFETY: as the caller promises.
    unsafe {
        ptr::drop_in_place(pointer);
        if let Some(memory) = NonNull::new(pointer) {
            arena::release(memory.cast(), Layout::new::<T>());
        }
    }
}

impl<T> Drop for LazyBox<T> {
    fn drop(&mut self) {
        let pointer = *self.pointer.get_mut();
        if !pointer.is_null() {
            // SAFETY: the pointer came from `install` and `&mut self` proves no reference to the
            // value remains; it is freed exactly once.
            unsafe { free(pointer) };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_value_installed_wins_a_race() {
        let lazy = LazyBox::<u64>::default();
        assert!(lazy.get().is_none());
        let winners: Vec<u64> = std::thread::scope(|scope| {
            let racers: Vec<_> = (0..4u64)
                .map(|id| {
                    let lazy = &lazy;
                    scope.spawn(move || *lazy.get_or_init(|| id))
                })
                .collect();
            racers.into_iter().filter_map(|r| r.join().ok()).collect()
        });
        assert_eq!(winners.len(), 4);
        assert!(winners.iter().all(|&w| Some(&w) == lazy.get()));
    }
}

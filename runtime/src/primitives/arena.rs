//! Where metric storage is allocated: small values side by side in blocks of the thread that
//! allocates them, with nothing between them.
//!
//! A handler recorded by many threads holds thousands of small values (pages of counters, their
//! groups, per-thread parts), each allocated once, by the thread that first records into it, and
//! kept as long as the metric. The general allocator puts a header before each and, before a
//! value aligned to a cache line, a gap: a quarter more resident memory than the values
//! themselves. Here each thread carves its values from 1 MiB blocks of its own, one after the
//! other: a block counts the values it holds, plus one while a thread is still carving from it,
//! and is freed with the last of them (the room of a value released before is not reused: metric
//! storage lives as long as its metric). Blocks are mapped from the kernel (on Unix), so the
//! pages of a block that nothing was carved from yet are never touched and take no memory: a
//! thread reserves address space, not memory.
//!
//! Values larger than [`LARGEST`] bytes, or aligned beyond [`MOST_ALIGNED`], come from the
//! general allocator. A value allocated while the thread's locals are being destroyed gets a
//! block of its own.

use std::alloc::{self, Layout};
use std::cell::Cell;
use std::ptr::{self, NonNull};
use std::sync::atomic::{fence, AtomicUsize, Ordering};

/// Size and alignment of a block: a value's block is found by rounding its address down.
const BLOCK: usize = 1 << 20;
/// Room for a block's [`Header`], before its values: a cache line, so that the values aligned to
/// one that follow are.
const HEADER: usize = 64;
/// The largest value carved from a block.
const LARGEST: usize = 1024;
/// The largest alignment of a value carved from a block.
const MOST_ALIGNED: usize = 128;

/// The start of a block.
struct Header {
    /// The values carved from the block and not released yet, plus one while a thread carves.
    live: AtomicUsize,
}

/// Where a thread carves its next value from.
struct Cursor {
    /// The block, or null before the first value.
    block: Cell<*mut u8>,
    /// Offset of the first free byte in `block`.
    next: Cell<usize>,
}

/// A thread's two cursors: values aligned to a cache line or more (whole lines: a part, a group
/// of pages) and the others, so that neither leaves gaps to align the next value.
struct Cursors {
    lines: Cursor,
    words: Cursor,
}

thread_local! {
    static CURSORS: Cursors = const {
        Cursors {
            lines: Cursor::new(),
            words: Cursor::new(),
        }
    };
}

/// Memory for a value of `layout`, to be given back with [`release`] and the same layout.
pub(crate) fn allocate(layout: Layout) -> NonNull<u8> {
    if layout.size() == 0 {
        let dangling = ptr::without_provenance_mut(layout.align());
        return NonNull::new(dangling).unwrap_or(NonNull::dangling());
    }
    if !carved(layout) {
        // SAFETY: the layout's size is not zero.
        let pointer = unsafe { alloc::alloc(layout) };
        return NonNull::new(pointer).unwrap_or_else(|| alloc::handle_alloc_error(layout));
    }
    let lines = layout.align() >= HEADER;
    let from_thread = CURSORS.try_with(|cursors| {
        if lines {
            cursors.lines.carve(layout)
        } else {
            cursors.words.carve(layout)
        }
    });
    // The thread's locals are being destroyed: a block for this value alone, which its
    // release frees.
    from_thread.unwrap_or_else(|_| Cursor::new().carve(layout))
}

/// Gives back the memory of a value that [`allocate`] returned for `layout`.
///
/// # Safety
///
/// `pointer` came from `allocate(layout)` and is released once; nothing uses it after.
pub(crate) unsafe fn release(pointer: NonNull<u8>, layout: Layout) {
    if layout.size() == 0 {
        return;
    }
    if !carved(layout) {
        // SAFETY: the caller passes what `alloc::alloc(layout)` returned, once.
        unsafe { alloc::dealloc(pointer.as_ptr(), layout) };
        return;
    }
    let block = pointer.as_ptr().map_addr(|address| address & !(BLOCK - 1));
    // SAFETY: a carved value lies in a live block (its count includes the value), whose start
    // is found by rounding down, as blocks are aligned to their size.
    unsafe { let_go(block) };
}

/// Whether values of `layout` are carved from blocks.
fn carved(layout: Layout) -> bool {
    layout.size() <= LARGEST && layout.align() <= MOST_ALIGNED
}

/// Drops one of the block's counted references, freeing the block with the last.
///
/// # Safety
///
/// `block` is the start of a live block, and the caller holds one of its references.
unsafe fn let_go(block: *mut u8) {
    // SAFETY: the block is live, and holds its header there.
    let header = unsafe { &*header_of(block) };
    if header.live.fetch_sub(1, Ordering::Release) == 1 {
        // Whatever any thread did with the values happened before the block is freed.
        fence(Ordering::Acquire);
        #[cfg(test)]
        // Not while the thread's locals are destroyed: its cursors let go of their blocks then.
        let _ = tests::FREED.try_with(|freed| freed.borrow_mut().push(block.addr()));
        // SAFETY: no reference is left, so nothing uses the block.
        unsafe { blocks::free(block) };
    }
}

impl Cursor {
    const fn new() -> Cursor {
        Cursor {
            block: Cell::new(ptr::null_mut()),
            next: Cell::new(0),
        }
    }

    /// Carves a value of `layout` (at most [`LARGEST`] bytes, aligned to at most
    /// [`MOST_ALIGNED`]) from the block, after a new block if it has no room left.
    fn carve(&self, layout: Layout) -> NonNull<u8> {
        let mut block = self.block.get();
        let mut start = self.next.get().next_multiple_of(layout.align());
        if block.is_null() || start + layout.size() > BLOCK {
            self.retire();
            block = new_block();
            self.block.set(block);
            start = (header_offset(block) + HEADER).next_multiple_of(layout.align());
        }
        self.next.set(start + layout.size());
        // SAFETY: `block` is live: this cursor holds one of its references.
        let header = unsafe { &*header_of(block) };
        header.live.fetch_add(1, Ordering::Relaxed);
        // SAFETY: `start + size` is within the block.
        NonNull::new(unsafe { block.add(start) }).unwrap_or_else(|| unreachable!())
    }

    /// Stops carving from the block, if any.
    fn retire(&self) {
        let block = self.block.replace(ptr::null_mut());
        if !block.is_null() {
            // SAFETY: the cursor held one of the block's references, which it gives up.
            unsafe { let_go(block) };
        }
    }
}

impl Drop for Cursor {
    fn drop(&mut self) {
        self.retire();
    }
}

/// Where a block's header lies, its values following it: blocks are aligned to 1 MiB, and
/// threads that record into the same handlers in the same order carve their parts of a handler
/// at the same distance from their first value; at the same offset of their blocks, they would
/// compete for the same few sets of the processor's caches. So blocks start up to 64 KiB in, in
/// steps of two lines, by their address, so that the header is found from any value's block.
/// The pages before it are never touched and take no memory; the header shares its page with
/// the first values.
fn header_offset(block: *mut u8) -> usize {
    // 37 is prime to 512: 512 blocks side by side all start at a different offset.
    ((block.addr() / BLOCK).wrapping_mul(37) % 512) * MOST_ALIGNED
}

/// The header of `block`.
fn header_of(block: *mut u8) -> *mut Header {
    block.wrapping_add(header_offset(block)).cast()
}

/// A block whose header counts the one reference of the cursor that carves from it.
fn new_block() -> *mut u8 {
    let block = blocks::new();
    // SAFETY: the header lies within the block, at a multiple of a line.
    unsafe {
        header_of(block).write(Header {
            live: AtomicUsize::new(1),
        })
    };
    block
}

/// Blocks of `BLOCK` bytes aligned to their size, mapped from the kernel.
#[cfg(unix)]
mod blocks {
    use super::BLOCK;

    /// A new block; aborts as the allocator does when there is no memory.
    pub(super) fn new() -> *mut u8 {
        // Twice the size, so that an aligned block lies within; the rest is given back.
        let length = 2 * BLOCK;
        // SAFETY: an anonymous private mapping at an address of the kernel's choosing.
        let mapped = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                length,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        if mapped == libc::MAP_FAILED {
            std::alloc::handle_alloc_error(std::alloc::Layout::new::<[u8; BLOCK]>());
        }
        let mapped = mapped.cast::<u8>();
        let head = mapped.addr().next_multiple_of(BLOCK) - mapped.addr();
        // SAFETY: both ranges lie within the mapping, outside the aligned block kept.
        unsafe {
            if head > 0 {
                libc::munmap(mapped.cast(), head);
            }
            let tail = length - head - BLOCK;
            if tail > 0 {
                libc::munmap(mapped.add(head + BLOCK).cast(), tail);
            }
            mapped.add(head)
        }
    }

    /// Gives a block back to the kernel.
    ///
    /// # Safety
    ///
    /// `block` came from [`new`], and nothing uses it any more.
    pub(super) unsafe fn free(block: *mut u8) {
        // SAFETY: the block is a mapping of its own, of BLOCK bytes.
        unsafe { libc::munmap(block.cast(), BLOCK) };
    }
}

/// Blocks of `BLOCK` bytes aligned to their size, from the general allocator.
#[cfg(not(unix))]
mod blocks {
    use std::alloc::{self, Layout};

    use super::BLOCK;

    fn layout() -> Layout {
        // BLOCK is a power of two and fits in `isize`.
        Layout::from_size_align(BLOCK, BLOCK).unwrap_or_else(|_| unreachable!())
    }

    /// A new block; aborts as the allocator does when there is no memory.
    pub(super) fn new() -> *mut u8 {
        // SAFETY: the layout's size is not zero.
        let block = unsafe { alloc::alloc(layout()) };
        if block.is_null() {
            alloc::handle_alloc_error(layout());
        }
        block
    }

    /// Gives a block back.
    ///
    /// # Safety
    ///
    /// `block` came from [`new`], and nothing uses it any more.
    pub(super) unsafe fn free(block: *mut u8) {
        // SAFETY: as the caller promises.
        unsafe { alloc::dealloc(block, layout()) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    thread_local! {
        /// The blocks the thread freed so far, by address.
        pub(super) static FREED: std::cell::RefCell<Vec<usize>> = const {
            std::cell::RefCell::new(Vec::new())
        };
    }

    #[test]
    fn small_values_lie_side_by_side_and_keep_their_alignment() {
        let page = Layout::from_size_align(88, 8).unwrap();
        let group = Layout::from_size_align(128, 64).unwrap();
        let first = allocate(page);
        let second = allocate(page);
        assert_eq!(second.as_ptr() as usize - first.as_ptr() as usize, 88);
        let lines = [allocate(group), allocate(group)];
        assert_eq!(lines[0].as_ptr() as usize % 64, 0);
        assert_eq!(lines[1].as_ptr() as usize - lines[0].as_ptr() as usize, 128);
        // SAFETY: each was allocated with that layout, and is released once.
        unsafe {
            release(first, page);
            release(second, page);
            for line in lines {
                release(line, group);
            }
        }
    }

    #[test]
    fn a_block_is_freed_with_its_last_value_once_its_thread_moved_on() {
        let layout = Layout::from_size_align(1000, 8).unwrap();
        FREED.with_borrow_mut(Vec::clear);
        // From a thread of its own, which fills more than one block and then exits.
        let values: Vec<usize> = std::thread::spawn(move || {
            (0..2 * BLOCK / layout.size())
                .map(|_| allocate(layout).as_ptr() as usize)
                .collect()
        })
        .join()
        .unwrap();
        let blocks: std::collections::BTreeSet<usize> = values
            .iter()
            .map(|address| address & !(BLOCK - 1))
            .collect();
        assert!(blocks.len() >= 2, "{} blocks", blocks.len());
        // This thread releases the last values, so it frees the blocks.
        let freed = |block: &usize| FREED.with_borrow(|freed| freed.contains(block));
        for (index, address) in values.iter().enumerate() {
            let pointer = NonNull::new(*address as *mut u8).unwrap();
            // The blocks outlive the thread that carved them while they hold a value.
            assert!(!freed(&(address & !(BLOCK - 1))), "value {index}");
            // SAFETY: allocated with this layout above, released once.
            unsafe {
                pointer.as_ptr().write_bytes(7, layout.size());
                release(pointer, layout);
            }
        }
        assert!(blocks.iter().all(freed));
    }

    #[test]
    fn large_values_and_empty_ones_come_from_elsewhere() {
        for layout in [
            Layout::from_size_align(4096, 8).unwrap(),
            Layout::from_size_align(64, 4096).unwrap(),
            Layout::from_size_align(0, 8).unwrap(),
        ] {
            let pointer = allocate(layout);
            assert_eq!(pointer.as_ptr() as usize % layout.align(), 0);
            // SAFETY: allocated with this layout, released once.
            unsafe { release(pointer, layout) };
        }
    }
}

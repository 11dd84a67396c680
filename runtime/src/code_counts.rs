//! Requests per outcome code for one handler: a dense array indexed by code, plus a bitmap of the
//! codes seen so far so a scrape visits only those instead of all 903 slots.

use std::sync::atomic::{AtomicU64, Ordering};

use crate::outcome::Code;

const WORDS: usize = Code::SLOTS.div_ceil(64);

#[derive(Debug)]
pub(crate) struct CodeCounts {
    counts: Box<[AtomicU64]>,
    seen: [AtomicU64; WORDS],
}

impl Default for CodeCounts {
    fn default() -> Self {
        CodeCounts {
            counts: (0..Code::SLOTS).map(|_| AtomicU64::new(0)).collect(),
            seen: std::array::from_fn(|_| AtomicU64::new(0)),
        }
    }
}

impl CodeCounts {
    pub(crate) fn increment(&self, code: Code) {
        let slot = code.slot();
        let Some(count) = self.counts.get(slot) else {
            return;
        };
        // Only the first request with a code touches the bitmap.
        if count.fetch_add(1, Ordering::Relaxed) == 0 {
            if let Some(word) = self.seen.get(slot / 64) {
                word.fetch_or(1 << (slot % 64), Ordering::Relaxed);
            }
        }
    }

    /// Calls `visit` for every code counted so far, in the order Prometheus clients sort the
    /// `code` label: three-digit statuses ascending, then `cancelled`, `error`, `panic`.
    pub(crate) fn for_each(&self, mut visit: impl FnMut(Code, u64)) {
        let first_outcome = Code::Error.slot();
        for (index, word) in self.seen.iter().enumerate() {
            let mut bits = word.load(Ordering::Relaxed);
            while bits != 0 {
                let slot = index * 64 + bits.trailing_zeros() as usize;
                bits &= bits - 1;
                if slot >= first_outcome {
                    break;
                }
                if let Some(count) = self.counts.get(slot) {
                    visit(Code::from_slot(slot), count.load(Ordering::Relaxed));
                }
            }
        }
        for code in [Code::Cancelled, Code::Error, Code::Panic] {
            let count = self.get(code);
            if count > 0 {
                visit(code, count);
            }
        }
    }

    pub(crate) fn get(&self, code: Code) -> u64 {
        self.counts
            .get(code.slot())
            .map_or(0, |count| count.load(Ordering::Relaxed))
    }

    pub(crate) fn heap_bytes(&self) -> usize {
        self.counts.len() * std::mem::size_of::<AtomicU64>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn visits_seen_codes_in_label_order() {
        let counts = CodeCounts::default();
        for code in [
            Code::Panic,
            Code::Status(503),
            Code::Error,
            Code::Status(200),
            Code::Status(200),
            Code::Cancelled,
            Code::Status(999),
            Code::Status(100),
        ] {
            counts.increment(code);
        }
        let mut seen = Vec::new();
        counts.for_each(|code, count| seen.push((code.label().to_string(), count)));
        let expected = [
            ("100", 1),
            ("200", 2),
            ("503", 1),
            ("999", 1),
            ("cancelled", 1),
            ("error", 1),
            ("panic", 1),
        ];
        let expected: Vec<_> = expected.iter().map(|(c, n)| (c.to_string(), *n)).collect();
        assert_eq!(seen, expected);
        assert_eq!(counts.get(Code::Status(404)), 0);
    }
}

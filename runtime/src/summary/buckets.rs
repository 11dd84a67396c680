//! Which bucket a value is counted in, and which value a bucket reports.
//!
//! A finite, non-zero `f64` is bucketed by its own bit pattern: the exponent selects a power of
//! two `[2^e, 2^(e+1))` (a *page*), and the top 8 mantissa bits select one of 256 equal cells of
//! it, which a 256-byte table maps to one of 40 sub-buckets. The sub-buckets group the cells
//! greedily so that for each sub-bucket `[a, b)`, `(b - a) / (a + b) <= 0.95%`: they are 4 or 5
//! cells wide at the bottom of a power of two and 9 at the top, where a cell is smaller relative
//! to its value (64 equal sub-buckets would cost 60% more memory for no useful gain). A bucket
//! reports `2ab / (a + b)`, within `(b - a) / (a + b)` of any value of `[a, b)`.
//!
//! Zero (and `-0.0`) has an exact bucket of its own, `+Inf` and `-Inf` one each, and a negative
//! value goes to the mirror image of the positive buckets. Powers of two from `2^-48` up to (not
//! including) `2^48` have pages; a non-zero magnitude below `2^-48` (about `3.6e-15`, subnormals
//! included) is counted in the lowest bucket and a finite magnitude of `2^48` (about `2.8e14`) or
//! more in the highest one, keeping its sign. `NaN` has no bucket.

/// Mantissa bits that select a cell: each power of two is cut into 256 equal cells.
const CELL_BITS: u32 = 8;
/// Cells per power of two.
const CELLS: usize = 1 << CELL_BITS;
/// Largest relative error allowed for any value of a sub-bucket, in units of 1/10000.
const ERROR_BOUND_PER_10K: usize = 95;
/// Sub-buckets per power of two (one page): what the greedy grouping of cells in [`bounds`]
/// yields for [`ERROR_BOUND_PER_10K`], checked at compile time.
pub(super) const SUBS: usize = 40;
/// Sub-bucket `s` of every power of two covers cells `BOUNDS[s]..BOUNDS[s + 1]`.
static BOUNDS: [u16; SUBS + 1] = bounds();
/// The sub-bucket of each cell. A constant rather than a static: the copy of it each use gets
/// is addressed directly, where a static of the library is reached through a pointer on a
/// line of its own (the global offset table), one more load for every observation.
const SUB_OF_CELL: [u8; CELLS] = sub_of_cell();
/// Powers of two with a page of their own: `2^-48` up to `2^47`.
pub(super) const PAGES: usize = 96;
/// Biased exponent of `2^-48`, the lowest power of two with a page.
const MIN_EXPONENT: u64 = 1023 - 48;
/// Mantissa bits of an `f64`.
const MANTISSA_BITS: u32 = 52;
/// Clears the sign bit of an `f64` bit pattern.
const MAGNITUDE: u64 = !(1 << 63);
/// Bit pattern of `+Inf`; every larger magnitude is a `NaN`.
const INFINITY_BITS: u64 = 0x7FF0_0000_0000_0000;
/// The two signs, as indices.
pub(super) const POSITIVE: usize = 0;
pub(super) const NEGATIVE: usize = 1;

/// Where a value is counted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Bucket {
    /// Sub-bucket `sub` of page `page` (the power of two `2^(page - 48)`) of `sign`.
    Paged {
        sign: usize,
        page: usize,
        sub: usize,
    },
    /// Zero, of either sign.
    Zero,
    /// `+Inf` or `-Inf`.
    Infinity { sign: usize },
}

impl Bucket {
    /// The bucket of `value`; `None` for `NaN`.
    #[inline]
    pub(super) fn of(value: f64) -> Option<Bucket> {
        let bits = value.to_bits();
        let magnitude = bits & MAGNITUDE;
        let sign = (bits >> 63) as usize;
        let page = (magnitude >> MANTISSA_BITS).wrapping_sub(MIN_EXPONENT);
        if page < PAGES as u64 {
            let cell = (magnitude >> (MANTISSA_BITS - CELL_BITS)) as usize % CELLS;
            return Some(Bucket::Paged {
                sign,
                page: page as usize,
                sub: usize::from(SUB_OF_CELL[cell]),
            });
        }
        Bucket::outside_the_pages(sign, magnitude)
    }

    #[cold]
    fn outside_the_pages(sign: usize, magnitude: u64) -> Option<Bucket> {
        Some(if magnitude == 0 {
            Bucket::Zero
        } else if magnitude == INFINITY_BITS {
            Bucket::Infinity { sign }
        } else if magnitude > INFINITY_BITS {
            return None; // NaN
        } else if magnitude >> MANTISSA_BITS < MIN_EXPONENT {
            Bucket::Paged {
                sign,
                page: 0,
                sub: 0,
            }
        } else {
            Bucket::Paged {
                sign,
                page: PAGES - 1,
                sub: SUBS - 1,
            }
        })
    }
}

/// The value reported for sub-bucket `sub` of page `page` (positive): for the bucket `[a, b)`,
/// the point `2ab / (a + b)`, whose relative distance to any value of the bucket is at most
/// `(b - a) / (a + b)`, below 0.95% by construction of [`BOUNDS`].
pub(super) fn bucket_value(page: usize, sub: usize) -> f64 {
    let power = f64::from_bits(((page % PAGES) as u64 + MIN_EXPONENT) << MANTISSA_BITS);
    let sub = sub % SUBS;
    // The bounds in cells, counted from zero rather than from the power of two.
    let low = (CELLS + usize::from(BOUNDS[sub])) as f64;
    let high = (CELLS + usize::from(BOUNDS[sub + 1])) as f64;
    power / CELLS as f64 * (2.0 * low * high / (low + high))
}

/// Whether cells `first..end` may form one sub-bucket: with `a` and `b` its bounds, the
/// reported value `2ab / (a + b)` must be within the error bound of every value of `[a, b)`,
/// that is `(b - a) / (a + b) <= ERROR_BOUND_PER_10K / 10000`.
const fn fits(first: usize, end: usize) -> bool {
    (end - first) * 10_000 <= ERROR_BOUND_PER_10K * (2 * CELLS + first + end)
}

/// Groups the cells of a power of two greedily, from its start, into the widest sub-buckets
/// that [`fits`] allows. Relative to their lower bound the cells shrink along the power of two,
/// so sub-buckets hold 4 or 5 cells at its start and 9 at its end: 40 sub-buckets where 64
/// equal ones would need 60% more memory for an error smaller than needed.
const fn bounds() -> [u16; SUBS + 1] {
    let mut bounds = [CELLS as u16; SUBS + 1];
    let mut first = 0;
    let mut sub = 0;
    while first < CELLS {
        let mut end = first + 1;
        while end < CELLS && fits(first, end + 1) {
            end += 1;
        }
        assert!(sub < SUBS, "SUBS is too small for the error bound");
        bounds[sub] = first as u16;
        sub += 1;
        first = end;
    }
    assert!(sub == SUBS, "SUBS is too large for the error bound");
    bounds
}

const fn sub_of_cell() -> [u8; CELLS] {
    let bounds = bounds();
    let mut subs = [0u8; CELLS];
    let mut sub = 0;
    while sub < SUBS {
        let mut cell = bounds[sub] as usize;
        while cell < bounds[sub + 1] as usize {
            subs[cell] = sub as u8;
            cell += 1;
        }
        sub += 1;
    }
    subs
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paged(sign: usize, page: usize, sub: usize) -> Option<Bucket> {
        Some(Bucket::Paged { sign, page, sub })
    }

    #[test]
    fn zero_and_negative_zero_share_the_zero_bucket() {
        assert_eq!(Bucket::of(0.0), Some(Bucket::Zero));
        assert_eq!(Bucket::of(-0.0), Some(Bucket::Zero));
    }

    #[test]
    fn nan_has_no_bucket() {
        for nan in [f64::NAN, -f64::NAN, f64::from_bits(0x7FF0_0000_0000_0001)] {
            assert_eq!(Bucket::of(nan), None);
        }
    }

    #[test]
    fn infinities_have_their_own_buckets() {
        assert_eq!(
            Bucket::of(f64::INFINITY),
            Some(Bucket::Infinity { sign: POSITIVE })
        );
        assert_eq!(
            Bucket::of(f64::NEG_INFINITY),
            Some(Bucket::Infinity { sign: NEGATIVE })
        );
    }

    #[test]
    fn one_starts_page_48() {
        assert_eq!(Bucket::of(1.0), paged(POSITIVE, 48, 0));
        assert_eq!(Bucket::of(-1.0), paged(NEGATIVE, 48, 0));
        assert_eq!(
            Bucket::of(2.0 - f64::EPSILON),
            paged(POSITIVE, 48, SUBS - 1)
        );
        assert_eq!(Bucket::of(2.0), paged(POSITIVE, 49, 0));
        assert_eq!(Bucket::of(0.5), paged(POSITIVE, 47, 0));
    }

    #[test]
    fn sub_buckets_partition_the_cells_within_the_bound() {
        assert_eq!(BOUNDS[0], 0);
        assert_eq!(usize::from(BOUNDS[SUBS]), CELLS);
        for sub in 0..SUBS {
            let (first, end) = (usize::from(BOUNDS[sub]), usize::from(BOUNDS[sub + 1]));
            assert!(first < end);
            assert!(fits(first, end));
            // Greedy: one more cell would break the bound.
            assert!(end == CELLS || !fits(first, end + 1));
            assert!(SUB_OF_CELL[first..end]
                .iter()
                .all(|&s| usize::from(s) == sub));
        }
        // The worst sub-bucket errs by 0.946%.
        let worst = (0..SUBS)
            .map(|sub| {
                let (first, end) = (f64::from(BOUNDS[sub]), f64::from(BOUNDS[sub + 1]));
                (end - first) / (2.0 * CELLS as f64 + first + end)
            })
            .fold(0.0, f64::max);
        assert!(worst > 0.0094 && worst <= 0.0095, "{worst}");
    }

    #[test]
    fn range_ends_are_exact() {
        let lowest = f64::from_bits(MIN_EXPONENT << MANTISSA_BITS);
        assert_eq!(lowest, 2f64.powi(-48));
        assert_eq!(Bucket::of(lowest), paged(POSITIVE, 0, 0));
        let below_top = 2f64.powi(48) * (1.0 - f64::EPSILON / 2.0);
        assert_eq!(Bucket::of(below_top), paged(POSITIVE, PAGES - 1, SUBS - 1));
    }

    #[test]
    fn tiny_and_subnormal_magnitudes_clamp_to_the_lowest_bucket() {
        for value in [
            f64::MIN_POSITIVE,
            1e-300,
            5e-324,
            f64::from_bits(1),
            2f64.powi(-49),
            1e-15,
        ] {
            assert_eq!(Bucket::of(value), paged(POSITIVE, 0, 0), "{value:e}");
            assert_eq!(Bucket::of(-value), paged(NEGATIVE, 0, 0), "{value:e}");
        }
    }

    #[test]
    fn huge_magnitudes_clamp_to_the_highest_bucket() {
        for value in [f64::MAX, 1e300, 2f64.powi(48), 1e15] {
            let top = paged(POSITIVE, PAGES - 1, SUBS - 1);
            assert_eq!(Bucket::of(value), top, "{value:e}");
            let bottom = paged(NEGATIVE, PAGES - 1, SUBS - 1);
            assert_eq!(Bucket::of(-value), bottom, "{value:e}");
        }
    }

    #[test]
    fn reported_values_are_within_the_bound_of_every_bucket_member() {
        let bound = 0.0095 + 1e-12;
        for page in [0, 1, 47, 48, 49, PAGES - 2, PAGES - 1] {
            let power = 2f64.powi(page as i32 - 48);
            for sub in 0..SUBS {
                let low = power * (1.0 + f64::from(BOUNDS[sub]) / CELLS as f64);
                let high = power * (1.0 + f64::from(BOUNDS[sub + 1]) / CELLS as f64);
                let value = bucket_value(page, sub);
                assert!(low <= value && value < high);
                assert!((value - low) / low <= bound);
                assert!((high - value) / high <= bound);
                // The smallest and the largest member of the bucket map to it.
                assert_eq!(Bucket::of(low), paged(POSITIVE, page, sub));
                if page == PAGES - 1 && sub == SUBS - 1 {
                    continue; // 2^48 itself is clamped into this bucket too
                }
                let top = f64::from_bits(high.to_bits() - 1);
                assert_eq!(Bucket::of(top), paged(POSITIVE, page, sub));
            }
        }
    }
}

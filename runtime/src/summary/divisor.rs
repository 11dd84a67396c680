//! Division by a number fixed when a summary is built, without a `div` instruction: an
//! observation divides the time by the slot length and the epoch by the number of slots.

/// Exact division of `u64`s by a fixed divisor with two multiplications instead of a `div`
/// instruction: `n / d == floor(n * ceil(2^128 / d) / 2^128)` for every 64-bit `n` and `d > 1`
/// (Lemire, Kaser and Kurz, "Faster remainder by direct computation", 2019).
#[derive(Clone, Copy, Debug)]
pub(super) struct Divisor {
    divisor: u64,
    /// `ceil(2^128 / divisor)`, split in halves; unused when the divisor is 1.
    magic_high: u64,
    magic_low: u64,
}

impl Divisor {
    /// A divisor of `divisor`, which must not be zero (zero is treated as one).
    pub(super) fn new(divisor: u64) -> Divisor {
        let divisor = divisor.max(1);
        let magic = (u128::MAX / u128::from(divisor)).wrapping_add(1);
        Divisor {
            divisor,
            magic_high: (magic >> 64) as u64,
            magic_low: magic as u64,
        }
    }

    #[inline]
    pub(super) fn div(self, n: u64) -> u64 {
        if self.divisor == 1 {
            return n;
        }
        let n = u128::from(n);
        let low = (u128::from(self.magic_low) * n) >> 64;
        // magic_high < 2^63 and n < 2^64, so this cannot overflow.
        ((u128::from(self.magic_high) * n + low) >> 64) as u64
    }

    /// The divisor itself.
    pub(super) fn divisor(self) -> u64 {
        self.divisor
    }

    #[inline]
    pub(super) fn rem(self, n: u64) -> u64 {
        n - self.div(n) * self.divisor
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn divisor_matches_hardware_division() {
        let divisors = [
            1,
            2,
            3,
            5,
            7,
            60,
            16_666_667,
            120_000_000_000,
            1 << 40,
            (1 << 40) + 1,
            u64::MAX / 3,
            u64::MAX - 1,
            u64::MAX,
        ];
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        let mut numbers = vec![0, 1, 2, u64::MAX, u64::MAX - 1, 1 << 63, (1 << 63) - 1];
        for _ in 0..10_000 {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1);
            numbers.push(state >> (state % 64));
        }
        for &d in &divisors {
            let divisor = Divisor::new(d);
            for &n in numbers
                .iter()
                .chain(&[d, d - 1, d.wrapping_mul(7), d.wrapping_mul(7) - 1])
            {
                assert_eq!(divisor.div(n), n / d, "{n} / {d}");
                assert_eq!(divisor.rem(n), n % d, "{n} % {d}");
            }
        }
    }
}

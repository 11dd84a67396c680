//! Text helpers every text format shares: escaping, and writing numbers and labels without the
//! formatting machinery. A leaf: it knows nothing of handlers or formats.

use std::cell::RefCell;
use std::fmt::Write as _;

use crate::record::outcome::Code;

/// Appends every part in turn.
pub(crate) fn push_all(out: &mut String, parts: &[&str]) {
    for part in parts {
        out.push_str(part);
    }
}

/// Writes a `code` label value; a status, by far the most common, without the formatting
/// machinery.
pub(crate) fn push_code(out: &mut String, code: Code) {
    match code {
        Code::Status(status) => push_integer(out, status),
        outcome => {
            let _ = write!(out, "{}", outcome.label());
        }
    }
}

/// Writes an integer sample value or label.
pub(crate) fn push_integer(out: &mut String, value: impl itoa::Integer) {
    out.push_str(itoa::Buffer::new().format(value));
}

/// Writes a family's `# HELP` and `# TYPE` lines.
pub(crate) fn header(text: &mut String, name: &str, help: &str, kind: &str) {
    let _ = writeln!(text, "# HELP {name} {}", escape_help(help));
    let _ = writeln!(text, "# TYPE {name} {kind}");
}

/// Writes a sample value as Prometheus parsers read it: `NaN`, `+Inf`, `-Inf`, a whole number as
/// an integer, or else the shortest decimal that round-trips, with an exponent for very small or large magnitudes.
pub(crate) fn push_float(text: &mut String, value: f64) {
    if value.is_nan() {
        text.push_str("NaN");
    } else if value.is_infinite() {
        text.push_str(if value > 0.0 { "+Inf" } else { "-Inf" });
    } else if value.abs() < 9_007_199_254_740_992.0 && (value as i64) as f64 == value {
        // Whole numbers below 2^53 convert exactly; `293`, not `293.0`. (Compared after the
        // conversion rather than with `fract`, a call into libm on x86-64.)
        push_integer(text, value as i64);
    } else {
        push_fraction(text, value);
    }
}

/// The longest text `ryu` writes for an `f64`.
const FLOAT_TEXT: usize = 24;
/// Entries of a thread's [`RECENT_FLOATS`].
const RECENT: usize = 256;

/// A float written before, and its text.
#[derive(Clone, Copy)]
struct Written {
    /// The bit pattern (0, whole, never reaches the cache: an empty entry).
    bits: u64,
    len: u8,
    text: [u8; FLOAT_TEXT],
}

thread_local! {
    /// The texts of the floats a thread wrote last, by bit pattern, one entry for each hash. A
    /// scrape writes the same values as the one before for most quantiles, which are the values
    /// of their buckets, and the shortest text of a float takes a few hundred instructions to
    /// find. On the heap, from the thread's first fraction: the threads that never write one
    /// (most of a service's) do not pay its 10 KiB.
    static RECENT_FLOATS: RefCell<Option<Box<[Written; RECENT]>>> = const { RefCell::new(None) };
}

/// Writes a finite `value` that is not a whole number, in its shortest text.
fn push_fraction(text: &mut String, value: f64) {
    let bits = value.to_bits();
    // The top byte of a multiplicative hash.
    let slot = (bits.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 56) as usize % RECENT;
    let cached = RECENT_FLOATS.try_with(|recent| {
        let mut recent = recent.try_borrow_mut().ok()?;
        let recent = recent.get_or_insert_with(|| {
            Box::new(
                [Written {
                    bits: 0,
                    len: 0,
                    text: [0; FLOAT_TEXT],
                }; RECENT],
            )
        });
        let entry = recent.get_mut(slot)?;
        if entry.bits != bits {
            let mut buffer = ryu::Buffer::new();
            let written = buffer.format_finite(value).as_bytes();
            entry
                .text
                .get_mut(..written.len())?
                .copy_from_slice(written);
            entry.len = written.len() as u8;
            entry.bits = bits;
        }
        let written = entry.text.get(..usize::from(entry.len))?;
        text.push_str(std::str::from_utf8(written).ok()?);
        Some(())
    });
    if !matches!(cached, Ok(Some(()))) {
        text.push_str(ryu::Buffer::new().format_finite(value));
    }
}

/// Writes a label value that OpenMetrics wants as a canonical number (`le`, `quantile`): as
/// [`push_float`], but a whole number with `.0` (`1.0`, not `1`), as Prometheus itself writes
/// them.
pub(crate) fn push_canonical_float(text: &mut String, value: f64) {
    let start = text.len();
    push_float(text, value);
    let written = text.get(start..).unwrap_or_default();
    if value.is_finite() && !written.contains(['.', 'e']) {
        text.push_str(".0");
    }
}

/// Writes a Unix time given in nanoseconds as seconds with up to nine decimals, exactly:
/// `1700000000.5` for half a second past.
pub(crate) fn push_unix_seconds(text: &mut String, nanos: u64) {
    push_integer(text, nanos / 1_000_000_000);
    let fraction = nanos % 1_000_000_000;
    if fraction > 0 {
        let digits = format!(".{fraction:09}");
        text.push_str(digits.trim_end_matches('0'));
    }
}

/// Escapes a HELP text: backslash and line feed.
pub(crate) fn escape_help(help: &str) -> String {
    help.replace('\\', "\\\\").replace('\n', "\\n")
}

/// Escapes a label value: backslash, double quote and line feed.
pub(crate) fn escape_label(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// Writes the one sample of `<namespace>_build_info`, the same line in every text format.
pub(crate) fn push_build_info(out: &mut String, name: &str, version: &str) {
    push_all(
        out,
        &[
            name,
            "{version=\"",
            &escape_label(version),
            "\",routemeter_version=\"",
            env!("CARGO_PKG_VERSION"),
            "\"} 1\n",
        ],
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn float(value: f64) -> String {
        let mut text = String::new();
        push_float(&mut text, value);
        text
    }

    #[test]
    fn floats_are_written_as_prometheus_reads_them() {
        assert_eq!(float(f64::NAN), "NaN");
        assert_eq!(float(f64::INFINITY), "+Inf");
        assert_eq!(float(f64::NEG_INFINITY), "-Inf");
        assert_eq!(float(0.0), "0");
        assert_eq!(float(0.012), "0.012");
        assert_eq!(float(293.0), "293");
        assert_eq!(float(1.5e-7), "1.5e-7");
        assert_eq!(float(2e22), "2e22");
        for value in [0.1, 1.0 / 3.0, 12345.678, 4.9e-324, f64::MAX] {
            assert_eq!(float(value).parse::<f64>().ok(), Some(value));
        }
    }

    #[test]
    fn floats_written_again_read_the_same() {
        // More values than a thread keeps, twice over: entries are found, missed and replaced.
        let values: Vec<f64> = (1..=4 * RECENT)
            .map(|i| (i as f64).sqrt() * -1e-3)
            .collect();
        for _ in 0..2 {
            for value in &values {
                assert_eq!(float(*value), ryu::Buffer::new().format_finite(*value));
            }
        }
    }

    #[test]
    fn canonical_numbers_keep_a_decimal_point() {
        let canonical = |value: f64| {
            let mut text = String::new();
            push_canonical_float(&mut text, value);
            text
        };
        assert_eq!(canonical(1.0), "1.0");
        assert_eq!(canonical(0.0), "0.0");
        assert_eq!(canonical(10.0), "10.0");
        assert_eq!(canonical(0.005), "0.005");
        assert_eq!(canonical(2e22), "2e22");
        assert_eq!(canonical(f64::INFINITY), "+Inf");
    }

    #[test]
    fn unix_times_are_exact_seconds() {
        let seconds = |nanos: u64| {
            let mut text = String::new();
            push_unix_seconds(&mut text, nanos);
            text
        };
        assert_eq!(seconds(1_700_000_000_000_000_000), "1700000000");
        assert_eq!(seconds(1_700_000_000_500_000_000), "1700000000.5");
        assert_eq!(seconds(1_700_000_000_000_000_001), "1700000000.000000001");
        assert_eq!(seconds(0), "0");
    }

    #[test]
    fn code_labels_are_written_as_code_label_formats_them() {
        for code in [
            Code::Status(100),
            Code::Status(200),
            Code::Status(404),
            Code::Status(999),
            Code::Error,
            Code::Cancelled,
            Code::Panic,
        ] {
            let mut text = String::new();
            push_code(&mut text, code);
            assert_eq!(text, code.label().to_string());
        }
    }

    #[test]
    fn escaping() {
        assert_eq!(escape_help("a\\b\nc\"d"), "a\\\\b\\nc\"d");
        assert_eq!(escape_label("a\\b\nc\"d é"), "a\\\\b\\nc\\\"d é");
    }
}

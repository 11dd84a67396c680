//! Compression of a `/metrics` answer.

use std::io::Write as _;

/// Compresses with a fast level: scrapes are frequent and the text compresses well anyway.
/// `None` if compression fails, in which case the text goes out as it is.
pub(crate) fn gzipped(text: &[u8]) -> Option<Vec<u8>> {
    let mut encoder = flate2::write::GzEncoder::new(
        Vec::with_capacity(text.len() / 4),
        flate2::Compression::fast(),
    );
    encoder.write_all(text).ok()?;
    encoder.finish().ok()
}

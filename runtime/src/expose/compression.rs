//! Compression of a `/metrics` answer: gzip or zstd, whichever the scraper prefers.

use std::io::Write as _;

/// A content coding `/metrics` can answer with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Encoding {
    Identity,
    Gzip,
    Zstd,
}

impl Encoding {
    /// The `Content-Encoding` value; none for identity.
    pub(crate) fn header(self) -> Option<&'static str> {
        match self {
            Encoding::Identity => None,
            Encoding::Gzip => Some("gzip"),
            Encoding::Zstd => Some("zstd"),
        }
    }
}

/// Compresses `body` with `encoding`, and says with what: should compression fail, the body
/// goes out as it is.
pub(crate) fn compress(body: Vec<u8>, encoding: Encoding) -> (Vec<u8>, Encoding) {
    let compressed = match encoding {
        Encoding::Identity => None,
        Encoding::Gzip => gzipped(&body),
        Encoding::Zstd => zstd_compressed(&body),
    };
    match compressed {
        Some(compressed) => (compressed, encoding),
        None => (body, Encoding::Identity),
    }
}

/// Gzip at a fast level: scrapes are frequent and the text compresses well anyway.
fn gzipped(body: &[u8]) -> Option<Vec<u8>> {
    let mut encoder = flate2::write::GzEncoder::new(
        Vec::with_capacity(body.len() / 4),
        flate2::Compression::fast(),
    );
    encoder.write_all(body).ok()?;
    encoder.finish().ok()
}

/// Zstandard at level 1, its fastest regular level: smaller than gzip's fast level, and faster.
fn zstd_compressed(body: &[u8]) -> Option<Vec<u8>> {
    zstd::bulk::compress(body, 1).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read as _;

    #[test]
    fn both_codings_round_trip() {
        let body = b"# HELP x y\n# TYPE x counter\nx 1\n".repeat(100);
        let (gzip, coding) = compress(body.clone(), Encoding::Gzip);
        assert_eq!(coding, Encoding::Gzip);
        let mut unzipped = Vec::new();
        flate2::read::GzDecoder::new(&gzip[..])
            .read_to_end(&mut unzipped)
            .ok();
        assert_eq!(unzipped, body);
        let (zstd, coding) = compress(body.clone(), Encoding::Zstd);
        assert_eq!(coding, Encoding::Zstd);
        assert!(zstd.len() < body.len() / 4);
        assert_eq!(zstd::stream::decode_all(&zstd[..]).ok(), Some(body.clone()));
        assert_eq!(
            compress(body.clone(), Encoding::Identity),
            (body, Encoding::Identity)
        );
    }
}

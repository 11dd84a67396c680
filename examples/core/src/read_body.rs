//! Reading a request body into memory within a limit and a share of the [`BodyBudget`], whatever serves it.

use bytes::Bytes;
use http_body::Body;
use http_body_util::BodyExt;

use crate::body_budget::{BodyBudget, Share};

/// The least memory set aside for a body at a time, so a body sent in small pieces is not copied at every piece.
const MIN_BUFFER: usize = 8 * 1024;

/// Why a body was not read to its end.
#[derive(Debug)]
pub enum Refusal<E> {
    /// Longer than the limit.
    TooLarge,
    /// Holding it would take the budget past its total.
    OverBudget,
    /// The connection failed while it was read.
    Transport(E),
}

/// Reads `body` into memory charged to `budget`: at most `limit` bytes, and no more memory than a share of the
/// budget covers. The buffer grows as data arrives (doubling, up to the declared length when there is one), so a
/// client that announces a large body but sends little holds little.
///
/// # Errors
/// What stopped the reading: the limit, the budget, or the transport.
pub async fn read_within<B>(
    mut body: B,
    limit: usize,
    declared: Option<u64>,
    budget: &BodyBudget,
) -> Result<(Vec<u8>, Share), Refusal<B::Error>>
where
    B: Body<Data = Bytes> + Unpin,
{
    let expected = declared
        .and_then(|length| usize::try_from(length).ok())
        .map_or(limit, |length| length.min(limit));
    let mut share = budget.share();
    let mut buffer = Vec::new();
    while let Some(frame) = body.frame().await {
        let Ok(data) = frame.map_err(Refusal::Transport)?.into_data() else {
            continue; // trailers
        };
        let needed = buffer.len() + data.len();
        if needed > limit {
            return Err(Refusal::TooLarge);
        }
        if needed > buffer.capacity() {
            let target = (buffer.capacity() * 2)
                .max(MIN_BUFFER)
                .min(expected)
                .max(needed);
            // Charged before it is allocated, so a refused body never takes the memory.
            if !share.grow_to(target) {
                return Err(Refusal::OverBudget);
            }
            buffer.reserve_exact(target - buffer.len());
        }
        buffer.extend_from_slice(&data);
    }
    Ok((buffer, share))
}

//! How the attribute's expansion picks the way to read a handler's output, by its type.
//!
//! The expansion calls `(&&Probe(&output)).classify()` where the output type is concrete, and
//! method lookup takes the first of these that applies (fewest dereferences first):
//! 1. [`ByOutcome`]: an [`Outcome`], read exactly (`Response<B>`, `Result<Response<B>, E>`);
//! 2. [`ByIntoResponse`] (feature `axum`): any other `IntoResponse` output, whose status only
//!    exists once axum converts it: a [`Metered`](crate::Metered) service or layer above reads
//!    the converted response; without one it counts as `unclassified`;
//! 3. [`Unreadable`]: anything else, which `observe` rejects with a message saying what a
//!    handler may return.
//!
//! The choice is made where the handler's output type is known, which a generic function in
//! this crate could not do without specialisation.

use std::marker::PhantomData;

use crate::record::outcome::{Classification, Outcome};

/// A handler's output, borrowed to pick how it is read.
#[doc(hidden)]
pub struct Probe<'a, T>(pub &'a T);

// By hand: derived, they would require `T: Copy`. The last choice takes the probe by value.
impl<T> Clone for Probe<'_, T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T> Copy for Probe<'_, T> {}

/// First choice: the output is an [`Outcome`].
#[doc(hidden)]
pub trait ByOutcome {
    /// Reads the status and size.
    fn classify(self) -> Classification;
}

impl<T: Outcome> ByOutcome for &&Probe<'_, T> {
    #[inline]
    fn classify(self) -> Classification {
        self.0.classify()
    }
}

/// Second choice (feature `axum`): an output axum converts into a response.
#[doc(hidden)]
pub trait ByIntoResponse {
    /// Leaves the status to whoever sees the converted response.
    fn classify(self) -> Classification;
}

#[cfg(feature = "axum")]
impl<T: axum::response::IntoResponse> ByIntoResponse for &Probe<'_, T> {
    #[inline]
    fn classify(self) -> Classification {
        Classification::UNCLASSIFIED
    }
}

/// Last choice: an output routemeter cannot read; `observe` refuses it with a clear message.
#[doc(hidden)]
pub trait Unreadable {
    /// What is returned for an output that cannot be read.
    type Verdict;
    /// Marks the output unreadable.
    fn classify(self) -> Self::Verdict;
}

impl<T> Unreadable for Probe<'_, T> {
    type Verdict = NotAResponse<T>;

    fn classify(self) -> NotAResponse<T> {
        NotAResponse(PhantomData)
    }
}

/// The verdict on an output that is not a response; it does not satisfy [`Verdict`].
#[doc(hidden)]
pub struct NotAResponse<T>(PhantomData<T>);

/// What `observe` accepts from the output's classifier: only a [`Classification`].
#[doc(hidden)]
#[diagnostic::on_unimplemented(
    message = "`#[instrumented]` cannot read a status from this handler's output",
    label = "the handler's output must be `Response<B>` or `Result<Response<B>, E>`, or with the `axum` feature implement `IntoResponse`",
    note = "routemeter counts each request by the status of the response the handler returns"
)]
pub trait Verdict {
    /// The classification.
    fn into_classification(self) -> Classification;
}

impl Verdict for Classification {
    #[inline]
    fn into_classification(self) -> Classification {
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::outcome::Code;
    use bytes::Bytes;
    use http::{Response, StatusCode};
    use http_body_util::Full;

    #[test]
    fn a_response_is_read_exactly() {
        let mut response = Response::new(Full::new(Bytes::from_static(b"abc")));
        *response.status_mut() = StatusCode::CREATED;
        let classification = (&&Probe(&response)).classify();
        assert_eq!(classification.code, Code::Status(201));
        assert_eq!(classification.size, Some(3));
    }

    #[cfg(feature = "axum")]
    #[test]
    // Written as the expansion writes it, which is what picks the second choice.
    #[allow(clippy::needless_borrow)]
    fn other_axum_outputs_wait_for_their_conversion() {
        let output = (StatusCode::CREATED, "made");
        assert_eq!((&&Probe(&output)).classify(), Classification::UNCLASSIFIED);
    }
}

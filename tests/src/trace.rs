//! W3C trace context for the exemplar tests: a `traceparent` header written for a trace id of
//! the test's choosing, and read back into the OpenTelemetry context a handler runs in, as a
//! tracing middleware would.

use http::HeaderMap;
use opentelemetry::trace::{SpanContext, SpanId, TraceContextExt as _, TraceFlags, TraceState};
use opentelemetry::Context;

/// The `traceparent` of a sampled span of trace `trace_id`.
pub fn traceparent(trace_id: u128) -> String {
    format!("00-{trace_id:032x}-00000000000000a1-01")
}

/// The context of the `traceparent` header in `headers`, if there is a valid one.
pub fn context_of(headers: &HeaderMap) -> Option<Context> {
    let header = headers.get("traceparent")?.to_str().ok()?;
    let mut parts = header.split('-');
    let (version, trace, span, flags) =
        (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    if version != "00" || trace.len() != 32 || span.len() != 16 || flags.len() != 2 {
        return None;
    }
    let trace = u128::from_str_radix(trace, 16).ok()?;
    let span = u64::from_str_radix(span, 16).ok()?;
    let flags = u8::from_str_radix(flags, 16).ok()?;
    let span = SpanContext::new(
        trace.into(),
        SpanId::from(span),
        TraceFlags::new(flags),
        true,
        TraceState::default(),
    );
    span.is_valid()
        .then(|| Context::new().with_remote_span_context(span))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_traceparent_comes_back_as_its_context() {
        let mut headers = HeaderMap::new();
        if let Ok(value) = traceparent(0xfeed).parse() {
            headers.insert("traceparent", value);
        }
        let context = context_of(&headers).expect("a context");
        let span = context.span();
        assert_eq!(span.span_context().trace_id(), 0xfeed_u128.into());
        assert!(span.span_context().is_sampled());
        headers.insert("traceparent", http::HeaderValue::from_static("00-zz-1-01"));
        assert!(context_of(&headers).is_none());
    }
}

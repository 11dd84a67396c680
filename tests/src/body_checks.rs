//! What a server measured to the last byte must record for a streamed answer, checked the same way whichever way it
//! is served (hyper with `Metered`, axum with the layer): each check asks for a route of [`crate::paced`] bodies over
//! HTTP/1.1 and HTTP/2 and reads the handler's series before and after.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use routemeter::Exporter;

use crate::paced::FRAME;
use crate::series::{ended, metrics, HandlerSeries};
use crate::streaming::{get, read, PROTOCOLS};
use crate::TestResult;

/// `path` answers `frames` frames `pace` apart: while the body is sent the request is in flight, and it ends as a 200
/// timed to its last frame (at least the pacing, at most what the client saw) with every byte counted.
pub async fn paced_body_is_timed_to_its_last_frame(
    exporter: &Exporter,
    addr: SocketAddr,
    handler: HandlerSeries,
    path: &str,
    frames: usize,
    pace: Duration,
) -> TestResult {
    for protocol in PROTOCOLS {
        let before = metrics(exporter)?;
        let started = Instant::now();
        let mut receiving = get(addr, protocol, path).await?;
        // The headers are in, the body is not: the request is still in flight.
        assert_eq!(
            handler.in_flight(&metrics(exporter)?),
            Some(1.0),
            "{protocol:?}"
        );
        assert_eq!(read(&mut receiving, None).await?, frames * FRAME);
        let took = started.elapsed();
        let after = ended(exporter, handler, &before, "200").await?;
        let duration = handler.sum(&after, "duration") - handler.sum(&before, "duration");
        let paced = (pace * u32::try_from(frames)?).as_secs_f64();
        assert!(
            duration >= paced && duration <= took.as_secs_f64(),
            "{protocol:?}: {duration} s recorded for {frames} frames {pace:?} apart, {took:?} seen"
        );
        let size = handler.sum(&after, "size") - handler.sum(&before, "size");
        assert_eq!(size, (frames * FRAME) as f64, "{protocol:?}");
    }
    Ok(())
}

/// `path` answers `frames` slow frames; a client that reads three and leaves makes the request end `aborted`, not
/// 200, with the bytes sent so far (at least what it read, less than the whole body).
pub async fn client_leaving_mid_body_is_aborted(
    exporter: &Exporter,
    addr: SocketAddr,
    handler: HandlerSeries,
    path: &str,
    frames: usize,
) -> TestResult {
    for protocol in PROTOCOLS {
        let before = metrics(exporter)?;
        let mut receiving = get(addr, protocol, path).await?;
        assert_eq!(read(&mut receiving, Some(3)).await?, 3 * FRAME);
        drop(receiving);
        let after = ended(exporter, handler, &before, "aborted").await?;
        assert_eq!(
            handler.requests(&after, "200"),
            handler.requests(&before, "200")
        );
        let size = handler.sum(&after, "size") - handler.sum(&before, "size");
        assert!(
            size >= (3 * FRAME) as f64 && size < (frames * FRAME) as f64,
            "{protocol:?}: {size} bytes recorded after 3 of {frames} frames were read"
        );
    }
    Ok(())
}

/// `path` answers a body that fails after two frames: the request ends `body_error` with those two frames counted.
pub async fn failing_body_is_body_error(
    exporter: &Exporter,
    addr: SocketAddr,
    handler: HandlerSeries,
    path: &str,
) -> TestResult {
    for protocol in PROTOCOLS {
        let before = metrics(exporter)?;
        let mut receiving = get(addr, protocol, path).await?;
        // The client sees the body break off; what it gets of it does not matter here.
        let _ = read(&mut receiving, None).await;
        let after = ended(exporter, handler, &before, "body_error").await?;
        let size = handler.sum(&after, "size") - handler.sum(&before, "size");
        assert_eq!(size, (2 * FRAME) as f64, "{protocol:?}");
    }
    Ok(())
}

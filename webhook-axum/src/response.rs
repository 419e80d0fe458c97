//! The status-code policy of reliability.md "Pinned policy", in one place.
//!
//! | outcome | status |
//! |---|---|
//! | handled, duplicate of a completed event, or no handler for the type | 200 |
//! | not authentic (signature, header, timestamp) | 401 |
//! | authentic but not a usable event; unreadable body | 400 |
//! | wrong method | 405 (Axum's method router) |
//! | body over the limit | 413 |
//! | non-JSON `Content-Type` or any `Content-Encoding` | 415 |
//! | another delivery of the event is in progress | 409 + `Retry-After` |
//! | event id reused with another type | 422 |
//! | a handler failed or panicked | 500 |
//! | a handler timed out | 503 |
//! | the store is unavailable; too many deliveries in flight | 503 + `Retry-After` |
//! | the body did not arrive within the body timeout | 408 |
//!
//! Bodies are small and fixed: the reason goes to logs, never to the caller.

use std::time::Duration;

use axum::response::{IntoResponse, Response};
use http::header::RETRY_AFTER;
use http::{HeaderValue, StatusCode};
use webhook_core::observability::RejectReason;
use webhook_core::{Receipt, ReceiveError};

/// A request rejected before it reached the receiver.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Rejection {
    /// The body is larger than the limit.
    PayloadTooLarge,
    /// `Content-Type` is not JSON or a `Content-Encoding` is present.
    UnsupportedMediaType,
    /// The body or its length header could not be read.
    BadRequest,
    /// The body did not arrive in time.
    Timeout,
}

impl Rejection {
    /// The `reason` label this rejection is counted under (see `webhook_core::observability`).
    #[must_use]
    pub fn reason(self) -> RejectReason {
        match self {
            Self::PayloadTooLarge => RejectReason::PayloadTooLarge,
            Self::UnsupportedMediaType => RejectReason::UnsupportedMediaType,
            Self::BadRequest => RejectReason::UnreadableBody,
            Self::Timeout => RejectReason::BodyTimeout,
        }
    }
}

impl IntoResponse for Rejection {
    fn into_response(self) -> Response {
        rejected(&self)
    }
}

pub(crate) fn rejected(rejection: &Rejection) -> Response {
    match rejection {
        Rejection::PayloadTooLarge => fixed(StatusCode::PAYLOAD_TOO_LARGE, "payload too large"),
        Rejection::UnsupportedMediaType => {
            fixed(StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported media type")
        }
        Rejection::BadRequest => fixed(StatusCode::BAD_REQUEST, "bad request"),
        Rejection::Timeout => fixed(StatusCode::REQUEST_TIMEOUT, "request timeout"),
    }
}

/// The answer to a receiver's outcome.
#[must_use]
pub fn respond(result: &Result<Receipt, ReceiveError>) -> Response {
    match result {
        Ok(_) => fixed(StatusCode::OK, "ok"),
        Err(ReceiveError::Unauthenticated(_)) => fixed(StatusCode::UNAUTHORIZED, "unauthorized"),
        Err(ReceiveError::Malformed(_)) => fixed(StatusCode::BAD_REQUEST, "bad request"),
        Err(ReceiveError::InProgress { retry_after }) => with_retry_after(
            fixed(StatusCode::CONFLICT, "event in progress"),
            *retry_after,
        ),
        Err(ReceiveError::Conflict { .. }) => {
            fixed(StatusCode::UNPROCESSABLE_ENTITY, "event id conflict")
        }
        Err(error @ ReceiveError::HandlerFailed { .. }) if error.is_timeout() => {
            fixed(StatusCode::SERVICE_UNAVAILABLE, "handler timed out")
        }
        Err(ReceiveError::StoreUnavailable { retry_after, .. }) => with_retry_after(
            fixed(StatusCode::SERVICE_UNAVAILABLE, "temporarily unavailable"),
            *retry_after,
        ),
        Err(_) => internal_error(),
    }
}

pub(crate) fn overloaded(retry_after: Duration) -> Response {
    with_retry_after(
        fixed(StatusCode::SERVICE_UNAVAILABLE, "temporarily unavailable"),
        retry_after,
    )
}

pub(crate) fn internal_error() -> Response {
    fixed(StatusCode::INTERNAL_SERVER_ERROR, "handler failed")
}

fn fixed(status: StatusCode, body: &'static str) -> Response {
    (status, body).into_response()
}

fn with_retry_after(mut response: Response, after: Duration) -> Response {
    // Whole seconds, rounded up, at least 1: `Retry-After: 0` invites an immediate storm.
    let seconds = after.as_secs() + u64::from(after.subsec_nanos() > 0);
    response
        .headers_mut()
        .insert(RETRY_AFTER, HeaderValue::from(seconds.max(1)));
    response
}

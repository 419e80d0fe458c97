//! `DeliveryReport`: which handlers a delivery ran, for in-process observers.

use webhook_core::{HandlerFailure, Receipt, ReceiveError};

/// Put in a request's [extensions](http::Request::extensions) to have the webhook route attach
/// a [`DeliveryReport`] to its response.
///
/// Asked for, not attached to every answer: a response's extensions start empty, and the
/// report would cost each delivery three allocations that nobody reads. `TestClient` (feature
/// `test-util`) asks for it on every request; a tower layer asks as in [`DeliveryReport`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReportRequested;

/// Which handlers a delivery ran, attached by the webhook route to its response as an
/// [extension](http::Response::extensions) when the request carries [`ReportRequested`].
///
/// Extensions live in process only: they are never written to the wire, so what the sender
/// sees (status, headers, the small fixed body) is unchanged. Read it in a tower layer or a
/// test; `webhook_axum::test::TestClient` (feature `test-util`) returns it with every
/// answer. Responses the route gives before the receiver runs (405, 408, 413, 415, and 503
/// when shedding load) carry none.
///
/// ```
/// use axum::{extract::Request, middleware::Next, response::Response};
/// use webhook_axum::{DeliveryReport, ReportRequested};
///
/// // Installed with `axum::middleware::from_fn(log_handlers)` around the webhook route.
/// async fn log_handlers(mut request: Request, next: Next) -> Response {
///     request.extensions_mut().insert(ReportRequested);
///     let response = next.run(request).await;
///     if let Some(report) = response.extensions().get::<DeliveryReport>() {
///         println!("ran {:?}, failed {:?}", report.ran(), report.failed());
///     }
///     response
/// }
/// ```
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct DeliveryReport {
    handlers: Handlers,
}

/// The receiver's own lists, moved rather than copied: the route builds a report for every
/// delivery.
#[derive(Debug, Clone)]
enum Handlers {
    Handled(Receipt),
    Failed {
        ran: Vec<&'static str>,
        failed: Vec<&'static str>,
    },
}

impl Default for Handlers {
    fn default() -> Self {
        Self::Handled(Receipt::default())
    }
}

impl DeliveryReport {
    /// The report of a receiver's outcome.
    #[must_use]
    pub fn new(result: &Result<Receipt, ReceiveError>) -> Self {
        match result {
            Ok(receipt) => Self::handled(receipt.clone()),
            Err(ReceiveError::HandlerFailed { failures, ran }) => {
                Self::with_failures(ran.clone(), failures)
            }
            // Rejected, in progress, conflicting or store down: no handler ran.
            Err(_) => Self::default(),
        }
    }

    /// [`DeliveryReport::new`], taking the outcome instead of copying its lists.
    pub(crate) fn from_result(result: Result<Receipt, ReceiveError>) -> Self {
        match result {
            Ok(receipt) => Self::handled(receipt),
            Err(ReceiveError::HandlerFailed { failures, ran }) => {
                Self::with_failures(ran, &failures)
            }
            Err(_) => Self::default(),
        }
    }

    fn handled(receipt: Receipt) -> Self {
        Self {
            handlers: Handlers::Handled(receipt),
        }
    }

    fn with_failures(ran: Vec<&'static str>, failures: &[HandlerFailure]) -> Self {
        Self {
            handlers: Handlers::Failed {
                ran,
                failed: failures.iter().map(|failure| failure.handler).collect(),
            },
        }
    }

    /// Handlers (by path) that ran and completed in this delivery.
    #[must_use]
    pub fn ran(&self) -> &[&'static str] {
        match &self.handlers {
            Handlers::Handled(receipt) => receipt.ran(),
            Handlers::Failed { ran, .. } => ran,
        }
    }

    /// Handlers that had completed for this event before and were not run again.
    #[must_use]
    pub fn already_done(&self) -> &[&'static str] {
        match &self.handlers {
            Handlers::Handled(receipt) => receipt.already_done(),
            Handlers::Failed { .. } => &[],
        }
    }

    /// Handlers that failed (error, panic, time-out or lost lease) in this delivery.
    #[must_use]
    pub fn failed(&self) -> &[&'static str] {
        match &self.handlers {
            Handlers::Handled(_) => &[],
            Handlers::Failed { failed, .. } => failed,
        }
    }
}

/// Two reports are equal when they list the same handlers, however they were built.
impl PartialEq for DeliveryReport {
    fn eq(&self, other: &Self) -> bool {
        self.ran() == other.ran()
            && self.already_done() == other.already_done()
            && self.failed() == other.failed()
    }
}

impl Eq for DeliveryReport {}

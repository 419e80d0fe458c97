//! `DeliveryReport`: which handlers a delivery ran, for in-process observers.

use webhook_core::{Receipt, ReceiveError};

/// Which handlers a delivery ran, attached by the webhook route to its response as an
/// [extension](http::Response::extensions).
///
/// Extensions live in process only: they are never written to the wire, so what the sender
/// sees (status, headers, the small fixed body) is unchanged. Read it in a tower layer or a
/// test; `webhook_axum::test::TestClient` (feature `test-util`) returns it with every
/// answer. Responses the route gives before the receiver runs (405, 408, 413, 415, and 503
/// when shedding load) carry none.
///
/// ```
/// # async fn check(response: axum::response::Response) {
/// if let Some(report) = response.extensions().get::<webhook_axum::DeliveryReport>() {
///     println!("ran {:?}, failed {:?}", report.ran(), report.failed());
/// }
/// # }
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct DeliveryReport {
    ran: Vec<&'static str>,
    already_done: Vec<&'static str>,
    failed: Vec<&'static str>,
}

impl DeliveryReport {
    /// The report of a receiver's outcome.
    #[must_use]
    pub fn new(result: &Result<Receipt, ReceiveError>) -> Self {
        match result {
            Ok(receipt) => Self {
                ran: receipt.ran().to_vec(),
                already_done: receipt.already_done().to_vec(),
                failed: Vec::new(),
            },
            Err(ReceiveError::HandlerFailed { failures, ran }) => Self {
                ran: ran.clone(),
                already_done: Vec::new(),
                failed: failures.iter().map(|failure| failure.handler).collect(),
            },
            // Rejected, in progress, conflicting or store down: no handler ran.
            Err(_) => Self::default(),
        }
    }

    /// Handlers (by path) that ran and completed in this delivery.
    #[must_use]
    pub fn ran(&self) -> &[&'static str] {
        &self.ran
    }

    /// Handlers that had completed for this event before and were not run again.
    #[must_use]
    pub fn already_done(&self) -> &[&'static str] {
        &self.already_done
    }

    /// Handlers that failed (error, panic, time-out or lost lease) in this delivery.
    #[must_use]
    pub fn failed(&self) -> &[&'static str] {
        &self.failed
    }
}

//! The function is emitted as written: its doc comment and attributes stay on it, and it can be
//! called directly.
#![deny(unused_variables, missing_docs)]

/// Handlers of this test.
pub mod handlers {
    use webhook_core::{on_event, Event, HandlerError};

    /// Fulfils a paid order. (Without this doc comment, `missing_docs` fails the build.)
    #[on_event("payment_intent.succeeded")]
    #[allow(unused_variables)] // Without it, `unused_variables` fails the build.
    #[must_use = "the handler's result says whether the event was handled"]
    #[inline]
    pub async fn fulfil(event: Event) -> Result<(), HandlerError> {
        let unused = event;
        Ok(())
    }
}

fn main() {
    let registered = webhook_core::registered_events().unwrap();
    assert_eq!(registered.len(), 1);
    assert_eq!(
        registered[0].path,
        concat!(module_path!(), "::handlers::fulfil")
    );
    // Still an ordinary function: it can be named and called.
    let _future = handlers::fulfil;
}

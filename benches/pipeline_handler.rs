//! The `#[on_event]` handler the framework side of the pipeline benchmarks dispatches to:
//! decode `data.object` into [`Intent`], as the hand-written baseline does.
//!
//! Included with `#[path]` by each binary that measures the pipeline (`benches/pipeline.rs`,
//! `examples/interleaved.rs`, `examples/profile.rs`) rather than defined in the library, where
//! `inventory` would register it in every benchmark binary, the dispatch benchmarks' included.

use std::hint::black_box;

use webhook_benches::Intent;
use webhook_core::{on_event, Event, HandlerError};

#[on_event("payment_intent.succeeded")]
async fn fulfil(event: Event<Intent>) -> Result<(), HandlerError> {
    black_box(event.object());
    Ok(())
}

//! Four mistakes, four errors, one compile.
use webhook_core::{on_event, Event};

#[on_event("invoice.payed")]
fn fulfil<T>(event: Event<T>) {
    let _ = event;
}

fn main() {}

//! The generated registries of the dispatch benchmarks: 10 or 10,000 handlers, each for its own
//! exact event type, and the ten types delivered, spread over the registry. Shared by
//! `benches/dispatch.rs` (criterion) and `examples/interleaved.rs` (alternating batches), so
//! both measure the same lookups.

use std::hint::black_box;

use webhook_benches::Intent;
use webhook_core::{
    Delivery, Event, FromDelivery, HandlerFuture, Location, MissingState, Registration, Registry,
    Resources,
};

/// The generated handler: decode the object, as a typed handler does.
fn handle(delivery: Delivery) -> HandlerFuture {
    Box::pin(async move {
        let event = Event::<Intent>::from_delivery(&delivery)?;
        black_box(event.object());
        Ok(())
    })
}

fn nothing_needed(_: &Resources) -> Result<(), MissingState> {
    Ok(())
}

fn leak(text: String) -> &'static str {
    Box::leak(text.into_boxed_str())
}

/// The event types of a registry with `count` types, and the ten that are delivered.
pub(crate) fn event_types(count: usize) -> (Vec<&'static str>, Vec<&'static str>) {
    let all: Vec<&'static str> = (0..count)
        .map(|i| leak(format!("bench.generated_{i:05}.created")))
        .collect();
    let delivered = (0..10).map(|k| all[k * count / 10]).collect();
    (all, delivered)
}

/// A registry with one generated handler per type.
pub(crate) fn registry(types: &[&'static str]) -> Registry {
    types
        .iter()
        .enumerate()
        .fold(Registry::builder(), |builder, (i, pattern)| {
            builder.register(Registration::new(
                pattern,
                leak(format!("bench::generated::handler_{i:05}")),
                Location::new(file!(), 1, 1),
                handle,
                nothing_needed,
            ))
        })
        .build()
        .expect("valid registry")
}

/// The first handler of `event_type`, as a dispatch looks it up.
pub(crate) fn lookup(registry: &Registry, event_type: &str) -> Option<&'static str> {
    registry
        .handlers_for(black_box(event_type))
        .map(Registration::path)
        .next()
}

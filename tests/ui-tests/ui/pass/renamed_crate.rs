//! `crate = path` for a renamed or re-exported `webhook_core`: the expansion names only the
//! given path.
use webhook_core as wh;

mod reexport {
    // What a framework adapter does: `pub use webhook_core as core;`.
    pub use webhook_core as core;
}

#[wh::on_event("invoice.paid", crate = wh)]
async fn paid(event: wh::Event) -> Result<(), wh::HandlerError> {
    let _ = event;
    Ok(())
}

#[reexport::core::on_event("invoice.created", crate = crate::reexport::core)]
async fn created(event: reexport::core::Event) -> Result<(), reexport::core::HandlerError> {
    let _ = event;
    Ok(())
}

fn main() {
    let mut found: Vec<_> = wh::registered_events()
        .unwrap()
        .iter()
        .map(|h| (h.pattern, h.path))
        .collect();
    found.sort_unstable();
    assert_eq!(
        found,
        [
            ("invoice.created", concat!(module_path!(), "::created")),
            ("invoice.paid", concat!(module_path!(), "::paid")),
        ]
    );
}

use webhook_core::{on_event, Event, HandlerError};

#[on_event("issues.opened", unchecked, crate = webhook_core, unchecked)]
async fn fulfil(event: Event) -> Result<(), HandlerError> {
    let _ = event;
    Ok(())
}

fn main() {}

//! `State<T>` beside `Event<T>`; a receiver built without the state fails at build time,
//! naming the handler, rather than at the first delivery.
use webhook_core::signature::{PaymentKit, Verifier};
use webhook_core::{on_event, BuildError, Event, HandlerError, MemoryStore, Receiver, State};

#[derive(Clone)]
struct Db {
    name: &'static str,
}

#[on_event("invoice.paid")]
async fn record(event: Event, State(db): State<Db>) -> Result<(), HandlerError> {
    let _ = (event, db.name);
    Ok(())
}

fn builder() -> webhook_core::ReceiverBuilder {
    Receiver::builder()
        .verifier(
            Verifier::builder(PaymentKit)
                .secret("whsec_ui")
                .build()
                .unwrap(),
        )
        .store(MemoryStore::new())
}

fn main() {
    let path = concat!(module_path!(), "::record");
    assert!(builder().state(Db { name: "main" }).build().is_ok());

    match builder().build() {
        Err(BuildError::MissingState {
            handler,
            location,
            missing,
        }) => {
            assert_eq!(handler, path);
            assert!(location.file.ends_with("state_argument.rs"));
            assert!(missing.type_name.ends_with("::Db"), "{}", missing.type_name);
        }
        other => panic!("expected a missing-state error, got {other:?}"),
    }
}

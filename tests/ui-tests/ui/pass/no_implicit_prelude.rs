//! The expansion relies on neither the prelude nor the user's imports, and adds no warnings or
//! unsafe code to the user's crate.
#![no_implicit_prelude]
#![forbid(unsafe_code)]
#![deny(warnings)]

mod handlers {
    #[::webhook_core::on_event("payment_intent.succeeded")]
    async fn fulfil(
        event: ::webhook_core::Event<::serde_json::Value>,
        state: ::webhook_core::State<::std::string::String>,
    ) -> ::core::result::Result<(), ::webhook_core::HandlerError> {
        let _ = (event, state);
        ::core::result::Result::Ok(())
    }
}

fn main() {
    let registered = ::webhook_core::registered_events().unwrap();
    ::std::assert_eq!(registered.len(), 1);
    ::std::assert_eq!(registered[0].pattern, "payment_intent.succeeded");
    ::std::assert_eq!(
        registered[0].path,
        ::std::concat!(::std::module_path!(), "::handlers::fulfil")
    );
}

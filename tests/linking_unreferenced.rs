//! The other half of `linking.rs`: the same crate, available to this test (it is a
//! dev-dependency of the package) but never named, is not linked, so its handlers are not
//! registered.
//!
//! This pins the caveat in the `webhook_core` crate docs. If a future rustc links every
//! `--extern` crate, this test fails: then the caveat (and `use my_handlers as _;`) can go.

#[test]
fn handlers_of_an_unnamed_crate_are_not_registered() {
    let registered = webhook_core::registered_events().unwrap();
    let from_fixture: Vec<_> = registered
        .iter()
        .filter(|handler| handler.path.starts_with("webhook_linking_handlers::"))
        .collect();
    assert!(
        from_fixture.is_empty(),
        "an unnamed crate's handlers were registered: {from_fixture:?}"
    );
}

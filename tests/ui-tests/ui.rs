//! Compile-time behaviour of `#[on_event]`: what compiles (and registers, checked by each pass
//! case's `main`), and the errors a user sees for each mistake.
//!
//! The `.stderr` files are recorded with stable rustc, so the test runs on stable only. After a
//! toolchain update or a message change, regenerate them with
//! `TRYBUILD=overwrite cargo test -p webhook-ui-tests --test ui` and review the diff; run one case
//! with `cargo test -p webhook-ui-tests --test ui -- ui trybuild=not_async.rs`.

#[rustversion::attr(not(stable), ignore = "ui output is recorded with stable rustc")]
#[cfg_attr(miri, ignore)]
#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.pass("ui/pass/*.rs");
    t.compile_fail("ui/fail/*.rs");
}

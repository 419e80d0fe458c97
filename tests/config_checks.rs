//! Row H01, H06 and B09 of reliability.md section 3, and the pinned policy's secret rules:
//! a misconfigured receiver refuses to start, for every scheme, instead of answering 401s
//! (or worse) at run time.

#[path = "hostile/harness.rs"]
mod harness;

use std::time::Duration;

use webhook_core::signature::{ConfigError, SecretError};
use webhook_core::{BuildError, Receiver};

use harness::{cases, init, store};

#[test]
fn missing_empty_or_padded_secrets_are_refused() {
    init();
    for case in cases() {
        let tolerance = Duration::from_secs(300);
        assert_eq!(
            case.verifier_with(&[], None, tolerance).unwrap_err(),
            ConfigError::NoSecret,
            "{}",
            case.name
        );
        let good = case.verify[0];
        let cases_of_bad: [(String, SecretError); 8] = [
            (String::new(), SecretError::Empty),
            ("   ".to_owned(), SecretError::Empty),
            ("\t\n".to_owned(), SecretError::Empty),
            (format!(" {good}"), SecretError::Whitespace),
            (format!("{good} "), SecretError::Whitespace),
            (format!("{good}\n"), SecretError::Whitespace),
            (format!("\t{good}"), SecretError::Whitespace),
            (format!("{good}\r\n"), SecretError::Whitespace),
        ];
        for (secret, error) in cases_of_bad {
            let built = case.verifier_with(&[&secret], None, tolerance);
            assert_eq!(
                built.unwrap_err(),
                ConfigError::Secret { index: 0, error },
                "{}: {secret:?}",
                case.name
            );
            // A bad secret among good ones is refused too, and reported by position.
            let built = case.verifier_with(&[good, &secret], None, tolerance);
            assert!(
                matches!(built, Err(ConfigError::Secret { index: 1, .. })),
                "{}: {secret:?} second",
                case.name
            );
        }
        // The same secrets, trimmed, are accepted.
        assert!(
            case.verifier_with(&case.verify, None, tolerance).is_ok(),
            "{}",
            case.name
        );
    }
}

/// H01 "too short": the Standard Webhooks scheme requires 24 bytes of key material.
#[test]
fn standard_webhooks_refuses_short_secrets() {
    init();
    let cases = cases();
    let case = cases
        .iter()
        .find(|c| c.name == "standard-webhooks")
        .expect("scheme");
    // 23 bytes of key, base64.
    let short = "whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRY=";
    let built = case.verifier_with(&[short], None, Duration::from_secs(300));
    assert!(
        matches!(
            built,
            Err(ConfigError::Secret {
                error: SecretError::Format(_),
                ..
            })
        ),
        "{built:?}"
    );
}

/// B09: there is no way to build a verifier without a tolerance; skipping the timestamp is
/// an explicit, separately named method (`verify_ignoring_timestamp`).
#[test]
fn b09_a_zero_tolerance_is_refused() {
    init();
    for case in cases() {
        let built = case.verifier_with(&[case.verify[0]], None, Duration::ZERO);
        assert_eq!(
            built.unwrap_err(),
            ConfigError::ZeroTolerance,
            "{}",
            case.name
        );
        // Sub-second tolerances round down to zero.
        let built = case.verifier_with(&[case.verify[0]], None, Duration::from_millis(999));
        assert_eq!(
            built.unwrap_err(),
            ConfigError::ZeroTolerance,
            "{}",
            case.name
        );
    }
}

fn limits_error(result: Result<Receiver, BuildError>) -> &'static str {
    match result {
        Err(BuildError::Limits(reason)) => reason,
        other => panic!("expected a limits error, got {other:?}"),
    }
}

/// H06 and the pinned lease rule: a lease that does not outlast the handler time limit is
/// refused, as is a retention shorter than the signature tolerance, and zero limits.
#[test]
fn h06_inconsistent_time_budgets_are_refused() {
    init();
    for case in cases() {
        let base = || case.receiver().store(store());
        let second = Duration::from_secs(1);
        let reason = limits_error(
            base()
                .lease(20 * second)
                .handler_timeout(20 * second)
                .build(),
        );
        assert!(reason.contains("lease"), "{reason}");
        limits_error(
            base()
                .lease(10 * second)
                .handler_timeout(20 * second)
                .build(),
        );
        limits_error(base().lease(second).build());
        assert!(base()
            .lease(21 * second)
            .handler_timeout(20 * second)
            .build()
            .is_ok());

        let reason = limits_error(base().retention(299 * second).build());
        assert!(reason.contains("retention"), "{reason}");
        assert!(
            base().retention(300 * second).build().is_ok(),
            "{}",
            case.name
        );
        // The tolerance that matters is the verifier's own.
        let wide = case
            .verifier_with(&[case.verify[0]], None, Duration::from_secs(3600))
            .unwrap();
        limits_error(base().verifier(wide).retention(1800 * second).build());

        limits_error(base().store_timeout(Duration::ZERO).build());
        limits_error(base().handler_timeout(Duration::ZERO).build());
        limits_error(base().body_limit(0).build());
        limits_error(base().body_timeout(Duration::ZERO).build());
        limits_error(base().max_in_flight(0).build());
        assert!(
            base().build().is_ok(),
            "{}: the defaults are consistent",
            case.name
        );
    }
}

#[test]
fn a_receiver_needs_a_verifier_and_a_store() {
    init();
    assert!(matches!(
        Receiver::builder().store(store()).build(),
        Err(BuildError::NoVerifier)
    ));
    let case = &cases()[0];
    assert!(matches!(
        Receiver::builder().verifier(case.verifier()).build(),
        Err(BuildError::NoStore)
    ));
    for namespace in ["", "has space", "semi;colon", &"n".repeat(65)] {
        let built = case.receiver().store(store()).namespace(namespace).build();
        assert!(matches!(built, Err(BuildError::Namespace)), "{namespace:?}");
    }
}

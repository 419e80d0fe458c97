//! The real `webhook` binary against receivers served in process on 127.0.0.1: the demo
//! (PaymentKit) and one bare receiver per other scheme.

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use axum::Router;
use tokio::sync::oneshot;
use webhook_axum::RouterExt;
use webhook_core::signature::{
    GitHub, PaymentKitComponent, Scheme, StandardWebhooks, Stripe, Verifier,
};
use webhook_core::test_util::fixtures::sample_event;
use webhook_core::{MemoryStore, Receiver, Registry};
use webhook_examples::demo::{Config, Demo, Journal, StoreConfig, DEMO_SECRET, PATH};

/// Every test is bounded; the CLI's own `--timeout` bounds each delivery.
const TEST_DEADLINE: Duration = Duration::from_secs(60);

/// A server on a free port of 127.0.0.1, stopped when dropped.
struct Served {
    addr: SocketAddr,
    _stop: oneshot::Sender<()>,
}

impl Served {
    async fn start(router: Router) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        tokio::spawn(
            webhook_axum::Server::new(listener, router).run_until(async {
                let _ = stopped.await;
            }),
        );
        Self { addr, _stop: stop }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }
}

/// The demo receiver, keeping its idempotency records in memory.
async fn demo() -> (Served, Journal) {
    let config = Config {
        store: StoreConfig::Memory,
        ..Config::default()
    };
    let demo = Demo::new(&config).await.unwrap();
    let served = Served::start(demo.router()).await;
    (served, demo.journal().clone())
}

/// What one run of the binary did.
#[derive(Debug)]
struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl Run {
    fn lines(&self) -> Vec<&str> {
        self.stdout.lines().collect()
    }

    fn assert_no_secret(&self, secret: &str) {
        for text in [&self.stdout, &self.stderr] {
            assert!(!text.contains(secret), "secret printed: {self:?}");
            // Signature header values (`t=...,v1=<hex>`) and names stay out of the output.
            assert!(!text.contains("v1="), "signature printed: {self:?}");
            assert!(!text.to_ascii_lowercase().contains("signature"), "{self:?}");
        }
    }
}

/// Runs `webhook ARGS`, with `WEBHOOK_SECRET` set to `secret_env` or unset.
async fn webhook(args: &[&str], secret_env: Option<&str>) -> Run {
    let mut command = Command::new(env!("CARGO_BIN_EXE_webhook"));
    command.args(args);
    // Bound every delivery (only the sending commands take the option).
    if matches!(args.first(), Some(&"trigger" | &"send")) {
        command.args(["--timeout", "10"]);
    }
    match secret_env {
        Some(secret) => command.env("WEBHOOK_SECRET", secret),
        None => command.env_remove("WEBHOOK_SECRET"),
    };
    let output = tokio::task::spawn_blocking(move || command.output())
        .await
        .unwrap()
        .expect("the webhook binary runs");
    let run = Run {
        code: output.status.code(),
        stdout: String::from_utf8(output.stdout).unwrap(),
        stderr: String::from_utf8(output.stderr).unwrap(),
    };
    assert!(!run.stderr.contains("panicked"), "{run:?}");
    run
}

/// Checks one delivery line: `STATUS REASON  N.N ms  ID  TYPE`.
fn assert_line(line: &str, status: &str, id: &str, event_type: &str) {
    let fields: Vec<&str> = line.split("  ").collect();
    assert_eq!(fields.len(), 4, "{line:?}");
    assert_eq!(fields[0], status, "{line:?}");
    let millis = fields[1].strip_suffix(" ms").expect("timing in ms");
    let millis: f64 = millis.parse().expect("timing is a number");
    assert!((0.0..10_000.0).contains(&millis), "{line:?}");
    assert_eq!(fields[2], id, "{line:?}");
    assert_eq!(fields[3], event_type, "{line:?}");
}

fn handler_runs(journal: &Journal, handler: &str) -> usize {
    let prefix = format!("{handler}(");
    journal
        .entries()
        .iter()
        .filter(|entry| entry.starts_with(&prefix))
        .count()
}

fn temp_file(name: &str, contents: &str) -> PathBuf {
    let path = std::env::temp_dir().join(format!("webhook-cli-test-{}-{name}", std::process::id()));
    std::fs::write(&path, contents).unwrap();
    path
}

async fn bounded(test: impl Future<Output = ()>) {
    tokio::time::timeout(TEST_DEADLINE, test)
        .await
        .expect("test finished within its deadline");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn valid_duplicate_and_forged_deliveries_give_200_200_401() {
    bounded(async {
        let (server, journal) = demo().await;
        let url = server.url(PATH);
        let trigger = |id: &'static str| {
            [
                "trigger",
                "payment_intent.succeeded",
                "--url",
                url.as_str(),
                "--id",
                id,
            ]
        };

        // Valid: the secret from the environment, as the docs recommend.
        let valid = webhook(&trigger("evt_cli_valid"), Some(DEMO_SECRET)).await;
        assert_eq!(valid.code, Some(0), "{valid:?}");
        assert_eq!(valid.lines().len(), 1, "{valid:?}");
        assert_line(
            valid.lines()[0],
            "200 OK",
            "evt_cli_valid",
            "payment_intent.succeeded",
        );
        assert_eq!(handler_runs(&journal, "fulfil_payment"), 1);
        valid.assert_no_secret(DEMO_SECRET);

        // Duplicate: the same id again, twice, each delivery signed afresh.
        let mut again = trigger("evt_cli_valid").to_vec();
        again.extend(["--times", "2"]);
        let duplicate = webhook(&again, Some(DEMO_SECRET)).await;
        assert_eq!(duplicate.code, Some(0), "{duplicate:?}");
        assert_eq!(duplicate.lines().len(), 2, "{duplicate:?}");
        for line in duplicate.lines() {
            assert_line(line, "200 OK", "evt_cli_valid", "payment_intent.succeeded");
        }
        assert_eq!(
            handler_runs(&journal, "fulfil_payment"),
            1,
            "handler ran again"
        );
        duplicate.assert_no_secret(DEMO_SECRET);

        // Forged: signed with another secret, given on the command line.
        let mut forged_args = trigger("evt_cli_forged").to_vec();
        forged_args.extend(["--secret", "whsec_not_the_demo_secret"]);
        let forged = webhook(&forged_args, None).await;
        assert_eq!(forged.code, Some(1), "{forged:?}");
        assert_eq!(forged.lines().len(), 1, "{forged:?}");
        assert_line(
            forged.lines()[0],
            "401 Unauthorized",
            "evt_cli_forged",
            "payment_intent.succeeded",
        );
        assert_eq!(handler_runs(&journal, "fulfil_payment"), 1);
        forged.assert_no_secret("whsec_not_the_demo_secret");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn send_delivers_a_file_as_it_is() {
    bounded(async {
        let (server, journal) = demo().await;
        let url = server.url(PATH);
        let body = sample_event("evt_cli_file", "customer.subscription.deleted").unwrap();
        let file = temp_file("event.json", &body);
        let file_arg = file.to_str().unwrap();

        let sent = webhook(&["send", file_arg, "--url", &url], Some(DEMO_SECRET)).await;
        assert_eq!(sent.code, Some(0), "{sent:?}");
        assert_line(
            sent.lines()[0],
            "200 OK",
            "evt_cli_file",
            "customer.subscription.deleted",
        );
        assert_eq!(handler_runs(&journal, "subscription_deleted"), 1);
        sent.assert_no_secret(DEMO_SECRET);

        // A file without an id is refused before anything is sent.
        let no_id = temp_file("no-id.json", r#"{"type":"customer.subscription.deleted"}"#);
        let refused = webhook(
            &["send", no_id.to_str().unwrap(), "--url", &url],
            Some(DEMO_SECRET),
        )
        .await;
        assert_eq!(refused.code, Some(2), "{refused:?}");
        assert!(
            refused.stderr.contains(r#"no top-level "id""#),
            "{refused:?}"
        );
        assert!(refused.stdout.is_empty(), "{refused:?}");
        assert_eq!(journal.entries().len(), 1);

        std::fs::remove_file(file).unwrap();
        std::fs::remove_file(no_id).unwrap();
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn usage_errors_exit_2_with_a_message_and_send_nothing() {
    bounded(async {
        let (server, journal) = demo().await;
        let url = server.url(PATH);
        let secret = Some(DEMO_SECRET);
        let cases: [(&[&str], Option<&str>, &str); 6] = [
            (
                &["trigger", "invoice.paid", "--url", "not a url"],
                secret,
                "is not a URL",
            ),
            (
                &["trigger", "invoice.paid", "--url", "https://127.0.0.1/"],
                secret,
                "https is not supported",
            ),
            (
                &["trigger", "invoice.pai", "--url", &url],
                secret,
                "no sample event of type \"invoice.pai\"",
            ),
            (
                &["send", "/nonexistent/event.json", "--url", &url],
                secret,
                "cannot read /nonexistent/event.json",
            ),
            (
                &["trigger", "invoice.paid", "--url", &url],
                None,
                "pass --secret or set WEBHOOK_SECRET",
            ),
            (
                &[
                    "trigger",
                    "invoice.paid",
                    "--url",
                    &url,
                    "--scheme",
                    "standard",
                ],
                Some("whsec_!!not-base64!!"),
                "the secret is unusable for --scheme standard",
            ),
        ];
        for (args, secret, message) in cases {
            let run = webhook(args, secret).await;
            assert_eq!(run.code, Some(2), "{args:?}: {run:?}");
            assert!(run.stderr.starts_with("error: "), "{args:?}: {run:?}");
            assert!(run.stderr.contains(message), "{args:?}: {run:?}");
            assert!(run.stdout.is_empty(), "{args:?}: {run:?}");
            run.assert_no_secret("whsec_!!not-base64!!");
        }

        // Arguments clap refuses exit 2 as well.
        let run = webhook(&["trigger", "--url", &url], secret).await;
        assert_eq!(run.code, Some(2), "{run:?}");
        assert!(run.stderr.contains("<EVENT_TYPE>"), "{run:?}");

        assert!(
            journal.entries().is_empty(),
            "a usage error sent a delivery"
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unanswered_delivery_exits_1() {
    bounded(async {
        // A port nobody listens on any more.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/", listener.local_addr().unwrap());
        drop(listener);
        let run = webhook(
            &[
                "trigger",
                "invoice.paid",
                "--url",
                &url,
                "--id",
                "evt_nobody",
            ],
            Some(DEMO_SECRET),
        )
        .await;
        assert_eq!(run.code, Some(1), "{run:?}");
        assert!(run.stdout.starts_with("failed: "), "{run:?}");
        assert!(run.stdout.contains("evt_nobody"), "{run:?}");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn types_lists_the_samples() {
    bounded(async {
        let run = webhook(&["types"], None).await;
        assert_eq!(run.code, Some(0), "{run:?}");
        let lines = run.lines();
        assert_eq!(lines.len(), webhook_core::paymentkit::EVENT_TYPES.len());
        assert!(lines.iter().any(|line| line
            .split_whitespace()
            .eq(["payment_intent.succeeded", "PaymentIntent"])));
    })
    .await;
}

/// A receiver for `scheme` with no handlers: an authentic delivery is answered 200 (ignored),
/// anything else 401.
async fn bare_receiver<S: Scheme>(scheme: S, verify_with: &str) -> Served {
    let receiver = Receiver::builder()
        .verifier(
            Verifier::builder(scheme)
                .secret(verify_with)
                .build()
                .unwrap(),
        )
        .registry(Registry::builder().build().unwrap())
        .store(MemoryStore::new())
        .build()
        .unwrap();
    Served::start(Router::new().webhook("/hook", receiver)).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_other_scheme_signs_what_its_verifier_accepts() {
    /// The ed25519 key pair of webhook-core's signature vectors.
    const APP_SK: &str = "0x000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f03a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b8";
    const APP_PK: &str = "0x03a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b8";
    const OTHER_SK: &str = "0x1111111111111111111111111111111111111111111111111111111111111111";
    const STANDARD: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const STANDARD_OTHER: &str = "whsec_YW5vdGhlciBzdGFuZGFyZCBzZWNyZXQsIDMyIGIuLg==";

    bounded(async {
        let servers = [
            (
                "stripe",
                bare_receiver(Stripe, "whsec_stripe").await,
                "whsec_stripe",
                "whsec_other",
            ),
            (
                "standard",
                bare_receiver(StandardWebhooks, STANDARD).await,
                STANDARD,
                STANDARD_OTHER,
            ),
            (
                "paymentkit-component",
                bare_receiver(PaymentKitComponent, APP_PK).await,
                APP_SK,
                OTHER_SK,
            ),
        ];
        for (scheme, server, secret, other) in &servers {
            let url = server.url("/hook");
            let args = |id: &'static str| {
                [
                    "trigger",
                    "invoice.paid",
                    "--url",
                    url.as_str(),
                    "--scheme",
                    scheme,
                    "--id",
                    id,
                ]
            };
            let valid = webhook(&args("evt_scheme_ok"), Some(secret)).await;
            assert_eq!(valid.code, Some(0), "{scheme}: {valid:?}");
            assert_line(valid.lines()[0], "200 OK", "evt_scheme_ok", "invoice.paid");
            valid.assert_no_secret(secret);

            let forged = webhook(&args("evt_scheme_forged"), Some(other)).await;
            assert_eq!(forged.code, Some(1), "{scheme}: {forged:?}");
            assert_line(
                forged.lines()[0],
                "401 Unauthorized",
                "evt_scheme_forged",
                "invoice.paid",
            );
        }

        // GitHub payloads carry neither id nor type: `send` takes them as flags.
        let github = bare_receiver(GitHub, "gh_secret").await;
        let url = github.url("/hook");
        let payload = temp_file("github.json", r#"{"action":"opened","issue":{"number":1}}"#);
        let args = |secret: &'static str| {
            vec![
                "send".to_owned(),
                payload.to_str().unwrap().to_owned(),
                "--url".to_owned(),
                url.clone(),
                "--scheme".to_owned(),
                "github".to_owned(),
                "--id".to_owned(),
                "d-1".to_owned(),
                "--type".to_owned(),
                "issues.opened".to_owned(),
                "--secret".to_owned(),
                secret.to_owned(),
            ]
        };
        let valid = args("gh_secret");
        let valid: Vec<&str> = valid.iter().map(String::as_str).collect();
        let run = webhook(&valid, None).await;
        assert_eq!(run.code, Some(0), "{run:?}");
        assert_line(run.lines()[0], "200 OK", "d-1", "issues.opened");
        let forged = args("gh_other");
        let forged: Vec<&str> = forged.iter().map(String::as_str).collect();
        let run = webhook(&forged, None).await;
        assert_eq!(run.code, Some(1), "{run:?}");
        assert_line(run.lines()[0], "401 Unauthorized", "d-1", "issues.opened");
        std::fs::remove_file(payload).unwrap();
    })
    .await;
}

//! `webhook`: send signed webhook deliveries to a receiver, like `stripe trigger` for
//! PaymentKit and the other schemes webhook-core verifies.
//!
//! ```text
//! cargo install --path webhook-cli       # or: cargo run -p webhook-cli -- <args>
//!
//! export WEBHOOK_SECRET=whsec_...        # the endpoint's signing secret (or --secret)
//! URL=http://127.0.0.1:3000/webhooks/paymentkit
//!
//! webhook trigger payment_intent.succeeded --url $URL            # a sample event, fresh id
//! webhook trigger payment_intent.succeeded --url $URL --times 3  # one id, sent 3 times
//! webhook trigger invoice.paid --url $URL --id evt_1 --object invoice.json
//! webhook trigger customer.created --url $URL --scheme stripe
//! webhook send event.json --url $URL                             # a JSON file as it is
//! webhook types                                                  # the types with samples
//! ```
//!
//! `trigger` sends the test kit's sample event of the type
//! (`webhook_core::test_util::fixtures::sample_event`), with `--object FILE` as its
//! `data.object` if given; `send` sends a file's bytes unchanged, reading the event id and type
//! from its top-level `id` and `type` (`--id`/`--type` supply them when the file has none, as
//! GitHub payloads do not). `--times N` sends the same event N times, signed afresh each time
//! the way a sender signs its retries, so a receiver's duplicate handling can be watched.
//!
//! `--scheme` picks the signature: `paymentkit` (default, `X-Webhook-Signature`),
//! `paymentkit-component` (the Blocklet component signature; the secret is the app's secret
//! key), `stripe`, `standard` (Standard Webhooks, `whsec_` + base64) or `github`.
//!
//! Each delivery prints one line: status, time until the whole answer was read, event id and
//! type:
//!
//! ```text
//! 200 OK  3.4 ms  evt_5b0e8c0c1f7a4d3f9e2b6a1c0d9e8f7a  payment_intent.succeeded
//! ```
//!
//! Exit code: 0 when every delivery was answered 2xx, 1 otherwise (including deliveries that got
//! no answer), 2 for a usage or configuration error (bad URL, unknown type, unreadable file,
//! missing or unusable secret). The secret and the signature headers are never printed; prefer
//! `WEBHOOK_SECRET` to `--secret`, which other users of the machine can see in the process list.
//! Only `http://` URLs are supported: for a remote HTTPS endpoint, send through a tunnel.

mod cli;
mod deliver;
mod event;
mod sender;

use std::io::Write as _;
use std::process::ExitCode;

use clap::Parser;

use crate::cli::{Cli, Command};

fn main() -> ExitCode {
    // Help, version and argument errors exit on their own (0 for help, 2 for errors).
    let cli = Cli::parse();
    match run(cli) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(error) => {
            // Like the delivery lines, a closed stream is no reason to panic.
            let _ = writeln!(std::io::stderr(), "error: {error}");
            ExitCode::from(2)
        }
    }
}

/// A usage or configuration error: the run stops before sending anything, with exit code 2.
#[derive(Debug)]
struct UsageError(String);

impl std::fmt::Display for UsageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl UsageError {
    fn new(message: impl Into<String>) -> Self {
        Self(message.into())
    }
}

/// Runs one command; `Ok(true)` when every delivery was answered 2xx.
fn run(cli: Cli) -> Result<bool, UsageError> {
    match cli.command {
        Command::Types => {
            event::print_types();
            Ok(true)
        }
        Command::Trigger(args) => {
            let event = event::sample(&args)?;
            deliver::deliver(&args.target, &event, args.times)
        }
        Command::Send(args) => {
            let event = event::from_file(&args)?;
            deliver::deliver(&args.target, &event, args.times)
        }
    }
}

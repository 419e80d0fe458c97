//! Command-line arguments.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Send signed webhook deliveries to a receiver: sample events of any PaymentKit type, or JSON
/// files, signed with any supported scheme.
#[derive(Debug, Parser)]
#[command(name = "webhook", version)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Send a signed sample event of a type (`webhook types` lists them).
    Trigger(TriggerArgs),
    /// Send a JSON file (an event envelope) as it is, signed.
    Send(SendArgs),
    /// List the event types there are samples for.
    Types,
}

#[derive(Debug, Args)]
pub(crate) struct TriggerArgs {
    /// The event type, such as `payment_intent.succeeded`.
    pub(crate) event_type: String,
    #[command(flatten)]
    pub(crate) target: Target,
    /// The event id [default: a fresh `evt_` id].
    #[arg(long)]
    pub(crate) id: Option<String>,
    /// Send the same event this many times, signed afresh each time (to test duplicates).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
    pub(crate) times: u32,
    /// A JSON file to send as the event's `data.object` instead of the sample's.
    #[arg(long, value_name = "FILE")]
    pub(crate) object: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub(crate) struct SendArgs {
    /// The JSON file to send; its bytes are sent unchanged.
    pub(crate) file: PathBuf,
    #[command(flatten)]
    pub(crate) target: Target,
    /// The event id, for a file without a top-level `id` (GitHub payloads, for instance).
    #[arg(long)]
    pub(crate) id: Option<String>,
    /// The event type, for a file without a top-level `type`.
    #[arg(long = "type", value_name = "TYPE")]
    pub(crate) event_type: Option<String>,
    /// Send the file this many times, signed afresh each time (to test duplicates).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
    pub(crate) times: u32,
}

/// Where and how deliveries are sent.
#[derive(Args)]
pub(crate) struct Target {
    /// The receiver's URL, such as `http://127.0.0.1:3000/webhooks/paymentkit`.
    #[arg(long)]
    pub(crate) url: String,
    /// The signature scheme.
    #[arg(long, value_enum, default_value_t = SchemeArg::Paymentkit)]
    pub(crate) scheme: SchemeArg,
    /// The signing secret (for `paymentkit-component`, the app's secret key).
    #[arg(long, env = "WEBHOOK_SECRET", hide_env_values = true)]
    pub(crate) secret: Option<String>,
    /// Give up on a delivery that has not been answered after this many seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 30,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub(crate) timeout: u64,
}

impl std::fmt::Debug for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Whatever ends up printing the arguments, the secret is not printed with them.
        f.debug_struct("Target")
            .field("url", &self.url)
            .field("scheme", &self.scheme)
            .field("secret", &self.secret.as_ref().map(|_| "<redacted>"))
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// The signature schemes deliveries can be signed with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum SchemeArg {
    /// PaymentKit's `X-Webhook-Signature` (HMAC-SHA256).
    Paymentkit,
    /// The Blocklet component signature (ed25519); the secret is the app's secret key.
    PaymentkitComponent,
    /// Stripe's `Stripe-Signature`.
    Stripe,
    /// Standard Webhooks (`webhook-id`, `webhook-timestamp`, `webhook-signature`).
    Standard,
    /// GitHub's `X-Hub-Signature-256`.
    Github,
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    #[test]
    fn arguments_are_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn scheme_names_are_the_documented_ones() {
        let names: Vec<_> = SchemeArg::value_variants()
            .iter()
            .filter_map(ValueEnum::to_possible_value)
            .map(|value| value.get_name().to_owned())
            .collect();
        assert_eq!(
            names,
            [
                "paymentkit",
                "paymentkit-component",
                "stripe",
                "standard",
                "github"
            ]
        );
    }

    #[test]
    fn debug_output_hides_the_secret() {
        let cli = Cli::try_parse_from([
            "webhook",
            "send",
            "f.json",
            "--url",
            "http://h/",
            "--secret",
            "whsec_hidden",
        ])
        .unwrap();
        let printed = format!("{cli:?}");
        assert!(printed.contains("<redacted>") && !printed.contains("whsec_hidden"));
    }

    #[test]
    fn times_must_be_positive() {
        let parsed = Cli::try_parse_from([
            "webhook",
            "trigger",
            "x",
            "--url",
            "http://h/",
            "--times",
            "0",
        ]);
        assert!(parsed.is_err());
    }
}

//! One signer for whichever scheme was chosen at run time.

use bytes::Bytes;
use http::Request;
use webhook_core::signature::{
    GitHub, PaymentKit, PaymentKitComponent, Scheme, SecretError, SignError, StandardWebhooks,
    Stripe,
};
use webhook_core::test_util::TestSender;

use crate::cli::SchemeArg;

/// `TestSender` is generic over its scheme; the scheme is only known once arguments are read.
#[derive(Debug)]
pub(crate) enum AnySender {
    PaymentKit(TestSender<PaymentKit>),
    Component(TestSender<PaymentKitComponent>),
    Stripe(TestSender<Stripe>),
    Standard(TestSender<StandardWebhooks>),
    GitHub(TestSender<GitHub>),
}

impl AnySender {
    /// A sender signing with `secret` for requests to `path` (path and query of the URL: the
    /// component signature signs both).
    pub(crate) fn new(scheme: SchemeArg, secret: &str, path: &str) -> Result<Self, SecretError> {
        Ok(match scheme {
            SchemeArg::Paymentkit => {
                Self::PaymentKit(TestSender::new(PaymentKit, secret)?.path(path))
            }
            SchemeArg::PaymentkitComponent => {
                Self::Component(TestSender::new(PaymentKitComponent, secret)?.path(path))
            }
            SchemeArg::Stripe => Self::Stripe(TestSender::new(Stripe, secret)?.path(path)),
            SchemeArg::Standard => {
                Self::Standard(TestSender::new(StandardWebhooks, secret)?.path(path))
            }
            SchemeArg::Github => Self::GitHub(TestSender::new(GitHub, secret)?.path(path)),
        })
    }

    /// A `POST` of `body` signed now, with the URI set to the sender's path.
    pub(crate) fn request(
        &self,
        id: &str,
        event_type: &str,
        body: &Bytes,
    ) -> Result<Request<Bytes>, SignError> {
        fn signed<S: Scheme>(
            sender: &TestSender<S>,
            id: &str,
            event_type: &str,
            body: &Bytes,
        ) -> Result<Request<Bytes>, SignError> {
            // A new delivery per send: it is stamped with the current time, like a retry.
            sender.raw(id, event_type, body.clone()).request()
        }
        match self {
            Self::PaymentKit(sender) => signed(sender, id, event_type, body),
            Self::Component(sender) => signed(sender, id, event_type, body),
            Self::Stripe(sender) => signed(sender, id, event_type, body),
            Self::Standard(sender) => signed(sender, id, event_type, body),
            Self::GitHub(sender) => signed(sender, id, event_type, body),
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::ValueEnum;

    use super::*;

    /// A secret every scheme accepts: Standard Webhooks wants `whsec_` + base64, the
    /// component signature a hex ed25519 secret key.
    fn secret_for(scheme: SchemeArg) -> &'static str {
        match scheme {
            SchemeArg::PaymentkitComponent => {
                "0x000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
            }
            SchemeArg::Standard => "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            _ => "whsec_test",
        }
    }

    #[test]
    fn every_scheme_signs() {
        let body = Bytes::from_static(br#"{"id":"evt_1","type":"ping","data":{"object":{}}}"#);
        for &scheme in SchemeArg::value_variants() {
            let sender = AnySender::new(scheme, secret_for(scheme), "/hooks").unwrap();
            let request = sender.request("evt_1", "ping", &body).unwrap();
            assert_eq!(request.uri().path(), "/hooks", "{scheme:?}");
            assert_eq!(request.body(), &body, "{scheme:?}");
            // Content-Type plus at least one signature header.
            assert!(request.headers().len() >= 2, "{scheme:?}");
        }
    }

    #[test]
    fn unusable_secrets_are_errors() {
        assert!(AnySender::new(SchemeArg::Standard, "not base64!", "/").is_err());
        assert!(AnySender::new(SchemeArg::PaymentkitComponent, "whsec_x", "/").is_err());
        assert!(AnySender::new(SchemeArg::Paymentkit, " ", "/").is_err());
    }
}

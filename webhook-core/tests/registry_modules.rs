//! `Registry::from_module` over real `#[on_event]` registrations: two receivers in one binary,
//! each running only the handlers of its own module.

use std::sync::{Arc, Mutex};

use webhook_core::signature::{PaymentKit, Stripe, Verifier};
use webhook_core::test_util::TestSender;
use webhook_core::{MemoryStore, Receiver, Registry, RegistryError};

/// Which handlers ran, across both receivers.
#[derive(Clone, Default)]
struct Ran(Arc<Mutex<Vec<&'static str>>>);

impl Ran {
    fn note(&self, handler: &'static str) {
        self.0.lock().unwrap().push(handler);
    }

    fn take(&self) -> Vec<&'static str> {
        std::mem::take(&mut self.0.lock().unwrap())
    }
}

mod stripe {
    use webhook_core::{on_event, Event, HandlerError, State};

    use super::Ran;

    #[on_event("charge.succeeded", unchecked)]
    async fn on_charge(_event: Event, State(ran): State<Ran>) -> Result<(), HandlerError> {
        ran.note("stripe::on_charge");
        Ok(())
    }

    pub(crate) mod disputes {
        use webhook_core::{on_event, Event, HandlerError, State};

        use crate::Ran;

        #[on_event("charge.*", unchecked)]
        async fn on_any_charge(_event: Event, State(ran): State<Ran>) -> Result<(), HandlerError> {
            ran.note("stripe::disputes::on_any_charge");
            Ok(())
        }
    }
}

/// Shares `stripe` as a name prefix: must not be taken for a submodule of it.
mod stripe2 {
    use webhook_core::{on_event, Event, HandlerError, State};

    use super::Ran;

    #[on_event("charge.succeeded", unchecked)]
    async fn on_charge(_event: Event, State(ran): State<Ran>) -> Result<(), HandlerError> {
        ran.note("stripe2::on_charge");
        Ok(())
    }
}

mod paymentkit {
    use webhook_core::{on_event, Event, HandlerError, State};

    use super::Ran;

    #[on_event("charge.succeeded")]
    async fn on_charge(_event: Event, State(ran): State<Ran>) -> Result<(), HandlerError> {
        ran.note("paymentkit::on_charge");
        Ok(())
    }
}

fn paths(registry: &Registry) -> Vec<&'static str> {
    registry
        .registered_events()
        .iter()
        .map(|h| h.path)
        .collect()
}

#[test]
fn selects_a_module_and_its_submodules_only() {
    let stripe = Registry::from_module(concat!(module_path!(), "::stripe")).unwrap();
    assert_eq!(
        paths(&stripe),
        [
            "registry_modules::stripe::disputes::on_any_charge",
            "registry_modules::stripe::on_charge"
        ]
    );
    let stripe2 = Registry::from_module(concat!(module_path!(), "::stripe2")).unwrap();
    assert_eq!(paths(&stripe2), ["registry_modules::stripe2::on_charge"]);
    let whole_crate = Registry::from_module(module_path!()).unwrap();
    assert_eq!(whole_crate.registered_events().len(), 4);
    assert_eq!(
        Registry::from_module("registry_modules::strip").unwrap_err(),
        RegistryError::EmptyModule {
            module: "registry_modules::strip".to_owned()
        }
    );
}

#[tokio::test]
async fn two_receivers_run_only_their_own_handlers() {
    let ran = Ran::default();
    let receiver = |registry: Registry, verifier: Verifier, namespace: &str| {
        Receiver::builder()
            .verifier(verifier)
            .store(MemoryStore::new())
            .namespace(namespace)
            .registry(registry)
            .state(ran.clone())
            .build()
            .unwrap()
    };
    let stripe = receiver(
        Registry::from_module(concat!(module_path!(), "::stripe")).unwrap(),
        Verifier::builder(Stripe)
            .secret("whsec_stripe")
            .build()
            .unwrap(),
        "stripe",
    );
    let paymentkit = receiver(
        Registry::from_module(concat!(module_path!(), "::paymentkit")).unwrap(),
        Verifier::builder(PaymentKit)
            .secret("whsec_paymentkit")
            .build()
            .unwrap(),
        "paymentkit",
    );

    let delivery = TestSender::new(Stripe, "whsec_stripe").unwrap().event(
        "evt_1",
        "charge.succeeded",
        r#"{"id":"ch_1"}"#,
    );
    let receipt = stripe.receive(delivery.request().unwrap()).await.unwrap();
    assert_eq!(receipt.ran().len(), 2);
    assert_eq!(
        ran.take(),
        ["stripe::disputes::on_any_charge", "stripe::on_charge"]
    );

    let delivery = TestSender::new(PaymentKit, "whsec_paymentkit")
        .unwrap()
        .event("evt_1", "charge.succeeded", r#"{"id":"ch_1"}"#);
    let receipt = paymentkit
        .receive(delivery.request().unwrap())
        .await
        .unwrap();
    assert_eq!(receipt.ran(), ["registry_modules::paymentkit::on_charge"]);
    assert_eq!(ran.take(), ["paymentkit::on_charge"]);
}

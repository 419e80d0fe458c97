//! Which typed object an event type carries in `data.object`.

/// A typed PaymentKit object an event can carry, as listed in the
/// [module documentation](super#which-object-each-event-carries).
///
/// ```
/// use webhook_core::paymentkit::{object_kind, ObjectKind};
///
/// assert_eq!(object_kind("payment_intent.succeeded"), Some(ObjectKind::PaymentIntent));
/// assert_eq!(object_kind("customer.subscription.renewed"), Some(ObjectKind::Subscription));
/// // Not modelled: decode it as `serde_json::Value` or your own struct.
/// assert_eq!(object_kind("charge.succeeded"), None);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ObjectKind {
    /// [`PaymentIntent`](super::PaymentIntent) (`payment_intent.*`).
    PaymentIntent,
    /// [`Subscription`](super::Subscription) (`customer.subscription.*`).
    Subscription,
    /// [`CheckoutSession`](super::CheckoutSession) (`checkout.session.*`).
    CheckoutSession,
    /// [`Invoice`](super::Invoice) (`invoice.*`).
    Invoice,
    /// [`Refund`](super::Refund) (`refund.*`).
    Refund,
    /// [`Customer`](super::Customer) (`customer.created`, `customer.updated`,
    /// `customer.deleted`).
    Customer,
    /// [`CreditGrant`](super::CreditGrant) (`customer.credit_grant.*`).
    CreditGrant,
}

impl ObjectKind {
    /// The model's name, as PaymentKit writes it in an event's `object_type`
    /// (`"PaymentIntent"`).
    #[must_use]
    pub fn model_name(self) -> &'static str {
        match self {
            Self::PaymentIntent => "PaymentIntent",
            Self::Subscription => "Subscription",
            Self::CheckoutSession => "CheckoutSession",
            Self::Invoice => "Invoice",
            Self::Refund => "Refund",
            Self::Customer => "Customer",
            Self::CreditGrant => "CreditGrant",
        }
    }
}

/// The typed object `event_type` carries, or `None` when this crate does not model it (or the
/// object is not documented).
///
/// Families are matched by prefix, as the module documentation lists them, so a type PaymentKit
/// adds to a modelled family (`payment_intent.*`) maps to that family's object.
#[must_use]
pub fn object_kind(event_type: &str) -> Option<ObjectKind> {
    // Longer prefixes first: `customer.subscription.` before the customer types.
    const FAMILIES: &[(&str, ObjectKind)] = &[
        ("payment_intent.", ObjectKind::PaymentIntent),
        ("customer.subscription.", ObjectKind::Subscription),
        ("customer.credit_grant.", ObjectKind::CreditGrant),
        ("checkout.session.", ObjectKind::CheckoutSession),
        ("invoice.", ObjectKind::Invoice),
        ("refund.", ObjectKind::Refund),
    ];
    if let Some((_, kind)) = FAMILIES
        .iter()
        .find(|(prefix, _)| event_type.starts_with(prefix))
    {
        return Some(*kind);
    }
    match event_type {
        "customer.created" | "customer.updated" | "customer.deleted" => Some(ObjectKind::Customer),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::{object_kind, ObjectKind};
    use crate::paymentkit::event_types;

    #[test]
    fn families_of_the_catalogue() {
        let count = |kind| {
            event_types()
                .filter(|t| object_kind(t) == Some(kind))
                .count()
        };
        assert_eq!(count(ObjectKind::PaymentIntent), 8);
        assert_eq!(count(ObjectKind::Subscription), 16);
        assert_eq!(count(ObjectKind::CheckoutSession), 6);
        assert_eq!(count(ObjectKind::Invoice), 13);
        assert_eq!(count(ObjectKind::Refund), 4);
        assert_eq!(count(ObjectKind::Customer), 3);
        assert_eq!(count(ObjectKind::CreditGrant), 2);
        // Look-alikes of other families stay unmodelled.
        for other in [
            "invoiceitem.created",
            "charge.refund.updated",
            "customer.discount.created",
            "customer.credit.low_balance",
            "customer.source.created",
        ] {
            assert_eq!(object_kind(other), None, "{other}");
        }
    }
}

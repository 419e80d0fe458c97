use webhook_core::on_event;

#[on_event("payment_intent.succeeded")]
struct Fulfil;

fn main() {}

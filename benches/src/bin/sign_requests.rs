//! Writes pre-signed, distinct PaymentKit deliveries for the HTTP load benchmark, one per line:
//! `<X-Webhook-Signature value>\t<body>`. `benches/http/signed.lua` replays them with wrk.
//!
//! ```text
//! sign_requests <count> <body bytes> <output file>
//! ```
//!
//! Every delivery has its own event id and is signed now, so the file must be used within the
//! signature tolerance (300 s). Environment: `WEBHOOK_SECRET` (default: the benchmarks' secret).

use std::io::{BufWriter, Write};

use webhook_benches::{object_json, EVENT_TYPE, PATH, SECRET};
use webhook_core::signature::PaymentKit;
use webhook_core::test_util::TestSender;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let [_, count, size, out] = args.as_slice() else {
        return Err("usage: sign_requests <count> <body bytes> <output file>".into());
    };
    let count: u64 = count.parse()?;
    let size: usize = size.parse()?;
    let secret = std::env::var("WEBHOOK_SECRET").unwrap_or_else(|_| SECRET.to_owned());
    let sender = TestSender::new(PaymentKit, &secret)?.path(PATH);
    let mut file = BufWriter::new(std::fs::File::create(out)?);
    for seq in 0..count {
        let id = format!("evt_{seq:012}");
        let delivery = sender.event(&id, EVENT_TYPE, &object_json(&id, seq, size));
        let headers = delivery.headers()?;
        let (_, signature) = headers
            .iter()
            .find(|(name, _)| name == "x-webhook-signature")
            .ok_or("the scheme sent no signature header")?;
        file.write_all(signature.as_bytes())?;
        file.write_all(b"\t")?;
        // Bodies are single-line JSON, so a newline ends each record.
        file.write_all(delivery.body())?;
        file.write_all(b"\n")?;
    }
    file.flush()?;
    Ok(())
}

//! Runs one pipeline case many times, for a profiler: `perf record` or
//! `valgrind --tool=callgrind` (whose instruction counts do not depend on the machine's load).
//!
//! ```text
//! cargo build --profile bench -p webhook-benches --example profile
//! valgrind --tool=callgrind target/release/examples/profile framework new 1024 20000
//! ```
//!
//! Arguments: `framework` or `hand-written`; `new` or `duplicate`; the body size in bytes; the
//! number of deliveries. Requests are signed before the measured loop starts; the loop's wall
//! time and on-CPU time (which other processes on the machine do not inflate) are printed per
//! delivery.

use std::hint::black_box;
use std::time::{Duration, Instant};

use webhook_benches::{
    framework_receiver, object_json, HandWritten, Intent, EVENT_TYPE, PATH, SECRET,
};
use webhook_core::signature::PaymentKit;
use webhook_core::test_util::TestSender;

#[path = "../pipeline_handler.rs"]
mod pipeline_handler;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let [_, who, kind, size, count] = args.as_slice() else {
        return Err(
            "usage: profile <framework|hand-written> <new|duplicate> <bytes> <count>".into(),
        );
    };
    let size: usize = size.parse()?;
    let count: usize = count.parse()?;
    let sender = TestSender::new(PaymentKit, SECRET)?.path(PATH);
    let object = object_json("evt_000000000000", 0, size);
    let requests = (0..count)
        .map(|i| {
            let id = if kind == "duplicate" { 0 } else { i };
            sender
                .event(&format!("evt_{id:012}"), EVENT_TYPE, &object)
                .request()
        })
        .collect::<Result<Vec<_>, _>>()?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let receiver = framework_receiver();
    let hand = HandWritten::new(SECRET);
    let start = Instant::now();
    let cpu_start = cpu_time();
    rt.block_on(async {
        for request in requests {
            if who == "framework" {
                black_box(receiver.receive(request).await.map_err(|e| e.to_string())?);
            } else {
                black_box(
                    hand.receive(request.headers(), request.body(), |id, intent: Intent| {
                        black_box((id, &intent));
                    })
                    .map_err(|e| format!("{e:?}"))?,
                );
            }
        }
        Ok::<(), String>(())
    })?;
    let elapsed = start.elapsed();
    let cpu = cpu_time().saturating_sub(cpu_start);
    let count = u32::try_from(count)?.max(1);
    println!(
        "{who} {kind} {size} B: {:?} wall, {:?} on CPU per delivery",
        elapsed / count,
        cpu / count
    );
    Ok(())
}

/// Time this thread has spent on a CPU (Linux `schedstat`), which, unlike wall time, does not
/// grow when other processes share the cores; zero where it is unavailable.
fn cpu_time() -> Duration {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|text| text.split_whitespace().next()?.parse().ok())
        .map_or(Duration::ZERO, Duration::from_nanos)
}

//! The whole in-process pipeline, framework against hand-written, in alternating batches: a
//! ratio that holds on a shared machine whose speed drifts during a run.
//!
//! ```text
//! cargo run --profile bench -p webhook-benches --example interleaved -- new 1024 200 500
//! ```
//!
//! Arguments: `new` or `duplicate`; the body size in bytes; the number of rounds; deliveries
//! per batch. Each round signs a fresh batch for each side just before timing it (so the
//! bodies are in cache, as in the criterion benches), runs the framework's batch and the
//! hand-written one back to back (the order alternates between rounds), and keeps the ratio of
//! their times. Printed: the median ratio with its quartiles, and the median time per
//! delivery of each side. Criterion's `pipeline` group measures the two cases minutes apart;
//! a drift of the machine's speed in between shows up there as a ratio.
//!
//! With `verify-<scheme>` (`verify-paymentkit`, `verify-stripe`, `verify-standard-webhooks`,
//! `verify-github`) instead, it alternates batches of signature checks of one signed request:
//! the framework's `Verifier::verify` against the plain `hmac` + `sha2` check of
//! `benches/verify.rs`.
//!
//! With `lookup` (the size argument is ignored), it alternates batches of
//! `Registry::handlers_for` over registries of 10,000 and of 10 generated types, the lookup of
//! `benches/dispatch.rs`: the ratio is then 10,000 types / 10 types.
//!
//! With `store-postgres` or `store-redis` (built with the feature `server-benches`; live
//! servers, as for `benches/stores.rs`), the size argument is the number of concurrent tasks,
//! and it alternates batches of claim + complete of new records through the store and as the
//! same statements issued directly: the ratio is store / direct time (the target of
//! ops/s ≥ 0.8 is a time ratio ≤ 1.25). Criterion's `stores` group runs the two sides a minute
//! apart, which on a shared host measures the host's drift as much as the store.

use std::hint::black_box;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::Request;
use webhook_benches::{
    framework_receiver, object_json, HandWritten, Intent, EVENT_TYPE, PATH, SECRET,
};
use webhook_core::signature::PaymentKit;
use webhook_core::test_util::TestSender;

#[path = "../dispatch_cases.rs"]
mod dispatch_cases;
#[path = "../pipeline_handler.rs"]
mod pipeline_handler;
#[path = "../verify_cases.rs"]
mod verify_cases;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let [_, kind, size, rounds, batch] = args.as_slice() else {
        return Err(
            "usage: interleaved <new|duplicate|verify-SCHEME|lookup|store-BACKEND> <bytes> <rounds> \
             <batch>"
                .into(),
        );
    };
    if kind == "lookup" {
        return lookups(rounds.parse()?, batch.parse()?);
    }
    if let Some(backend) = kind.strip_prefix("store-") {
        return stores(backend, size.parse()?, rounds.parse()?, batch.parse()?);
    }
    if let Some(scheme) = kind.strip_prefix("verify-") {
        if !verify_cases::SCHEMES.contains(&scheme) {
            return Err(format!("the schemes are {:?}", verify_cases::SCHEMES).into());
        }
        return verification(scheme, size.parse()?, rounds.parse()?, batch.parse()?);
    }
    let duplicate = match kind.as_str() {
        "new" => false,
        "duplicate" => true,
        _ => return Err("the kind is `new` or `duplicate`".into()),
    };
    let (size, rounds, batch): (usize, usize, usize) =
        (size.parse()?, rounds.parse()?, batch.parse()?);
    let sender = TestSender::new(PaymentKit, SECRET)?.path(PATH);
    let object = object_json("evt_000000000000", 0, size);
    let mut next_id = 0u64;
    let mut sign = |count: usize| -> Result<Vec<Request<Bytes>>, Box<dyn std::error::Error>> {
        (0..count)
            .map(|_| {
                next_id += u64::from(!duplicate);
                let id = format!("evt_{next_id:012}");
                Ok(sender.event(&id, EVENT_TYPE, &object).request()?)
            })
            .collect()
    };

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let receiver = framework_receiver();
    let hand = HandWritten::new(SECRET);
    if duplicate {
        // Both sides have seen the one event before the first round.
        let first = sign(1)?.remove(0);
        rt.block_on(receiver.receive(first.clone()))?;
        hand.receive(first.headers(), first.body(), |_, _: Intent| ())
            .map_err(|e| format!("{e:?}"))?;
    }

    let framework = |requests: Vec<Request<Bytes>>| {
        rt.block_on(async {
            for request in requests {
                black_box(receiver.receive(request).await.expect("accepted"));
            }
        });
    };
    let hand_written = |requests: Vec<Request<Bytes>>| {
        for request in requests {
            black_box(
                hand.receive(request.headers(), request.body(), |id, intent: Intent| {
                    black_box((id, &intent));
                })
                .expect("accepted"),
            );
        }
    };

    let mut tally = Tally::default();
    for round in 0..rounds {
        // Each batch is signed just before it runs, so both sides start with their requests
        // equally warm in cache.
        let (framework_time, hand_time) = if round % 2 == 0 {
            let ours = sign(batch)?;
            let f = timed(|| framework(ours));
            let theirs = sign(batch)?;
            (f, timed(|| hand_written(theirs)))
        } else {
            let theirs = sign(batch)?;
            let h = timed(|| hand_written(theirs));
            let ours = sign(batch)?;
            (timed(|| framework(ours)), h)
        };
        tally.add(framework_time, hand_time, batch)?;
    }
    tally.report(&format!("{kind} {size} B"), SIDES, rounds, batch);
    Ok(())
}

/// Batches of `batch` checks of one signed request, framework and hand-written alternately.
fn verification(
    scheme: &str,
    size: usize,
    rounds: usize,
    batch: usize,
) -> Result<(), Box<dyn std::error::Error>> {
    let case = verify_cases::Case::new(scheme, size);
    if !(case.framework() && case.by_hand()) {
        return Err(format!("the {scheme} request does not verify").into());
    }
    let framework = || {
        for _ in 0..batch {
            black_box(black_box(&case).framework());
        }
    };
    let hand_written = || {
        for _ in 0..batch {
            black_box(black_box(&case).by_hand());
        }
    };
    alternate(rounds, batch, framework, hand_written)?.report(
        &format!("verify {scheme} {} B", case.request.body().len()),
        SIDES,
        rounds,
        batch,
    );
    Ok(())
}

/// Batches of `batch` lookups, cycling through the ten delivered types of each registry, in a
/// registry of 10,000 types and one of 10 alternately.
fn lookups(rounds: usize, batch: usize) -> Result<(), Box<dyn std::error::Error>> {
    let (large_types, large_delivered) = dispatch_cases::event_types(10_000);
    let (small_types, small_delivered) = dispatch_cases::event_types(10);
    let large = dispatch_cases::registry(&large_types);
    let small = dispatch_cases::registry(&small_types);
    let run = |registry: &webhook_core::Registry, delivered: &[&'static str]| {
        for i in 0..batch {
            black_box(dispatch_cases::lookup(
                registry,
                delivered[i % delivered.len()],
            ));
        }
    };
    alternate(
        rounds,
        batch,
        || run(&large, &large_delivered),
        || run(&small, &small_delivered),
    )?
    .report("lookup", "10,000 types / 10 types", rounds, batch);
    Ok(())
}

/// Batches of `batch` claim + complete operations of new records spread over `tasks` tasks,
/// through `backend`'s store and as its statements issued directly, alternately.
#[cfg(feature = "server-benches")]
fn stores(
    backend: &str,
    tasks: usize,
    rounds: usize,
    batch: usize,
) -> Result<(), Box<dyn std::error::Error>> {
    use std::sync::Arc;
    use webhook_benches::postgres_direct::PostgresDirect;
    use webhook_benches::redis_direct::RedisDirect;
    use webhook_benches::store_ops;
    use webhook_core::{PostgresStore, RedisStore};

    const NAMESPACE: &str = "interleaved";
    const TABLE: &str = "webhook_bench_interleaved";
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let count = u64::try_from(batch)?;
    let tally = match backend {
        "postgres" => {
            let url = std::env::var("WEBHOOK_BENCH_POSTGRES_URL")
                .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned());
            let store = rt
                .block_on(
                    PostgresStore::builder()
                        .table(TABLE)?
                        .max_connections(32)
                        .connect(&url),
                )
                .map_err(|e| {
                    format!("PostgreSQL at {url} (set WEBHOOK_BENCH_POSTGRES_URL): {e}")
                })?;
            let store = Arc::new(store);
            let direct = Arc::new(PostgresDirect::new(store.pool().clone(), TABLE));
            let tally = alternate(
                rounds,
                batch,
                || {
                    rt.block_on(store_ops::spread_through_store(
                        &store, NAMESPACE, count, tasks,
                    ));
                },
                || {
                    rt.block_on(store_ops::spread_postgres_direct(
                        &direct, NAMESPACE, count, tasks,
                    ));
                },
            )?;
            rt.block_on(sqlx::query(&format!("DROP TABLE {TABLE}")).execute(store.pool()))?;
            tally
        }
        "redis" => {
            let url = std::env::var("WEBHOOK_BENCH_REDIS_URL")
                .unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned());
            let unreachable = |e: &dyn std::fmt::Display| {
                format!("Redis at {url} (set WEBHOOK_BENCH_REDIS_URL): {e}")
            };
            // Its records expire with `store_ops::RETENTION`.
            let store = rt
                .block_on(
                    RedisStore::builder()
                        .prefix("webhook:interleaved")
                        .connect(&url),
                )
                .map_err(|e| unreachable(&e))?;
            let store = Arc::new(store);
            let direct = Arc::new(
                rt.block_on(RedisDirect::connect(&url))
                    .map_err(|e| unreachable(&e))?,
            );
            alternate(
                rounds,
                batch,
                || {
                    rt.block_on(store_ops::spread_through_store(
                        &store, NAMESPACE, count, tasks,
                    ));
                },
                || {
                    rt.block_on(store_ops::spread_redis_direct(
                        &direct, &store, NAMESPACE, count, tasks,
                    ));
                },
            )?
        }
        _ => return Err("the stores are `store-postgres` and `store-redis`".into()),
    };
    tally.report(
        &format!("store-{backend} x{tasks}"),
        "store / direct",
        rounds,
        batch,
    );
    Ok(())
}

#[cfg(not(feature = "server-benches"))]
fn stores(_: &str, _: usize, _: usize, _: usize) -> Result<(), Box<dyn std::error::Error>> {
    Err(
        "the store cases need the feature `server-benches`: cargo build --profile bench \
         -p webhook-benches --features server-benches --example interleaved"
            .into(),
    )
}

/// `rounds` rounds of one batch of `ours` and one of `theirs`, timed back to back, which goes
/// first alternating between rounds.
fn alternate(
    rounds: usize,
    batch: usize,
    ours: impl Fn(),
    theirs: impl Fn(),
) -> Result<Tally, std::num::TryFromIntError> {
    let mut tally = Tally::default();
    for round in 0..rounds {
        let (ours_time, theirs_time) = if round % 2 == 0 {
            let o = timed(&ours);
            (o, timed(&theirs))
        } else {
            let t = timed(&theirs);
            (timed(&ours), t)
        };
        tally.add(ours_time, theirs_time, batch)?;
    }
    Ok(tally)
}

/// What a ratio compares, for the framework's cases.
const SIDES: &str = "framework / hand-written";

/// Each round's ratio of times, and each side's time per item.
#[derive(Default)]
struct Tally {
    ratios: Vec<f64>,
    ours: Vec<Duration>,
    theirs: Vec<Duration>,
}

impl Tally {
    fn add(
        &mut self,
        framework: Duration,
        hand_written: Duration,
        batch: usize,
    ) -> Result<(), std::num::TryFromIntError> {
        self.ratios
            .push(framework.as_secs_f64() / hand_written.as_secs_f64());
        self.ours.push(framework / u32::try_from(batch)?);
        self.theirs.push(hand_written / u32::try_from(batch)?);
        Ok(())
    }

    /// Prints the median ratio (of `sides`) with its quartiles and each side's median time.
    fn report(self, label: &str, sides: &str, rounds: usize, batch: usize) {
        let Self {
            mut ratios,
            mut ours,
            mut theirs,
        } = self;
        ratios.sort_by(f64::total_cmp);
        ours.sort();
        theirs.sort();
        let quartile = |q: usize| ratios[(ratios.len() - 1) * q / 4];
        println!(
            "{label}: {sides} = {:.3} (quartiles {:.3}..{:.3}, {rounds} rounds \
         of {batch}); per item {:?} / {:?} (medians)",
            quartile(2),
            quartile(1),
            quartile(3),
            ours[ours.len() / 2],
            theirs[theirs.len() / 2],
        );
    }
}

/// The wall time of `work`. (On-CPU time from `schedstat` is only updated at scheduler ticks,
/// too coarse for a batch; preemption by other processes shows up as outlying rounds, which the
/// median ignores.)
fn timed(work: impl FnOnce()) -> Duration {
    let start = Instant::now();
    work();
    start.elapsed()
}

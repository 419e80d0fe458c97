//! Runs `RedisStore` claim + complete, or the same scripts issued directly, from many tasks at
//! once, for a profiler (feature `server-benches`; Redis at `WEBHOOK_BENCH_REDIS_URL`, default
//! `redis://127.0.0.1:6379`):
//!
//! ```text
//! cargo build --profile bench -p webhook-benches --features server-benches --example profile_redis
//! valgrind --tool=callgrind target/release/examples/profile_redis store 32 10000
//! ```
//!
//! Arguments: `store` or `direct`; the number of concurrent tasks; the number of operations.
//! The runtime is the benchmark's (multi-threaded, one worker per core). Connecting and loading
//! the scripts are part of a run: to count instructions per operation, profile two counts and
//! divide the difference. Wall time and the process's CPU time per operation are printed.

use std::sync::Arc;
use std::time::{Duration, Instant};

use webhook_benches::redis_direct::RedisDirect;
use webhook_benches::store_ops;
use webhook_core::RedisStore;

const NAMESPACE: &str = "profile";

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let [_, who, tasks, count] = args.as_slice() else {
        return Err("usage: profile_redis <store|direct> <tasks> <count>".into());
    };
    let tasks: usize = tasks.parse()?;
    let count: u64 = count.parse()?;
    let url = std::env::var("WEBHOOK_BENCH_REDIS_URL")
        .unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned());
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let store = rt.block_on(
        RedisStore::builder()
            .prefix("webhook:profile")
            .connect(&url),
    )?;
    let store = Arc::new(store);
    let direct = Arc::new(rt.block_on(RedisDirect::connect(&url))?);
    let store_side = match who.as_str() {
        "store" => true,
        "direct" => false,
        _ => return Err("the first argument is `store` or `direct`".into()),
    };
    let start = Instant::now();
    let cpu_start = process_cpu_time();
    rt.block_on(async {
        if store_side {
            store_ops::spread_through_store(&store, NAMESPACE, count, tasks).await
        } else {
            store_ops::spread_redis_direct(&direct, &store, NAMESPACE, count, tasks).await
        }
    });
    let elapsed = start.elapsed();
    let cpu = process_cpu_time().saturating_sub(cpu_start);
    let count = u32::try_from(count)?.max(1);
    println!(
        "{who} x{tasks}: {:?} wall, {:?} on CPU (all threads) per operation",
        elapsed / count,
        cpu / count
    );
    Ok(())
}

/// User + system time of the whole process (Linux `/proc/self/stat`, in clock ticks of 10 ms),
/// which, unlike wall time, does not grow when other processes share the cores; zero where it
/// is unavailable.
fn process_cpu_time() -> Duration {
    std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|text| {
            // The fields after the command name, which is in parentheses and may hold spaces.
            let rest = text.rsplit_once(')')?.1;
            let fields: Vec<&str> = rest.split_whitespace().collect();
            let utime: u64 = fields.get(11)?.parse().ok()?;
            let stime: u64 = fields.get(12)?.parse().ok()?;
            Some(Duration::from_millis((utime + stime) * 10))
        })
        .unwrap_or(Duration::ZERO)
}

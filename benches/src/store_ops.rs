//! One claim + complete of a new record, through a store or as the Redis store's scripts
//! issued directly: the operation of the store benchmark (`benches/stores.rs`) and of its
//! profiling example (`examples/profile_redis.rs`), kept here so both measure the same code
//! with the same arguments.

use std::time::Duration;

use webhook_core::{Claim, ClaimKey, IdempotencyStore, Lease, RedisStore};

use crate::redis_direct::RedisDirect;

/// The store's default lease.
pub const LEASE: Duration = Duration::from_secs(60);
/// Short, so the benchmark's records expire soon after the run.
pub const RETENTION: Duration = Duration::from_secs(600);
/// `RedisStore`'s default `keep_released`, passed to its claim script.
pub const KEEP_RELEASED: Duration = Duration::from_secs(3600);
/// The handler every record is claimed for.
pub const HANDLER: &str = "webhook_benches::stores::handler";
/// The event type every record carries.
pub const EVENT_TYPE: &str = crate::EVENT_TYPE;

/// Claims the new record (`namespace`, `id`, [`HANDLER`]) through `store` and completes it.
///
/// # Panics
/// When the store fails or the record was not new.
pub async fn through_store<S: IdempotencyStore>(store: &S, namespace: &str, id: &str) {
    let key = ClaimKey {
        namespace,
        event_id: id,
        handler: HANDLER,
        event_type: EVENT_TYPE,
    };
    let Ok(Claim::Acquired(lease)) = store.claim(&key, LEASE).await else {
        panic!("a new key is always acquired");
    };
    store.complete(&lease, RETENTION).await.expect("completed");
}

/// The same as [`through_store`] with `store`'s scripts issued directly, under `store`'s key
/// layout and token format, so both write the same keys and values.
///
/// # Panics
/// When Redis fails or the record was not new.
pub async fn direct(direct: &RedisDirect, store: &RedisStore, namespace: &str, id: &str) {
    let key = store.record_key(namespace, id, HANDLER);
    let token = Lease::new_token();
    direct
        .claim_and_complete(&key, &token, EVENT_TYPE, LEASE, KEEP_RELEASED, RETENTION)
        .await;
}

//! `RedisStore`'s claim and completion issued directly on a `redis::aio::ConnectionManager`,
//! as a careful application would write them by hand: the baseline of the Redis store
//! benchmark (`benches/stores.rs`) and of its profiling example (`examples/profile_redis.rs`),
//! kept here so both measure the same code.

use std::time::Duration;

use redis::aio::ConnectionManager;
use redis::Script;

/// The claim script: the store includes the same file, so both always run the same Lua.
const CLAIM: &str = include_str!("../../webhook-core/src/idempotency/redis/claim.lua");
/// The completion script, included by the store too.
const COMPLETE: &str = include_str!("../../webhook-core/src/idempotency/redis/complete.lua");

/// A connection (with `ConnectionManager::new`'s defaults) and the two scripts.
#[derive(Clone)]
pub struct RedisDirect {
    connection: ConnectionManager,
    claim: Script,
    complete: Script,
}

impl std::fmt::Debug for RedisDirect {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisDirect").finish_non_exhaustive()
    }
}

fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

impl RedisDirect {
    /// Connects to `url`.
    ///
    /// # Errors
    /// When the URL is invalid or the server cannot be reached.
    pub async fn connect(url: &str) -> redis::RedisResult<Self> {
        let client = redis::Client::open(url)?;
        Ok(Self {
            connection: ConnectionManager::new(client).await?,
            claim: Script::new(CLAIM),
            complete: Script::new(COMPLETE),
        })
    }

    /// Claims the new record `key` for `token` (asserting it is acquired, as a first
    /// attempt) and completes it, with the same arguments the store passes.
    ///
    /// # Panics
    /// When Redis fails or the record was not new.
    pub async fn claim_and_complete(
        &self,
        key: &str,
        token: &str,
        event_type: &str,
        lease: Duration,
        keep_released: Duration,
        retention: Duration,
    ) {
        let mut connection = self.connection.clone();
        let (answer, attempt, _): (i64, i64, String) = self
            .claim
            .key(key)
            .arg(token)
            .arg(event_type)
            .arg(millis(lease))
            .arg(millis(keep_released))
            .invoke_async(&mut connection)
            .await
            .expect("claim");
        assert_eq!((answer, attempt), (1, 1), "a new key is always acquired");
        let acted: i64 = self
            .complete
            .key(key)
            .arg(token)
            .arg(millis(retention))
            .invoke_async(&mut connection)
            .await
            .expect("complete");
        assert_eq!(acted, 1);
    }
}

//! The Redis store: leases in Redis keys with expiries; at least once.

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use futures_util::FutureExt;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{Client, Script};
use tokio::sync::OnceCell;

use super::{
    store_millis, Claim, ClaimKey, IdempotencyStore, Lease, StoreError, EVENT_TYPE_RECORD,
};

/// The default key prefix.
const DEFAULT_PREFIX: &str = "webhook:idem";

/// The default time limit of one store operation, as the receiver's default store timeout.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(2);

/// How long the record of a claim that ended without completing is kept by default.
const DEFAULT_KEEP_RELEASED: Duration = Duration::from_secs(3600);

// Records are `l|<token>|<attempts>|<lease expiry>|<event type>` while in progress (the lease
// expiry in Unix milliseconds on the server's clock; the key itself outlives the lease by the
// store's `keep_released`, so the attempt count survives a crashed holder), `l||<attempts>|0|<event
// type>` once released (no holder: absent to every operation, kept only for the count) and
// `c||<event type>` once completed. Tokens are hex, so the fields before the event type never
// contain `|`; the event type is the rest. Versions before attempts were counted wrote
// `p|<token>|<event type>` with the lease as the key's expiry; a claim still reads those.

/// Claims `KEYS[1]` for token `ARGV[1]` and event type `ARGV[2]`, with a lease of `ARGV[3]` ms
/// and the record kept `ARGV[4]` ms past it. Replies `{1, attempt, ''}` (acquired, also when
/// the record already holds this token: an earlier try whose reply was lost),
/// `{2, retry after ms, ''}` (in progress), `{3, 0, ''}` (completed), `{4, 0, recorded type}`
/// (conflict) or `{0, 0, ''}` (a value this store did not write).
const CLAIM_SCRIPT: &str = include_str!("redis/claim.lua");

/// [`CLAIM_SCRIPT`] for the first handler of a delivery: first records event type `ARGV[2]`
/// under the event's type record `KEYS[2]` (completed, kept `ARGV[5]` ms) unless a record
/// stands there, replying a conflict if it stands with another type, then claims `KEYS[1]`.
/// One script, so both steps are one atomic operation and one round trip.
const CLAIM_FIRST_SCRIPT: &str = concat!(
    include_str!("redis/type_record.lua"),
    include_str!("redis/claim.lua")
);

/// Marks the record completed and gives it the retention `ARGV[2]` ms as its expiry, if
/// `ARGV[1]` holds its live lease.
const COMPLETE_SCRIPT: &str = include_str!("redis/complete.lua");

/// Releases the record if `ARGV[1]` is the current token: no holder, kept `ARGV[2]` ms for its
/// attempt count.
const RELEASE_SCRIPT: &str = r"
local v = redis.call('GET', KEYS[1])
if not v then
  return 0
end
local token, n, expires, recorded = string.match(v, '^l|([^|]*)|(%d+)|(%d+)|(.*)$')
if token and token ~= '' and token == ARGV[1] then
  redis.call('SET', KEYS[1], 'l||' .. n .. '|0|' .. recorded, 'PX', ARGV[2])
  return 1
end
return 0
";

/// Sets the lease's expiry to `ARGV[2]` ms from now, and the record's to `ARGV[3]` ms after
/// that, if `ARGV[1]` holds the live lease.
const EXTEND_SCRIPT: &str = r"
local v = redis.call('GET', KEYS[1])
if not v then
  return 0
end
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
local token, n, expires, recorded = string.match(v, '^l|([^|]*)|(%d+)|(%d+)|(.*)$')
if token and token ~= '' and token == ARGV[1] and tonumber(expires) > now then
  local by = tonumber(ARGV[2])
  redis.call('SET', KEYS[1], string.format('l|%s|%s|%d|%s', token, n, now + by, recorded),
    'PX', string.format('%d', by + tonumber(ARGV[3])))
  return 1
end
return 0
";

/// An idempotency store in Redis (or a Redis-compatible server such as Valkey).
///
/// **Guarantee**: at least once, with concurrent duplicates suppressed. A claim is a single Lua
/// script (one round trip, run atomically by the server), so two deliveries in flight at the
/// same time never both run a handler; an abandoned lease ends by itself when its expiry,
/// recorded on the Redis server's clock, passes. `complete`, `release` and `extend` are Lua
/// scripts that act only when the lease's token is still the one recorded. Every key has an
/// expiry: a completed record the retention period, a claim that did not complete (released,
/// or abandoned by a crashed holder) [`keep_released`](RedisStoreBuilder::keep_released)
/// after its lease, kept that long only so the next claim knows its
/// [attempt](Lease::attempt). No purge job is needed ([`purge_expired`] does nothing).
///
/// The scripts read the server's clock (`TIME`) before writing, which needs Redis 5 or later
/// (or a compatible server such as Valkey).
///
/// Redis is not a durable store: a server without persistence (or with `appendfsync
/// everysec` losing its last second), a restart, a failover to a replica that had not
/// received the write, an eviction under `maxmemory`, or a `FLUSHALL` forgets claims and
/// completions, and the sender's next retry then runs the handler again. Handlers must
/// therefore be idempotent on their own business keys; use the PostgreSQL or SQLite store
/// when a duplicate run is not acceptable. Configure the server with `maxmemory-policy
/// noeviction` (or a `volatile-*` policy that leaves these keys alone) and AOF persistence.
///
/// Keys are `<prefix>:<len>:<namespace>:<len>:<event id>:<len>:<handler>`: every part is
/// length-prefixed, so different (namespace, event id, handler) tuples never share a key
/// whatever characters they contain. The connection reconnects by itself after an outage;
/// while the server is unreachable or stalled every operation fails with
/// [`StoreError::Unavailable`] within the store's [timeout](RedisStoreBuilder::timeout).
///
/// ```no_run
/// use webhook_core::RedisStore;
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let store = RedisStore::builder()
///     .prefix("myapp:webhooks")
///     .connect("redis://127.0.0.1:6379")
///     .await?;
/// # Ok(())
/// # }
/// ```
///
/// [`purge_expired`]: IdempotencyStore::purge_expired
#[derive(Clone)]
pub struct RedisStore {
    inner: Arc<Inner>,
}

struct Inner {
    client: Client,
    connection: OnceCell<ConnectionManager>,
    prefix: String,
    timeout: Duration,
    /// `keep_released` in milliseconds, as the scripts take it.
    keep_released_ms: i64,
    claim: Script,
    claim_first: Script,
    complete: Script,
    release: Script,
    extend: Script,
}

impl fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Not the client: its connection info may hold a password.
        f.debug_struct("RedisStore")
            .field("prefix", &self.inner.prefix)
            .field("timeout", &self.inner.timeout)
            .field("keep_released_ms", &self.inner.keep_released_ms)
            .field("connected", &self.inner.connection.initialized())
            .finish_non_exhaustive()
    }
}

/// Options for a [`RedisStore`], from [`RedisStore::builder`].
#[derive(Debug, Clone)]
pub struct RedisStoreBuilder {
    prefix: String,
    timeout: Duration,
    keep_released: Duration,
}

impl Default for RedisStoreBuilder {
    fn default() -> Self {
        Self {
            prefix: DEFAULT_PREFIX.to_owned(),
            timeout: DEFAULT_TIMEOUT,
            keep_released: DEFAULT_KEEP_RELEASED,
        }
    }
}

impl RedisStoreBuilder {
    /// The prefix of every key (default `webhook:idem`). Give each application its own when
    /// they share a Redis database.
    #[must_use]
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// The time limit of one store operation (default 2 s).
    ///
    /// Each call of [`claim`], [`complete`], [`release`] or [`extend`] fails with
    /// [`StoreError::Unavailable`] once this much time has passed since it was first polled,
    /// whatever it is waiting for: the connection being opened (on first use, or again after
    /// it was lost), Redis's answer, or `claim`'s second try after a lost connection. The
    /// limit covers the whole call, not each command in it, so it is never exceeded by a
    /// retry. It is kept by one Tokio timer per call (millisecond resolution): the error comes
    /// as soon as the runtime runs the task once the limit has passed. [`connect`] is held to
    /// the same limit, and each attempt to open a connection is also given this long.
    ///
    /// A command whose answer did not come in time may still be carried out by Redis later: a
    /// claim that lands late holds the event like the lease of a crashed receiver, until that
    /// lease ends. Keep the limit below the receiver's
    /// [`store_timeout`](crate::ReceiverBuilder::store_timeout), so that the store's own error
    /// is the one reported.
    ///
    /// [`claim`]: IdempotencyStore::claim
    /// [`complete`]: IdempotencyStore::complete
    /// [`release`]: IdempotencyStore::release
    /// [`extend`]: IdempotencyStore::extend
    /// [`connect`]: Self::connect
    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// How long the record of a claim that did not complete is kept: from its release (its
    /// handler failed), or from the end of its lease (its holder crashed). Within that time the
    /// next claim of the same handler is the next [attempt](Lease::attempt); after it the key
    /// is gone and a claim counts from 1 again. Default 1 hour, as long as a SQL store keeps
    /// such records when purged hourly; each costs one small key for that time.
    #[must_use]
    pub fn keep_released(mut self, keep: Duration) -> Self {
        self.keep_released = keep;
        self
    }

    /// Connects to the server at `url` (`redis://[:password@]host:port[/db]`; `rediss://`
    /// when the `redis` crate's TLS features are enabled).
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the URL is invalid or the server cannot be reached
    /// within the timeout.
    pub async fn connect(self, url: &str) -> Result<RedisStore, StoreError> {
        let store = self.open(url)?;
        store.within(store.connection()).await?;
        Ok(store)
    }

    /// A store for the server at `url` that connects on first use (and again after each
    /// failed attempt). Until the server is reachable every operation fails with
    /// [`StoreError::Unavailable`].
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the URL is invalid.
    pub fn open(self, url: &str) -> Result<RedisStore, StoreError> {
        let client = Client::open(url).map_err(StoreError::unavailable)?;
        Ok(self.with_client(client))
    }

    /// A store using a configured client (TLS, authentication, RESP3, ...). Connects on first
    /// use.
    #[must_use]
    pub fn with_client(self, client: Client) -> RedisStore {
        RedisStore {
            inner: Arc::new(Inner {
                client,
                connection: OnceCell::new(),
                prefix: self.prefix,
                timeout: self.timeout,
                keep_released_ms: store_millis(self.keep_released).max(1),
                claim: Script::new(CLAIM_SCRIPT),
                claim_first: Script::new(CLAIM_FIRST_SCRIPT),
                complete: Script::new(COMPLETE_SCRIPT),
                release: Script::new(RELEASE_SCRIPT),
                extend: Script::new(EXTEND_SCRIPT),
            }),
        }
    }
}

impl RedisStore {
    /// Connects to `url` with default options; see [`RedisStoreBuilder::connect`].
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the server cannot be reached.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        Self::builder().connect(url).await
    }

    /// A store for `url` with default options that connects on first use; see
    /// [`RedisStoreBuilder::open`].
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the URL is invalid.
    pub fn open(url: &str) -> Result<Self, StoreError> {
        Self::builder().open(url)
    }

    /// Options: key prefix, timeout, how long released claims are kept.
    #[must_use]
    pub fn builder() -> RedisStoreBuilder {
        RedisStoreBuilder::default()
    }

    /// The key prefix.
    #[must_use]
    pub fn prefix(&self) -> &str {
        &self.inner.prefix
    }

    /// The Redis key holding the record of (namespace, event id, handler), for operations
    /// tooling (inspecting or deleting a record by hand).
    #[must_use]
    pub fn record_key(&self, namespace: &str, event_id: &str, handler: &str) -> String {
        // Every operation builds one, so a single allocation of the exact length: `format!`
        // grew the string several times and went through the formatting machinery, ~6.5k
        // instructions per key against ~0.35k (callgrind).
        let prefix = &self.inner.prefix;
        let parts = [namespace, event_id, handler];
        let mut key = String::with_capacity(
            prefix.len() + parts.iter().map(|part| part.len() + 22).sum::<usize>(),
        );
        key.push_str(prefix);
        for part in parts {
            key.push(':');
            push_decimal(&mut key, part.len());
            key.push(':');
            key.push_str(part);
        }
        key
    }

    fn lease_key(&self, lease: &Lease) -> String {
        self.record_key(lease.namespace(), lease.event_id(), lease.handler())
    }

    /// The shared connection, opened on first use. A failed attempt leaves the cell empty, so
    /// the next operation tries again.
    async fn connection(&self) -> Result<ConnectionManager, StoreError> {
        match self.inner.connection.get() {
            Some(connection) => Ok(connection.clone()),
            // Boxed: the connecting future is several kilobytes, and held inline it would make
            // every operation's future that large, to be copied each time one is created or
            // moved into the timeout, although it is used once.
            None => Box::pin(self.connect_once()).await,
        }
    }

    async fn connect_once(&self) -> Result<ConnectionManager, StoreError> {
        let inner = &*self.inner;
        let connection = inner
            .connection
            .get_or_try_init(|| {
                // No retries inside the manager: its backoff sleeps at least a second between
                // attempts, and an operation arriving during that sleep waits for it, so the
                // first deliveries after an outage would time out although the server is back.
                // One attempt per loss instead; the sender's retry (and `claim`'s second try)
                // make the next one.
                //
                // No response timeout: every operation already runs under the store's timeout
                // (`within`), which a response timeout of the same length never beat; it only
                // armed a second timer per command. A timed-out command does not make the
                // manager reconnect either way (it reconnects on I/O errors that mean the
                // connection is gone).
                let config = ConnectionManagerConfig::new()
                    .set_connection_timeout(inner.timeout)
                    .set_number_of_retries(0);
                ConnectionManager::new_with_config(inner.client.clone(), config)
            })
            .await
            .map_err(StoreError::unavailable)?;
        Ok(connection.clone())
    }

    /// Runs a whole operation, connecting included, within the store's timeout: one timer
    /// per operation, counting from this call.
    fn within<T>(
        &self,
        op: impl Future<Output = Result<T, StoreError>>,
    ) -> impl Future<Output = Result<T, StoreError>> {
        // A combinator, not an `async fn`: that would hold `op` twice (as its argument and
        // inside the timeout), doubling the future every operation creates and copies.
        tokio::time::timeout(self.inner.timeout, op)
            .map(|result| result.unwrap_or_else(|elapsed| Err(StoreError::unavailable(elapsed))))
    }

    /// Runs a token-checked script with durations in milliseconds; `true` when it acted.
    async fn run_script(
        &self,
        script: &Script,
        lease: &Lease,
        millis: &[i64],
    ) -> Result<bool, StoreError> {
        self.within(async {
            let mut connection = self.connection().await?;
            let mut invocation = script.key(self.lease_key(lease));
            invocation.arg(lease.token());
            for millis in millis {
                invocation.arg(*millis);
            }
            let acted: i64 = invocation
                .invoke_async(&mut connection)
                .await
                .map_err(StoreError::unavailable)?;
            Ok(acted == 1)
        })
        .await
    }

    /// One try of a claim; with `type_retention`, of a first claim (`claim_first`), which
    /// also records the event's type, kept that long.
    async fn claim_within(
        &self,
        key: &ClaimKey<'_>,
        lease: Duration,
        token: &str,
        type_retention: Option<Duration>,
    ) -> Result<Claim, StoreError> {
        let mut connection = self.connection().await?;
        let redis_key = self.record_key(key.namespace, key.event_id, key.handler);
        // PX must be positive.
        let lease_ms = store_millis(lease).max(1);
        let mut invocation = match type_retention {
            None => self.inner.claim.key(redis_key),
            Some(_) => {
                let mut invocation = self.inner.claim_first.key(redis_key);
                invocation.key(self.record_key(key.namespace, key.event_id, EVENT_TYPE_RECORD));
                invocation
            }
        };
        invocation
            .arg(token)
            .arg(key.event_type)
            .arg(lease_ms)
            .arg(self.inner.keep_released_ms);
        if let Some(retention) = type_retention {
            invocation.arg(store_millis(retention).max(1));
        }
        let (answer, number, recorded_type): (i64, i64, String) = invocation
            .invoke_async(&mut connection)
            .await
            .map_err(StoreError::unavailable)?;
        match answer {
            1 => {
                let attempt = u32::try_from(number.max(1)).unwrap_or(u32::MAX);
                Ok(Claim::Acquired(
                    Lease::new(key, token).with_attempt(attempt),
                ))
            }
            // -1 (no expiry) cannot happen for records written here; fall back to the lease
            // rather than to zero.
            2 => Ok(Claim::InProgress {
                retry_after: u64::try_from(number)
                    .map(Duration::from_millis)
                    .unwrap_or(lease),
            }),
            3 => Ok(Claim::Completed),
            4 => Ok(Claim::Conflict { recorded_type }),
            _ => Err(StoreError::unavailable(
                "unrecognized idempotency record in redis",
            )),
        }
    }
}

impl RedisStore {
    async fn claim_with_retry(
        &self,
        key: &ClaimKey<'_>,
        lease: Duration,
        type_retention: Option<Duration>,
    ) -> Result<Claim, StoreError> {
        key.validate()?;
        let token = Lease::new_token();
        self.within(async {
            match self.claim_within(key, lease, &token, type_retention).await {
                // The connection manager reconnects after such an error, but the error may
                // come from a reconnection that failed while the server was down: without a
                // second try, the first delivery after an outage would be refused although
                // the server is back. The second try is safe: if the first script was applied,
                // the record holds this claim's token and is recognized as ours, and the type
                // record holds this event's type.
                Err(error) if lost_connection(&error) => {
                    self.claim_within(key, lease, &token, type_retention).await
                }
                other => other,
            }
        })
        .await
    }
}

impl IdempotencyStore for RedisStore {
    async fn claim(&self, key: &ClaimKey<'_>, lease: Duration) -> Result<Claim, StoreError> {
        self.claim_with_retry(key, lease, None).await
    }

    /// One script: the type record and the claim in one atomic step and one round trip.
    async fn claim_first(
        &self,
        key: &ClaimKey<'_>,
        lease: Duration,
        retention: Duration,
    ) -> Result<Claim, StoreError> {
        self.claim_with_retry(key, lease, Some(retention)).await
    }

    async fn complete(&self, lease: &Lease, retention: Duration) -> Result<(), StoreError> {
        let millis = store_millis(retention).max(1);
        if self
            .run_script(&self.inner.complete, lease, &[millis])
            .await?
        {
            Ok(())
        } else {
            Err(StoreError::LeaseLost)
        }
    }

    async fn release(&self, lease: &Lease) -> Result<(), StoreError> {
        self.run_script(&self.inner.release, lease, &[self.inner.keep_released_ms])
            .await?;
        Ok(())
    }

    async fn extend(&self, lease: &Lease, by: Duration) -> Result<(), StoreError> {
        let millis = store_millis(by).max(1);
        if self
            .run_script(
                &self.inner.extend,
                lease,
                &[millis, self.inner.keep_released_ms],
            )
            .await?
        {
            Ok(())
        } else {
            Err(StoreError::LeaseLost)
        }
    }

    /// Redis deletes expired records (completed, and released or abandoned claims) itself:
    /// nothing to do.
    async fn purge_expired(&self) -> Result<u64, StoreError> {
        Ok(0)
    }
}

/// Appends `n` in decimal.
fn push_decimal(out: &mut String, mut n: usize) {
    let mut digits = [0u8; 20];
    let mut start = digits.len();
    loop {
        start -= 1;
        // `n % 10` is a single digit.
        #[allow(clippy::cast_possible_truncation)]
        let digit = (n % 10) as u8;
        digits[start] = b'0' + digit;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    for &digit in &digits[start..] {
        out.push(char::from(digit));
    }
}

/// Whether `error` is a Redis failure after which the connection manager reconnects (an I/O
/// error, or one that needs a new connection).
fn lost_connection(error: &StoreError) -> bool {
    matches!(error, StoreError::Unavailable(source)
        if source
            .downcast_ref::<redis::RedisError>()
            .is_some_and(|error| error.is_io_error() || error.is_unrecoverable_error()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_of_different_tuples_never_collide() {
        let store = RedisStore::open("redis://127.0.0.1:1").unwrap();
        let a = store.record_key("ns", "a:1:b", "h");
        let b = store.record_key("ns:1:a", "b", "h");
        let c = store.record_key("ns", "a", "1:b:1:h");
        assert_ne!(a, b);
        assert_ne!(a, c);
        assert_ne!(b, c);
        assert_eq!(
            store.record_key("default", "evt_1", "app::fulfil"),
            "webhook:idem:7:default:5:evt_1:11:app::fulfil"
        );
        let handler = "h".repeat(1024);
        assert_eq!(
            store.record_key("n", "e", &handler),
            format!("webhook:idem:1:n:1:e:1024:{handler}")
        );
    }

    #[test]
    fn debug_does_not_show_the_url() {
        let store = RedisStore::open("redis://:hunter2secret@127.0.0.1:1").unwrap();
        assert!(!format!("{store:?}").contains("hunter2secret"));
    }

    /// What makes `claim`'s second try safe: a try that finds the record its own first try
    /// wrote (its answer lost) holds the lease; another claim's token does not.
    #[cfg(feature = "server-tests")]
    #[tokio::test]
    async fn a_retried_claim_finds_its_own_record() {
        let url = std::env::var("WEBHOOK_TEST_REDIS_URL")
            .unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned());
        let store = RedisStore::builder()
            .prefix(format!("wh_test:{}", Lease::new_token()))
            .connect(&url)
            .await
            .unwrap_or_else(|error| {
                panic!("Redis is not reachable ({error}): start one, or set WEBHOOK_TEST_REDIS_URL")
            });
        let key = ClaimKey {
            namespace: "ns",
            event_id: "evt_1",
            handler: "h",
            event_type: "t",
        };
        let lease = Duration::from_secs(30);
        let first = store
            .claim_within(&key, lease, "token1", None)
            .await
            .unwrap();
        assert_eq!(first, Claim::Acquired(Lease::new(&key, "token1")));
        let retried = store
            .claim_within(&key, lease, "token1", None)
            .await
            .unwrap();
        assert_eq!(retried, first);
        let other = store
            .claim_within(&key, lease, "token2", None)
            .await
            .unwrap();
        assert!(matches!(other, Claim::InProgress { .. }), "{other:?}");
        store.release(&Lease::new(&key, "token1")).await.unwrap();
    }
}

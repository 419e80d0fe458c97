//! The idempotency-store conformance suite: run it against your own [`IdempotencyStore`].
//!
//! Every store shipped with this crate passes it (memory, SQLite, PostgreSQL, Redis); a store
//! you write should too, from its own tests:
//!
//! ```
//! use std::sync::Arc;
//! use webhook_core::test_util::conformance;
//! use webhook_core::MemoryStore;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! conformance::run(Arc::new(MemoryStore::new())).await.unwrap();
//! # }
//! ```
//!
//! It checks the contract of reliability.md section 3.I that applies to any store:
//!
//! | id | checked |
//! |---|---|
//! | I01 | a claim on an absent key is `Acquired`, with a lease naming the key |
//! | I02 | a second claim while the lease is live is `InProgress`, `retry_after` within the lease |
//! | I03 | a claim after `complete` is `Completed`; the spent lease can no longer complete, extend or release |
//! | I04 | a claim after the lease expired is `Acquired` with a new token; the old holder's `complete`/`extend` get `LeaseLost` and change nothing |
//! | I05 | `release` by the holder makes the key claimable; by anyone else it is a no-op |
//! | I06 | `complete` by a non-holder is `LeaseLost`, state unchanged; on an absent key it creates nothing |
//! | I07 | another event type under the same key is a `Conflict` (in progress and completed), compared byte for byte |
//! | I08 | after the retention the key is claimable again (after `purge_expired`, or by the store's own expiry); `purge_expired` never removes a live lease or an unexpired completion |
//! | I09 | N concurrent claims (default 32, several rounds, also racing for an expired lease) grant exactly one lease |
//! | I11 | the same event id in two namespaces, or for two handlers, are independent |
//! | I12 | keys are compared byte for byte (`evt_ABC` ≠ `evt_abc`, trailing and leading spaces, SQL/LIKE/separator characters); a 255-byte id works, a 256-byte or empty id is `InvalidKey` |
//! | I13 | `retry_after` agrees with the store's clock (a store mixing clocks or time zones fails I02/I04) |
//! | extend | `extend` by the holder keeps the lease live past its original expiry; by anyone else it is `LeaseLost` |
//! | first | [`claim_first`](IdempotencyStore::claim_first) records the event's type once per event id: a first claim of another handler under another type is a `Conflict` naming the recorded type and leaves that handler's key absent; under the same type it is claimed as by `claim` (`Acquired`, `InProgress`, `Completed`); concurrent first claims of one new event under different types for different handlers record exactly one type (every `Acquired` lease carries it, every other answer is a `Conflict` naming it); past its retention the type record no longer binds |
//! | attempts | [`Lease::attempt`] counts the claims of a key: 1 at first, +1 after a release and after a takeover of an expired lease (also when claims race for it: one winner, the others `InProgress`), 1 again once a completion outlived its retention (and, when `purge_expired` deletes, once a released claim was purged); a released claim is absent (acquired at once, under any event type) and its lease can no longer complete, extend or release |
//!
//! Not checked, because they depend on the deployment: outages (I10: point the store at a
//! closed port and expect [`StoreError::Unavailable`]), several processes (I09/I14: run
//! [`Conformance::run_pair`] with two instances, for example one per process or pool), and
//! store-specific behaviour. Left to the store: whether a holder whose lease expired, but was
//! not taken over yet, may still complete; and whether an *expired* lease recorded with
//! another event type is a conflict or simply gone.
//!
//! The suite uses fresh random namespaces on every run, so runs against a shared database
//! never collide; it leaves a few records behind (completed with short retentions, or
//! released), which `purge_expired` or the store's expiry removes. It sleeps for real (leases
//! of 300 ms by default) and takes a few seconds. The `attempts` check runs after the others,
//! because their `purge_expired` would delete the released claims whose count it follows; for
//! the same reason nothing else may purge the store while it runs, unless
//! [`Conformance::counts_attempts`] is off.

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Barrier;

use crate::idempotency::{Claim, ClaimKey, IdempotencyStore, Lease, StoreError};

/// Leases that must stay live for the whole of a check.
const LONG: Duration = Duration::from_secs(30);

/// A conformance check that did not hold.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{check}: {message}")]
pub struct Failure {
    /// The check, as in the table of the [module docs](self) (`I04`).
    pub check: &'static str,
    /// What happened instead.
    pub message: String,
}

impl Failure {
    fn new(check: &'static str, message: impl Into<String>) -> Self {
        Self {
            check,
            message: message.into(),
        }
    }
}

macro_rules! ensure {
    ($check:expr, $cond:expr, $($message:tt)+) => {
        if !$cond {
            return Err(Failure::new($check, format!($($message)+)));
        }
    };
}

/// Runs the whole suite against `store` with default options.
///
/// # Errors
/// The first [`Failure`]: the check that did not hold, and what happened instead.
pub async fn run<S: IdempotencyStore>(store: Arc<S>) -> Result<(), Failure> {
    Conformance::new().run(store).await
}

/// Options of the suite. [`run`] uses the defaults.
#[derive(Debug, Clone)]
pub struct Conformance {
    short: Duration,
    concurrency: usize,
    rounds: usize,
    purge_deletes: bool,
    counts_attempts: bool,
}

impl Default for Conformance {
    fn default() -> Self {
        Self {
            short: Duration::from_millis(300),
            concurrency: 32,
            rounds: 3,
            purge_deletes: true,
            counts_attempts: true,
        }
    }
}

impl Conformance {
    /// The default options.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// The short lease and retention used to check expiry (default 300 ms). The suite waits
    /// this long plus 200 ms for it to pass; raise it for stores with a coarse clock.
    #[must_use]
    pub fn short_lease(mut self, lease: Duration) -> Self {
        self.short = lease;
        self
    }

    /// How many claims race for one key (default 32).
    #[must_use]
    pub fn concurrency(mut self, tasks: usize) -> Self {
        self.concurrency = tasks.max(2);
        self
    }

    /// How many times each race is run (default 3).
    #[must_use]
    pub fn rounds(mut self, rounds: usize) -> Self {
        self.rounds = rounds.max(1);
        self
    }

    /// Whether `purge_expired` deletes the expired records itself and counts them (default
    /// `true`). Turn it off for stores whose records expire by themselves (Redis) and when
    /// something else may purge the same store while the suite runs.
    #[must_use]
    pub fn purge_deletes(mut self, deletes: bool) -> Self {
        self.purge_deletes = deletes;
        self
    }

    /// Whether the store counts attempts (default `true`): [`Lease::attempt`] must then follow
    /// every claim of a key, as the `attempts` check pins. Turn it off for a store that does
    /// not count; the check then insists that every lease reports attempt 1.
    #[must_use]
    pub fn counts_attempts(mut self, counts: bool) -> Self {
        self.counts_attempts = counts;
        self
    }

    /// Runs every check against `store`.
    ///
    /// # Errors
    /// The first [`Failure`].
    pub async fn run<S: IdempotencyStore>(&self, store: Arc<S>) -> Result<(), Failure> {
        self.run_pair(Arc::clone(&store), store).await
    }

    /// Runs every check against two instances that share one backend (two pools on one
    /// database or file, two connections to one server, or handles in two processes): the
    /// operations of each check alternate between `a` and `b`, and races are split between
    /// them, so a store that keeps any state per instance fails.
    ///
    /// # Errors
    /// The first [`Failure`].
    pub async fn run_pair<S: IdempotencyStore>(&self, a: Arc<S>, b: Arc<S>) -> Result<(), Failure> {
        let suite = Suite {
            a,
            b,
            options: self.clone(),
            run: Lease::new_token()[..12].to_owned(),
        };
        // The checks use separate namespaces, so they can run at once: the sleeps overlap.
        let (
            lifecycle,
            expiry,
            release,
            foreign,
            conflict,
            retention,
            extend,
            races,
            spaces,
            bytes,
            first,
        ) = tokio::join!(
            suite.lifecycle(),
            suite.lease_expiry(),
            suite.release(),
            suite.complete_by_non_owner(),
            suite.conflict(),
            suite.retention(),
            suite.extend(),
            suite.concurrent_claims(),
            suite.namespaces(),
            suite.key_bytes(),
            suite.first(),
        );
        lifecycle?;
        expiry?;
        release?;
        foreign?;
        conflict?;
        retention?;
        extend?;
        races?;
        spaces?;
        bytes?;
        first?;
        // Alone: a purge by another check could delete a released claim it counts on.
        suite.attempts().await
    }
}

/// A key owned by the suite.
#[derive(Debug, Clone)]
struct Key {
    namespace: String,
    event_id: String,
    handler: String,
    event_type: String,
}

impl Key {
    fn claim_key(&self) -> ClaimKey<'_> {
        ClaimKey {
            namespace: &self.namespace,
            event_id: &self.event_id,
            handler: &self.handler,
            event_type: &self.event_type,
        }
    }

    fn with_type(&self, event_type: &str) -> Self {
        Self {
            event_type: event_type.to_owned(),
            ..self.clone()
        }
    }

    fn with_id(&self, event_id: &str) -> Self {
        Self {
            event_id: event_id.to_owned(),
            ..self.clone()
        }
    }

    /// A lease on this key with a token the store never issued.
    fn forged_lease(&self) -> Lease {
        Lease::new(&self.claim_key(), "not-the-holder")
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "({:?}, {:?}, {:?})",
            self.namespace, self.event_id, self.handler
        )
    }
}

struct Suite<S> {
    a: Arc<S>,
    b: Arc<S>,
    options: Conformance,
    run: String,
}

impl<S: IdempotencyStore> Suite<S> {
    /// A fresh key in a namespace of its own for `check`.
    fn key(&self, check: &str) -> Key {
        Key {
            namespace: format!("conformance-{}-{check}", self.run),
            event_id: format!("evt_{}", Lease::new_token()),
            handler: "conformance::handler".to_owned(),
            event_type: "payment_intent.succeeded".to_owned(),
        }
    }

    fn store(&self, second: bool) -> &S {
        if second {
            &self.b
        } else {
            &self.a
        }
    }

    async fn expire(&self) {
        tokio::time::sleep(self.options.short + Duration::from_millis(200)).await;
    }

    async fn claim_on(
        &self,
        check: &'static str,
        second: bool,
        key: &Key,
        lease: Duration,
    ) -> Result<Claim, Failure> {
        store_result(
            check,
            "claim",
            key,
            self.store(second).claim(&key.claim_key(), lease).await,
        )
    }

    /// Claims and insists on `Acquired`.
    async fn acquire(
        &self,
        check: &'static str,
        second: bool,
        key: &Key,
        lease: Duration,
    ) -> Result<Lease, Failure> {
        match self.claim_on(check, second, key, lease).await? {
            Claim::Acquired(held) => {
                ensure!(
                    check,
                    held.namespace() == key.namespace
                        && held.event_id() == key.event_id
                        && held.handler() == key.handler,
                    "the lease names {:?}/{:?}/{:?}, not the claimed key {key}",
                    held.namespace(),
                    held.event_id(),
                    held.handler()
                );
                Ok(held)
            }
            other => Err(Failure::new(
                check,
                format!("claim on {key}: expected Acquired, got {other:?}"),
            )),
        }
    }

    async fn expect_claim(
        &self,
        check: &'static str,
        second: bool,
        key: &Key,
        expected: &Claim,
    ) -> Result<(), Failure> {
        let got = self.claim_on(check, second, key, LONG).await?;
        ensure!(
            check,
            &got == expected,
            "claim on {key}: expected {expected:?}, got {got:?}"
        );
        Ok(())
    }

    async fn expect_in_progress(
        &self,
        check: &'static str,
        second: bool,
        key: &Key,
    ) -> Result<Duration, Failure> {
        match self.claim_on(check, second, key, LONG).await? {
            Claim::InProgress { retry_after } => Ok(retry_after),
            other => Err(Failure::new(
                check,
                format!("claim on {key}: expected InProgress, got {other:?}"),
            )),
        }
    }

    async fn expect_lease_lost(
        &self,
        check: &'static str,
        what: &str,
        result: impl Future<Output = Result<(), StoreError>>,
    ) -> Result<(), Failure> {
        match result.await {
            Err(StoreError::LeaseLost) => Ok(()),
            other => Err(Failure::new(
                check,
                format!("{what}: expected Err(LeaseLost), got {other:?}"),
            )),
        }
    }

    /// I01, I02, I03, I13.
    async fn lifecycle(&self) -> Result<(), Failure> {
        let key = self.key("lifecycle");
        let held = self.acquire("I01", false, &key, LONG).await?;
        let retry_after = self.expect_in_progress("I02", true, &key).await?;
        ensure!(
            "I13",
            retry_after <= LONG && retry_after >= LONG / 2,
            "a claim moments after a {LONG:?} lease said retry after {retry_after:?}: the store's clocks disagree"
        );
        self.expect_in_progress("I02", false, &key).await?;
        ok(
            "I03",
            "complete by the holder",
            self.store(true).complete(&held, LONG).await,
        )?;
        self.expect_claim("I03", false, &key, &Claim::Completed)
            .await?;
        self.expect_claim("I03", true, &key, &Claim::Completed)
            .await?;
        self.expect_lease_lost("I03", "complete twice", self.a.complete(&held, LONG))
            .await?;
        self.expect_lease_lost("I03", "extend after complete", self.b.extend(&held, LONG))
            .await?;
        ok("I03", "release after complete", self.a.release(&held).await)?;
        self.expect_claim("I03", true, &key, &Claim::Completed)
            .await
    }

    /// I04.
    async fn lease_expiry(&self) -> Result<(), Failure> {
        let key = self.key("expiry");
        let stale = self.acquire("I04", false, &key, self.options.short).await?;
        self.expire().await;
        let fresh = self.acquire("I04", true, &key, LONG).await?;
        ensure!(
            "I04",
            fresh.token() != stale.token(),
            "the lease taken over after expiry has the old token"
        );
        self.expect_lease_lost(
            "I04",
            "complete by the fenced holder",
            self.a.complete(&stale, LONG),
        )
        .await?;
        self.expect_lease_lost(
            "I04",
            "extend by the fenced holder",
            self.a.extend(&stale, LONG),
        )
        .await?;
        ok(
            "I04",
            "release by the fenced holder",
            self.a.release(&stale).await,
        )?;
        self.expect_in_progress("I04", false, &key).await?;
        ok(
            "I04",
            "complete by the new holder",
            self.store(true).complete(&fresh, LONG).await,
        )?;
        self.expect_claim("I04", false, &key, &Claim::Completed)
            .await
    }

    /// I05.
    async fn release(&self) -> Result<(), Failure> {
        let key = self.key("release");
        ok(
            "I05",
            "release of an absent key",
            self.a.release(&key.forged_lease()).await,
        )?;
        let held = self.acquire("I05", false, &key, LONG).await?;
        ok(
            "I05",
            "release by a non-holder",
            self.b.release(&key.forged_lease()).await,
        )?;
        self.expect_in_progress("I05", true, &key).await?;
        ok("I05", "release by the holder", self.b.release(&held).await)?;
        let again = self.acquire("I05", false, &key, LONG).await?;
        ensure!(
            "I05",
            again.token() != held.token(),
            "a new claim reused the released token"
        );
        ok(
            "I05",
            "release of the old token",
            self.a.release(&held).await,
        )?;
        self.expect_in_progress("I05", true, &key).await?;
        ok("I05", "release by the holder", self.a.release(&again).await)
    }

    /// I06.
    async fn complete_by_non_owner(&self) -> Result<(), Failure> {
        let key = self.key("foreign");
        let held = self.acquire("I06", false, &key, LONG).await?;
        self.expect_lease_lost(
            "I06",
            "complete by a non-holder",
            self.b.complete(&key.forged_lease(), LONG),
        )
        .await?;
        self.expect_in_progress("I06", true, &key).await?;
        ok(
            "I06",
            "complete by the holder",
            self.a.complete(&held, LONG).await,
        )?;

        let absent = self.key("foreign");
        self.expect_lease_lost(
            "I06",
            "complete of an absent key",
            self.a.complete(&absent.forged_lease(), LONG),
        )
        .await?;
        self.expect_lease_lost(
            "I06",
            "extend of an absent key",
            self.b.extend(&absent.forged_lease(), LONG),
        )
        .await?;
        let held = self.acquire("I06", true, &absent, LONG).await?;
        ok("I06", "release by the holder", self.b.release(&held).await)
    }

    /// I07.
    async fn conflict(&self) -> Result<(), Failure> {
        let key = self.key("conflict");
        let other = key.with_type("payment_intent.payment_failed");
        let recased = key.with_type("Payment_intent.succeeded");
        let conflict = Claim::Conflict {
            recorded_type: key.event_type.clone(),
        };
        let held = self.acquire("I07", false, &key, LONG).await?;
        self.expect_claim("I07", true, &other, &conflict).await?;
        self.expect_claim("I07", false, &recased, &conflict).await?;
        self.expect_in_progress("I07", true, &key).await?;
        ok(
            "I07",
            "complete by the holder",
            self.b.complete(&held, LONG).await,
        )?;
        self.expect_claim("I07", false, &other, &conflict).await?;
        self.expect_claim("I07", true, &recased, &conflict).await?;
        self.expect_claim("I07", false, &key, &Claim::Completed)
            .await
    }

    /// I08 (and H05): retention and purge.
    async fn retention(&self) -> Result<(), Failure> {
        let short = self.options.short;
        let retained = self.key("retention");
        let abandoned = self.key("retention");
        let live = self.key("retention");
        let kept = self.key("retention");

        let held = self.acquire("I08", false, &retained, LONG).await?;
        ok(
            "I08",
            "complete with a short retention",
            self.b.complete(&held, short).await,
        )?;
        self.expect_claim("I08", false, &retained, &Claim::Completed)
            .await?;
        self.acquire("I08", true, &abandoned, short).await?;
        let live_lease = self.acquire("I08", false, &live, LONG).await?;
        let kept_lease = self.acquire("I08", true, &kept, LONG).await?;
        ok(
            "I08",
            "complete with a long retention",
            self.a.complete(&kept_lease, LONG).await,
        )?;

        self.expire().await;
        let purged = store_result(
            "I08",
            "purge_expired",
            &retained,
            self.a.purge_expired().await,
        )?;
        if self.options.purge_deletes {
            ensure!(
                "I08",
                purged >= 2,
                "purge_expired deleted {purged} records; expected at least the expired completion and the expired lease"
            );
        }
        self.expect_in_progress("I08", true, &live).await?;
        self.expect_claim("I08", false, &kept, &Claim::Completed)
            .await?;
        // Past its retention the key is free, even for another event type.
        let reclaimed = self
            .acquire("I08", false, &retained.with_type("charge.refunded"), LONG)
            .await?;
        ok("I08", "release", self.a.release(&reclaimed).await)?;
        let reclaimed = self.acquire("I08", true, &abandoned, LONG).await?;
        ok("I08", "release", self.b.release(&reclaimed).await)?;
        ok("I08", "release", self.b.release(&live_lease).await)?;

        // A retention that passes without a purge also frees the key.
        let unpurged = self.key("retention");
        let held = self.acquire("I08", true, &unpurged, LONG).await?;
        ok(
            "I08",
            "complete with a short retention",
            self.a.complete(&held, short).await,
        )?;
        self.expire().await;
        let reclaimed = self.acquire("I08", false, &unpurged, LONG).await?;
        ok("I08", "release", self.a.release(&reclaimed).await)
    }

    /// `extend`.
    async fn extend(&self) -> Result<(), Failure> {
        let key = self.key("extend");
        let held = self
            .acquire("extend", false, &key, self.options.short)
            .await?;
        ok(
            "extend",
            "extend by the holder",
            self.b.extend(&held, LONG).await,
        )?;
        self.expect_lease_lost(
            "extend",
            "extend by a non-holder",
            self.a.extend(&key.forged_lease(), LONG),
        )
        .await?;
        self.expire().await;
        let retry_after = self.expect_in_progress("extend", true, &key).await?;
        ensure!(
            "extend",
            retry_after > self.options.short,
            "after extending by {LONG:?} the claim said retry after {retry_after:?}"
        );
        ok(
            "extend",
            "complete by the holder",
            self.a.complete(&held, LONG).await,
        )?;
        self.expect_claim("extend", true, &key, &Claim::Completed)
            .await
    }

    /// I09: races.
    async fn concurrent_claims(&self) -> Result<(), Failure>
    where
        S: IdempotencyStore,
    {
        for _ in 0..self.options.rounds {
            let key = self.key("race");
            let (winners, outcomes) = self.race(&key, LONG).await?;
            ensure!(
                "I09",
                winners.len() == 1,
                "{} concurrent claims on an absent key granted {} leases: {outcomes:?}",
                self.options.concurrency,
                winners.len()
            );
            ensure!(
                "I09",
                outcomes
                    .iter()
                    .all(|claim| matches!(claim, Claim::Acquired(_) | Claim::InProgress { .. })),
                "concurrent claims on an absent key answered {outcomes:?}"
            );

            // Racing for an expired lease: one new holder, and it is not the old one.
            let stale = self.acquire("I09", false, &key, self.options.short).await;
            let stale = match stale {
                Ok(lease) => lease,
                // The winner of the first race still holds the key: release it and retry.
                Err(_) => {
                    ok("I09", "release", self.a.release(&winners[0]).await)?;
                    self.acquire("I09", false, &key, self.options.short).await?
                }
            };
            self.expire().await;
            let (winners, outcomes) = self.race(&key, LONG).await?;
            ensure!(
                "I09",
                winners.len() == 1,
                "{} concurrent claims on an expired lease granted {} leases: {outcomes:?}",
                self.options.concurrency,
                winners.len()
            );
            ensure!(
                "I09",
                winners[0].token() != stale.token(),
                "the lease taken over in a race kept the expired token"
            );
            ok(
                "I09",
                "complete by the winner",
                self.b.complete(&winners[0], LONG).await,
            )?;
            let (winners, outcomes) = self.race(&key, LONG).await?;
            ensure!(
                "I09",
                winners.is_empty() && outcomes.iter().all(|claim| *claim == Claim::Completed),
                "concurrent claims on a completed key answered {outcomes:?}"
            );
        }
        Ok(())
    }

    async fn claim_first_on(
        &self,
        second: bool,
        key: &Key,
        lease: Duration,
        retention: Duration,
    ) -> Result<Claim, Failure> {
        store_result(
            "first",
            "claim_first",
            key,
            self.store(second)
                .claim_first(&key.claim_key(), lease, retention)
                .await,
        )
    }

    /// `claim_first`, insisting on `Acquired`.
    async fn acquire_first(
        &self,
        second: bool,
        key: &Key,
        retention: Duration,
    ) -> Result<Lease, Failure> {
        match self.claim_first_on(second, key, LONG, retention).await? {
            Claim::Acquired(held) => Ok(held),
            other => Err(Failure::new(
                "first",
                format!(
                    "claim_first on {key} ({:?}): expected Acquired, got {other:?}",
                    key.event_type
                ),
            )),
        }
    }

    async fn expect_first(&self, second: bool, key: &Key, expected: &Claim) -> Result<(), Failure> {
        let got = self.claim_first_on(second, key, LONG, LONG).await?;
        ensure!(
            "first",
            &got == expected,
            "claim_first on {key} ({:?}): expected {expected:?}, got {got:?}",
            key.event_type
        );
        Ok(())
    }

    /// `first`: the event's type record, written by `claim_first`.
    async fn first(&self) -> Result<(), Failure> {
        let check = "first";
        let key = self.key("first");
        let second_handler = Key {
            handler: "conformance::second".to_owned(),
            ..key.clone()
        };
        let other_type = second_handler.with_type("payment_intent.payment_failed");
        let conflict = Claim::Conflict {
            recorded_type: key.event_type.clone(),
        };

        let held = self.acquire_first(false, &key, LONG).await?;
        ensure!(
            check,
            held.handler() == key.handler && held.event_id() == key.event_id,
            "claim_first's lease names {:?}/{:?}, not {key}",
            held.event_id(),
            held.handler()
        );
        // Another handler, under another type: refused by the type record alone, and its own
        // key is left untouched.
        self.expect_first(true, &other_type, &conflict).await?;
        let untouched = self.acquire(check, false, &second_handler, LONG).await?;
        ok(check, "release", self.a.release(&untouched).await)?;
        // Under the same type, a first claim is a claim.
        match self.claim_first_on(true, &key, LONG, LONG).await? {
            Claim::InProgress { .. } => {}
            other => {
                return Err(Failure::new(
                    check,
                    format!(
                    "claim_first on {key} held by a live lease: expected InProgress, got {other:?}"
                ),
                ))
            }
        }
        ok(check, "complete", self.b.complete(&held, LONG).await)?;
        self.expect_first(false, &key, &Claim::Completed).await?;
        let second = self.acquire_first(true, &second_handler, LONG).await?;
        ok(check, "complete", self.a.complete(&second, LONG).await)?;

        // Racing first claims of one new event, each for its own handler, a third of them
        // under another type: one type wins.
        for _ in 0..self.options.rounds {
            let event = self.key("first-race");
            let tasks = self.options.concurrency;
            let barrier = Arc::new(Barrier::new(tasks));
            let mut handles = Vec::with_capacity(tasks);
            for task in 0..tasks {
                let store = Arc::clone(if task % 2 == 0 { &self.a } else { &self.b });
                let barrier = Arc::clone(&barrier);
                let key = Key {
                    handler: format!("conformance::handler_{task}"),
                    event_type: if task % 3 == 0 {
                        "charge.refunded".to_owned()
                    } else {
                        event.event_type.clone()
                    },
                    ..event.clone()
                };
                handles.push(tokio::spawn(async move {
                    barrier.wait().await;
                    let claim = store.claim_first(&key.claim_key(), LONG, LONG).await;
                    (key.event_type, claim)
                }));
            }
            let mut recorded: Option<String> = None;
            let mut outcomes = Vec::with_capacity(tasks);
            for handle in handles {
                let (event_type, claim) = handle.await.map_err(|error| {
                    Failure::new(check, format!("a claim_first task failed: {error}"))
                })?;
                let claim = store_result(check, "concurrent claim_first", &event, claim)?;
                let winner = match &claim {
                    Claim::Acquired(_) => event_type.clone(),
                    Claim::Conflict { recorded_type } => recorded_type.clone(),
                    _ => String::new(),
                };
                ensure!(
                    check,
                    !winner.is_empty(),
                    "a first claim of a new handler answered {claim:?}"
                );
                ensure!(
                    check,
                    recorded.get_or_insert_with(|| winner.clone()) == &winner,
                    "concurrent first claims of one event recorded two types: {:?} and {winner:?} ({outcomes:?})",
                    recorded
                );
                outcomes.push((event_type, claim));
            }
            let recorded = recorded.unwrap_or_default();
            ensure!(
                check,
                outcomes.iter().all(|(event_type, claim)| match claim {
                    Claim::Acquired(_) => *event_type == recorded,
                    _ => *event_type != recorded,
                }),
                "concurrent first claims under {recorded:?}: {outcomes:?}"
            );
        }

        // Past its retention the type record no longer binds: another type may use the id.
        let short_lived = self.key("first-retention");
        let held = self
            .acquire_first(false, &short_lived, self.options.short)
            .await?;
        ok(
            check,
            "complete with a short retention",
            self.a.complete(&held, self.options.short).await,
        )?;
        self.expire().await;
        let reused = Key {
            handler: "conformance::second".to_owned(),
            ..short_lived.with_type("charge.refunded")
        };
        let held = self.acquire_first(true, &reused, LONG).await?;
        ok(check, "release", self.b.release(&held).await)
    }

    /// `attempts`: the count carried by [`Lease::attempt`].
    async fn attempts(&self) -> Result<(), Failure> {
        let key = self.key("attempts");
        let first = self.acquire("attempts", false, &key, LONG).await?;
        self.expect_attempt(&first, 1, "the first claim")?;

        // A release ends the claim for good, but keeps its count.
        ok("attempts", "release", self.b.release(&first).await)?;
        self.expect_lease_lost(
            "attempts",
            "complete after release",
            self.a.complete(&first, LONG),
        )
        .await?;
        self.expect_lease_lost(
            "attempts",
            "extend after release",
            self.b.extend(&first, LONG),
        )
        .await?;
        ok("attempts", "release twice", self.a.release(&first).await)?;
        let second = self
            .acquire("attempts", true, &key, self.options.short)
            .await?;
        self.expect_attempt(&second, 2, "the claim after a release")?;
        ok(
            "attempts",
            "release of the spent lease",
            self.a.release(&first).await,
        )?;
        self.expect_in_progress("attempts", false, &key).await?;

        // A takeover of an expired lease counts too.
        self.expire().await;
        let third = self.acquire("attempts", false, &key, LONG).await?;
        self.expect_attempt(&third, 3, "the takeover of an expired lease")?;

        // Claims racing for a released claim: one winner, with the next number.
        ok("attempts", "release", self.a.release(&third).await)?;
        let (winners, outcomes) = self.race(&key, LONG).await?;
        ensure!(
            "attempts",
            winners.len() == 1
                && outcomes
                    .iter()
                    .all(|claim| matches!(claim, Claim::Acquired(_) | Claim::InProgress { .. })),
            "{} concurrent claims on a released key answered {outcomes:?}",
            self.options.concurrency
        );
        self.expect_attempt(&winners[0], 4, "the winner of a race for a released claim")?;

        // Once a completion outlived its retention, counting starts again.
        ok(
            "attempts",
            "complete with a short retention",
            self.b.complete(&winners[0], self.options.short).await,
        )?;
        self.expect_claim("attempts", false, &key, &Claim::Completed)
            .await?;
        self.expire().await;
        if self.options.purge_deletes {
            let purged = store_result(
                "attempts",
                "purge_expired",
                &key,
                self.a.purge_expired().await,
            )?;
            ensure!(
                "attempts",
                purged >= 1,
                "purge_expired deleted {purged} records; expected at least the expired completion"
            );
        }
        let renewed = self.acquire("attempts", true, &key, LONG).await?;
        self.expect_attempt(&renewed, 1, "the claim after the retention")?;

        // A purge removes a released claim: it does not live on.
        ok("attempts", "release", self.a.release(&renewed).await)?;
        if self.options.purge_deletes {
            let purged = store_result(
                "attempts",
                "purge_expired",
                &key,
                self.b.purge_expired().await,
            )?;
            ensure!(
                "attempts",
                purged >= 1,
                "purge_expired deleted {purged} records; expected at least the released claim"
            );
            let after_purge = self.acquire("attempts", false, &key, LONG).await?;
            self.expect_attempt(&after_purge, 1, "the claim after a purge of a released one")?;
            ok("attempts", "release", self.b.release(&after_purge).await)?;
        }

        // A released claim is absent whatever the event type of the next claim.
        let typed = self.key("attempts");
        let held = self.acquire("attempts", true, &typed, LONG).await?;
        ok("attempts", "release", self.a.release(&held).await)?;
        let retyped = self
            .acquire("attempts", false, &typed.with_type("charge.refunded"), LONG)
            .await?;
        ok("attempts", "release", self.b.release(&retyped).await)
    }

    fn expect_attempt(&self, lease: &Lease, counted: u32, what: &str) -> Result<(), Failure> {
        let expected = if self.options.counts_attempts {
            counted
        } else {
            1
        };
        ensure!(
            "attempts",
            lease.attempt() == expected,
            "{what} is attempt {}, expected {expected}",
            lease.attempt()
        );
        Ok(())
    }

    /// Claims `key` from `concurrency` tasks at once, alternating instances.
    async fn race(&self, key: &Key, lease: Duration) -> Result<(Vec<Lease>, Vec<Claim>), Failure> {
        let tasks = self.options.concurrency;
        let barrier = Arc::new(Barrier::new(tasks));
        let mut handles = Vec::with_capacity(tasks);
        for task in 0..tasks {
            let store = Arc::clone(if task % 2 == 0 { &self.a } else { &self.b });
            let barrier = Arc::clone(&barrier);
            let key = key.clone();
            handles.push(tokio::spawn(async move {
                barrier.wait().await;
                store.claim(&key.claim_key(), lease).await
            }));
        }
        let mut outcomes = Vec::with_capacity(tasks);
        for handle in handles {
            let result = handle
                .await
                .map_err(|error| Failure::new("I09", format!("a claim task failed: {error}")))?;
            outcomes.push(store_result("I09", "concurrent claim", key, result)?);
        }
        let winners = outcomes
            .iter()
            .filter_map(|claim| match claim {
                Claim::Acquired(lease) => Some(lease.clone()),
                _ => None,
            })
            .collect();
        Ok((winners, outcomes))
    }

    /// I11: namespaces and handlers are part of the key.
    async fn namespaces(&self) -> Result<(), Failure> {
        let first = self.key("namespace-1");
        let second = Key {
            namespace: format!("conformance-{}-namespace-2", self.run),
            ..first.clone()
        };
        let other_handler = Key {
            handler: "conformance::other_handler".to_owned(),
            ..first.clone()
        };
        let held = self.acquire("I11", false, &first, LONG).await?;
        let held_second = self.acquire("I11", true, &second, LONG).await?;
        let held_other = self.acquire("I11", false, &other_handler, LONG).await?;
        ok("I11", "complete", self.a.complete(&held, LONG).await)?;
        self.expect_in_progress("I11", true, &second).await?;
        self.expect_in_progress("I11", false, &other_handler)
            .await?;
        ok("I11", "release", self.b.release(&held_second).await)?;
        self.expect_claim("I11", false, &first, &Claim::Completed)
            .await?;
        // Another type under the same id in another namespace is no conflict.
        let retyped = self
            .acquire("I11", true, &second.with_type("invoice.paid"), LONG)
            .await?;
        ok("I11", "release", self.b.release(&retyped).await)?;
        ok("I11", "release", self.a.release(&held_other).await)
    }

    /// I12: exact key bytes.
    async fn key_bytes(&self) -> Result<(), Failure> {
        let base = self.key("bytes");
        let longest = format!("evt_{}", "x".repeat(crate::MAX_ID_LEN - 4));
        let ids = [
            "evt_ABC",
            "evt_abc",
            "evt_abc ",
            " evt_abc",
            "evt_abc  ",
            "evt_ab%",
            "evt_ab_",
            "evt_ab\\",
            "evt_ab'",
            "evt_ab\"",
            "evt_ab:3:x",
            "evt_ab|x",
            longest.as_str(),
        ];
        let keys: Vec<Key> = ids.iter().map(|id| base.with_id(id)).collect();
        let mut leases = Vec::new();
        for (i, key) in keys.iter().enumerate() {
            leases.push(self.acquire("I12", i % 2 == 1, key, LONG).await?);
        }
        let recased_handler = Key {
            handler: "conformance::Handler".to_owned(),
            ..keys[0].clone()
        };
        let held = self.acquire("I12", false, &recased_handler, LONG).await?;
        ok("I12", "release", self.a.release(&held).await)?;
        for (i, lease) in leases.iter().enumerate() {
            ok(
                "I12",
                "complete",
                self.store(i % 2 == 0).complete(lease, LONG).await,
            )?;
        }
        for (i, key) in keys.iter().enumerate() {
            self.expect_claim("I12", i % 2 == 0, key, &Claim::Completed)
                .await?;
        }

        let too_long = base.with_id(&format!("{longest}x"));
        let empty = base.with_id("");
        for (what, key) in [
            ("a 256-byte event id", &too_long),
            ("an empty event id", &empty),
        ] {
            match self.a.claim(&key.claim_key(), LONG).await {
                Err(StoreError::InvalidKey(_)) => {}
                other => {
                    return Err(Failure::new(
                        "I12",
                        format!("claim with {what}: expected Err(InvalidKey), got {other:?}"),
                    ))
                }
            }
        }
        Ok(())
    }
}

fn ok(check: &'static str, what: &str, result: Result<(), StoreError>) -> Result<(), Failure> {
    result.map_err(|error| Failure::new(check, format!("{what}: {error:?}")))
}

fn store_result<T>(
    check: &'static str,
    what: &str,
    key: &Key,
    result: Result<T, StoreError>,
) -> Result<T, Failure> {
    result.map_err(|error| Failure::new(check, format!("{what} on {key}: store error {error:?}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MemoryStore;

    /// A store that forgets completions: every check that relies on them must fail, so the
    /// suite can fail at all.
    #[derive(Default)]
    struct Forgetful(MemoryStore);

    impl IdempotencyStore for Forgetful {
        async fn claim(&self, key: &ClaimKey<'_>, lease: Duration) -> Result<Claim, StoreError> {
            self.0.claim(key, lease).await
        }
        async fn complete(&self, lease: &Lease, _retention: Duration) -> Result<(), StoreError> {
            self.0.release(lease).await
        }
        async fn release(&self, lease: &Lease) -> Result<(), StoreError> {
            self.0.release(lease).await
        }
        async fn extend(&self, lease: &Lease, by: Duration) -> Result<(), StoreError> {
            self.0.extend(lease, by).await
        }
        async fn purge_expired(&self) -> Result<u64, StoreError> {
            self.0.purge_expired().await
        }
    }

    /// A store whose claim reads, then writes: claims that race past the read all believe
    /// the key was absent. Everything else is correct.
    #[derive(Default)]
    struct ReadThenWrite(MemoryStore);

    impl IdempotencyStore for ReadThenWrite {
        async fn claim(&self, key: &ClaimKey<'_>, lease: Duration) -> Result<Claim, StoreError> {
            // The "read": is the key free right now?
            match self.0.claim(key, lease).await? {
                Claim::Acquired(peeked) => self.0.release(&peeked).await?,
                other => return Ok(other),
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
            // The "write", trusting the stale read.
            match self.0.claim(key, lease).await? {
                Claim::Acquired(lease) => Ok(Claim::Acquired(lease)),
                _ => Ok(Claim::Acquired(Lease::new(key, Lease::new_token()))),
            }
        }
        async fn complete(&self, lease: &Lease, retention: Duration) -> Result<(), StoreError> {
            self.0.complete(lease, retention).await
        }
        async fn release(&self, lease: &Lease) -> Result<(), StoreError> {
            self.0.release(lease).await
        }
        async fn extend(&self, lease: &Lease, by: Duration) -> Result<(), StoreError> {
            self.0.extend(lease, by).await
        }
        async fn purge_expired(&self) -> Result<u64, StoreError> {
            self.0.purge_expired().await
        }
    }

    /// A store that truncates ids to 255 bytes, as a `varchar(255)` column might.
    #[derive(Default)]
    struct Unvalidated(MemoryStore);

    impl IdempotencyStore for Unvalidated {
        async fn claim(&self, key: &ClaimKey<'_>, lease: Duration) -> Result<Claim, StoreError> {
            let event_id = &key.event_id[..key.event_id.len().min(crate::MAX_ID_LEN)];
            self.0.claim(&ClaimKey { event_id, ..*key }, lease).await
        }
        async fn complete(&self, lease: &Lease, retention: Duration) -> Result<(), StoreError> {
            self.0.complete(lease, retention).await
        }
        async fn release(&self, lease: &Lease) -> Result<(), StoreError> {
            self.0.release(lease).await
        }
        async fn extend(&self, lease: &Lease, by: Duration) -> Result<(), StoreError> {
            self.0.extend(lease, by).await
        }
        async fn purge_expired(&self) -> Result<u64, StoreError> {
            self.0.purge_expired().await
        }
    }

    /// A store that does not count attempts: every lease reports 1.
    #[derive(Default)]
    struct Uncounted(MemoryStore);

    impl IdempotencyStore for Uncounted {
        async fn claim(&self, key: &ClaimKey<'_>, lease: Duration) -> Result<Claim, StoreError> {
            Ok(match self.0.claim(key, lease).await? {
                Claim::Acquired(held) => Claim::Acquired(held.with_attempt(1)),
                other => other,
            })
        }
        async fn complete(&self, lease: &Lease, retention: Duration) -> Result<(), StoreError> {
            self.0.complete(lease, retention).await
        }
        async fn release(&self, lease: &Lease) -> Result<(), StoreError> {
            self.0.release(lease).await
        }
        async fn extend(&self, lease: &Lease, by: Duration) -> Result<(), StoreError> {
            self.0.extend(lease, by).await
        }
        async fn purge_expired(&self) -> Result<u64, StoreError> {
            self.0.purge_expired().await
        }
    }

    /// A store whose first claim does not record the event's type.
    #[derive(Default)]
    struct Typeless(MemoryStore);

    impl IdempotencyStore for Typeless {
        async fn claim(&self, key: &ClaimKey<'_>, lease: Duration) -> Result<Claim, StoreError> {
            self.0.claim(key, lease).await
        }
        async fn claim_first(
            &self,
            key: &ClaimKey<'_>,
            lease: Duration,
            _retention: Duration,
        ) -> Result<Claim, StoreError> {
            self.0.claim(key, lease).await
        }
        async fn complete(&self, lease: &Lease, retention: Duration) -> Result<(), StoreError> {
            self.0.complete(lease, retention).await
        }
        async fn release(&self, lease: &Lease) -> Result<(), StoreError> {
            self.0.release(lease).await
        }
        async fn extend(&self, lease: &Lease, by: Duration) -> Result<(), StoreError> {
            self.0.extend(lease, by).await
        }
        async fn purge_expired(&self) -> Result<u64, StoreError> {
            self.0.purge_expired().await
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn a_store_that_does_not_record_types_fails() {
        let failure = run(Arc::new(Typeless::default())).await.unwrap_err();
        assert_eq!(failure.check, "first", "{failure}");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn memory_store_passes() {
        run(Arc::new(MemoryStore::new())).await.unwrap();
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn a_store_that_forgets_completions_fails() {
        let failure = run(Arc::new(Forgetful::default())).await.unwrap_err();
        assert_eq!(failure.check, "I03", "{failure}");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn a_store_that_reads_then_writes_fails_the_race() {
        let failure = run(Arc::new(ReadThenWrite::default())).await.unwrap_err();
        assert_eq!(failure.check, "I09", "{failure}");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn a_store_that_ignores_the_id_length_fails() {
        let failure = run(Arc::new(Unvalidated::default())).await.unwrap_err();
        assert_eq!(failure.check, "I12", "{failure}");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn a_store_that_does_not_count_attempts_fails_unless_it_says_so() {
        let failure = run(Arc::new(Uncounted::default())).await.unwrap_err();
        assert_eq!(failure.check, "attempts", "{failure}");
        assert!(failure.message.contains("expected 2"), "{failure}");
        Conformance::new()
            .counts_attempts(false)
            .run(Arc::new(Uncounted::default()))
            .await
            .unwrap();
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn a_counting_store_fails_when_said_not_to_count() {
        let failure = Conformance::new()
            .counts_attempts(false)
            .run(Arc::new(MemoryStore::new()))
            .await
            .unwrap_err();
        assert_eq!(failure.check, "attempts", "{failure}");
    }
}

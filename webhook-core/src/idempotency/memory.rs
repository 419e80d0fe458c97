//! The in-memory store: one process, forgotten on restart.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tokio::time::Instant;

use super::{Claim, ClaimKey, IdempotencyStore, Lease, StoreError, EVENT_TYPE_RECORD};

/// The fewest claims between two sweeps of expired records. A sweep visits every record, so
/// the interval also grows with the number of records left after the last sweep: the sweeping
/// costs O(1) per claim however large the store, and memory stays bounded by the records within
/// the retention period (at most about twice them), not by uptime.
const SWEEP_EVERY: usize = 1024;

/// An idempotency store in this process's memory.
///
/// **Guarantee**: duplicates are suppressed within one process while it runs; everything is
/// forgotten on restart (a retried event then runs again) and nothing is shared between
/// instances. Use it for tests, demos and single-instance deployments that accept that; use the
/// SQLite, PostgreSQL or Redis stores otherwise.
///
/// Leases and retention work as in the durable stores, and a panicking handler cannot poison
/// it: the lock is never held while a handler runs, and a poisoned lock is recovered.
#[derive(Debug, Default)]
pub struct MemoryStore {
    state: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    /// Keyed by [`fill_key`]. Keys come only from verified deliveries, which an attacker cannot
    /// choose without the sender's secret, so a fast seeded hash does instead of SipHash.
    records: HashMap<Box<str>, Record, rapidhash::fast::RandomState>,
    /// Claims since the last sweep.
    claims: usize,
    /// Claims between the last sweep and the next.
    sweep_after: usize,
    /// The key being looked up, built in place: only a new record takes a copy of it.
    scratch: String,
    /// The last token issued. Tokens only fence this store's own holders, so a counter is as
    /// unique as a random token and cheaper.
    last_token: u64,
}

#[derive(Debug)]
struct Record {
    event_type: String,
    state: RecordState,
}

#[derive(Debug)]
enum RecordState {
    InProgress {
        token: u64,
        expires: Instant,
        attempts: u32,
    },
    Completed {
        expires: Instant,
    },
    /// Released by its holder: absent to every operation, kept only so the next claim knows
    /// its attempt number, until the next sweep (`expires` is the time of the release).
    Released {
        expires: Instant,
        attempts: u32,
    },
}

impl Record {
    fn expired(&self, now: Instant) -> bool {
        match &self.state {
            RecordState::InProgress { expires, .. }
            | RecordState::Completed { expires }
            | RecordState::Released { expires, .. } => *expires <= now,
        }
    }
}

impl MemoryStore {
    /// An empty store.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// How many records stand: completed, in progress, or expired and not yet swept. Released
    /// claims, absent to every operation and kept until the next sweep only for their attempt
    /// count, are not included (leaving them out walks every record).
    #[must_use]
    pub fn len(&self) -> usize {
        self.lock()
            .records
            .values()
            .filter(|record| !matches!(record.state, RecordState::Released { .. }))
            .count()
    }

    /// Whether no records are held.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // No code panics while holding this lock, but a poisoned lock must never take the
        // store down with it: the data is always consistent between statements.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Writes the map key of (namespace, event id, handler) into `buf`. One string rather than a
/// tuple of three: one hash per lookup. A claimed key's namespace and event id are printable
/// ASCII and its handler path has no control characters (`ClaimKey::validate`), so NUL
/// separators keep keys unambiguous.
fn fill_key(buf: &mut String, namespace: &str, event_id: &str, handler: &str) {
    buf.clear();
    buf.push_str(namespace);
    buf.push('\0');
    buf.push_str(event_id);
    buf.push('\0');
    buf.push_str(handler);
}

/// Whether `lease` carries `token`, compared as text: a lease this store did not issue (`05`,
/// `+5`) never holds, even where it would parse to the same number.
fn carries(lease: &Lease, token: u64) -> bool {
    itoa::Buffer::new().format(token) == lease.token()
}

/// Writes `event_type` and `state` into `record`, reusing its allocations, or, when there is
/// none, returns the new record for the caller to insert.
fn write(record: Option<&mut Record>, event_type: &str, state: RecordState) -> Option<Record> {
    match record {
        Some(record) => {
            record.event_type.clear();
            record.event_type.push_str(event_type);
            record.state = state;
            None
        }
        None => Some(Record {
            event_type: event_type.to_owned(),
            state,
        }),
    }
}

impl Inner {
    fn sweep_if_due(&mut self, now: Instant) {
        self.claims += 1;
        if self.claims >= self.sweep_after.max(SWEEP_EVERY) {
            self.records.retain(|_, record| !record.expired(now));
            self.claims = 0;
            self.sweep_after = self.records.len();
        }
    }

    /// The record `lease` holds, if it still holds it.
    fn held(&mut self, lease: &Lease) -> Option<&mut Record> {
        fill_key(
            &mut self.scratch,
            lease.namespace(),
            lease.event_id(),
            lease.handler(),
        );
        self.records
            .get_mut(self.scratch.as_str())
            .filter(|record| matches!(record.state, RecordState::InProgress { token, .. } if carries(lease, token)))
    }

    /// `IdempotencyStore::claim` under the lock.
    fn claim(&mut self, key: &ClaimKey<'_>, lease: Duration, now: Instant) -> Claim {
        fill_key(&mut self.scratch, key.namespace, key.event_id, key.handler);
        let mut attempts = 1;
        let record = self.records.get_mut(self.scratch.as_str());
        if let Some(record) = &record {
            if let RecordState::InProgress { attempts: n, .. }
            | RecordState::Released { attempts: n, .. } = record.state
            {
                attempts = n.saturating_add(1);
            }
            if standing(record, now) {
                if record.event_type != key.event_type {
                    return Claim::Conflict {
                        recorded_type: record.event_type.clone(),
                    };
                }
                match &record.state {
                    RecordState::Completed { .. } => return Claim::Completed,
                    RecordState::InProgress { expires, .. } if *expires > now => {
                        return Claim::InProgress {
                            retry_after: *expires - now,
                        };
                    }
                    RecordState::InProgress { .. } | RecordState::Released { .. } => {}
                }
            }
        }
        self.last_token += 1;
        let token = self.last_token;
        let state = RecordState::InProgress {
            token,
            expires: now + lease,
            attempts,
        };
        if let Some(new) = write(record, key.event_type, state) {
            self.records.insert(self.scratch.as_str().into(), new);
        }
        Claim::Acquired(Lease::new(key, itoa::Buffer::new().format(token)).with_attempt(attempts))
    }

    /// Records `key`'s event type under [`EVENT_TYPE_RECORD`] unless it stands already; the
    /// conflict if it stands with another type.
    fn record_type(
        &mut self,
        key: &ClaimKey<'_>,
        retention: Duration,
        now: Instant,
    ) -> Option<Claim> {
        fill_key(
            &mut self.scratch,
            key.namespace,
            key.event_id,
            EVENT_TYPE_RECORD,
        );
        let completed = RecordState::Completed {
            expires: now + retention,
        };
        let record = self.records.get_mut(self.scratch.as_str());
        if let Some(record) = record.as_deref().filter(|record| standing(record, now)) {
            return (record.event_type != key.event_type).then(|| Claim::Conflict {
                recorded_type: record.event_type.clone(),
            });
        }
        if let Some(new) = write(record, key.event_type, completed) {
            self.records.insert(self.scratch.as_str().into(), new);
        }
        None
    }
}

/// Whether a record counts: not released, and not completed past its retention (an expired
/// lease still counts, for its event type and attempt number).
fn standing(record: &Record, now: Instant) -> bool {
    match record.state {
        RecordState::Released { .. } => false,
        RecordState::Completed { expires } => expires > now,
        RecordState::InProgress { .. } => true,
    }
}

impl IdempotencyStore for MemoryStore {
    async fn claim(&self, key: &ClaimKey<'_>, lease: Duration) -> Result<Claim, StoreError> {
        key.validate()?;
        let now = Instant::now();
        let mut inner = self.lock();
        inner.sweep_if_due(now);
        Ok(inner.claim(key, lease, now))
    }

    /// Both steps under one lock.
    async fn claim_first(
        &self,
        key: &ClaimKey<'_>,
        lease: Duration,
        retention: Duration,
    ) -> Result<Claim, StoreError> {
        key.validate()?;
        let now = Instant::now();
        let mut inner = self.lock();
        inner.sweep_if_due(now);
        if let Some(conflict) = inner.record_type(key, retention, now) {
            return Ok(conflict);
        }
        Ok(inner.claim(key, lease, now))
    }

    async fn complete(&self, lease: &Lease, retention: Duration) -> Result<(), StoreError> {
        let mut inner = self.lock();
        let record = inner.held(lease).ok_or(StoreError::LeaseLost)?;
        record.state = RecordState::Completed {
            expires: Instant::now() + retention,
        };
        Ok(())
    }

    async fn release(&self, lease: &Lease) -> Result<(), StoreError> {
        let mut inner = self.lock();
        if let Some(record) = inner.held(lease) {
            if let RecordState::InProgress { attempts, .. } = record.state {
                record.state = RecordState::Released {
                    expires: Instant::now(),
                    attempts,
                };
            }
        }
        Ok(())
    }

    async fn extend(&self, lease: &Lease, by: Duration) -> Result<(), StoreError> {
        let mut inner = self.lock();
        match inner.held(lease).map(|record| &mut record.state) {
            Some(RecordState::InProgress { expires, .. }) => {
                *expires = Instant::now() + by;
                Ok(())
            }
            _ => Err(StoreError::LeaseLost),
        }
    }

    async fn purge_expired(&self) -> Result<u64, StoreError> {
        let now = Instant::now();
        let mut inner = self.lock();
        let before = inner.records.len();
        inner.records.retain(|_, record| !record.expired(now));
        Ok((before - inner.records.len()) as u64)
    }
}

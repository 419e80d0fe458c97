//! The in-memory store: one process, forgotten on restart.

use std::collections::hash_map::Entry;
use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tokio::time::Instant;

use super::{Claim, ClaimKey, IdempotencyStore, Lease, StoreError};

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
    /// Keyed by [`key_of`].
    records: HashMap<String, Record>,
    /// Claims since the last sweep.
    claims: usize,
    /// Claims between the last sweep and the next.
    sweep_after: usize,
}

#[derive(Debug)]
struct Record {
    event_type: String,
    state: RecordState,
}

#[derive(Debug)]
enum RecordState {
    InProgress {
        token: String,
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

fn key_of(namespace: &str, event_id: &str, handler: &str) -> String {
    // One string rather than a tuple of three: one allocation and one hash per lookup. A
    // claimed key's namespace and event id are printable ASCII and its handler path has no
    // control characters (`ClaimKey::validate`), so NUL separators keep keys unambiguous.
    let mut key = String::with_capacity(namespace.len() + event_id.len() + handler.len() + 2);
    key.push_str(namespace);
    key.push('\0');
    key.push_str(event_id);
    key.push('\0');
    key.push_str(handler);
    key
}

fn holds(record: Option<&Record>, lease: &Lease) -> bool {
    matches!(record, Some(Record { state: RecordState::InProgress { token, .. }, .. }) if token == lease.token())
}

impl IdempotencyStore for MemoryStore {
    async fn claim(&self, key: &ClaimKey<'_>, lease: Duration) -> Result<Claim, StoreError> {
        key.validate()?;
        let now = Instant::now();
        let mut inner = self.lock();
        inner.claims += 1;
        if inner.claims >= inner.sweep_after.max(SWEEP_EVERY) {
            inner.records.retain(|_, record| !record.expired(now));
            inner.claims = 0;
            inner.sweep_after = inner.records.len();
        }
        let map_key = key_of(key.namespace, key.event_id, key.handler);
        // One lookup (one hash of the key) whether the claim is granted or not.
        let mut attempts = 1;
        let slot = match inner.records.entry(map_key) {
            Entry::Occupied(entry) => {
                let record = entry.get();
                let completed_and_expired =
                    matches!(record.state, RecordState::Completed { .. }) && record.expired(now);
                if let RecordState::InProgress { attempts: n, .. }
                | RecordState::Released { attempts: n, .. } = record.state
                {
                    attempts = n.saturating_add(1);
                }
                let released = matches!(record.state, RecordState::Released { .. });
                if !completed_and_expired && !released {
                    if record.event_type != key.event_type {
                        return Ok(Claim::Conflict {
                            recorded_type: record.event_type.clone(),
                        });
                    }
                    match &record.state {
                        RecordState::Completed { .. } => return Ok(Claim::Completed),
                        RecordState::InProgress { expires, .. } if *expires > now => {
                            return Ok(Claim::InProgress {
                                retry_after: *expires - now,
                            });
                        }
                        RecordState::InProgress { .. } | RecordState::Released { .. } => {}
                    }
                }
                Entry::Occupied(entry)
            }
            vacant @ Entry::Vacant(_) => vacant,
        };
        let token = Lease::new_token();
        let record = Record {
            event_type: key.event_type.to_owned(),
            state: RecordState::InProgress {
                token: token.clone(),
                expires: now + lease,
                attempts,
            },
        };
        match slot {
            Entry::Occupied(mut entry) => {
                entry.insert(record);
            }
            Entry::Vacant(entry) => {
                entry.insert(record);
            }
        }
        Ok(Claim::Acquired(
            Lease::new(key, token).with_attempt(attempts),
        ))
    }

    async fn complete(&self, lease: &Lease, retention: Duration) -> Result<(), StoreError> {
        let mut inner = self.lock();
        let map_key = key_of(lease.namespace(), lease.event_id(), lease.handler());
        match inner.records.get_mut(&map_key) {
            Some(record) if holds(Some(record), lease) => {
                record.state = RecordState::Completed {
                    expires: Instant::now() + retention,
                };
                Ok(())
            }
            _ => Err(StoreError::LeaseLost),
        }
    }

    async fn release(&self, lease: &Lease) -> Result<(), StoreError> {
        let mut inner = self.lock();
        let map_key = key_of(lease.namespace(), lease.event_id(), lease.handler());
        if let Some(record) = inner.records.get_mut(&map_key) {
            if let RecordState::InProgress {
                token, attempts, ..
            } = &record.state
            {
                if token == lease.token() {
                    record.state = RecordState::Released {
                        expires: Instant::now(),
                        attempts: *attempts,
                    };
                }
            }
        }
        Ok(())
    }

    async fn extend(&self, lease: &Lease, by: Duration) -> Result<(), StoreError> {
        let mut inner = self.lock();
        let map_key = key_of(lease.namespace(), lease.event_id(), lease.handler());
        match inner.records.get_mut(&map_key) {
            Some(Record {
                state: RecordState::InProgress { token, expires, .. },
                ..
            }) if token == lease.token() => {
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

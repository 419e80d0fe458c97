//! The in-memory store: one process, forgotten on restart.

use std::collections::HashSet;
use std::hash::BuildHasher;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use hashbrown::HashTable;
use smallvec::SmallVec;
use tokio::time::Instant;

use super::{Claim, ClaimKey, IdempotencyStore, Lease, StoreError, EVENT_TYPE_RECORD};

/// The fewest claims between two sweeps of expired records. A sweep visits every record, so
/// the interval also grows with the number of events left after the last sweep: the sweeping
/// costs O(1) per claim however large the store, and memory stays bounded by the records within
/// the retention period (at most about twice them), not by uptime.
const SWEEP_EVERY: usize = 1024;

/// A fast seeded hash. Keys come only from verified deliveries, which an attacker cannot
/// choose without the sender's secret, so it does instead of SipHash.
type Hasher = rapidhash::fast::RandomState;

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

#[derive(Debug)]
struct Inner {
    /// One entry per (namespace, event id) holding all of the event's records (its type
    /// record and each handler's claim), so one probe finds them all. Each entry keeps its
    /// key's hash: growing the table moves entries without reading their keys again.
    events: HashTable<Entry>,
    hasher: Hasher,
    /// Handler paths and event types, shared by every record that names them, so a record
    /// allocates neither. Handler paths come from the application's code and types from
    /// verified deliveries; a sweep drops those no record names any more.
    names: HashSet<Arc<str>, Hasher>,
    /// [`EVENT_TYPE_RECORD`], shared by every type record.
    type_record: Arc<str>,
    /// Claims since the last sweep.
    claims: usize,
    /// Claims between the last sweep and the next.
    sweep_after: usize,
    /// The key being looked up, built in place: only a new entry takes a copy of it.
    scratch: String,
    /// The last token issued. Tokens only fence this store's own holders, so a counter is as
    /// unique as a random token and cheaper.
    last_token: u64,
}

impl Default for Inner {
    fn default() -> Self {
        Self {
            events: HashTable::new(),
            hasher: Hasher::default(),
            names: HashSet::default(),
            type_record: EVENT_TYPE_RECORD.into(),
            claims: 0,
            sweep_after: 0,
            scratch: String::new(),
            last_token: 0,
        }
    }
}

#[derive(Debug)]
struct Entry {
    hash: u64,
    /// Written by [`fill_key`].
    key: Box<str>,
    /// Most events have one handler beside their type record: both fit inline.
    records: SmallVec<[Record; 2]>,
}

#[derive(Debug)]
struct Record {
    handler: Arc<str>,
    event_type: Arc<str>,
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

    /// Whether it counts: not released, and not completed past its retention (an expired
    /// lease still counts, for its event type and attempt number).
    fn standing(&self, now: Instant) -> bool {
        match self.state {
            RecordState::Released { .. } => false,
            RecordState::Completed { expires } => expires > now,
            RecordState::InProgress { .. } => true,
        }
    }

    /// The attempt number a new claim of this record gets.
    fn next_attempt(&self) -> u32 {
        match self.state {
            RecordState::InProgress { attempts, .. } | RecordState::Released { attempts, .. } => {
                attempts.saturating_add(1)
            }
            RecordState::Completed { .. } => 1,
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
            .events
            .iter()
            .flat_map(|entry| &entry.records)
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

/// Writes the table key of (namespace, event id) into `buf`. One string rather than a pair:
/// one hash per lookup. A claimed key's namespace is printable ASCII (`ClaimKey::validate`),
/// so a NUL separator keeps keys unambiguous.
fn fill_key(buf: &mut String, namespace: &str, event_id: &str) {
    buf.clear();
    buf.push_str(namespace);
    buf.push('\0');
    buf.push_str(event_id);
}

/// Whether `lease` carries `token`, compared as text: a lease this store did not issue (`05`,
/// `+5`) never holds, even where it would parse to the same number.
fn carries(lease: &Lease, token: u64) -> bool {
    itoa::Buffer::new().format(token) == lease.token()
}

/// The shared copy of `name`, made on first use.
fn intern(names: &mut HashSet<Arc<str>, Hasher>, name: &str) -> Arc<str> {
    if let Some(shared) = names.get(name) {
        return Arc::clone(shared);
    }
    let shared: Arc<str> = name.into();
    names.insert(Arc::clone(&shared));
    shared
}

impl Entry {
    fn record(&mut self, handler: &str) -> Option<&mut Record> {
        self.records
            .iter_mut()
            .find(|record| *record.handler == *handler)
    }
}

impl Inner {
    fn sweep_if_due(&mut self, now: Instant) {
        self.claims += 1;
        if self.claims >= self.sweep_after.max(SWEEP_EVERY) {
            self.remove_expired(now);
            self.claims = 0;
            self.sweep_after = self.events.len();
        }
    }

    /// Drops expired records, entries left without records and names no record uses; how
    /// many records were dropped.
    fn remove_expired(&mut self, now: Instant) -> usize {
        let mut removed = 0;
        self.events.retain(|entry| {
            let before = entry.records.len();
            entry.records.retain(|record| !record.expired(now));
            removed += before - entry.records.len();
            !entry.records.is_empty()
        });
        self.names.retain(|name| Arc::strong_count(name) > 1);
        removed
    }

    /// The entry of (namespace, event id), if any.
    fn entry(&mut self, namespace: &str, event_id: &str) -> Option<&mut Entry> {
        fill_key(&mut self.scratch, namespace, event_id);
        let hash = self.hasher.hash_one(self.scratch.as_str());
        let key = self.scratch.as_str();
        self.events
            .find_mut(hash, |entry| entry.hash == hash && *entry.key == *key)
    }

    /// The record `lease` holds, if it still holds it.
    fn held(&mut self, lease: &Lease) -> Option<&mut Record> {
        self.entry(lease.namespace(), lease.event_id())?
            .record(lease.handler())
            .filter(|record| matches!(record.state, RecordState::InProgress { token, .. } if carries(lease, token)))
    }

    /// `IdempotencyStore::claim` under the lock; with `retention`, `claim_first`.
    fn claim(
        &mut self,
        key: &ClaimKey<'_>,
        lease: Duration,
        type_retention: Option<Duration>,
        now: Instant,
    ) -> Claim {
        // Split borrows: the entry lives in `events`, the shared names in `names`.
        let entry = {
            fill_key(&mut self.scratch, key.namespace, key.event_id);
            let hash = self.hasher.hash_one(self.scratch.as_str());
            let scratch = self.scratch.as_str();
            self.events
                .entry(
                    hash,
                    |entry| entry.hash == hash && *entry.key == *scratch,
                    |entry| entry.hash,
                )
                .or_insert_with(|| Entry {
                    hash,
                    key: scratch.into(),
                    records: SmallVec::new(),
                })
                .into_mut()
        };
        let names = &mut self.names;
        // Both records of a new event share one copy of its type.
        let mut shared_type = None;
        let mut event_type =
            || Arc::clone(shared_type.get_or_insert_with(|| intern(names, key.event_type)));
        if let Some(retention) = type_retention {
            let completed = RecordState::Completed {
                expires: now + retention,
            };
            match entry.record(EVENT_TYPE_RECORD) {
                Some(record) if record.standing(now) => {
                    if *record.event_type != *key.event_type {
                        return Claim::Conflict {
                            recorded_type: record.event_type.to_string(),
                        };
                    }
                }
                Some(record) => {
                    record.event_type = event_type();
                    record.state = completed;
                }
                None => entry.records.push(Record {
                    handler: Arc::clone(&self.type_record),
                    event_type: event_type(),
                    state: completed,
                }),
            }
        }
        let record = entry.record(key.handler);
        let attempts = record.as_deref().map_or(1, Record::next_attempt);
        if let Some(record) = record.as_deref().filter(|record| record.standing(now)) {
            if *record.event_type != *key.event_type {
                return Claim::Conflict {
                    recorded_type: record.event_type.to_string(),
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
        self.last_token += 1;
        let token = self.last_token;
        let state = RecordState::InProgress {
            token,
            expires: now + lease,
            attempts,
        };
        match record {
            Some(record) => {
                if *record.event_type != *key.event_type {
                    record.event_type = event_type();
                }
                record.state = state;
            }
            None => {
                let event_type = event_type();
                entry.records.push(Record {
                    handler: intern(names, key.handler),
                    event_type,
                    state,
                });
            }
        }
        Claim::Acquired(Lease::new(key, itoa::Buffer::new().format(token)).with_attempt(attempts))
    }
}

impl IdempotencyStore for MemoryStore {
    async fn claim(&self, key: &ClaimKey<'_>, lease: Duration) -> Result<Claim, StoreError> {
        key.validate()?;
        let now = Instant::now();
        let mut inner = self.lock();
        inner.sweep_if_due(now);
        Ok(inner.claim(key, lease, None, now))
    }

    /// Both steps under one lock, on one entry.
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
        Ok(inner.claim(key, lease, Some(retention), now))
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
        let removed = self.lock().remove_expired(now);
        Ok(removed as u64)
    }
}

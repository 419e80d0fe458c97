//! The in-memory store: one process, forgotten on restart.

use std::cell::Cell;
use std::hash::BuildHasher;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use hashbrown::HashTable;
use smallvec::SmallVec;

use super::{Claim, ClaimKey, IdempotencyStore, Lease, StoreError, EVENT_TYPE_RECORD};
use crate::clock::{nanos, CoarseClock};

/// The fewest claims between two sweeps of expired records. A sweep visits every record, so
/// the interval also grows with the number of events left after the last sweep: the sweeping
/// costs O(1) per claim however large the store, and memory stays bounded by the records within
/// the retention period (at most about twice them), not by uptime. A sweep that is due is
/// skipped while no record can have expired yet (see `Inner::next_expiry`): with retention
/// measured in days, most would visit every record to remove none.
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
/// it: the lock is never held while a handler runs, and a poisoned lock is recovered. Their
/// times come from the coarse monotonic clock on Linux (resolution 1 to 4 ms, the kernel's
/// tick), so a lease or retention period ends up to one tick early or late.
#[derive(Debug, Default)]
pub struct MemoryStore {
    state: Mutex<Inner>,
}

/// Every record of a store: a new event costs one entry (its key inline, unless a long one).
#[derive(Debug)]
struct Inner {
    /// One entry per (namespace, event id) holding all of the event's records (its type
    /// record and each handler's claim), so one probe finds them all.
    events: Events,
    /// Handler paths and event types, which records name by index.
    names: Names,
    /// [`EVENT_TYPE_RECORD`]'s index in `names`.
    type_record: u32,
    /// Records keep their times as nanoseconds of this clock: 8 bytes instead of 16. Coarse:
    /// every operation reads it, and leases and retention are seconds long.
    clock: CoarseClock,
    /// Claims since the last sweep.
    claims: usize,
    /// Claims between the last sweep and the next.
    sweep_after: usize,
    /// The last token issued. Tokens only fence this store's own holders, so a counter is as
    /// unique as a random token and cheaper.
    last_token: u64,
    /// No record expires before this: the earliest expiry left by the last sweep, lowered by
    /// every write since (each lowers it to the soonest expiry it can have written).
    next_expiry: Nanos,
}

impl Default for Inner {
    fn default() -> Self {
        let mut names = Names::default();
        let type_record = names.intern(EVENT_TYPE_RECORD);
        Self {
            events: Events::default(),
            names,
            type_record,
            clock: CoarseClock::new(),
            claims: 0,
            sweep_after: 0,
            last_token: 0,
            next_expiry: Nanos::MAX,
        }
    }
}

/// A time in nanoseconds of the store's clock.
type Nanos = u64;

/// The entries of a store, by key.
///
/// The hash table holds only where each entry is (8 bytes a slot) and the entries sit in a
/// vector, new ones at its end: a new event writes one small slot at a random place (a cache
/// miss in a large store) and its entry next to the last one written, where an entry stored in
/// the table itself would cost a miss for every cache line it spans, and growing the table
/// would move every entry. A slot keeps 32 bits of its key's hash, which is all the table
/// needs to grow without reading keys.
#[derive(Debug, Default)]
struct Events {
    index: HashTable<Slot>,
    entries: Vec<Entry>,
    /// Places in `entries` that a sweep emptied (their key is empty), reused first.
    free: Vec<u32>,
    hasher: Hasher,
}

#[derive(Debug, Clone, Copy)]
struct Slot {
    entry: u32,
    hash: u32,
}

impl Slot {
    /// The table's hash of a slot: hashbrown places by the low bits and tags by the top seven,
    /// so both come from the 32 bits kept.
    fn table_hash(hash: u32) -> u64 {
        (u64::from(hash) << 32) | u64::from(hash)
    }
}

impl Events {
    /// The hash of the key of (namespace, event id), as slots keep it: hashed from its two
    /// parts, so a lookup never assembles the key.
    fn hash(&self, key: Key<'_>) -> u32 {
        // The low half of a 64-bit hash is as well mixed as the whole.
        #[allow(clippy::cast_possible_truncation)]
        let hash = self.hasher.hash_one((key.namespace, key.event_id)) as u32;
        hash
    }

    /// How many events have records.
    fn len(&self) -> usize {
        self.index.len()
    }

    fn iter(&self) -> impl Iterator<Item = &Entry> {
        self.entries.iter().filter(|entry| !entry.key.is_empty())
    }

    fn get_mut(&mut self, key: Key<'_>) -> Option<&mut Entry> {
        let hash = self.hash(key);
        let Self { index, entries, .. } = self;
        let slot = index.find(Slot::table_hash(hash), is_slot_of(entries, hash, key))?;
        entries.get_mut(slot.entry as usize)
    }

    /// The entry of `key`, made (without records) if there is none.
    fn get_or_insert(&mut self, key: Key<'_>) -> &mut Entry {
        let hash = self.hash(key);
        let Self {
            index,
            entries,
            free,
            ..
        } = self;
        let slot = index
            .entry(
                Slot::table_hash(hash),
                is_slot_of(entries, hash, key),
                |slot| Slot::table_hash(slot.hash),
            )
            .or_insert_with(|| {
                let entry = Entry {
                    key: key.joined(),
                    records: SmallVec::new(),
                };
                let place = match free.pop() {
                    Some(place) => {
                        entries[place as usize] = entry;
                        place
                    }
                    None => {
                        // Four billion events standing at once would take hundreds of
                        // gigabytes first.
                        let place = u32::try_from(entries.len()).unwrap_or(u32::MAX);
                        entries.push(entry);
                        place
                    }
                };
                Slot { entry: place, hash }
            });
        &mut entries[slot.get().entry as usize]
    }

    /// Keeps the entries for which `keep` (which may change their records) says so.
    fn retain(&mut self, mut keep: impl FnMut(&mut Entry) -> bool) {
        let mut dropped = false;
        for (place, entry) in self.entries.iter_mut().enumerate() {
            if !entry.key.is_empty() && !keep(entry) {
                *entry = Entry {
                    key: SmallVec::new(),
                    records: SmallVec::new(),
                };
                self.free.push(u32::try_from(place).unwrap_or(u32::MAX));
                dropped = true;
            }
        }
        if dropped {
            let entries = &self.entries;
            self.index
                .retain(|slot| !entries[slot.entry as usize].key.is_empty());
        }
    }
}

/// Whether a slot is that of `key`, whose hash is `hash`: the kept hash first, which settles
/// nearly every other slot without reading its entry.
fn is_slot_of<'a>(entries: &'a [Entry], hash: u32, key: Key<'a>) -> impl Fn(&Slot) -> bool + 'a {
    move |slot| slot.hash == hash && key.is(&entries[slot.entry as usize].key)
}

/// The key of an event's entry: its namespace and id. An entry keeps them joined in one string
/// (see [`Key::joined`]); a lookup compares and hashes the two parts as they are.
#[derive(Debug, Clone, Copy)]
struct Key<'a> {
    namespace: &'a str,
    event_id: &'a str,
}

impl Key<'_> {
    /// The namespace, a NUL and the event id. A claimed key's namespace is printable ASCII
    /// (`ClaimKey::validate`), so the NUL keeps keys unambiguous.
    fn joined(self) -> EntryKey {
        let (namespace, event_id) = (self.namespace.as_bytes(), self.event_id.as_bytes());
        let mut joined = EntryKey::with_capacity(namespace.len() + 1 + event_id.len());
        joined.extend_from_slice(namespace);
        joined.push(0);
        joined.extend_from_slice(event_id);
        joined
    }

    /// Whether `joined` is this key, as [`Key::joined`] writes it.
    fn is(self, joined: &[u8]) -> bool {
        joined.len() == self.namespace.len() + 1 + self.event_id.len()
            && joined.starts_with(self.namespace.as_bytes())
            && joined.ends_with(self.event_id.as_bytes())
            && joined[self.namespace.len()] == 0
    }
}

/// An entry's key, inline up to 48 bytes (the default namespace with a Stripe-style event id
/// takes 36). Inline rather than an allocation of its own: a new event's key outlives the
/// delivery, and one small allocation kept per event left glibc's per-thread cache empty for
/// the next delivery's small allocations, most of which then took the allocator's slow path
/// (BENCHMARKS.md, Session 14: ~2.9k instructions per HTTP request).
type EntryKey = SmallVec<[u8; 48]>;

#[derive(Debug)]
struct Entry {
    /// The table key (see [`Key::joined`]); empty for a free place.
    key: EntryKey,
    /// Most events have one handler beside their type record: both fit inline.
    records: SmallVec<[Record; 2]>,
}

#[derive(Debug, Clone, Copy)]
struct Record {
    /// Index in [`Names`].
    handler: u32,
    /// Index in [`Names`].
    event_type: u32,
    state: RecordState,
}

#[derive(Debug, Clone, Copy)]
enum RecordState {
    InProgress {
        token: u64,
        expires: Nanos,
        attempts: u32,
    },
    Completed {
        expires: Nanos,
    },
    /// Released by its holder: absent to every operation, kept only so the next claim knows
    /// its attempt number, until the next sweep (`expires` is the time of the release).
    Released {
        expires: Nanos,
        attempts: u32,
    },
}

impl Record {
    fn expires(&self) -> Nanos {
        match self.state {
            RecordState::InProgress { expires, .. }
            | RecordState::Completed { expires }
            | RecordState::Released { expires, .. } => expires,
        }
    }

    fn expired(&self, now: Nanos) -> bool {
        self.expires() <= now
    }

    /// Whether it counts: not released, and not completed past its retention (an expired
    /// lease still counts, for its event type and attempt number).
    fn standing(&self, now: Nanos) -> bool {
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

/// Handler paths and event types by index: a record names each in 4 bytes, and copying one
/// touches no reference count. Handler paths come from the application's code and types from
/// verified deliveries; a sweep frees those no record names any more.
#[derive(Debug, Default)]
struct Names {
    /// By index; a freed slot holds `None` until it is reused.
    slots: Vec<Option<Box<str>>>,
    /// Indices of the occupied slots, hashed by their name.
    index: HashTable<u32>,
    free: Vec<u32>,
    hasher: Hasher,
    /// The indices of the last two names found, tried before hashing: a delivery looks up its
    /// handler and its event type, and most deliveries name the same ones as the one before.
    /// Checked by content, so a stale index (its slot freed or reused) only misses.
    recent: [Cell<u32>; 2],
    /// Which of `recent` the next name found replaces.
    older: Cell<usize>,
}

impl Names {
    fn get(&self, index: u32) -> &str {
        slot(&self.slots, index)
    }

    fn find(&self, name: &str) -> Option<u32> {
        if let Some(recent) = self
            .recent
            .iter()
            .map(Cell::get)
            .find(|&index| self.get(index) == name)
        {
            return Some(recent);
        }
        let hash = self.hasher.hash_one(name);
        let found = *self
            .index
            .find(hash, |&index| slot(&self.slots, index) == name)?;
        self.remember(found);
        Some(found)
    }

    fn remember(&self, index: u32) {
        let older = self.older.get();
        self.recent[older].set(index);
        self.older.set(1 - older);
    }

    fn intern(&mut self, name: &str) -> u32 {
        if let Some(found) = self.find(name) {
            return found;
        }
        let Self {
            slots,
            index,
            free,
            hasher,
            ..
        } = self;
        let taken = match free.pop() {
            Some(taken) => {
                slots[taken as usize] = Some(name.into());
                taken
            }
            None => {
                // Four billion names standing at once would take far more memory than this
                // store could hold first.
                let taken = u32::try_from(slots.len()).unwrap_or(u32::MAX);
                slots.push(Some(name.into()));
                taken
            }
        };
        index.insert_unique(hasher.hash_one(name), taken, |&index| {
            hasher.hash_one(slot(slots, index))
        });
        self.remember(taken);
        taken
    }

    /// Frees every name whose index `used` does not mark.
    fn retain_used(&mut self, used: &[bool]) {
        let Self {
            slots, index, free, ..
        } = self;
        index.retain(|&mut taken| {
            let keep = used.get(taken as usize).copied().unwrap_or(false);
            if !keep {
                slots[taken as usize] = None;
                free.push(taken);
            }
            keep
        });
    }
}

fn slot(slots: &[Option<Box<str>>], index: u32) -> &str {
    slots
        .get(index as usize)
        .and_then(Option::as_deref)
        .unwrap_or_default()
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

/// Whether `lease` carries `token`, compared as text: a lease this store did not issue (`05`,
/// `+5`) never holds, even where it would parse to the same number.
fn carries(lease: &Lease, token: u64) -> bool {
    itoa::Buffer::new().format(token) == lease.token()
}

impl Entry {
    fn record(&mut self, handler: Option<u32>) -> Option<&mut Record> {
        let handler = handler?;
        self.records
            .iter_mut()
            .find(|record| record.handler == handler)
    }
}

impl Inner {
    fn now(&self) -> Nanos {
        self.clock.nanos()
    }

    /// Notes that a record may now expire at `expires`.
    fn may_expire_at(&mut self, expires: Nanos) {
        self.next_expiry = self.next_expiry.min(expires);
    }

    fn sweep_if_due(&mut self, now: Nanos) {
        self.claims += 1;
        if self.claims >= self.sweep_after.max(SWEEP_EVERY) && now >= self.next_expiry {
            self.remove_expired(now);
            self.claims = 0;
            self.sweep_after = self.events.len();
        }
    }

    /// Drops expired records, entries left without records and names no record uses; how
    /// many records were dropped.
    fn remove_expired(&mut self, now: Nanos) -> usize {
        let mut removed = 0;
        let mut next_expiry = Nanos::MAX;
        let mut used = vec![false; self.names.slots.len()];
        let mut mark = |index: u32| {
            if let Some(used) = used.get_mut(index as usize) {
                *used = true;
            }
        };
        mark(self.type_record);
        self.events.retain(|entry| {
            let before = entry.records.len();
            entry.records.retain(|record| !record.expired(now));
            removed += before - entry.records.len();
            for record in &entry.records {
                mark(record.handler);
                mark(record.event_type);
                next_expiry = next_expiry.min(record.expires());
            }
            !entry.records.is_empty()
        });
        self.names.retain_used(&used);
        self.next_expiry = next_expiry;
        removed
    }

    /// The entry of (namespace, event id), if any.
    fn entry(&mut self, namespace: &str, event_id: &str) -> Option<&mut Entry> {
        self.events.get_mut(Key {
            namespace,
            event_id,
        })
    }

    /// The record `lease` holds, if it still holds it.
    fn held(&mut self, lease: &Lease) -> Option<&mut Record> {
        let handler = self.names.find(lease.handler());
        self.entry(lease.namespace(), lease.event_id())?
            .record(handler)
            .filter(|record| matches!(record.state, RecordState::InProgress { token, .. } if carries(lease, token)))
    }

    /// `IdempotencyStore::claim` under the lock; with `retention`, `claim_first`.
    fn claim(
        &mut self,
        key: &ClaimKey<'_>,
        lease: Duration,
        type_retention: Option<Duration>,
        now: Nanos,
    ) -> Claim {
        // The soonest expiry this claim can write: its lease, or the type record's retention.
        let soonest = nanos(lease).min(type_retention.map_or(Nanos::MAX, nanos));
        self.may_expire_at(now.saturating_add(soonest));
        let handler = self.names.find(key.handler);
        // Split borrows: the entry lives in `events`, the names in `names`.
        let entry = self.events.get_or_insert(Key {
            namespace: key.namespace,
            event_id: key.event_id,
        });
        let names = &mut self.names;
        // Each name is looked up at most once per claim (a new event's type names two records).
        let mut type_index = None;
        let mut intern_type =
            |names: &mut Names| *type_index.get_or_insert_with(|| names.intern(key.event_type));
        let conflict = |names: &Names, record: &Record| {
            let recorded = names.get(record.event_type);
            (recorded != key.event_type).then(|| Claim::Conflict {
                recorded_type: recorded.to_owned(),
            })
        };
        if let Some(retention) = type_retention {
            let completed = RecordState::Completed {
                expires: now.saturating_add(nanos(retention)),
            };
            match entry.record(Some(self.type_record)) {
                Some(record) if record.standing(now) => {
                    if let Some(conflict) = conflict(names, record) {
                        return conflict;
                    }
                }
                Some(record) => {
                    record.event_type = intern_type(names);
                    record.state = completed;
                }
                None => entry.records.push(Record {
                    handler: self.type_record,
                    event_type: intern_type(names),
                    state: completed,
                }),
            }
        }
        let record = entry.record(handler);
        let attempts = record.as_deref().map_or(1, Record::next_attempt);
        if let Some(record) = record.as_deref().filter(|record| record.standing(now)) {
            if let Some(conflict) = conflict(names, record) {
                return conflict;
            }
            match record.state {
                RecordState::Completed { .. } => return Claim::Completed,
                RecordState::InProgress { expires, .. } if expires > now => {
                    return Claim::InProgress {
                        retry_after: Duration::from_nanos(expires - now),
                    };
                }
                RecordState::InProgress { .. } | RecordState::Released { .. } => {}
            }
        }
        self.last_token += 1;
        let token = self.last_token;
        let state = RecordState::InProgress {
            token,
            expires: now.saturating_add(nanos(lease)),
            attempts,
        };
        let event_type = intern_type(names);
        match record {
            Some(record) => {
                record.event_type = event_type;
                record.state = state;
            }
            None => entry.records.push(Record {
                handler: handler.unwrap_or_else(|| names.intern(key.handler)),
                event_type,
                state,
            }),
        }
        Claim::Acquired(Lease::new(key, itoa::Buffer::new().format(token)).with_attempt(attempts))
    }
}

/// The operations themselves, synchronous: none of them waits. The receiver calls these
/// directly (see `StoreHandle`), without the boxed future the object-safe interface needs.
impl MemoryStore {
    /// `claim` (or, with the type record's `retention`, `claim_first`: both steps under one
    /// lock, on one entry) for a key known to be valid: the trait's methods check it first,
    /// the receiver's keys are valid by construction (see `StoreHandle`).
    pub(crate) fn claim_valid(
        &self,
        key: &ClaimKey<'_>,
        lease: Duration,
        type_retention: Option<Duration>,
    ) -> Result<Claim, StoreError> {
        debug_assert!(key.validate().is_ok(), "{key:?}");
        let mut inner = self.lock();
        let now = inner.now();
        inner.sweep_if_due(now);
        Ok(inner.claim(key, lease, type_retention, now))
    }

    pub(crate) fn complete_now(
        &self,
        lease: &Lease,
        retention: Duration,
    ) -> Result<(), StoreError> {
        let mut inner = self.lock();
        let expires = inner.now().saturating_add(nanos(retention));
        let record = inner.held(lease).ok_or(StoreError::LeaseLost)?;
        record.state = RecordState::Completed { expires };
        inner.may_expire_at(expires);
        Ok(())
    }

    pub(crate) fn release_now(&self, lease: &Lease) -> Result<(), StoreError> {
        let mut inner = self.lock();
        let now = inner.now();
        if let Some(record) = inner.held(lease) {
            if let RecordState::InProgress { attempts, .. } = record.state {
                record.state = RecordState::Released {
                    expires: now,
                    attempts,
                };
                inner.may_expire_at(now);
            }
        }
        Ok(())
    }

    pub(crate) fn extend_now(&self, lease: &Lease, by: Duration) -> Result<(), StoreError> {
        let mut inner = self.lock();
        let until = inner.now().saturating_add(nanos(by));
        match inner.held(lease).map(|record| &mut record.state) {
            Some(RecordState::InProgress { expires, .. }) => *expires = until,
            _ => return Err(StoreError::LeaseLost),
        }
        // A shorter extension brings the expiry forward.
        inner.may_expire_at(until);
        Ok(())
    }
}

impl IdempotencyStore for MemoryStore {
    async fn claim(&self, key: &ClaimKey<'_>, lease: Duration) -> Result<Claim, StoreError> {
        key.validate()?;
        self.claim_valid(key, lease, None)
    }

    async fn claim_first(
        &self,
        key: &ClaimKey<'_>,
        lease: Duration,
        retention: Duration,
    ) -> Result<Claim, StoreError> {
        key.validate()?;
        self.claim_valid(key, lease, Some(retention))
    }

    async fn complete(&self, lease: &Lease, retention: Duration) -> Result<(), StoreError> {
        self.complete_now(lease, retention)
    }

    async fn release(&self, lease: &Lease) -> Result<(), StoreError> {
        self.release_now(lease)
    }

    async fn extend(&self, lease: &Lease, by: Duration) -> Result<(), StoreError> {
        self.extend_now(lease, by)
    }

    async fn purge_expired(&self) -> Result<u64, StoreError> {
        let mut inner = self.lock();
        let now = inner.now();
        let removed = inner.remove_expired(now);
        Ok(removed as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_found_recently_are_checked_by_content_so_a_reused_slot_never_answers_for_another() {
        let mut names = Names::default();
        let (a, b) = (names.intern("app::a"), names.intern("order.paid"));
        assert_eq!(
            (names.find("app::a"), names.find("order.paid")),
            (Some(a), Some(b))
        );
        // `a` is freed and its slot reused for another name while both are remembered.
        let mut used = vec![false; 2];
        used[b as usize] = true;
        names.retain_used(&used);
        assert_eq!(names.find("app::a"), None);
        let c = names.intern("app::c");
        assert_eq!(c, a, "the freed slot is reused");
        assert_eq!(names.find("app::a"), None);
        assert_eq!(names.find("app::c"), Some(c));
        assert_eq!(names.find("order.paid"), Some(b));
        // Three names in turn: each is still found when the two remembered are others.
        let d = names.intern("app::d");
        for _ in 0..3 {
            for (name, index) in [("app::c", c), ("order.paid", b), ("app::d", d)] {
                assert_eq!(names.find(name), Some(index), "{name}");
            }
        }
    }

    fn key<'a>(event_id: &'a str, handler: &'a str, event_type: &'a str) -> ClaimKey<'a> {
        ClaimKey {
            namespace: "ns",
            event_id,
            handler,
            event_type,
        }
    }

    async fn acquire_first(store: &MemoryStore, key: &ClaimKey<'_>, retention: Duration) -> Lease {
        match store
            .claim_first(key, Duration::from_secs(3600), retention)
            .await
        {
            Ok(Claim::Acquired(lease)) => lease,
            other => panic!(
                "claim_first on {}: expected Acquired, got {other:?}",
                key.event_id
            ),
        }
    }

    #[tokio::test]
    async fn keys_inline_and_spilled_find_their_own_entries_only() {
        let store = MemoryStore::new();
        let hour = Duration::from_secs(3600);
        let long_namespace = "n".repeat(64);
        let long_id = format!("evt_{}", "x".repeat(200));
        let longer_id = format!("{long_id}y");
        // Inline keys, spilled keys, and pairs that join to the same bytes but for the NUL.
        let keys = [
            ("ns", "evt_1"),
            ("ns", "evt_12"),
            ("nse", "vt_1"),
            ("ns", long_id.as_str()),
            ("ns", longer_id.as_str()),
            (long_namespace.as_str(), "evt_1"),
            (long_namespace.as_str(), long_id.as_str()),
        ]
        .map(|(namespace, event_id)| ClaimKey {
            namespace,
            event_id,
            handler: "app::h",
            event_type: "t.x",
        });
        for key in &keys {
            let lease = acquire_first(&store, key, hour).await;
            store.complete(&lease, hour).await.unwrap();
        }
        for key in &keys {
            let claim = store.claim_first(key, hour, hour).await.unwrap();
            assert!(
                matches!(claim, Claim::Completed),
                "{} / {}: {claim:?}",
                key.namespace,
                key.event_id
            );
        }
        assert_eq!(store.lock().events.len(), keys.len());
    }

    #[tokio::test]
    async fn a_due_sweep_waits_until_a_record_can_have_expired() {
        let store = MemoryStore::new();
        let hour = Duration::from_secs(3600);
        let claim = |event_id: String| {
            let store = &store;
            async move {
                match store.claim(&key(&event_id, "app::h", "t.x"), hour).await {
                    Ok(Claim::Acquired(lease)) => lease,
                    other => panic!("{event_id}: {other:?}"),
                }
            }
        };
        // A completion with a short retention, after a claim with a long lease, brings the
        // earliest expiry forward: the next due sweep removes the record.
        let short = claim("evt_short".to_owned()).await;
        store
            .complete(&short, Duration::from_millis(10))
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(30)).await;
        // The sweep falls due with the last of these claims.
        for n in 1..SWEEP_EVERY {
            claim(format!("evt_a{n}")).await;
        }
        {
            let mut inner = store.lock();
            assert_eq!(inner.claims, 0, "the due sweep ran");
            assert!(
                inner.entry("ns", "evt_short").is_none(),
                "and removed the record"
            );
            assert_eq!(inner.events.len(), SWEEP_EVERY - 1);
        }
        // Every record now lives for an hour: sweeps fall due and are skipped.
        let mut leases = Vec::new();
        for n in 0..2 * SWEEP_EVERY {
            leases.push(claim(format!("evt_b{n}")).await);
        }
        assert_eq!(store.lock().claims, 2 * SWEEP_EVERY, "no sweep ran");
        // A release expires at once: the next claim sweeps it away.
        store.release(&leases[0]).await.unwrap();
        claim("evt_c".to_owned()).await;
        let mut inner = store.lock();
        assert_eq!(inner.claims, 0, "the sweep ran");
        assert!(
            inner.entry("ns", "evt_b0").is_none(),
            "the released record is gone"
        );
        // The `evt_a`s, the `evt_b`s but the released one, and `evt_c`.
        assert_eq!(inner.events.len(), 3 * SWEEP_EVERY - 1);
    }

    fn names_in_use(store: &MemoryStore) -> Vec<String> {
        let inner = store.lock();
        let mut names: Vec<String> = inner
            .names
            .slots
            .iter()
            .flatten()
            .map(ToString::to_string)
            .collect();
        names.sort();
        names
    }

    #[tokio::test]
    async fn freed_places_are_reused_and_every_standing_event_is_still_found() {
        // No short-lived record may expire while the events are still being claimed: a claim
        // would then sweep it, and the counts below would be off. On a loaded machine the
        // claims take longer, so the test tries longer retentions before it gives up.
        for short in [20, 200, 2000].map(Duration::from_millis) {
            if let Some(store) = with_short_lived_events(short).await {
                check_freed_places_are_reused(&store).await;
                return;
            }
        }
        panic!("3,000 claims took more than two seconds");
    }

    /// A store holding 3,000 events, two in three kept for `short` (and expired when this
    /// returns), or `None` when claiming them took too long for `short`.
    async fn with_short_lived_events(short: Duration) -> Option<MemoryStore> {
        let store = MemoryStore::new();
        let long = Duration::from_secs(3600);
        let retention = |i: usize| if i % 3 == 0 { long } else { short };
        let started = std::time::Instant::now();
        for i in 0..3000 {
            let id = format!("evt_{i}");
            let lease = acquire_first(&store, &key(&id, "h", "t.x"), retention(i)).await;
            store.complete(&lease, retention(i)).await.unwrap();
        }
        // The store's coarse clock ticks every few milliseconds: allow for one tick.
        if started.elapsed() + Duration::from_millis(10) >= short {
            return None;
        }
        tokio::time::sleep(2 * short).await;
        Some(store)
    }

    async fn check_freed_places_are_reused(store: &MemoryStore) {
        let long = Duration::from_secs(3600);
        let ids: Vec<String> = (0..3000).map(|i| format!("evt_{i}")).collect();
        assert_eq!(store.purge_expired().await.unwrap(), 2 * 2000);
        assert_eq!(store.lock().events.free.len(), 2000);

        // New events take the freed places; none of them disturbs an event still standing.
        for i in 0..2500 {
            acquire_first(store, &key(&format!("new_{i}"), "h", "t.x"), long).await;
        }
        assert!(store.lock().events.free.is_empty());
        assert_eq!(store.lock().events.entries.len(), 3500);
        for (i, id) in ids.iter().enumerate() {
            let claim = store
                .claim_first(&key(id, "h", "t.x"), long, long)
                .await
                .unwrap();
            match (i % 3 == 0, claim) {
                (true, Claim::Completed) | (false, Claim::Acquired(_)) => {}
                (kept, other) => panic!("{id} (kept: {kept}): {other:?}"),
            }
        }
    }

    #[tokio::test]
    async fn a_sweep_frees_unused_names_and_reused_slots_keep_records_apart() {
        let store = MemoryStore::new();
        let short = Duration::from_millis(20);
        let long = Duration::from_secs(3600);
        // Event 1 is recorded under type `a.old` by handler `h::old`, and soon expires.
        let lease = acquire_first(&store, &key("evt_1", "h::old", "a.old"), short).await;
        store.complete(&lease, short).await.unwrap();
        // Event 2 stays, under `b.kept` by `h::kept`.
        let kept = acquire_first(&store, &key("evt_2", "h::kept", "b.kept"), long).await;
        store.complete(&kept, long).await.unwrap();
        tokio::time::sleep(Duration::from_millis(40)).await;

        assert_eq!(
            store.purge_expired().await.unwrap(),
            2,
            "type record and claim"
        );
        assert_eq!(
            names_in_use(&store),
            [EVENT_TYPE_RECORD, "b.kept", "h::kept"]
        );

        // New names take the freed slots; the standing event still reads as its own.
        acquire_first(&store, &key("evt_3", "h::new", "c.new"), long).await;
        assert_eq!(store.lock().names.slots.len(), 5, "two slots reused");
        assert!(matches!(
            store
                .claim_first(&key("evt_2", "h::kept", "b.kept"), long, long)
                .await
                .unwrap(),
            Claim::Completed
        ));
        match store
            .claim_first(&key("evt_2", "h::kept", "c.new"), long, long)
            .await
            .unwrap()
        {
            Claim::Conflict { recorded_type } => assert_eq!(recorded_type, "b.kept"),
            other => panic!("expected a conflict, got {other:?}"),
        }
        // The expired event is gone: claimable again, under any type.
        acquire_first(&store, &key("evt_1", "h::old", "d.other"), long).await;
        assert_eq!(store.len(), 6);
    }
}

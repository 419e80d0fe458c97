//! Where "now" comes from, so tests can move time instead of sleeping.

use std::fmt;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use time::OffsetDateTime;

/// A source of wall-clock time in whole Unix seconds.
///
/// Signature tolerance windows are checked against a `Clock`. Production code uses
/// [`SystemClock`]; tests inject a [`ManualClock`] and move it explicitly.
pub trait Clock: fmt::Debug + Send + Sync + 'static {
    /// Seconds since the Unix epoch.
    fn unix_seconds(&self) -> i64;
}

/// The operating system's wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn unix_seconds(&self) -> i64 {
        match SystemTime::now().duration_since(UNIX_EPOCH) {
            Ok(elapsed) => i64::try_from(elapsed.as_secs()).unwrap_or(i64::MAX),
            // A clock set before 1970 is broken; every timestamp will then look like it is
            // from the future and be rejected, which is the safe failure.
            Err(_) => 0,
        }
    }
}

/// A clock that only moves when told to. Clones share the same time.
#[derive(Debug, Clone)]
pub struct ManualClock {
    now: Arc<AtomicI64>,
}

impl ManualClock {
    /// A clock reading `unix_seconds`.
    #[must_use]
    pub fn new(unix_seconds: i64) -> Self {
        Self {
            now: Arc::new(AtomicI64::new(unix_seconds)),
        }
    }

    /// Set the time.
    pub fn set(&self, unix_seconds: i64) {
        self.now.store(unix_seconds, Ordering::SeqCst);
    }

    /// Move the time forward (or backward, with a negative value).
    pub fn advance(&self, seconds: i64) {
        self.now.fetch_add(seconds, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn unix_seconds(&self) -> i64 {
        self.now.load(Ordering::SeqCst)
    }
}

/// Shared handle to a clock.
pub(crate) type SharedClock = Arc<dyn Clock>;

/// A monotonic clock for times seconds long (leases, retention), in nanoseconds since the clock
/// was made.
///
/// On Linux it reads `CLOCK_MONOTONIC_COARSE`, whose resolution is the kernel's tick (1 to 4
/// ms) and which costs a fifth of a precise reading (about 10 ns against 45 ns on our VMs): the
/// memory store reads it on every operation, and at this resolution a lease of seconds expires
/// at most one tick early or late. Elsewhere it is the standard monotonic clock.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CoarseClock {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    origin: coarsetime::Instant,
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    origin: std::time::Instant,
}

impl CoarseClock {
    pub(crate) fn new() -> Self {
        Self {
            #[cfg(any(target_os = "linux", target_os = "android"))]
            origin: coarsetime::Instant::now_without_cache_update(),
            #[cfg(not(any(target_os = "linux", target_os = "android")))]
            origin: std::time::Instant::now(),
        }
    }

    /// Nanoseconds since this clock was made. Never decreases.
    pub(crate) fn nanos(&self) -> u64 {
        #[cfg(any(target_os = "linux", target_os = "android"))]
        {
            // `now_without_cache_update`: `now` would also store the reading in a global that
            // every thread's reads would then contend for.
            let ticks = coarsetime::Instant::now_without_cache_update()
                .as_ticks()
                .saturating_sub(self.origin.as_ticks());
            coarsetime::Duration::from_ticks(ticks).as_nanos()
        }
        #[cfg(not(any(target_os = "linux", target_os = "android")))]
        {
            nanos(self.origin.elapsed())
        }
    }
}

/// The process's [`WallClock`]: the wall clock is the same for every receiver, and a
/// [`Delivery`](crate::Delivery) keeps only its arrival instant, turned into a wall-clock time
/// when a handler asks for it.
pub(crate) fn wall_clock() -> &'static WallClock {
    static WALL_CLOCK: std::sync::LazyLock<WallClock> = std::sync::LazyLock::new(WallClock::new);
    &WALL_CLOCK
}

/// Wall-clock times of monotonic instants, from a wall-clock reading taken at most once a
/// second: a delivery's `received_at` then costs no clock read beyond the one that times it.
///
/// Between two readings the monotonic and wall clocks drift apart by at most parts per
/// million, so a derived time is within microseconds of a fresh reading; a step of the wall
/// clock (NTP, an operator) shows from the next reading on, at most a second later.
#[derive(Debug)]
pub(crate) struct WallClock {
    base: std::time::Instant,
    /// Unix nanoseconds at `base`, as of the last reading.
    offset: AtomicI64,
    /// Nanoseconds after `base` of the last reading.
    read_at: AtomicU64,
}

/// How often the wall clock is read again.
const WALL_CLOCK_REFRESH: u64 = 1_000_000_000;

impl WallClock {
    pub(crate) fn new() -> Self {
        let clock = Self {
            base: std::time::Instant::now(),
            offset: AtomicI64::new(0),
            read_at: AtomicU64::new(0),
        };
        clock.read(0);
        clock
    }

    /// The wall-clock time of `at`.
    pub(crate) fn at(&self, at: std::time::Instant) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp_nanos(self.unix_nanos(at))
            .unwrap_or_else(|_| OffsetDateTime::now_utc())
    }

    /// The Unix time of `at` in whole seconds, as [`SystemClock`] reads it (rounded down).
    pub(crate) fn unix_seconds(&self, at: std::time::Instant) -> i64 {
        // Nanoseconds fit an i64 until 2262, and dividing an i64 by a constant is a multiply,
        // where dividing an i128 is a call into the compiler's runtime on every delivery.
        let nanos = self.unix_nanos(at);
        match i64::try_from(nanos) {
            Ok(nanos) => nanos.div_euclid(1_000_000_000),
            Err(_) => i64::try_from(nanos.div_euclid(1_000_000_000)).unwrap_or(i64::MAX),
        }
    }

    fn unix_nanos(&self, at: std::time::Instant) -> i128 {
        // Signed: an instant taken before `base` (a request that arrived while the receiver
        // was being built, an instant a caller passes) is that much before the reading.
        let since = match at.checked_duration_since(self.base) {
            Some(after) => i128::from(nanos(after)),
            None => -i128::from(nanos(self.base.duration_since(at))),
        };
        let read_at = i128::from(self.read_at.load(Ordering::Relaxed));
        if since.abs_diff(read_at) > u128::from(WALL_CLOCK_REFRESH) {
            self.read(nanos(self.base.elapsed()));
        }
        i128::from(self.offset.load(Ordering::Relaxed)) + since
    }

    /// Reads the wall clock, `since_base` nanoseconds after `base`. Racing readers store
    /// readings a moment apart; either is as good.
    fn read(&self, since_base: u64) {
        let unix_nanos = match SystemTime::now().duration_since(UNIX_EPOCH) {
            Ok(elapsed) => i64::try_from(elapsed.as_nanos()).unwrap_or(i64::MAX),
            Err(before) => i64::try_from(before.duration().as_nanos()).map_or(i64::MIN, |n| -n),
        };
        let since = i64::try_from(since_base).unwrap_or(i64::MAX);
        self.offset
            .store(unix_nanos.saturating_sub(since), Ordering::Relaxed);
        self.read_at.store(since_base, Ordering::Relaxed);
    }
}

/// Whole nanoseconds, saturating (at 584 years).
pub(crate) fn nanos(duration: std::time::Duration) -> u64 {
    u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derived_wall_times_follow_the_wall_clock() {
        let clock = WallClock::new();
        let now = std::time::Instant::now();
        let derived = clock.at(now);
        let read = OffsetDateTime::now_utc();
        assert!(
            (read - derived).abs() < time::Duration::milliseconds(50),
            "{derived} vs {read}"
        );
        // Later instants map to later times, by the same amount.
        let later = now + std::time::Duration::from_millis(300);
        assert_eq!(clock.at(later) - derived, time::Duration::milliseconds(300));
        // Far from the last reading, the wall clock is read again and the result still agrees.
        let far = now + std::time::Duration::from_secs(5);
        let expected = read + time::Duration::seconds(5);
        assert!((clock.at(far) - expected).abs() < time::Duration::milliseconds(50));
    }

    #[test]
    fn derived_unix_seconds_match_the_system_clock() {
        let clock = WallClock::new();
        let before = SystemClock.unix_seconds();
        let derived = clock.unix_seconds(std::time::Instant::now());
        let after = SystemClock.unix_seconds();
        // Within the two readings, allowing for the sub-second part of the derivation.
        assert!(
            (before - 1..=after + 1).contains(&derived),
            "{before} <= {derived} <= {after}"
        );
        let now = std::time::Instant::now();
        let later = clock.unix_seconds(now + std::time::Duration::from_secs(60));
        assert_eq!(
            later - clock.unix_seconds(now),
            60,
            "an instant a minute later is 60 s later"
        );
        let earlier = now
            .checked_sub(std::time::Duration::from_secs(10))
            .expect("the machine is up for more than 10 s");
        assert_eq!(
            clock.unix_seconds(now) - clock.unix_seconds(earlier),
            10,
            "an instant from before the clock was made is that much earlier"
        );
    }
}

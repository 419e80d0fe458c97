//! Shared by instances.rs, restart.rs and outage.rs: receiver processes
//! (bin/instance_receiver.rs) on a durable store, the file their handler records runs in, a
//! PostgreSQL schema or Redis key prefix of each test's own, and a loopback TCP proxy that
//! cuts a store off and brings it back without touching the real server.
//!
//! Everything listens on 127.0.0.1, every wait is bounded, and every process, schema, key and
//! file a test creates is removed when its guard drops, also when the test fails.

// Each test binary uses a subset of the harness.
#![allow(dead_code)]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http::{Request, StatusCode};
use webhook_axum::test::{Answer, TcpClient};
use webhook_core::signature::PaymentKit;
use webhook_core::test_util::TestSender;

/// The secret the instances verify with.
pub(crate) const SECRET: &str = "whsec_instances_5c1e0b7d";
/// The instances' webhook route.
pub(crate) const PATH: &str = "/webhooks/paymentkit";
/// The event type the instances' handler listens to.
pub(crate) const EVENT_TYPE: &str = "payment_intent.succeeded";
/// The instances' handler, as the store records it.
pub(crate) const HANDLER: &str = "instance_receiver::record_run";

/// The longest any one HTTP exchange may take before the test fails.
const ANSWER_LIMIT: Duration = Duration::from_secs(30);
/// The longest a receiver process may take to start listening.
const START_LIMIT: Duration = Duration::from_secs(60);

/// A name no other test (or run) uses.
pub(crate) fn unique(label: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos();
    format!(
        "{label}_{}_{nanos:x}_{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// Now, in nanoseconds since the Unix epoch (the clock the handler stamps `done` lines with).
pub(crate) fn now_nanos() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_nanos()
}

/// A directory of the test's own under the system temp dir, removed on drop.
#[derive(Debug)]
pub(crate) struct Scratch {
    dir: PathBuf,
}

impl Scratch {
    pub(crate) fn new(label: &str) -> Self {
        let dir = std::env::temp_dir().join(unique(&format!("webhook-{label}")));
        std::fs::create_dir_all(&dir).expect("create scratch dir");
        Self { dir }
    }

    pub(crate) fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// The runs file all instances of the test append to.
    pub(crate) fn runs(&self) -> Runs {
        Runs(self.path("runs"))
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Where an instance keeps its idempotency records.
#[derive(Debug, Clone)]
pub(crate) enum Store {
    Sqlite(PathBuf),
    Postgres { url: String, table: String },
    Redis { url: String, prefix: String },
}

impl Store {
    fn env(&self, command: &mut Command) {
        match self {
            Self::Sqlite(path) => {
                command.env("INSTANCE_STORE", format!("sqlite:{}", path.display()));
            }
            Self::Postgres { url, table } => {
                command
                    .env("INSTANCE_STORE", format!("postgres:{url}"))
                    .env("INSTANCE_TABLE", table);
            }
            Self::Redis { url, prefix } => {
                command
                    .env("INSTANCE_STORE", format!("redis:{url}"))
                    .env("INSTANCE_PREFIX", prefix);
            }
        }
    }
}

/// How to run one instance.
#[derive(Debug, Clone)]
pub(crate) struct Options {
    pub(crate) store: Store,
    /// How long the handler works before recording its run.
    pub(crate) delay: Duration,
    /// The store's time limit per operation.
    pub(crate) store_timeout: Duration,
    pub(crate) lease: Duration,
    pub(crate) handler_timeout: Duration,
    /// Start without reaching the store (it may be down).
    pub(crate) lazy: bool,
}

impl Options {
    pub(crate) fn new(store: Store) -> Self {
        Self {
            store,
            delay: Duration::from_millis(100),
            store_timeout: Duration::from_secs(2),
            lease: Duration::from_secs(60),
            handler_timeout: Duration::from_secs(20),
            lazy: false,
        }
    }
}

/// A running receiver process, killed (SIGKILL) and reaped on drop.
#[derive(Debug)]
pub(crate) struct Instance {
    child: Child,
    pub(crate) addr: SocketAddr,
    log: PathBuf,
}

impl Instance {
    /// Starts `bin/instance_receiver` and waits until it listens. `name` tells instances of
    /// one test apart (their port and log files).
    pub(crate) async fn start(scratch: &Scratch, name: &str, options: &Options) -> Self {
        let port_file = scratch.path(&format!("{name}.port"));
        let log = scratch.path(&format!("{name}.log"));
        let _ = std::fs::remove_file(&port_file);
        let mut command = Command::new(env!("CARGO_BIN_EXE_instance_receiver"));
        command
            .env("INSTANCE_PORT_FILE", &port_file)
            .env("INSTANCE_RUNS_FILE", scratch.runs().0)
            .env("INSTANCE_SECRET", SECRET)
            .env("INSTANCE_DELAY_MS", options.delay.as_millis().to_string())
            .env(
                "INSTANCE_STORE_TIMEOUT_MS",
                options.store_timeout.as_millis().to_string(),
            )
            .env("INSTANCE_LEASE_MS", options.lease.as_millis().to_string())
            .env(
                "INSTANCE_HANDLER_TIMEOUT_MS",
                options.handler_timeout.as_millis().to_string(),
            )
            .env("INSTANCE_LAZY", if options.lazy { "1" } else { "0" })
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).expect("instance log file"));
        options.store.env(&mut command);
        let child = command.spawn().expect("spawn instance_receiver");
        let mut instance = Self {
            child,
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            log,
        };
        let started = Instant::now();
        loop {
            if let Ok(port) = std::fs::read_to_string(&port_file) {
                let port: u16 = port.trim().parse().expect("port file holds a port");
                instance.addr = SocketAddr::from(([127, 0, 0, 1], port));
                return instance;
            }
            if let Ok(Some(status)) = instance.child.try_wait() {
                panic!(
                    "instance `{name}` exited at start-up ({status}): {}",
                    instance.log()
                );
            }
            assert!(
                started.elapsed() < START_LIMIT,
                "instance `{name}` did not listen within {START_LIMIT:?}: {}",
                instance.log()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// The process id.
    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// What the process wrote to stderr.
    pub(crate) fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Kills the process at once (SIGKILL: no shutdown, no cleanup) and reaps it.
    pub(crate) fn kill(mut self) {
        self.stop();
    }

    fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        self.stop();
    }
}

/// One line of the runs file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Run {
    /// The handler began for an event, in a process.
    Start { event: String, pid: u32 },
    /// The handler finished its work at `at` (Unix nanoseconds), before returning.
    Done { event: String, pid: u32, at: u128 },
}

/// The runs file the instances' handler appends to.
#[derive(Debug, Clone)]
pub(crate) struct Runs(PathBuf);

impl Runs {
    pub(crate) fn read(&self) -> Vec<Run> {
        let text = match std::fs::read_to_string(&self.0) {
            Ok(text) => text,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(error) => panic!("read runs file: {error}"),
        };
        text.lines()
            .map(|line| {
                let fields: Vec<&str> = line.split(' ').collect();
                match fields.as_slice() {
                    ["start", event, pid] => Run::Start {
                        event: (*event).to_owned(),
                        pid: pid.parse().expect("pid"),
                    },
                    ["done", event, pid, at] => Run::Done {
                        event: (*event).to_owned(),
                        pid: pid.parse().expect("pid"),
                        at: at.parse().expect("timestamp"),
                    },
                    _ => panic!("malformed line in runs file: {line:?}"),
                }
            })
            .collect()
    }

    /// How often the handler began for `event`.
    pub(crate) fn starts(&self, event: &str) -> usize {
        self.read()
            .iter()
            .filter(|run| matches!(run, Run::Start { event: e, .. } if e == event))
            .count()
    }

    /// The completed runs of `event`: (pid, when).
    pub(crate) fn done(&self, event: &str) -> Vec<(u32, u128)> {
        self.read()
            .into_iter()
            .filter_map(|run| match run {
                Run::Done { event: e, pid, at } if e == event => Some((pid, at)),
                _ => None,
            })
            .collect()
    }

    /// Completed runs per event.
    pub(crate) fn done_per_event(&self) -> HashMap<String, Vec<(u32, u128)>> {
        let mut done: HashMap<String, Vec<(u32, u128)>> = HashMap::new();
        for run in self.read() {
            if let Run::Done { event, pid, at } = run {
                done.entry(event).or_default().push((pid, at));
            }
        }
        done
    }

    /// Begun runs per event.
    pub(crate) fn starts_per_event(&self) -> HashMap<String, usize> {
        let mut starts: HashMap<String, usize> = HashMap::new();
        for run in self.read() {
            if let Run::Start { event, .. } = run {
                *starts.entry(event).or_default() += 1;
            }
        }
        starts
    }
}

/// Signs and sends deliveries of [`EVENT_TYPE`] events to instances.
#[derive(Debug, Clone)]
pub(crate) struct Sender {
    sender: TestSender<PaymentKit>,
    client: TcpClient,
}

/// An answer and when it arrived (Unix nanoseconds).
#[derive(Debug, Clone)]
pub(crate) struct Timed {
    pub(crate) answer: Answer,
    pub(crate) at: u128,
}

impl Sender {
    pub(crate) fn new() -> Self {
        Self {
            sender: TestSender::new(PaymentKit, SECRET)
                .expect("secret")
                .path(PATH),
            client: TcpClient::new(),
        }
    }

    /// PaymentKit's sample [`EVENT_TYPE`] event under the id `event`, signed now.
    fn request(&self, event: &str) -> Request<Bytes> {
        self.sender
            .sample(EVENT_TYPE)
            .expect("a catalogue type")
            .with_id(event)
            .request()
            .expect("sign")
    }

    /// A fresh signed delivery of `event` to `addr`, failing the test when there is no
    /// answer within [`ANSWER_LIMIT`].
    pub(crate) async fn deliver(&self, addr: SocketAddr, event: &str) -> Timed {
        let request = self.request(event);
        let answer = tokio::time::timeout(ANSWER_LIMIT, self.client.send(addr, request))
            .await
            .unwrap_or_else(|_| panic!("no answer from {addr} for {event} within {ANSWER_LIMIT:?}"))
            .unwrap_or_else(|error| panic!("{event} to {addr}: {error}"));
        Timed {
            answer,
            at: now_nanos(),
        }
    }

    /// As [`Sender::deliver`], but `None` when the connection fails (the instance was killed
    /// mid-delivery).
    pub(crate) async fn try_deliver(&self, addr: SocketAddr, event: &str) -> Option<Answer> {
        let exchange = async { self.client.send(addr, self.request(event)).await.ok() };
        tokio::time::timeout(ANSWER_LIMIT, exchange)
            .await
            .ok()
            .flatten()
    }
}

/// Asserts `answer` is 503 with a usable `Retry-After` (whole seconds, at least 1).
#[track_caller]
pub(crate) fn assert_unavailable(answer: &Answer, what: &str) {
    assert_eq!(
        answer.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{what}: {answer:?}"
    );
    assert_retry_after(answer, what);
}

/// Asserts `answer` carries `Retry-After` in whole seconds, at least 1.
#[track_caller]
pub(crate) fn assert_retry_after(answer: &Answer, what: &str) {
    let seconds: u64 = answer
        .retry_after
        .as_deref()
        .unwrap_or_else(|| panic!("{what}: no Retry-After: {answer:?}"))
        .parse()
        .unwrap_or_else(|_| panic!("{what}: Retry-After is not seconds: {answer:?}"));
    assert!(seconds >= 1, "{what}: {answer:?}");
}

/// Polls `condition` every 50 ms until it holds, failing the test after `limit`.
pub(crate) async fn wait_until(limit: Duration, what: &str, mut condition: impl FnMut() -> bool) {
    let started = Instant::now();
    while !condition() {
        assert!(started.elapsed() < limit, "{what} within {limit:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// `host:port` of a `scheme://[user[:password]@]host:port[/...]` URL.
pub(crate) fn authority(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let rest = rest.split(['/', '?']).next().unwrap_or(rest);
    rest.rsplit_once('@').map_or(rest, |(_, host)| host)
}

/// `url` with its `host:port` replaced by `addr`.
pub(crate) fn redirect(url: &str, addr: SocketAddr) -> String {
    url.replacen(authority(url), &addr.to_string(), 1)
}

/// `url` without its password, for messages.
pub(crate) fn shown(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    match rest.split_once('@') {
        Some((user, host)) if user.contains(':') => {
            let name = user.split(':').next().unwrap_or_default();
            format!("{scheme}://{name}:***@{host}")
        }
        _ => url.to_owned(),
    }
}

/// A port of 127.0.0.1 nothing listens on (bound, then released).
pub(crate) fn closed_port() -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("addr")
}

/// Runs `cleanup` on a thread of its own with a runtime of its own, bounded in time: usable
/// from `Drop`, also while a failed test unwinds inside a runtime.
fn cleanup_on_thread<F>(what: &'static str, cleanup: impl FnOnce() -> F + Send + 'static)
where
    F: std::future::Future<Output = Result<(), String>>,
{
    let done = std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|error| error.to_string())?;
        runtime.block_on(async {
            tokio::time::timeout(Duration::from_secs(15), cleanup())
                .await
                .map_err(|_| "timed out".to_owned())?
        })
    })
    .join();
    match done {
        Ok(Ok(())) => {}
        Ok(Err(error)) => eprintln!("cleanup of {what} failed: {error}"),
        Err(_) => eprintln!("cleanup of {what} panicked"),
    }
}

#[cfg(feature = "server-tests")]
pub(crate) use servers::*;

#[cfg(feature = "server-tests")]
mod servers {
    use super::*;

    use sqlx::{Connection, Executor};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
    use tokio::net::{TcpListener, TcpStream};
    use tokio::sync::watch;
    use tokio::task::JoinHandle;

    const DEFAULT_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/test";
    const DEFAULT_REDIS_URL: &str = "redis://127.0.0.1:6379";

    pub(crate) fn postgres_url() -> String {
        std::env::var("WEBHOOK_TEST_POSTGRES_URL").unwrap_or_else(|_| DEFAULT_POSTGRES_URL.into())
    }

    pub(crate) fn redis_url() -> String {
        std::env::var("WEBHOOK_TEST_REDIS_URL").unwrap_or_else(|_| DEFAULT_REDIS_URL.into())
    }

    async fn postgres_admin() -> sqlx::PgConnection {
        let url = postgres_url();
        let connect =
            tokio::time::timeout(Duration::from_secs(5), sqlx::PgConnection::connect(&url));
        match connect.await {
            Ok(Ok(connection)) => connection,
            Ok(Err(error)) => panic!(
                "PostgreSQL is not reachable at {} ({error}). The `server-tests` feature needs a \
                 live server: start one, or set WEBHOOK_TEST_POSTGRES_URL to \
                 postgres://user@host:port/database",
                shown(&url)
            ),
            Err(_) => panic!(
                "PostgreSQL at {} did not answer within 5 s. The `server-tests` feature needs a \
                 live server: start one, or set WEBHOOK_TEST_POSTGRES_URL to \
                 postgres://user@host:port/database",
                shown(&url)
            ),
        }
    }

    /// A PostgreSQL schema of the test's own, dropped (with its tables) on drop.
    #[derive(Debug)]
    pub(crate) struct PgSchema {
        name: String,
    }

    impl PgSchema {
        pub(crate) async fn create() -> Self {
            let name = unique("wh_inst").to_ascii_lowercase();
            let mut admin = postgres_admin().await;
            admin
                .execute(format!("CREATE SCHEMA {name}").as_str())
                .await
                .expect("create schema");
            let _ = admin.close().await;
            Self { name }
        }

        /// The idempotency table, in this schema.
        pub(crate) fn table(&self) -> String {
            format!("{}.idempotency", self.name)
        }

        /// The store option for this schema, through `url`.
        pub(crate) fn store(&self, url: &str) -> Store {
            Store::Postgres {
                url: url.to_owned(),
                table: self.table(),
            }
        }

        /// Creates the table now, for instances that start without reaching the database.
        pub(crate) async fn migrate(&self) {
            let store = webhook_core::PostgresStore::builder()
                .table(&self.table())
                .expect("table name")
                .connect(&postgres_url())
                .await
                .expect("create the idempotency table");
            store.pool().close().await;
        }

        /// (state, count) of the records of the handler's claims on `event`.
        pub(crate) async fn records(&self, event: &str) -> Vec<(String, i64)> {
            let mut admin = postgres_admin().await;
            let rows = sqlx::query_as(&format!(
                "SELECT state, count(*) FROM {} WHERE event_id = $1 AND handler = $2 \
                 GROUP BY state ORDER BY state",
                self.table()
            ))
            .bind(event)
            .bind(HANDLER)
            .fetch_all(&mut admin)
            .await
            .expect("read records");
            let _ = admin.close().await;
            rows
        }
    }

    impl Drop for PgSchema {
        fn drop(&mut self) {
            let name = self.name.clone();
            cleanup_on_thread("the test's PostgreSQL schema", move || async move {
                let mut admin = sqlx::PgConnection::connect(&postgres_url())
                    .await
                    .map_err(|error| error.to_string())?;
                admin
                    .execute(format!("DROP SCHEMA IF EXISTS {name} CASCADE").as_str())
                    .await
                    .map_err(|error| error.to_string())?;
                let _ = admin.close().await;
                Ok(())
            });
        }
    }

    /// A Redis key prefix of the test's own; its keys are deleted on drop.
    #[derive(Debug)]
    pub(crate) struct RedisPrefix {
        name: String,
    }

    impl RedisPrefix {
        pub(crate) async fn create() -> Self {
            let url = redis_url();
            let ping = async {
                let mut connection = redis::Client::open(url.as_str())?
                    .get_multiplexed_async_connection()
                    .await?;
                redis::cmd("PING")
                    .query_async::<String>(&mut connection)
                    .await
            };
            match tokio::time::timeout(Duration::from_secs(5), ping).await {
                Ok(Ok(_)) => {}
                outcome => panic!(
                    "Redis is not reachable at {} ({}). The `server-tests` feature needs a live \
                     server: start one, or set WEBHOOK_TEST_REDIS_URL to redis://host:port",
                    shown(&url),
                    match outcome {
                        Ok(Err(error)) => error.to_string(),
                        _ => "no answer within 5 s".to_owned(),
                    }
                ),
            }
            Self {
                name: format!("wh_test:{}", unique("inst")),
            }
        }

        /// The store option for this prefix, through `url`.
        pub(crate) fn store(&self, url: &str) -> Store {
            Store::Redis {
                url: url.to_owned(),
                prefix: self.name.clone(),
            }
        }
    }

    impl Drop for RedisPrefix {
        fn drop(&mut self) {
            let pattern = format!("{}:*", self.name);
            cleanup_on_thread("the test's Redis keys", move || async move {
                let mut connection = redis::Client::open(redis_url())
                    .map_err(|error| error.to_string())?
                    .get_multiplexed_async_connection()
                    .await
                    .map_err(|error| error.to_string())?;
                // `KEYS` is fine on a test server, and the prefix is unique.
                let keys: Vec<String> = redis::cmd("KEYS")
                    .arg(&pattern)
                    .query_async(&mut connection)
                    .await
                    .map_err(|error| error.to_string())?;
                if !keys.is_empty() {
                    redis::cmd("DEL")
                        .arg(&keys)
                        .query_async::<i64>(&mut connection)
                        .await
                        .map_err(|error| error.to_string())?;
                }
                Ok(())
            });
        }
    }

    /// What the proxy does with the store's traffic.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub(crate) enum Link {
        /// Forwards both ways.
        Up,
        /// Closes every open connection and every new one at once: a dead server.
        Down,
        /// Accepts and holds everything, forwarding nothing until the link is up again: a
        /// server that stopped answering.
        Stalled,
    }

    /// A loopback TCP proxy in front of a real server, switched between [`Link`] states.
    #[derive(Debug)]
    pub(crate) struct Proxy {
        pub(crate) addr: SocketAddr,
        link: watch::Sender<Link>,
        accept: JoinHandle<()>,
    }

    impl Proxy {
        /// A proxy on 127.0.0.1 to `upstream` (`host:port`), up.
        pub(crate) async fn start(upstream: &str) -> Self {
            let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
            let addr = listener.local_addr().expect("proxy addr");
            let (link, _) = watch::channel(Link::Up);
            let subscribe = link.clone();
            let upstream = upstream.to_owned();
            let accept = tokio::spawn(async move {
                while let Ok((inbound, _)) = listener.accept().await {
                    let link = subscribe.subscribe();
                    if *link.borrow() == Link::Down {
                        drop(inbound);
                        continue;
                    }
                    tokio::spawn(forward(inbound, upstream.clone(), link));
                }
            });
            Self { addr, link, accept }
        }

        pub(crate) fn set(&self, link: Link) {
            self.link.send_replace(link);
        }
    }

    impl Drop for Proxy {
        fn drop(&mut self) {
            // Stops accepting; the connections end when they see `Down`.
            self.link.send_replace(Link::Down);
            self.accept.abort();
        }
    }

    async fn forward(inbound: TcpStream, upstream: String, link: watch::Receiver<Link>) {
        let Ok(outbound) = TcpStream::connect(&upstream).await else {
            return;
        };
        let (from_client, to_client) = inbound.into_split();
        let (from_server, to_server) = outbound.into_split();
        // Whichever ends first ends the connection: both sockets are dropped.
        tokio::select! {
            () = pipe(from_client, to_server, link.clone()) => {}
            () = pipe(from_server, to_client, link.clone()) => {}
            () = until_down(link) => {}
        }
    }

    async fn pipe(
        mut from: OwnedReadHalf,
        mut to: OwnedWriteHalf,
        mut link: watch::Receiver<Link>,
    ) {
        let mut buffer = vec![0; 16 * 1024];
        loop {
            let read = match from.read(&mut buffer).await {
                Ok(0) | Err(_) => return,
                Ok(read) => read,
            };
            // A stalled link holds the bytes until it is up again.
            loop {
                let state = *link.borrow_and_update();
                match state {
                    Link::Up => break,
                    Link::Down => return,
                    Link::Stalled => {
                        if link.changed().await.is_err() {
                            return;
                        }
                    }
                }
            }
            if to.write_all(&buffer[..read]).await.is_err() {
                return;
            }
        }
    }

    async fn until_down(mut link: watch::Receiver<Link>) {
        loop {
            if *link.borrow_and_update() == Link::Down {
                return;
            }
            if link.changed().await.is_err() {
                return;
            }
        }
    }
}

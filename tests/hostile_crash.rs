//! Row F09 of reliability.md section 3: the server process is killed with SIGKILL at each
//! crash point, restarted on the same SQLite file, and the sender redelivers. The redelivery
//! is answered 200 and the handler's completed effect happens exactly once; a handler killed
//! half-way runs again (lease mode: a partial effect may repeat, as the stores document).
//!
//! The server runs in a child process: this test binary, started again with the ignored
//! `crash_child` test and `HOSTILE_CRASH_DIR` set. Markers in that directory tell the parent
//! where the child is; the effects file records what handlers did.

#[path = "hostile/harness.rs"]
mod harness;

use std::fs::OpenOptions;
use std::io::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use http::StatusCode;
use tokio::io::AsyncWriteExt;
use webhook_core::{
    on_event, Claim, ClaimKey, Event, HandlerError, IdempotencyStore, Lease, SqliteStore,
    StoreError,
};

use harness::{cases, init, router, send, start, try_send, wire};
use webhook_axum::test::TcpClient;

const DIR: &str = "HOSTILE_CRASH_DIR";
/// The crash-test event type, handled only by [`effect`].
const CRASH: &str = "crash.effect";

fn dir() -> Option<PathBuf> {
    std::env::var_os(DIR).map(PathBuf::from)
}

fn append(path: &Path, line: &str) {
    let mut file = OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .expect("effects file");
    writeln!(file, "{line}").expect("write effect");
    file.sync_all().expect("sync effect");
}

/// Writes `start <id>` (a partial effect), then, for ids starting with `block` while no
/// `release` file exists, a marker and waits forever; then writes `done <id>`.
#[on_event("crash.effect", unchecked)]
async fn effect(event: Event) -> Result<(), HandlerError> {
    let dir = dir().ok_or_else(|| HandlerError::permanent("not a crash child"))?;
    let id = event.id().to_owned();
    append(&dir.join("effects"), &format!("start {id}"));
    if id.starts_with("block") && !dir.join("release").exists() {
        append(&dir.join(format!("in-handler-{id}")), "");
        std::future::pending::<()>().await;
    }
    append(&dir.join("effects"), &format!("done {id}"));
    Ok(())
}

/// The SQLite store, which for `aftercommit` ids stops forever right after a completion was
/// committed (before the answer is sent).
#[derive(Debug, Clone)]
struct Pausing {
    inner: SqliteStore,
    dir: PathBuf,
}

impl IdempotencyStore for Pausing {
    async fn claim(&self, key: &ClaimKey<'_>, lease: Duration) -> Result<Claim, StoreError> {
        self.inner.claim(key, lease).await
    }
    async fn complete(&self, lease: &Lease, retention: Duration) -> Result<(), StoreError> {
        self.inner.complete(lease, retention).await?;
        // The handler's completion, not the event's type record (written first).
        if lease.event_id().starts_with("aftercommit")
            && lease.handler() != webhook_core::EVENT_TYPE_RECORD
        {
            append(
                &self.dir.join(format!("committed-{}", lease.event_id())),
                "",
            );
            std::future::pending::<()>().await;
        }
        Ok(())
    }
    async fn release(&self, lease: &Lease) -> Result<(), StoreError> {
        self.inner.release(lease).await
    }
    async fn extend(&self, lease: &Lease, by: Duration) -> Result<(), StoreError> {
        self.inner.extend(lease, by).await
    }
    async fn purge_expired(&self) -> Result<u64, StoreError> {
        self.inner.purge_expired().await
    }
}

/// The child: serves every scheme on the SQLite file in `HOSTILE_CRASH_DIR` until killed.
/// Without that variable (a plain `--ignored` run) it returns at once.
#[tokio::test]
#[ignore = "the server process of hostile_crash; started by the F09 test"]
async fn crash_child() {
    let Some(dir) = dir() else {
        return;
    };
    let store = Pausing {
        inner: SqliteStore::open(dir.join("idempotency.db"))
            .await
            .expect("open SQLite"),
        dir: dir.clone(),
    };
    let cases = cases();
    let addr = start(router(&cases, &store, |_, r| {
        // Long enough that a restarted child still sees the dead owner's lease.
        r.lease(Duration::from_secs(8))
            .handler_timeout(Duration::from_secs(6))
            .store_timeout(Duration::from_secs(5))
    }))
    .await;
    std::fs::write(dir.join("addr.tmp"), addr.to_string()).unwrap();
    std::fs::rename(dir.join("addr.tmp"), dir.join("addr")).unwrap();
    std::future::pending::<()>().await;
}

struct ChildServer {
    child: Child,
    addr: SocketAddr,
}

async fn wait_for(path: &Path, within: Duration) {
    let deadline = Instant::now() + within;
    while !path.exists() {
        assert!(
            Instant::now() < deadline,
            "{} did not appear",
            path.display()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

async fn spawn_child(dir: &Path) -> ChildServer {
    let _ = std::fs::remove_file(dir.join("addr"));
    let log = std::fs::File::create(dir.join(format!("child-{}.log", std::process::id()))).unwrap();
    let child = Command::new(std::env::current_exe().unwrap())
        .args(["crash_child", "--exact", "--ignored", "--nocapture"])
        .env(DIR, dir)
        .stdin(Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .expect("start the child server");
    wait_for(&dir.join("addr"), Duration::from_secs(30)).await;
    let addr = std::fs::read_to_string(dir.join("addr"))
        .unwrap()
        .parse()
        .unwrap();
    ChildServer { child, addr }
}

impl ChildServer {
    /// SIGKILL: no destructor, no graceful shutdown, no release.
    fn kill(mut self) {
        self.child.kill().expect("kill -9");
        self.child.wait().expect("reap");
    }
}

impl Drop for ChildServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn effects(dir: &Path, what: &str, id: &str) -> usize {
    std::fs::read_to_string(dir.join("effects"))
        .unwrap_or_default()
        .lines()
        .filter(|line| *line == format!("{what} {id}"))
        .count()
}

/// Redeliver until 200 (409 while a dead owner's lease is live), within 20 s.
async fn redeliver_until_ok(addr: SocketAddr, request: &http::Request<bytes::Bytes>) {
    let client = TcpClient::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let answer = send(&client, addr, request.clone()).await;
        match answer.status {
            StatusCode::OK => return,
            StatusCode::CONFLICT => {
                assert!(Instant::now() < deadline, "claim stuck past its lease");
            }
            other => panic!("unexpected {other}"),
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn f09_kill_9_at_each_crash_point_then_redeliver() {
    init();
    let dir = std::env::temp_dir().join(format!("webhook-hostile-crash-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let cases = cases();
    let case = &cases[0];
    let client = TcpClient::new();

    // Before the claim: killed while the body is still arriving.
    let server = spawn_child(&dir).await;
    let id = "early_1";
    let request = case.delivery(id, CRASH);
    let bytes = wire(&request, false);
    let mut stream = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    stream.write_all(&bytes[..bytes.len() - 10]).await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    server.kill();
    drop(stream);
    let server = spawn_child(&dir).await;
    assert_eq!(
        send(&client, server.addr, request.clone()).await.status,
        StatusCode::OK
    );
    assert_eq!(
        (effects(&dir, "start", id), effects(&dir, "done", id)),
        (1, 1)
    );

    // Mid-handler, after a partial effect: the claim survives the crash (409 while its lease
    // lasts), then the redelivery runs the handler again and completes it once.
    let id = "block_1";
    let request = case.delivery(id, CRASH);
    let in_flight = tokio::spawn({
        let (client, addr, request) = (client.clone(), server.addr, request.clone());
        async move { try_send(&client, addr, request).await }
    });
    wait_for(
        &dir.join(format!("in-handler-{id}")),
        Duration::from_secs(10),
    )
    .await;
    server.kill();
    let answer = in_flight.await.unwrap();
    assert!(
        !matches!(&answer, Ok(a) if a.status.is_success()),
        "acknowledged before completion"
    );
    std::fs::write(dir.join("release"), "").unwrap();
    let server = spawn_child(&dir).await;
    let first = send(&client, server.addr, request.clone()).await;
    assert_eq!(
        first.status,
        StatusCode::CONFLICT,
        "the dead owner's lease is live"
    );
    redeliver_until_ok(server.addr, &request).await;
    assert_eq!(effects(&dir, "done", id), 1);
    assert_eq!(
        effects(&dir, "start", id),
        2,
        "lease mode: the partial effect repeats"
    );

    // After the completion was committed, before the answer: the sender saw no 2xx and
    // redelivers; the record is durable, so the handler does not run again.
    let id = "aftercommit_1";
    let request = case.delivery(id, CRASH);
    let in_flight = tokio::spawn({
        let (client, addr, request) = (client.clone(), server.addr, request.clone());
        async move { try_send(&client, addr, request).await }
    });
    wait_for(
        &dir.join(format!("committed-{id}")),
        Duration::from_secs(10),
    )
    .await;
    server.kill();
    let answer = in_flight.await.unwrap();
    assert!(!matches!(&answer, Ok(a) if a.status.is_success()));
    let server = spawn_child(&dir).await;
    assert_eq!(
        send(&client, server.addr, request.clone()).await.status,
        StatusCode::OK
    );
    assert_eq!(
        (effects(&dir, "start", id), effects(&dir, "done", id)),
        (1, 1)
    );

    // After the answer: nothing is lost and nothing repeats.
    let id = "after_1";
    let request = case.delivery(id, CRASH);
    assert_eq!(
        send(&client, server.addr, request.clone()).await.status,
        StatusCode::OK
    );
    server.kill();
    let server = spawn_child(&dir).await;
    assert_eq!(
        send(&client, server.addr, request).await.status,
        StatusCode::OK
    );
    assert_eq!(
        (effects(&dir, "start", id), effects(&dir, "done", id)),
        (1, 1)
    );

    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
}

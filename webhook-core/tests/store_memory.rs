//! `MemoryStore` through the public conformance suite, as a user would run it on their store.
#![cfg(feature = "test-util")]

use std::sync::Arc;

use webhook_core::test_util::conformance;
use webhook_core::MemoryStore;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn memory_store_conforms() {
    conformance::run(Arc::new(MemoryStore::new()))
        .await
        .unwrap();
}

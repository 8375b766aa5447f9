use std::sync::Arc;
use std::time::Duration;

use judgeflow_llm::{CacheMode, ChatParams, ChatRequest, MemoryCache};
use judgeflow_test::MockLlm;

use crate::{client, endpoint};

#[tokio::test]
async fn a_cache_hit_avoids_the_server_call() {
    let mock = MockLlm::start().await;
    let cache = Arc::new(MemoryCache::new());
    let client = client(endpoint(&mock, 1)).with_cache(cache.clone(), None);
    let request = ChatRequest::user("same question");

    let first = client.chat(&request).await.unwrap();
    let second = client.chat(&request).await.unwrap();

    assert_eq!(mock.counters().calls, 1);
    assert!(!first.cached);
    assert!(second.cached);
    assert_eq!(second.attempts, 0);
    assert_eq!(
        (second.content.as_str(), second.usage),
        (first.content.as_str(), first.usage)
    );
    assert_eq!(client.stats().cache_hits, 1);
    assert_eq!(cache.len(), 1);
}

#[tokio::test]
async fn different_parameters_miss_and_modes_are_obeyed() {
    let mock = MockLlm::start().await;
    let cache = Arc::new(MemoryCache::new());
    let client = client(endpoint(&mock, 1)).with_cache(cache.clone(), None);
    let request = ChatRequest::user("q");
    client.chat(&request).await.unwrap();

    let hotter = request.clone().with_params(ChatParams {
        temperature: Some(1.0),
        ..ChatParams::default()
    });
    assert!(!client.chat(&hotter).await.unwrap().cached);

    // Refresh calls the server even though the answer is cached; Bypass neither reads nor writes.
    let refreshed = client
        .chat(&request.clone().with_cache_mode(CacheMode::Refresh))
        .await
        .unwrap();
    assert!(!refreshed.cached);
    let bypassed = ChatRequest::user("new").with_cache_mode(CacheMode::Bypass);
    client.chat(&bypassed).await.unwrap();
    assert_eq!(mock.counters().calls, 4);
    assert_eq!(cache.len(), 2);
}

#[tokio::test]
async fn an_expired_entry_is_a_miss() {
    let mock = MockLlm::start().await;
    let client = client(endpoint(&mock, 1)).with_cache(
        Arc::new(MemoryCache::new()),
        Some(Duration::from_millis(50)),
    );
    let request = ChatRequest::user("q");
    client.chat(&request).await.unwrap();
    tokio::time::sleep(Duration::from_millis(80)).await;
    assert!(!client.chat(&request).await.unwrap().cached);
    assert_eq!(mock.counters().calls, 2);
}

#[tokio::test]
async fn the_key_is_the_same_across_clients_of_one_endpoint() {
    let mock = MockLlm::start().await;
    let a = client(endpoint(&mock, 1));
    let mut other = endpoint(&mock, 3);
    other.api_key = Some("different-key".into());
    other.timeout = Duration::from_secs(1);
    let b = client(other);
    let request = ChatRequest::user("q");
    assert_eq!(a.cache_key(&request), b.cache_key(&request));
}

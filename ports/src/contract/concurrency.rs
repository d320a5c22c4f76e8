//! Running many operations at the same instant, so that races in an adapter show up.

use std::future::Future;
use std::sync::Arc;

use tokio::sync::Barrier;

use crate::Registries;

/// Runs `tasks` futures on the runtime's worker threads, released together by a barrier
/// after the backend's connection pool has been warmed up (so that no task is held back by
/// connection setup and the operations really overlap). Returns the outputs in task order.
pub async fn race<T, Fut>(registries: &Registries, tasks: usize, make: impl Fn(usize) -> Fut) -> Vec<T>
where
    T: Send + 'static,
    Fut: Future<Output = T> + Send + 'static,
{
    let mut warm_up = tokio::task::JoinSet::new();
    for _ in 0..tasks.min(8) {
        let health = registries.health.clone();
        warm_up.spawn(async move { health.ping().await });
    }
    while let Some(joined) = warm_up.join_next().await {
        joined.expect("warm-up task").expect("warm-up ping");
    }

    race_all(tasks, make).await
}

/// Runs `tasks` futures released together by a barrier (no pool warm-up: for stores whose
/// clients connect on creation). Returns the outputs in task order.
pub async fn race_all<T, Fut>(tasks: usize, make: impl Fn(usize) -> Fut) -> Vec<T>
where
    T: Send + 'static,
    Fut: Future<Output = T> + Send + 'static,
{
    let start = Arc::new(Barrier::new(tasks));
    let handles: Vec<_> = (0..tasks)
        .map(|i| {
            let (start, task) = (start.clone(), make(i));
            tokio::spawn(async move {
                start.wait().await;
                task.await
            })
        })
        .collect();
    let mut outputs = Vec::with_capacity(tasks);
    for handle in handles {
        outputs.push(handle.await.expect("raced task panicked"));
    }
    outputs
}

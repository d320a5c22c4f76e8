//! The replay cache in memory.
//!
//! It holds one entry per request for as long as a token can pass its expiry check (up to
//! 150 s), so at thousands of requests per second it is the largest thing in the process. Each
//! id is kept as a 16-byte digest with an 8-byte deadline rather than as a `String` key in a
//! general expiring map: about 60 bytes per id instead of about 250.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashSet};
use std::sync::Mutex;

use async_trait::async_trait;
use authsome_domain::Timestamp;
use authsome_ports::{ReplayCache, ReplayCheck, StateError};
use sha2::{Digest, Sha256};

/// The first 16 bytes of SHA-256 of a token id. Two ids with the same digest are treated as
/// one, which can only refuse a fresh token (a 2^-128 event for honest ids), never accept a
/// replayed one: a replay carries the same id, hence the same digest.
type IdDigest = [u8; 16];

fn digest(jti: &str) -> IdDigest {
    let full = Sha256::digest(jti.as_bytes());
    let mut out = [0u8; 16];
    out.copy_from_slice(&full[..16]);
    out
}

struct Seen {
    ids: HashSet<IdDigest>,
    // Ids are never rewritten or removed before their deadline, so every heap item is live
    // and the heap is exactly as large as the set.
    deadlines: BinaryHeap<Reverse<(i64, IdDigest)>>,
}

impl Seen {
    fn forget_expired(&mut self, now: i64) {
        while let Some(Reverse((deadline, _))) = self.deadlines.peek() {
            if *deadline > now {
                break;
            }
            if let Some(Reverse((_, id))) = self.deadlines.pop() {
                self.ids.remove(&id);
            }
        }
    }
}

/// Token ids seen by this process, forgotten at their expiry, at most `capacity` at a time.
/// When full of unexpired ids it answers `Full` (the caller fails closed) rather than
/// forgetting an id early, which would let that token be replayed.
pub struct MemoryReplayCache {
    seen: Mutex<Seen>,
    capacity: usize,
}

impl MemoryReplayCache {
    /// An empty cache holding at most `capacity` ids.
    pub fn new(capacity: usize) -> Self {
        Self {
            seen: Mutex::new(Seen {
                ids: HashSet::new(),
                deadlines: BinaryHeap::new(),
            }),
            capacity: capacity.max(1),
        }
    }

    /// How many ids are remembered now.
    pub fn len(&self) -> usize {
        self.locked().ids.len()
    }

    /// Whether no id is remembered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn locked(&self) -> std::sync::MutexGuard<'_, Seen> {
        // Every update is one insert into the set and one push onto the heap, done together
        // under the lock; a poisoned lock cannot hold a half-made entry worth refusing.
        let mut seen = self.seen.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        seen.forget_expired(Timestamp::now().unix_seconds());
        seen
    }
}

#[async_trait]
impl ReplayCache for MemoryReplayCache {
    async fn check_and_store(&self, jti: &str, expires_at: Timestamp) -> Result<ReplayCheck, StateError> {
        let id = digest(jti);
        let mut seen = self.locked();
        if seen.ids.contains(&id) {
            return Ok(ReplayCheck::Replayed);
        }
        if seen.ids.len() >= self.capacity {
            return Err(StateError::Full);
        }
        // Remembered for at least a second, as the Redis cache does (`EX` is at least 1).
        let deadline = expires_at.unix_seconds().max(Timestamp::now().unix_seconds() + 1);
        seen.ids.insert(id);
        seen.deadlines.push(Reverse((deadline, id)));
        Ok(ReplayCheck::Fresh)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn ids_are_forgotten_at_their_deadline_and_make_room() {
        let cache = MemoryReplayCache::new(2);
        let later = Timestamp::now().plus_seconds(60);
        assert_eq!(cache.check_and_store("a", later).await.ok(), Some(ReplayCheck::Fresh));
        assert_eq!(
            cache.check_and_store("b", Timestamp::now().plus_seconds(1)).await.ok(),
            Some(ReplayCheck::Fresh)
        );
        assert!(matches!(cache.check_and_store("c", later).await, Err(StateError::Full)));
        tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
        assert_eq!(cache.len(), 1, "b expired");
        assert_eq!(cache.check_and_store("c", later).await.ok(), Some(ReplayCheck::Fresh));
        assert_eq!(
            cache.check_and_store("a", later).await.ok(),
            Some(ReplayCheck::Replayed)
        );
    }
}

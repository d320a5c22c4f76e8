//! The replay cache in memory.
//!
//! It holds one entry per request for as long as a token can pass its expiry check (up to
//! 180 s), so at thousands of requests per second it is the largest thing in the process. Each
//! id is kept as a 16-byte digest with an 8-byte deadline and an 8-byte holder tag rather than
//! as a `String` key in a general expiring map: about 70 bytes per id instead of about 250.
//!
//! **No holder can fill it for the others.** Each holder (signing identity) may have at most
//! its quota of unexpired ids. And when the cache as a whole is three quarters full, only
//! holders with fewer than a small floor of ids (a thousandth of the capacity) may add more:
//! even many holders each at their quota cannot push the cache to `Full`, because the last
//! quarter is kept for the light users that make up a normal load.

use std::cmp::Reverse;
use std::collections::hash_map::RandomState;
use std::collections::{BinaryHeap, HashMap, HashSet};
use std::hash::BuildHasher;
use std::sync::Mutex;

use async_trait::async_trait;
use authsome_domain::Timestamp;
use authsome_ports::{IdQuota, ReplayCache, ReplayCheck, StateError};
use sha2::{Digest, Sha256};

/// The first 16 bytes of SHA-256 of a token id. Two ids with the same digest are treated as
/// one, which can only refuse a fresh token (a 2^-128 event for honest ids), never accept a
/// replayed one: a replay carries the same id, hence the same digest.
type IdDigest = [u8; 16];

/// A holder's name hashed with this cache's random key. Two holders with the same tag share a
/// quota; the key is unknown outside the process, so no one can pick a name that collides with
/// someone else's.
type HolderTag = u64;

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
    deadlines: BinaryHeap<Reverse<(i64, IdDigest, HolderTag)>>,
    /// Unexpired ids per holder (holders with none are absent).
    held: HashMap<HolderTag, u64>,
}

impl Seen {
    fn forget_expired(&mut self, now: i64) {
        while let Some(Reverse((deadline, _, _))) = self.deadlines.peek() {
            if *deadline > now {
                break;
            }
            if let Some(Reverse((_, id, holder))) = self.deadlines.pop() {
                self.ids.remove(&id);
                if let Some(count) = self.held.get_mut(&holder) {
                    *count -= 1;
                    if *count == 0 {
                        self.held.remove(&holder);
                    }
                }
            }
        }
    }
}

/// Token ids seen by this process, forgotten at their expiry, at most `capacity` at a time.
/// When full of unexpired ids it answers `Full` (the caller fails closed) rather than
/// forgetting an id early, which would let that token be replayed; the quotas keep any one
/// holder, or a crowd of heavy ones, from getting it there.
pub struct MemoryReplayCache {
    seen: Mutex<Seen>,
    capacity: usize,
    /// From this many ids on, only holders below `pressure_floor` may add more.
    pressure_threshold: usize,
    pressure_floor: u64,
    holder_key: RandomState,
}

impl MemoryReplayCache {
    /// An empty cache holding at most `capacity` ids.
    pub fn new(capacity: usize) -> Self {
        let capacity = capacity.max(1);
        Self {
            seen: Mutex::new(Seen {
                ids: HashSet::new(),
                deadlines: BinaryHeap::new(),
                held: HashMap::new(),
            }),
            capacity,
            pressure_threshold: capacity - capacity / 4,
            pressure_floor: (capacity / 1000).max(1) as u64,
            holder_key: RandomState::new(),
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

    /// The fewest ids a holder may have and still add more once the cache is three quarters
    /// full.
    pub fn pressure_floor(&self) -> u64 {
        self.pressure_floor
    }

    fn locked(&self) -> std::sync::MutexGuard<'_, Seen> {
        // Every update is one insert into the set, one push onto the heap and one count, done
        // together under the lock; a poisoned lock cannot hold a half-made entry worth refusing.
        let mut seen = self.seen.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        seen.forget_expired(Timestamp::now().unix_seconds());
        seen
    }
}

#[async_trait]
impl ReplayCache for MemoryReplayCache {
    async fn check_and_store(
        &self,
        jti: &str,
        expires_at: Timestamp,
        quota: IdQuota<'_>,
    ) -> Result<ReplayCheck, StateError> {
        let id = digest(jti);
        let holder = self.holder_key.hash_one(quota.holder);
        let mut seen = self.locked();
        if seen.ids.contains(&id) {
            return Ok(ReplayCheck::Replayed);
        }
        let held = seen.held.get(&holder).copied().unwrap_or(0);
        let allowed = if seen.ids.len() >= self.pressure_threshold {
            quota.ids.min(self.pressure_floor)
        } else {
            quota.ids
        };
        if held >= allowed {
            return Ok(ReplayCheck::OverQuota);
        }
        if seen.ids.len() >= self.capacity {
            return Err(StateError::Full);
        }
        // Remembered for at least a second, as the Redis cache does (`EX` is at least 1).
        let deadline = expires_at.unix_seconds().max(Timestamp::now().unix_seconds() + 1);
        seen.ids.insert(id);
        seen.deadlines.push(Reverse((deadline, id, holder)));
        *seen.held.entry(holder).or_insert(0) += 1;
        Ok(ReplayCheck::Fresh)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn quota(holder: &str) -> IdQuota<'_> {
        IdQuota {
            holder,
            ids: 1_000,
            window_seconds: 180,
        }
    }

    #[tokio::test]
    async fn ids_are_forgotten_at_their_deadline_and_make_room() {
        let cache = MemoryReplayCache::new(2);
        let later = Timestamp::now().plus_seconds(60);
        assert_eq!(
            cache.check_and_store("a", later, quota("x")).await.ok(),
            Some(ReplayCheck::Fresh)
        );
        assert_eq!(
            cache
                .check_and_store("b", Timestamp::now().plus_seconds(1), quota("y"))
                .await
                .ok(),
            Some(ReplayCheck::Fresh)
        );
        assert!(matches!(
            cache.check_and_store("c", later, quota("z")).await,
            Err(StateError::Full)
        ));
        tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
        assert_eq!(cache.len(), 1, "b expired");
        assert_eq!(
            cache.check_and_store("c", later, quota("z")).await.ok(),
            Some(ReplayCheck::Fresh)
        );
        assert_eq!(
            cache.check_and_store("a", later, quota("x")).await.ok(),
            Some(ReplayCheck::Replayed)
        );
    }

    /// Heavy holders at their quotas fill three quarters of the cache and no more: the last
    /// quarter stays open to holders below the floor, so a light user is still served.
    #[tokio::test]
    async fn heavy_holders_cannot_fill_the_last_quarter() {
        let cache = MemoryReplayCache::new(4_000);
        assert_eq!(cache.pressure_floor(), 4);
        let later = Timestamp::now().plus_seconds(60);
        let mut stored = 0;
        for holder in 0..10 {
            let name = format!("heavy-{holder}");
            let heavy = IdQuota {
                holder: &name,
                ids: 1_000,
                window_seconds: 180,
            };
            for n in 0..1_000 {
                if cache.check_and_store(&format!("{name}-{n}"), later, heavy).await.ok() == Some(ReplayCheck::Fresh) {
                    stored += 1;
                }
            }
        }
        // Three heavy holders reach three quarters; each of the seven after them still gets
        // in up to the floor, like any light holder.
        assert_eq!(stored, 3_000 + 7 * 4);
        for n in 0..4 {
            assert_eq!(
                cache
                    .check_and_store(&format!("light-{n}"), later, quota("light"))
                    .await
                    .ok(),
                Some(ReplayCheck::Fresh),
                "a light holder is served under pressure"
            );
        }
        assert_eq!(
            cache.check_and_store("light-4", later, quota("light")).await.ok(),
            Some(ReplayCheck::OverQuota),
            "up to the floor"
        );
    }
}

//! A bounded map whose entries expire, with expiry driven by a min-heap of deadlines.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::hash::Hash;
use std::sync::Mutex;

use authsome_domain::Timestamp;

/// The map holds `capacity` live entries and none of them has expired.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Full;

struct Entry<V> {
    value: V,
    expires_at: Timestamp,
    generation: u64,
}

struct Inner<K, V> {
    entries: HashMap<K, Entry<V>>,
    // (deadline, generation, key): a heap item whose generation no longer matches the entry
    // is stale (the key was rewritten or removed) and is skipped when it surfaces.
    deadlines: BinaryHeap<Reverse<(Timestamp, u64, K)>>,
    next_generation: u64,
}

/// A concurrent map of values that vanish at their deadline, holding at most `capacity`.
///
/// Every operation first drops the entries whose deadline has passed, popping them from a
/// min-heap: the cost is O(log n) per expired entry, paid once, never a scan of the map.
pub struct ExpiringMap<K, V> {
    inner: Mutex<Inner<K, V>>,
    capacity: usize,
}

impl<K: Eq + Hash + Ord + Clone, V: Clone> ExpiringMap<K, V> {
    /// An empty map holding at most `capacity` live entries.
    pub fn new(capacity: usize) -> Self {
        Self {
            inner: Mutex::new(Inner {
                entries: HashMap::new(),
                deadlines: BinaryHeap::new(),
                next_generation: 0,
            }),
            capacity: capacity.max(1),
        }
    }

    fn locked(&self) -> std::sync::MutexGuard<'_, Inner<K, V>> {
        // A panic while holding the lock cannot leave the map inconsistent (every update is
        // a single insert or remove), so a poisoned lock is still usable.
        let mut inner = self.inner.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        inner.drop_expired(Timestamp::now());
        inner
    }

    /// Inserts when the key is absent (or expired); returns whether it inserted.
    pub fn insert_if_absent(&self, key: K, value: V, expires_at: Timestamp) -> Result<bool, Full> {
        let mut inner = self.locked();
        if inner.entries.contains_key(&key) {
            return Ok(false);
        }
        if inner.entries.len() >= self.capacity {
            return Err(Full);
        }
        inner.put(key, value, expires_at);
        Ok(true)
    }

    /// Inserts or replaces.
    pub fn insert(&self, key: K, value: V, expires_at: Timestamp) -> Result<(), Full> {
        let mut inner = self.locked();
        if !inner.entries.contains_key(&key) && inner.entries.len() >= self.capacity {
            return Err(Full);
        }
        inner.put(key, value, expires_at);
        Ok(())
    }

    /// The live value of `key`.
    pub fn get(&self, key: &K) -> Option<V> {
        self.locked().entries.get(key).map(|entry| entry.value.clone())
    }

    /// Whether `key` has a live value.
    pub fn contains(&self, key: &K) -> bool {
        self.locked().entries.contains_key(key)
    }

    /// The live value of `key` with its deadline.
    pub fn get_with_deadline(&self, key: &K) -> Option<(V, Timestamp)> {
        self.locked()
            .entries
            .get(key)
            .map(|entry| (entry.value.clone(), entry.expires_at))
    }

    /// Removes and returns the live value of `key`.
    pub fn remove(&self, key: &K) -> Option<V> {
        self.locked().entries.remove(key).map(|entry| entry.value)
    }

    /// Removes every live entry whose value matches; returns how many.
    pub fn remove_where(&self, matches: impl Fn(&V) -> bool) -> usize {
        let mut inner = self.locked();
        let before = inner.entries.len();
        inner.entries.retain(|_, entry| !matches(&entry.value));
        before - inner.entries.len()
    }

    /// How many live entries there are.
    pub fn len(&self) -> usize {
        self.locked().entries.len()
    }

    /// Whether there are no live entries.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl<K: Eq + Hash + Ord + Clone, V> Inner<K, V> {
    fn put(&mut self, key: K, value: V, expires_at: Timestamp) {
        let generation = self.next_generation;
        self.next_generation += 1;
        self.deadlines.push(Reverse((expires_at, generation, key.clone())));
        self.entries.insert(
            key,
            Entry {
                value,
                expires_at,
                generation,
            },
        );
        // Rewrites leave stale deadlines behind; rebuild when they outnumber live entries,
        // which keeps the heap within twice the map's size at amortised O(1) per write.
        if self.deadlines.len() > 2 * self.entries.len() + 64 {
            let entries = &self.entries;
            self.deadlines = entries
                .iter()
                .map(|(k, e)| Reverse((e.expires_at, e.generation, k.clone())))
                .collect();
        }
    }

    fn drop_expired(&mut self, now: Timestamp) {
        while let Some(Reverse((deadline, generation, _))) = self.deadlines.peek() {
            if *deadline > now {
                break;
            }
            let generation = *generation;
            let Some(Reverse((_, _, key))) = self.deadlines.pop() else {
                break;
            };
            if self.entries.get(&key).is_some_and(|e| e.generation == generation) {
                self.entries.remove(&key);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expired_entries_vanish_and_rewrites_extend() {
        let map = ExpiringMap::new(10);
        let past = Timestamp::now().plus_seconds(-1);
        let future = Timestamp::now().plus_seconds(60);
        map.insert("gone", 1, past).expect("room");
        map.insert("kept", 2, future).expect("room");
        assert_eq!(map.get(&"gone"), None);
        assert_eq!(map.get(&"kept"), Some(2));
        // A rewrite with a later deadline is not removed by the first deadline's heap item.
        map.insert("kept", 3, future.plus_seconds(60)).expect("room");
        assert_eq!(map.get(&"kept"), Some(3));
        assert_eq!(map.len(), 1);
    }

    #[test]
    fn capacity_is_enforced_but_expired_entries_make_room() {
        let map = ExpiringMap::new(2);
        let future = Timestamp::now().plus_seconds(60);
        assert_eq!(map.insert_if_absent("a", (), future), Ok(true));
        assert_eq!(
            map.insert_if_absent("b", (), Timestamp::now().plus_seconds(-1)),
            Ok(true)
        );
        // "b" already expired: there is room.
        assert_eq!(map.insert_if_absent("c", (), future), Ok(true));
        assert_eq!(map.insert_if_absent("d", (), future), Err(Full));
        assert_eq!(
            map.insert_if_absent("a", (), future),
            Ok(false),
            "present keys do not need room"
        );
    }

    #[test]
    fn many_rewrites_keep_the_heap_bounded() {
        let map = ExpiringMap::new(10);
        let future = Timestamp::now().plus_seconds(60);
        for i in 0..10_000 {
            map.insert("same", i, future).expect("room");
        }
        let inner = map.inner.lock().expect("lock");
        assert!(
            inner.deadlines.len() <= 2 * inner.entries.len() + 65,
            "{}",
            inner.deadlines.len()
        );
    }
}

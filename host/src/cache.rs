//! A cache bounded by bytes that evicts the least recently used entries: the server keeps
//! compiled components, component bytes and compiled state machines in memory, and a tenant
//! that uploads or creates many must not grow it without bound. Small and single-purpose
//! (a map plus a recency index), so no dependency is needed for it.

use std::collections::{BTreeMap, HashMap};
use std::hash::Hash;
use std::sync::Mutex;

/// A thread-safe cache of `V` by `K`, holding at most `budget` bytes (as weighed by the
/// caller on insert). Values are cloned out (they are `Arc`s or cheap handles).
pub struct ByteLru<K, V> {
    inner: Mutex<Inner<K, V>>,
}

struct Inner<K, V> {
    budget: usize,
    used: usize,
    tick: u64,
    entries: HashMap<K, Entry<V>>,
    /// Entries by last use, oldest first.
    recency: BTreeMap<u64, K>,
}

struct Entry<V> {
    value: V,
    bytes: usize,
    tick: u64,
}

impl<K: Clone + Eq + Hash, V: Clone> ByteLru<K, V> {
    /// An empty cache holding at most `budget` bytes.
    pub fn new(budget: usize) -> Self {
        Self {
            inner: Mutex::new(Inner {
                budget,
                used: 0,
                tick: 0,
                entries: HashMap::new(),
                recency: BTreeMap::new(),
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner<K, V>> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The value for `key`, now the most recently used.
    pub fn get<Q>(&self, key: &Q) -> Option<V>
    where
        K: std::borrow::Borrow<Q>,
        Q: Eq + Hash + ?Sized,
    {
        let mut inner = self.lock();
        inner.tick += 1;
        let tick = inner.tick;
        let entry = inner.entries.get_mut(key)?;
        let old = std::mem::replace(&mut entry.tick, tick);
        let value = entry.value.clone();
        if let Some(k) = inner.recency.remove(&old) {
            inner.recency.insert(tick, k);
        }
        Some(value)
    }

    /// Caches `value` as `bytes` bytes, evicting the least recently used entries to make
    /// room. A value larger than the whole budget is not kept.
    pub fn insert(&self, key: K, value: V, bytes: usize) {
        let mut inner = self.lock();
        inner.remove(&key);
        if bytes > inner.budget {
            return;
        }
        while inner.used + bytes > inner.budget {
            let Some((_, oldest)) = inner.recency.pop_first() else {
                break;
            };
            if let Some(e) = inner.entries.remove(&oldest) {
                inner.used -= e.bytes;
            }
        }
        inner.tick += 1;
        let tick = inner.tick;
        inner.recency.insert(tick, key.clone());
        inner.used += bytes;
        inner.entries.insert(key, Entry { value, bytes, tick });
    }

    /// Drops `key`'s entry, if any.
    pub fn remove<Q>(&self, key: &Q)
    where
        K: std::borrow::Borrow<Q>,
        Q: Eq + Hash + ?Sized,
    {
        self.lock().remove(key);
    }

    /// Drops every entry `keep` says no to.
    pub fn retain(&self, mut keep: impl FnMut(&K) -> bool) {
        let mut inner = self.lock();
        let doomed: Vec<K> = inner.entries.keys().filter(|k| !keep(k)).cloned().collect();
        for k in doomed {
            inner.remove(&k);
        }
    }

    /// Bytes held now.
    pub fn used_bytes(&self) -> usize {
        self.lock().used
    }

    /// Entries held now.
    pub fn len(&self) -> usize {
        self.lock().entries.len()
    }

    /// Whether it holds nothing.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl<K: Eq + Hash, V> Inner<K, V> {
    fn remove<Q>(&mut self, key: &Q)
    where
        K: std::borrow::Borrow<Q>,
        Q: Eq + Hash + ?Sized,
    {
        if let Some(e) = self.entries.remove(key) {
            self.used -= e.bytes;
            self.recency.remove(&e.tick);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::ByteLru;

    #[test]
    fn evicts_the_least_recently_used_to_stay_within_budget() {
        let c = ByteLru::new(100);
        c.insert("a", 1, 40);
        c.insert("b", 2, 40);
        assert_eq!(c.get("a"), Some(1), "a is now the most recent");
        c.insert("c", 3, 40);
        assert_eq!(c.get("b"), None, "b was the least recently used");
        assert_eq!(c.get("a"), Some(1));
        assert_eq!(c.get("c"), Some(3));
        assert_eq!(c.used_bytes(), 80);
    }

    #[test]
    fn many_inserts_never_exceed_the_budget() {
        let c = ByteLru::new(1000);
        for i in 0..10_000u32 {
            c.insert(i, i, 7 + (i as usize % 50));
            assert!(c.used_bytes() <= 1000);
        }
        assert!(c.len() < 200);
        assert_eq!(c.get(&9_999), Some(9_999));
    }

    #[test]
    fn replacing_and_removing_keep_the_count_exact() {
        let c = ByteLru::new(100);
        c.insert("a", 1, 60);
        c.insert("a", 2, 30);
        assert_eq!((c.get("a"), c.used_bytes()), (Some(2), 30));
        c.remove("a");
        assert_eq!((c.len(), c.used_bytes()), (0, 0));
        c.insert("big", 9, 101);
        assert!(c.is_empty(), "larger than the budget: not kept");
        c.insert("x", 1, 10);
        c.insert("y", 2, 10);
        c.retain(|k| *k == "y");
        assert_eq!(
            (c.get("x"), c.get("y"), c.used_bytes()),
            (None, Some(2), 10)
        );
    }
}

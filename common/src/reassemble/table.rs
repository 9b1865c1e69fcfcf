//! Shared, reference-counted values: each distinct tracked tunnel identity
//! and each distinct tunnel stack is stored once, and flows hold a 4-byte id.
//! Mirrored traffic typically has a handful of either (one per VLAN, VNI or
//! mirror source), so a million flows pay 8 bytes for them instead of ~100.
//!
//! The table holds ids only (hashbrown's `HashTable<u32>`); the value lives
//! once in `items`, with its hash, so growing the table rehashes nothing.

use std::borrow::Borrow;
use std::hash::{BuildHasher, Hash, RandomState};

use hashbrown::HashTable;

struct Item<T> {
    value: T,
    hash: u64,
    refs: u32,
}

/// Values stored once and shared by id. Id 0 is `T::default()` (no tunnel),
/// always present and never counted.
pub struct Interner<T> {
    table: HashTable<u32>,
    items: Vec<Item<T>>,
    free: Vec<u32>,
    hasher: RandomState,
    /// What an unknown id reads as.
    none: T,
}

impl<T: Hash + Eq + Default> Interner<T> {
    pub fn new() -> Interner<T> {
        Interner {
            table: HashTable::new(),
            items: vec![Item {
                value: T::default(),
                hash: 0,
                refs: 0,
            }],
            free: Vec::new(),
            hasher: RandomState::new(),
            none: T::default(),
        }
    }

    /// The id of a stored value, without taking a reference.
    pub fn get<Q>(&self, q: &Q) -> Option<u32>
    where
        T: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        if self.items.first().is_some_and(|d| d.value.borrow() == q) {
            return Some(0);
        }
        let hash = self.hasher.hash_one(q);
        let items = &self.items;
        self.table
            .find(hash, |&id| {
                items
                    .get(id as usize)
                    .is_some_and(|it| it.hash == hash && it.value.borrow() == q)
            })
            .copied()
    }

    /// Takes a reference to `q`'s id, storing `make()` (which must equal `q`)
    /// when it is new.
    pub fn acquire<Q>(&mut self, q: &Q, make: impl FnOnce() -> T) -> u32
    where
        T: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let id = match self.get(q) {
            Some(0) => return 0,
            Some(id) => id,
            None => {
                let hash = self.hasher.hash_one(q);
                let item = Item {
                    value: make(),
                    hash,
                    refs: 0,
                };
                let id = match self.free.pop() {
                    Some(id) => {
                        if let Some(slot) = self.items.get_mut(id as usize) {
                            *slot = item;
                        }
                        id
                    }
                    None => {
                        self.items.push(item);
                        (self.items.len() - 1) as u32
                    }
                };
                let items = &self.items;
                self.table
                    .insert_unique(hash, id, |&i| items.get(i as usize).map_or(0, |it| it.hash));
                id
            }
        };
        if let Some(it) = self.items.get_mut(id as usize) {
            it.refs += 1;
        }
        id
    }

    /// Drops a reference; the value is freed with its last one.
    pub fn release(&mut self, id: u32) {
        if id == 0 {
            return;
        }
        let Some(it) = self.items.get_mut(id as usize) else {
            return;
        };
        it.refs = it.refs.saturating_sub(1);
        if it.refs > 0 {
            return;
        }
        let hash = it.hash;
        it.value = T::default();
        if let Ok(entry) = self.table.find_entry(hash, |&i| i == id) {
            entry.remove();
        }
        self.free.push(id);
    }

    /// The value of an id (the default for an unknown one).
    pub fn value(&self, id: u32) -> &T {
        self.items
            .get(id as usize)
            .map_or(&self.none, |it| &it.value)
    }

    /// Distinct values stored (the default excluded).
    pub fn len(&self) -> usize {
        self.table.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_values_and_frees_them_with_the_last_reference() {
        let mut t: Interner<Box<[u16]>> = Interner::new();
        assert_eq!(t.acquire(&[][..], || Box::new([])), 0);
        let a = t.acquire(&[1, 2][..], || vec![1, 2].into_boxed_slice());
        let b = t.acquire(&[1, 2][..], || unreachable!("stored once"));
        let c = t.acquire(&[3][..], || vec![3].into_boxed_slice());
        assert_eq!((a, b), (1, 1));
        assert_eq!(c, 2);
        assert_eq!(t.len(), 2);
        assert_eq!(&**t.value(a), &[1, 2]);
        t.release(a);
        assert_eq!(t.get(&[1, 2][..]), Some(1), "one reference left");
        t.release(a);
        assert_eq!(t.get(&[1, 2][..]), None);
        assert_eq!(t.len(), 1);
        // The freed id is reused for the next new value.
        assert_eq!(t.acquire(&[4][..], || vec![4].into_boxed_slice()), 1);
        assert_eq!(&**t.value(1), &[4]);
        assert_eq!(
            &**t.value(99),
            &[] as &[u16],
            "unknown id reads as the default"
        );
    }
}

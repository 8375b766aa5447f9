//! Interning of tokens and n-grams to dense integer ids, so the overlap metrics compare and
//! count `u32`s instead of hashing strings and tuples per n-gram.
//!
//! One id space covers everything interned since the last [`Interner::clear`]: token strings,
//! characters and n-grams. An n-gram of order k > 1 is the pair (id of its first k-1 items,
//! id of its last item), so equal n-grams get equal ids at every order and n-grams of
//! different orders never share an id. Counting with dense arrays indexed by id then needs
//! no hashing at all.

use std::hash::BuildHasher;

use foldhash::fast::FixedState;
use hashbrown::{HashMap, HashTable};

/// A token string stored in the arena.
#[derive(Clone, Copy)]
struct Stored {
    start: u32,
    len: u32,
    id: u32,
}

/// Characters are interned through the pair table with this prefix, which no real id
/// reaches (a text would need four billion distinct n-grams).
const CHAR_PREFIX: u32 = u32::MAX;

fn stored_bytes<'a>(arena: &'a [u8], stored: &Stored) -> &'a [u8] {
    let start = stored.start as usize;
    &arena[start..start + stored.len as usize]
}

#[derive(Default)]
pub(crate) struct Interner {
    hasher: FixedState,
    /// Bytes of every interned token, back to back: one buffer instead of a `String` each.
    arena: Vec<u8>,
    strings: HashTable<Stored>,
    pairs: HashMap<u64, u32, FixedState>,
    next_id: u32,
}

impl Interner {
    /// Forgets every id but keeps the allocations for the next text pair.
    pub(crate) fn clear(&mut self) {
        self.arena.clear();
        self.strings.clear();
        self.pairs.clear();
        self.next_id = 0;
    }

    /// How many ids have been handed out: dense arrays indexed by id need this length.
    pub(crate) fn len(&self) -> usize {
        self.next_id as usize
    }

    fn fresh(next_id: &mut u32) -> u32 {
        let id = *next_id;
        *next_id = next_id
            .checked_add(1)
            .filter(|&next| next < CHAR_PREFIX)
            .expect("fewer than 2^32 - 1 distinct tokens and n-grams per call");
        id
    }

    #[inline]
    pub(crate) fn token(&mut self, token: &[u8]) -> u32 {
        let Self {
            hasher,
            arena,
            strings,
            next_id,
            ..
        } = self;
        let hash = hasher.hash_one(token);
        if let Some(found) = strings.find(hash, |s| stored_bytes(arena, s) == token) {
            return found.id;
        }
        let id = Self::fresh(next_id);
        let stored = Stored {
            start: u32::try_from(arena.len()).expect("token arena under 4 GiB"),
            len: u32::try_from(token.len()).expect("token under 4 GiB"),
            id,
        };
        arena.extend_from_slice(token);
        strings.insert_unique(hash, stored, |s| hasher.hash_one(stored_bytes(arena, s)));
        id
    }

    /// The bytes of an interned token (tests read tokens back through this).
    #[cfg(test)]
    pub(crate) fn token_bytes(&self, id: u32) -> &[u8] {
        let stored = self
            .strings
            .iter()
            .find(|s| s.id == id)
            .expect("an interned token id");
        stored_bytes(&self.arena, stored)
    }

    /// The id of `token` if it was interned, without interning it.
    #[inline]
    pub(crate) fn find_token(&self, token: &[u8]) -> Option<u32> {
        let hash = self.hasher.hash_one(token);
        self.strings
            .find(hash, |s| stored_bytes(&self.arena, s) == token)
            .map(|s| s.id)
    }

    /// The id of the pair if it was interned, without interning it.
    #[inline]
    pub(crate) fn find_pair(&self, prefix: u32, last: u32) -> Option<u32> {
        let key = (u64::from(prefix) << 32) | u64::from(last);
        self.pairs.get(&key).copied()
    }

    #[inline]
    pub(crate) fn pair(&mut self, prefix: u32, last: u32) -> u32 {
        let key = (u64::from(prefix) << 32) | u64::from(last);
        let next_id = &mut self.next_id;
        *self
            .pairs
            .entry(key)
            .or_insert_with(|| Self::fresh(next_id))
    }

    #[inline]
    pub(crate) fn char(&mut self, c: char) -> u32 {
        self.pair(CHAR_PREFIX, u32::from(c))
    }

    /// Replaces each id of `ids` (the n-grams of order k starting at each position) with the
    /// id of the n-gram of order k + 1 starting there; `items` are the order-1 ids. The
    /// vector shrinks by one: the last position has no longer n-gram.
    pub(crate) fn extend_ngrams(&mut self, ids: &mut Vec<u32>, items: &[u32], order: usize) {
        let windows = (items.len() + 1).saturating_sub(order + 1);
        ids.truncate(windows);
        for (i, id) in ids.iter_mut().enumerate() {
            *id = self.pair(*id, items[i + order]);
        }
    }
}

/// Multiset intersection size of `a` and `b` (ids below `counts.len()`), which must be all
/// zeros on entry and is all zeros again on return: the sum over distinct ids of
/// `min(count in a, count in b)`, as `Counter & Counter` would give.
pub(crate) fn overlap(a: &[u32], b: &[u32], counts: &mut [u32]) -> usize {
    for &id in a {
        counts[id as usize] += 1;
    }
    let mut matched = 0;
    for &id in b {
        let slot = &mut counts[id as usize];
        if *slot > 0 {
            *slot -= 1;
            matched += 1;
        }
    }
    for &id in a {
        counts[id as usize] = 0;
    }
    matched
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_tokens_and_ngrams_share_ids() {
        let mut interner = Interner::default();
        let items: Vec<u32> = ["a", "b", "a", "b", "a"]
            .iter()
            .map(|t| interner.token(t.as_bytes()))
            .collect();
        assert_eq!(items, [0, 1, 0, 1, 0]);
        let mut bigrams = items.clone();
        interner.extend_ngrams(&mut bigrams, &items, 1);
        assert_eq!(bigrams.len(), 4);
        assert_eq!(bigrams[0], bigrams[2]);
        assert_eq!(bigrams[1], bigrams[3]);
        assert_ne!(bigrams[0], bigrams[1]);
        // A character never collides with a token or n-gram.
        let a = interner.char('a');
        assert!(!items.contains(&a) && !bigrams.contains(&a));
        interner.clear();
        assert_eq!(interner.token(b"zz"), 0);
    }

    #[test]
    fn ngrams_of_a_short_text_are_empty() {
        let mut interner = Interner::default();
        let items = [interner.token(b"x")];
        let mut ids = items.to_vec();
        interner.extend_ngrams(&mut ids, &items, 1);
        assert!(ids.is_empty());
        interner.extend_ngrams(&mut ids, &items, 2);
        assert!(ids.is_empty());
    }

    #[test]
    fn overlap_is_multiset_intersection() {
        let mut counts = vec![0; 4];
        assert_eq!(overlap(&[0, 0, 1, 2], &[0, 1, 1, 3, 0, 0], &mut counts), 3);
        assert_eq!(counts, [0, 0, 0, 0]);
        assert_eq!(overlap(&[], &[1], &mut counts), 0);
    }
}

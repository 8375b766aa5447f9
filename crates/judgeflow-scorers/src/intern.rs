//! Interning of tokens and n-grams to dense integer ids, so the overlap metrics compare and
//! count `u32`s instead of hashing strings and tuples per n-gram.
//!
//! One id space covers everything interned since the last [`Interner::clear`]: token strings,
//! characters and n-grams. An n-gram of order k > 1 is the pair (id of its first k-1 items,
//! id of its last item), so equal n-grams get equal ids at every order and n-grams of
//! different orders never share an id. Counting with dense arrays indexed by id then needs
//! no hashing at all.
//!
//! Two things keep interning itself cheap. A token of at most 15 bytes is packed into a
//! `u128` (its bytes, zero-padded, and its length in the top byte), so finding it is one
//! integer hash and compare instead of hashing a slice and comparing bytes. An n-gram is a
//! child of its prefix in a trie of child lists: the first children of a prefix are found by
//! walking a short list of dense array slots, not by hashing. A prefix with more than
//! [`MAX_LISTED_CHILDREN`] children (a frequent word followed by many different ones in a
//! long text) keeps the rest in a hash table, so no walk is ever longer than that.

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

/// "No id" in the trie's links.
const NONE: u32 = u32::MAX;

/// How many children of one prefix are kept in its list; later ones go to the hash table.
const MAX_LISTED_CHILDREN: u8 = 8;

/// The longest token packed into a `u128` key (the 16th byte holds the length).
const MAX_PACKED: usize = 15;

/// One trie slot per id: the head of its child list and, when the id is itself an n-gram
/// in a list, its last item and the next sibling.
#[derive(Clone, Copy)]
struct Node {
    first_child: u32,
    next_sibling: u32,
    last: u32,
    /// Children in the list, up to `MAX_LISTED_CHILDREN`.
    listed: u8,
}

const EMPTY_NODE: Node = Node {
    first_child: NONE,
    next_sibling: NONE,
    last: NONE,
    listed: 0,
};

/// `token`'s bytes, zero-padded, with its length in the top byte: equal keys, equal tokens.
/// Built from at most two overlapping loads (no `memcpy` call for a handful of bytes).
#[inline]
fn pack(token: &[u8]) -> Option<u128> {
    let len = token.len();
    let bytes = match len {
        0 => 0,
        1..=3 => {
            // First, middle and last byte cover every length from 1 to 3.
            u128::from(token[0])
                | u128::from(token[len / 2]) << (8 * (len / 2))
                | u128::from(token[len - 1]) << (8 * (len - 1))
        }
        4..=7 => {
            let head = u32::from_le_bytes(token[..4].try_into().expect("4 bytes"));
            let tail = u32::from_le_bytes(token[len - 4..].try_into().expect("4 bytes"));
            u128::from(head) | u128::from(tail) << (8 * (len - 4))
        }
        8..=MAX_PACKED => {
            let head = u64::from_le_bytes(token[..8].try_into().expect("8 bytes"));
            let tail = u64::from_le_bytes(token[len - 8..].try_into().expect("8 bytes"));
            // The tail's top `len - 8` bytes are bytes 8.. of the token.
            u128::from(head)
                | u128::from(tail.checked_shr(8 * (16 - len) as u32).unwrap_or(0)) << 64
        }
        _ => return None,
    };
    Some(bytes | (len as u128) << 120)
}

#[cfg(test)]
fn unpack(key: u128) -> Vec<u8> {
    let bytes = key.to_le_bytes();
    bytes[..usize::from(bytes[15])].to_vec()
}

fn stored_bytes<'a>(arena: &'a [u8], stored: &Stored) -> &'a [u8] {
    let start = stored.start as usize;
    &arena[start..start + stored.len as usize]
}

#[derive(Default)]
pub(crate) struct Interner {
    hasher: FixedState,
    /// Tokens of up to `MAX_PACKED` bytes, by their packed key.
    short: HashMap<u128, u32, FixedState>,
    /// Bytes of every longer token, back to back: one buffer instead of a `String` each.
    arena: Vec<u8>,
    strings: HashTable<Stored>,
    /// Characters, and the children of prefixes whose list is full.
    pairs: HashMap<u64, u32, FixedState>,
    /// Indexed by id.
    nodes: Vec<Node>,
}

impl Interner {
    /// Forgets every id but keeps the allocations for the next text pair.
    pub(crate) fn clear(&mut self) {
        self.short.clear();
        self.arena.clear();
        self.strings.clear();
        self.pairs.clear();
        self.nodes.clear();
    }

    /// How many ids have been handed out: dense arrays indexed by id need this length.
    pub(crate) fn len(&self) -> usize {
        self.nodes.len()
    }

    fn fresh(nodes: &mut Vec<Node>) -> u32 {
        let id = u32::try_from(nodes.len())
            .ok()
            .filter(|&id| id < CHAR_PREFIX)
            .expect("fewer than 2^32 - 1 distinct tokens and n-grams per call");
        nodes.push(EMPTY_NODE);
        id
    }

    #[inline]
    pub(crate) fn token(&mut self, token: &[u8]) -> u32 {
        if let Some(key) = pack(token) {
            let nodes = &mut self.nodes;
            return *self.short.entry(key).or_insert_with(|| Self::fresh(nodes));
        }
        let Self {
            hasher,
            arena,
            strings,
            nodes,
            ..
        } = self;
        let hash = hasher.hash_one(token);
        if let Some(found) = strings.find(hash, |s| stored_bytes(arena, s) == token) {
            return found.id;
        }
        let id = Self::fresh(nodes);
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
    pub(crate) fn token_bytes(&self, id: u32) -> Vec<u8> {
        if let Some((&key, _)) = self.short.iter().find(|&(_, &short)| short == id) {
            return unpack(key);
        }
        let stored = self
            .strings
            .iter()
            .find(|s| s.id == id)
            .expect("an interned token id");
        stored_bytes(&self.arena, stored).to_vec()
    }

    /// The id of `token` if it was interned, without interning it.
    #[inline]
    pub(crate) fn find_token(&self, token: &[u8]) -> Option<u32> {
        if let Some(key) = pack(token) {
            return self.short.get(&key).copied();
        }
        let hash = self.hasher.hash_one(token);
        self.strings
            .find(hash, |s| stored_bytes(&self.arena, s) == token)
            .map(|s| s.id)
    }

    /// The id of the n-gram `prefix` + `last` (both ids) if it was interned, without
    /// interning it.
    #[inline]
    pub(crate) fn find_pair(&self, prefix: u32, last: u32) -> Option<u32> {
        let node = self.nodes[prefix as usize];
        let mut child = node.first_child;
        while child != NONE {
            let slot = self.nodes[child as usize];
            if slot.last == last {
                return Some(child);
            }
            child = slot.next_sibling;
        }
        if node.listed < MAX_LISTED_CHILDREN {
            return None;
        }
        self.pairs.get(&pair_key(prefix, last)).copied()
    }

    /// The id of the n-gram `prefix` + `last` (both ids), interned if new.
    #[inline]
    pub(crate) fn pair(&mut self, prefix: u32, last: u32) -> u32 {
        if let Some(id) = self.find_pair(prefix, last) {
            return id;
        }
        let Self { nodes, pairs, .. } = self;
        let id = Self::fresh(nodes);
        let parent = &mut nodes[prefix as usize];
        if parent.listed < MAX_LISTED_CHILDREN {
            let next_sibling = parent.first_child;
            parent.first_child = id;
            parent.listed += 1;
            let child = &mut nodes[id as usize];
            child.last = last;
            child.next_sibling = next_sibling;
        } else {
            pairs.insert(pair_key(prefix, last), id);
        }
        id
    }

    #[inline]
    pub(crate) fn char(&mut self, c: char) -> u32 {
        let nodes = &mut self.nodes;
        *self
            .pairs
            .entry(pair_key(CHAR_PREFIX, u32::from(c)))
            .or_insert_with(|| Self::fresh(nodes))
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

fn pair_key(prefix: u32, last: u32) -> u64 {
    (u64::from(prefix) << 32) | u64::from(last)
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
    fn short_and_long_tokens_intern_alike() {
        let mut interner = Interner::default();
        let long = "a token longer than fifteen bytes";
        let ids: Vec<u32> = [
            "",
            "a",
            "a\0",
            "fifteen bytes!!",
            "sixteen bytes!!!",
            long,
            "a",
        ]
        .iter()
        .map(|t| interner.token(t.as_bytes()))
        .collect();
        assert_eq!(ids, [0, 1, 2, 3, 4, 5, 1]);
        assert_eq!(interner.find_token(long.as_bytes()), Some(5));
        assert_eq!(interner.find_token(b"sixteen bytes!!!"), Some(4));
        assert_eq!(interner.find_token(b"a\0\0"), None);
        assert_eq!(interner.find_token(b"b"), None);
        assert_eq!(interner.token_bytes(2), b"a\0");
        assert_eq!(interner.token_bytes(5), long.as_bytes());
    }

    #[test]
    fn packed_keys_hold_exactly_the_bytes() {
        let text: Vec<u8> = (1..=MAX_PACKED as u8).map(|b| b.wrapping_mul(37)).collect();
        for len in 0..=MAX_PACKED {
            let key = pack(&text[..len]).expect("short enough");
            assert_eq!(unpack(key), &text[..len], "length {len}");
        }
        assert!(pack(&[0; MAX_PACKED + 1]).is_none());
    }

    #[test]
    fn a_prefix_with_many_children_keeps_every_pair_distinct() {
        // More children than a list holds: the rest live in the hash table.
        let mut interner = Interner::default();
        let the = interner.token(b"the");
        let words: Vec<u32> = (0..40)
            .map(|i| interner.token(format!("w{i}").as_bytes()))
            .collect();
        let pairs: Vec<u32> = words.iter().map(|&w| interner.pair(the, w)).collect();
        let again: Vec<u32> = words.iter().map(|&w| interner.pair(the, w)).collect();
        assert_eq!(pairs, again);
        let found: Vec<Option<u32>> = words.iter().map(|&w| interner.find_pair(the, w)).collect();
        assert_eq!(found, pairs.iter().map(|&p| Some(p)).collect::<Vec<_>>());
        let mut distinct = pairs.clone();
        distinct.sort_unstable();
        distinct.dedup();
        assert_eq!(distinct.len(), 40);
        assert_eq!(interner.find_pair(words[0], the), None);
        assert_eq!(interner.find_pair(pairs[39], the), None);
        assert_eq!(interner.len(), 1 + 40 + 40);
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

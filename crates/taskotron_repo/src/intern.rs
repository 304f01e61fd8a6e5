//! The string interner: every name, version, release, arch and dependency
//! name of a repository is stored once, in one buffer, and known by a
//! [`Sym`].

use std::fmt;
use std::hash::BuildHasher;
use std::sync::OnceLock;

use hashbrown::DefaultHashBuilder;
use hashbrown::HashTable;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// An interned string of one [`Repo`](crate::Repo): read it with
/// [`Repo::str`](crate::Repo::str). A `Sym` of another repository reads
/// as some other string, or as `""`; it never panics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Sym(u32);

impl Sym {
    /// The index of the string, from 0 in the order they were interned.
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// The interner is full: 4 GiB of distinct strings, or 2³² of them.
#[derive(Debug)]
pub(crate) struct Full;

/// Strings stored back to back in one buffer; `ends[i]` is where string
/// `i` ends. The hash table maps a string to its `Sym`; it is never stored,
/// and after a cache is loaded it is built only when something is looked
/// up or added (a solver reads strings by `Sym` and never needs it).
#[derive(Clone, Default)]
pub(crate) struct Interner {
    buf: String,
    ends: Vec<u32>,
    table: OnceLock<HashTable<Sym>>,
    hasher: DefaultHashBuilder,
}

/// The table of every string of `buf` and `ends` (the first `Sym` of a
/// string that is there twice).
fn build_table(buf: &str, ends: &[u32], hasher: &DefaultHashBuilder) -> HashTable<Sym> {
    let mut table = HashTable::with_capacity(ends.len());
    for index in 0..ends.len() {
        let Ok(index) = u32::try_from(index) else {
            break;
        };
        let sym = Sym(index);
        let text = get(buf, ends, sym);
        let hash = hasher.hash_one(text);
        if table.find(hash, |&it| get(buf, ends, it) == text).is_none() {
            table.insert_unique(hash, sym, |&it| hasher.hash_one(get(buf, ends, it)));
        }
    }
    table
}

impl Interner {
    pub(crate) fn len(&self) -> usize {
        self.ends.len()
    }

    /// The `Sym` of `text`, adding it when it is new.
    pub(crate) fn intern(&mut self, text: &str) -> Result<Sym, Full> {
        let hash = self.hasher.hash_one(text);
        let Interner {
            buf,
            ends,
            table,
            hasher,
        } = self;
        if table.get().is_none() {
            let built = build_table(buf, ends, hasher);
            *table = OnceLock::from(built);
        }
        let Some(table) = table.get_mut() else {
            return Err(Full);
        };
        if let Some(sym) = table.find(hash, |&sym| get(buf, ends, sym) == text) {
            return Ok(*sym);
        }
        let end = u32::try_from(buf.len() + text.len()).map_err(|_| Full)?;
        let sym = Sym(u32::try_from(ends.len()).map_err(|_| Full)?);
        buf.push_str(text);
        ends.push(end);
        table.insert_unique(hash, sym, |&sym| hasher.hash_one(get(buf, ends, sym)));
        Ok(sym)
    }

    /// The `Sym` of `text`, if it was interned.
    pub(crate) fn lookup(&self, text: &str) -> Option<Sym> {
        let hash = self.hasher.hash_one(text);
        self.table
            .get_or_init(|| build_table(&self.buf, &self.ends, &self.hasher))
            .find(hash, |&sym| get(&self.buf, &self.ends, sym) == text)
            .copied()
    }

    pub(crate) fn get(&self, sym: Sym) -> &str {
        get(&self.buf, &self.ends, sym)
    }

    /// Build an interner from stored parts, checking that every string is
    /// within the buffer and on character boundaries.
    fn from_parts(buf: String, ends: Vec<u32>) -> Result<Interner, String> {
        let mut start = 0usize;
        for &end in &ends {
            let end = end as usize;
            if end < start || end > buf.len() || !buf.is_char_boundary(end) {
                return Err(format!("bad string table entry {end} after {start}"));
            }
            start = end;
        }
        let interner = Interner {
            buf,
            ends,
            table: OnceLock::new(),
            hasher: DefaultHashBuilder::default(),
        };
        if interner.ends.len() > u32::MAX as usize {
            return Err("too many strings".to_owned());
        }
        Ok(interner)
    }
}

fn get<'a>(buf: &'a str, ends: &[u32], sym: Sym) -> &'a str {
    let index = sym.index();
    let end = ends.get(index).map_or(0, |&it| it as usize);
    let start = match index.checked_sub(1) {
        Some(before) => ends.get(before).map_or(0, |&it| it as usize),
        None => 0,
    };
    buf.get(start..end).unwrap_or("")
}

impl PartialEq for Interner {
    fn eq(&self, other: &Interner) -> bool {
        self.buf == other.buf && self.ends == other.ends
    }
}

impl Eq for Interner {}

impl fmt::Debug for Interner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Interner")
            .field("strings", &self.ends.len())
            .field("bytes", &self.buf.len())
            .finish()
    }
}

#[derive(Serialize)]
struct PartsRef<'a> {
    buf: &'a str,
    ends: &'a [u32],
}

#[derive(Deserialize)]
struct Parts {
    buf: String,
    ends: Vec<u32>,
}

impl Serialize for Interner {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        PartsRef {
            buf: &self.buf,
            ends: &self.ends,
        }
        .serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Interner {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Interner, D::Error> {
        let Parts { buf, ends } = Parts::deserialize(deserializer)?;
        Interner::from_parts(buf, ends).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interns_once_and_reads_back() {
        let mut strings = Interner::default();
        let a = strings.intern("glibc").unwrap();
        let empty = strings.intern("").unwrap();
        let b = strings.intern("glibc-devel").unwrap();
        assert_eq!(strings.intern("glibc").unwrap(), a);
        assert_eq!(strings.intern("").unwrap(), empty);
        assert_eq!(strings.len(), 3);
        assert_eq!(
            (strings.get(a), strings.get(empty), strings.get(b)),
            ("glibc", "", "glibc-devel")
        );
        assert_eq!(strings.lookup("glibc-devel"), Some(b));
        assert_eq!(strings.lookup("glib"), None);
        // A foreign symbol reads as nothing rather than panicking.
        assert_eq!(strings.get(Sym(99)), "");
    }

    #[test]
    fn rejects_bad_parts() {
        assert!(Interner::from_parts("ab".into(), vec![1, 3]).is_err());
        assert!(Interner::from_parts("ab".into(), vec![2, 1]).is_err());
        assert!(Interner::from_parts("é".into(), vec![1]).is_err());
        let ok = Interner::from_parts("abc".into(), vec![1, 3, 3]).unwrap();
        assert_eq!(ok.lookup("bc"), Some(Sym(1)));
        assert_eq!(ok.lookup(""), Some(Sym(2)));
    }
}

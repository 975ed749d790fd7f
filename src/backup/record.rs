//! One manifest record in memory and its compact schema-2 encoding (see
//! `docs/backup-format.md`): raw path bytes with the prefix shared with the
//! previous record left out, varint metadata as deltas from the previous
//! record, and the binary BLAKE3. Pure: no I/O beyond `Read`/`Write`.
//!
//! **Invariant:** records are written and read in path order, where `/`
//! sorts below every other byte ([`cmp_path`]), which is the order of a
//! depth-first walk that lists each folder sorted by name.

use std::cmp::Ordering;
use std::ffi::{OsStr, OsString};
use std::io::{self, Read, Write};

use super::scan::SrcMeta;
use crate::files::backup::{EntryKind, ManifestEntry};
use std::os::unix::ffi::{OsStrExt, OsStringExt};

/// A snapshot entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rec {
    /// Raw bytes of the snapshot-relative path (`opt/app/x`).
    pub path: Vec<u8>,
    pub kind: EntryKind,
    pub meta: SrcMeta,
    /// BLAKE3 of a regular file's content.
    pub hash: Option<[u8; 32]>,
    /// A symlink's target.
    pub target: Option<Vec<u8>>,
    /// For the second and later names of a hard-linked file: the path of the
    /// first name in this snapshot (same inode there).
    pub link: Option<Vec<u8>>,
}

/// Path order of records: component by component, bytes compared as they are.
pub fn cmp_path(a: &[u8], b: &[u8]) -> Ordering {
    let key = |c: &u8| if *c == b'/' { 0 } else { *c as u16 + 1 };
    a.iter().map(key).cmp(b.iter().map(key))
}

/// True when `path` is `top` or lies below it.
pub fn is_at_or_under(path: &[u8], top: &[u8]) -> bool {
    path == top || (path.starts_with(top) && path.get(top.len()) == Some(&b'/'))
}

impl Rec {
    /// From a schema-1 JSON entry.
    pub fn from_entry(e: &ManifestEntry) -> io::Result<Rec> {
        let hash = match &e.blake3 {
            Some(h) => Some(parse_hex(h).ok_or_else(|| bad("a BLAKE3 that is not 64 hex digits"))?),
            None => None,
        };
        Ok(Rec {
            path: unescape_path(&e.path).into_vec(),
            kind: e.kind,
            meta: SrcMeta {
                size: e.size,
                mtime: e.mtime,
                mtime_ns: e.mtime_ns,
                mode: e.mode,
                uid: e.uid,
                gid: e.gid,
                ctime: e.ctime,
                ctime_ns: e.ctime_ns,
                ino: e.ino,
            },
            hash,
            target: e.target.as_ref().map(|t| unescape_path(t).into_vec()),
            link: None,
        })
    }

    /// The escaped path, as shown to people and in verify records.
    pub fn shown(&self) -> String {
        escape_path(std::ffi::OsStr::from_bytes(&self.path))
    }

    /// The hex BLAKE3, if any.
    pub fn hex(&self) -> Option<String> {
        self.hash
            .map(|h| blake3::Hash::from(h).to_hex().to_string())
    }
}

fn parse_hex(s: &str) -> Option<[u8; 32]> {
    blake3::Hash::from_hex(s).ok().map(|h| *h.as_bytes())
}

fn bad(what: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("damaged manifest: {what}"),
    )
}

const KIND_MASK: u8 = 0b11;
const HAS_HASH: u8 = 1 << 2;
const HAS_LINK: u8 = 1 << 3;
const SAME_OWNER_MODE: u8 = 1 << 4;
const CTIME_IS_MTIME: u8 = 1 << 5;
/// The byte after the last record (a record's flags never equal it).
pub const END: u8 = 0xff;

fn kind_code(k: EntryKind) -> u8 {
    match k {
        EntryKind::File => 0,
        EntryKind::Dir => 1,
        EntryKind::Symlink => 2,
    }
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push(v as u8 | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn put_signed(out: &mut Vec<u8>, v: i64) {
    put_varint(out, ((v << 1) ^ (v >> 63)) as u64);
}

fn put_bytes(out: &mut Vec<u8>, b: &[u8]) {
    put_varint(out, b.len() as u64);
    out.extend_from_slice(b);
}

/// Encodes records as deltas from the one before.
#[derive(Default)]
pub struct Encoder {
    /// The previous record's path and metadata (empty and zero at first).
    prev_path: Vec<u8>,
    prev_meta: SrcMeta,
    buf: Vec<u8>,
}

impl Encoder {
    pub fn write(&mut self, r: &Rec, out: &mut impl Write) -> io::Result<()> {
        let b = &mut self.buf;
        b.clear();
        let (pm, pp) = (self.prev_meta, self.prev_path.as_slice());
        let m = &r.meta;
        let shared = pp.iter().zip(&r.path).take_while(|(a, b)| a == b).count();
        let same = (m.mode, m.uid, m.gid) == (pm.mode, pm.uid, pm.gid);
        let ct = (m.ctime, m.ctime_ns) == (m.mtime, m.mtime_ns);
        let mut flags = kind_code(r.kind);
        flags |= if r.hash.is_some() { HAS_HASH } else { 0 };
        flags |= if r.link.is_some() { HAS_LINK } else { 0 };
        flags |= if same { SAME_OWNER_MODE } else { 0 };
        flags |= if ct { CTIME_IS_MTIME } else { 0 };
        b.push(flags);
        put_varint(b, shared as u64);
        put_bytes(b, &r.path[shared..]);
        if !same {
            put_varint(b, m.mode.into());
            put_varint(b, m.uid.into());
            put_varint(b, m.gid.into());
        }
        put_varint(b, m.size);
        put_signed(b, m.mtime.wrapping_sub(pm.mtime));
        put_varint(b, m.mtime_ns.into());
        if !ct {
            put_signed(b, m.ctime.wrapping_sub(m.mtime));
            put_varint(b, m.ctime_ns.into());
        }
        put_signed(b, (m.ino as i64).wrapping_sub(pm.ino as i64));
        if let Some(h) = &r.hash {
            b.extend_from_slice(h);
        }
        if let Some(t) = &r.target {
            put_bytes(b, t);
        }
        if let Some(l) = &r.link {
            put_bytes(b, l);
        }
        out.write_all(b)?;
        self.prev_path.clear();
        self.prev_path.extend_from_slice(&r.path);
        self.prev_meta = r.meta;
        Ok(())
    }
}

/// Decodes what [`Encoder`] wrote; `Ok(None)` at the end marker.
#[derive(Default)]
pub struct Decoder {
    /// The previous record's path and metadata; `None` before the first.
    prev: Option<(Vec<u8>, SrcMeta)>,
}

fn byte(r: &mut impl Read) -> io::Result<u8> {
    let mut b = [0u8; 1];
    r.read_exact(&mut b).map_err(|_| bad("it ends early"))?;
    Ok(b[0])
}

fn varint(r: &mut impl Read) -> io::Result<u64> {
    let mut v = 0u64;
    for shift in (0..64).step_by(7) {
        let b = byte(r)?;
        v |= u64::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            return Ok(v);
        }
    }
    Err(bad("a number is too long"))
}

fn signed(r: &mut impl Read) -> io::Result<i64> {
    let v = varint(r)?;
    Ok((v >> 1) as i64 ^ -((v & 1) as i64))
}

fn small(r: &mut impl Read) -> io::Result<u32> {
    u32::try_from(varint(r)?).map_err(|_| bad("a field is out of range"))
}

fn bytes(r: &mut impl Read) -> io::Result<Vec<u8>> {
    let n = varint(r)?;
    if n > 1 << 16 {
        return Err(bad("a name is too long"));
    }
    let mut v = vec![0u8; n as usize];
    r.read_exact(&mut v).map_err(|_| bad("it ends early"))?;
    Ok(v)
}

impl Decoder {
    pub fn read(&mut self, r: &mut impl Read) -> io::Result<Option<Rec>> {
        let flags = byte(r)?;
        if flags == END {
            return Ok(None);
        }
        let kind = match flags & KIND_MASK {
            0 => EntryKind::File,
            1 => EntryKind::Dir,
            2 => EntryKind::Symlink,
            _ => return Err(bad("an unknown entry kind")),
        };
        let (pm, pp) = match &self.prev {
            Some((path, meta)) => (*meta, path.as_slice()),
            None => (SrcMeta::default(), &b""[..]),
        };
        let shared = varint(r)? as usize;
        if shared > pp.len() {
            return Err(bad("a path refers past the previous one"));
        }
        let n = varint(r)?;
        if n > 1 << 16 {
            return Err(bad("a name is too long"));
        }
        let mut path = Vec::with_capacity(shared + n as usize);
        path.extend_from_slice(&pp[..shared]);
        path.resize(shared + n as usize, 0);
        r.read_exact(&mut path[shared..])
            .map_err(|_| bad("it ends early"))?;
        let mut m = pm;
        if flags & SAME_OWNER_MODE == 0 {
            (m.mode, m.uid, m.gid) = (small(r)?, small(r)?, small(r)?);
        }
        m.size = varint(r)?;
        m.mtime = pm.mtime.wrapping_add(signed(r)?);
        m.mtime_ns = small(r)?;
        (m.ctime, m.ctime_ns) = if flags & CTIME_IS_MTIME != 0 {
            (m.mtime, m.mtime_ns)
        } else {
            (m.mtime.wrapping_add(signed(r)?), small(r)?)
        };
        m.ino = (pm.ino as i64).wrapping_add(signed(r)?) as u64;
        let hash = if flags & HAS_HASH != 0 {
            let mut h = [0u8; 32];
            r.read_exact(&mut h).map_err(|_| bad("it ends early"))?;
            Some(h)
        } else {
            None
        };
        let target = if kind == EntryKind::Symlink {
            Some(bytes(r)?)
        } else {
            None
        };
        let link = if flags & HAS_LINK != 0 {
            Some(bytes(r)?)
        } else {
            None
        };
        let rec = Rec {
            path,
            kind,
            meta: m,
            hash,
            target,
            link,
        };
        match &mut self.prev {
            Some((p, _)) if cmp_path(p, &rec.path) != Ordering::Less => {
                return Err(bad("records are out of order"));
            }
            Some((p, meta)) => {
                p.clear();
                p.extend_from_slice(&rec.path);
                *meta = rec.meta;
            }
            None => self.prev = Some((rec.path.clone(), rec.meta)),
        }
        Ok(Some(rec))
    }
}

/// The raw bytes of an escaped path.
pub fn raw(escaped: &str) -> Vec<u8> {
    unescape_path(escaped).into_vec()
}

/// Escapes a file name for the manifest: valid UTF-8 stays readable, `%`
/// becomes `%25`, and every byte that is not part of valid UTF-8 becomes `%XX`.
/// [`unescape_path`] gives back the exact bytes.
pub fn escape_path(name: &OsStr) -> String {
    let mut out = String::with_capacity(name.len());
    for chunk in name.as_bytes().utf8_chunks() {
        for c in chunk.valid().chars() {
            if c == '%' {
                out.push_str("%25");
            } else {
                out.push(c);
            }
        }
        for b in chunk.invalid() {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Reverses [`escape_path`]; a `%` not followed by two hex digits is kept as is.
pub fn unescape_path(s: &str) -> OsString {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && i + 2 < b.len()
            && let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2]))
        {
            out.push(h << 4 | l);
            i += 3;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    OsString::from_vec(out)
}

fn hex(c: u8) -> Option<u8> {
    (c as char).to_digit(16).map(|d| d as u8)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(path: &str, kind: EntryKind, n: u64) -> Rec {
        Rec {
            path: path.as_bytes().to_vec(),
            kind,
            meta: SrcMeta {
                size: n * 100,
                mtime: 1_700_000_000 + n as i64,
                mtime_ns: (n * 7919) as u32,
                mode: if kind == EntryKind::Dir { 0o755 } else { 0o644 },
                uid: 1000,
                gid: 1000,
                ctime: 1_700_000_000 + n as i64 + (n % 2) as i64,
                ctime_ns: (n * 7919) as u32,
                ino: 5000 - n,
            },
            hash: (kind == EntryKind::File).then(|| *blake3::hash(path.as_bytes()).as_bytes()),
            target: (kind == EntryKind::Symlink).then(|| b"../t".to_vec()),
            link: None,
        }
    }

    #[test]
    fn records_round_trip_and_are_small() {
        let mut recs = vec![
            rec("opt", EntryKind::Dir, 0),
            rec("opt/a", EntryKind::Dir, 1),
        ];
        for i in 0..500 {
            recs.push(rec(
                &format!("opt/a/file{i:04}.dat"),
                EntryKind::File,
                i + 2,
            ));
        }
        recs.push(rec("opt/a/zlink", EntryKind::Symlink, 3));
        let mut hl = rec("opt/b", EntryKind::File, 4);
        hl.link = Some(b"opt/a/file0001.dat".to_vec());
        recs.push(hl);
        let mut raw_name = rec("opt/braw", EntryKind::File, 5);
        raw_name.path[5] = 0xff;
        recs.push(raw_name);
        let mut out = Vec::new();
        let mut enc = Encoder::default();
        for r in &recs {
            enc.write(r, &mut out).unwrap();
        }
        out.push(END);
        // The hash is 32 bytes; everything else about a file takes a few more.
        // Before compression: the hash's 32 bytes and about 18 for the rest.
        assert!(out.len() < recs.len() * 56, "{} bytes", out.len());
        let mut dec = Decoder::default();
        let mut cur = out.as_slice();
        let mut back = Vec::new();
        while let Some(r) = dec.read(&mut cur).unwrap() {
            back.push(r);
        }
        assert_eq!(back, recs);
        assert!(Decoder::default().read(&mut &out[..out.len() / 2]).is_ok());
        let mut cut = &out[..out.len() - 40];
        let mut dec = Decoder::default();
        let err = loop {
            match dec.read(&mut cut) {
                Ok(Some(_)) => {}
                Ok(None) => panic!("a cut stream ended cleanly"),
                Err(e) => break e,
            }
        };
        assert!(err.to_string().contains("ends early"), "{err}");
    }

    #[test]
    fn path_order_is_the_order_of_a_sorted_depth_first_walk() {
        let mut v = vec!["a.txt", "a/b", "a", "a/b/c", "a-b", "ab"];
        v.sort_by(|x, y| cmp_path(x.as_bytes(), y.as_bytes()));
        assert_eq!(v, ["a", "a/b", "a/b/c", "a-b", "a.txt", "ab"]);
        assert!(is_at_or_under(b"opt/a/x", b"opt/a"));
        assert!(is_at_or_under(b"opt/a", b"opt/a"));
        assert!(!is_at_or_under(b"opt/ab", b"opt/a"));
    }
}

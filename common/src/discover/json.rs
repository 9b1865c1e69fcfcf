//! JSON bodies parsed into reused buffers, for schema learning.
//!
//! Learning needs every value of a body once, in the order `serde_json::Value`
//! would give them (object members sorted by key, a repeated key keeping its
//! last value), but none of the `String`s, maps and vectors a `Value` would
//! allocate per document. [`Doc`] is a pre-order tape of nodes with string
//! text in one arena (a copy of the body, where a string without escapes
//! stands, then the unescaped ones) and each object's members in key order;
//! its buffers are kept between documents, so a warm `Doc` parses without
//! allocating. Its parser is a hand-written single pass that accepts exactly
//! what `serde_json::from_slice::<Value>` accepts (grammar, whitespace,
//! escapes, surrogate pairs, UTF-8, nesting limit, numbers that overflow to
//! floats; the tests compare the two on generated documents), and nothing it
//! holds outgrows twice the body it came from.
//!
//! Bodies of one API mostly repeat a layout: the same bytes but for the
//! values. A thread keeps the layouts of its last few documents
//! (`Skeleton`); a body that matches one is filled in from it, its
//! scalars read in place, without a parse — the same tape the parser would
//! make (tests hold the two together on generated bodies). The layout's
//! number ([`Val::layout`]) lets a schema observe it by a plan.

use super::values::{self, JType};

/// One parsed JSON document (empty after a failed parse).
#[derive(Debug, Default)]
pub struct Doc {
    nodes: Vec<Node>,
    /// Object members in key order: (key text, value node).
    members: Vec<(Span, u32)>,
    /// Members of the objects being parsed, in document order, with the
    /// first bytes of the key ([`key_prefix`]).
    stack: Vec<(Span, u32, u64)>,
    text: String,
    /// An escaped string's text while it is unescaped.
    scratch: String,
    /// [`values::string_facts`] of each string node, by node, when
    /// [`Doc::cache_string_facts`] ran (a worker thread does it ahead).
    facts: Vec<Option<StrFacts>>,
    /// Numbers of the last full parse: (node, start, end) in the body.
    nums: Vec<(u32, u32, u32)>,
    /// Whether the last full parse unescaped a string (its text is after
    /// the body's in `text`).
    escaped: bool,
    /// The document's layout ([`Val::layout`]), 0 for none.
    layout: u64,
}

/// A run of `text` or `members`: `start..end` (a `Range` that is `Copy`,
/// so a layout's tape is copied in bulk).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Span {
    start: u32,
    end: u32,
}

/// A string's format and sensitive kind ([`values::string_facts`]).
pub type StrFacts = (Option<&'static str>, Option<&'static str>);

#[derive(Debug, Clone, Copy)]
struct Node {
    kind: Kind,
    /// Index just past this node's subtree (pre-order).
    end: u32,
}

#[derive(Debug, Clone, Copy)]
enum Kind {
    Null,
    Bool,
    /// A non-negative integer (`serde_json`'s `PosInt`).
    UInt(u64),
    Int,
    Float,
    Str(Span),
    Array,
    /// Span of `members`.
    Object(Span),
}

/// A value of a [`Doc`].
#[derive(Clone, Copy)]
pub struct Val<'d> {
    doc: &'d Doc,
    at: u32,
}

/// What a value is, with its contents.
pub enum Shape<'d> {
    Null,
    Bool,
    UInt(u64),
    Int,
    Float,
    Str(&'d str),
    Array(Items<'d>),
    Object(Members<'d>),
}

impl Doc {
    /// Parses `bytes`, replacing what was held; false (and an empty document)
    /// when they are not one JSON value.
    pub fn parse(&mut self, bytes: &[u8]) -> bool {
        self.parse_inner(bytes, false)
    }

    /// [`Doc::parse`], then [`Doc::cache_string_facts`]: the same document
    /// and facts. A body filled from a layout takes the facts of each
    /// string the layout last saw at the same place when the text is the
    /// same (values of one field repeat: roles, states, dates), and works
    /// out only the others.
    pub fn parse_with_facts(&mut self, bytes: &[u8]) -> bool {
        self.parse_inner(bytes, true)
    }

    fn parse_inner(&mut self, bytes: &[u8], facts: bool) -> bool {
        self.nodes.clear();
        self.members.clear();
        self.stack.clear();
        self.text.clear();
        self.facts.clear();
        self.nums.clear();
        self.escaped = false;
        self.layout = 0;
        if u32::try_from(bytes.len()).is_err() {
            return false;
        }
        // serde_json refuses a body that is not UTF-8 (a byte of a bad
        // sequence is either in a string, whose text must be UTF-8, or
        // outside one, where only ASCII is JSON); once the whole body is
        // checked, every string between ASCII delimiters is too.
        let Ok(text) = std::str::from_utf8(bytes) else {
            return false;
        };
        // The text of every string without an escape is where it stands
        // in the body: the body is copied once, escaped strings go after it.
        self.text.push_str(text);
        let ok = SKELETONS.with(|s| {
            let mut skeletons = s.borrow_mut();
            if skeletons.fill(self, bytes, text, facts) {
                return true;
            }
            let mut p = Parser {
                bytes,
                text,
                at: 0,
                doc: &mut *self,
            };
            let ok = p.value(0).is_ok() && p.skip_ws().is_none();
            if ok {
                if facts {
                    self.cache_string_facts();
                }
                self.layout = skeletons.learn(self, bytes);
            }
            ok
        });
        if !ok {
            self.nodes.clear();
            self.layout = 0;
        }
        // A huge document once should not pin its buffers forever.
        const KEEP: usize = 1 << 16;
        if self.nodes.capacity() > KEEP {
            self.nodes.shrink_to(KEEP);
            self.members.shrink_to(KEEP);
            self.stack.shrink_to(KEEP);
            self.nums.shrink_to(KEEP);
            self.text.shrink_to(KEEP * 16);
        }
        if self.scratch.capacity() > KEEP * 16 {
            self.scratch.shrink_to(KEEP * 16);
        }
        ok
    }

    /// Forgets the document (no root), keeping the buffers.
    pub fn clear(&mut self) {
        self.nodes.clear();
        self.facts.clear();
        self.layout = 0;
    }

    /// Bytes the buffers hold (capacity): a recycled document bigger than
    /// a cap is dropped instead of kept.
    pub fn footprint(&self) -> usize {
        self.nodes.capacity() * std::mem::size_of::<Node>()
            + self.members.capacity() * std::mem::size_of::<(Span, u32)>()
            + self.stack.capacity() * std::mem::size_of::<(Span, u32, u64)>()
            + self.text.capacity()
            + self.scratch.capacity()
            + self.facts.capacity() * std::mem::size_of::<Option<StrFacts>>()
            + self.nums.capacity() * std::mem::size_of::<(u32, u32, u32)>()
    }

    /// Works out [`values::string_facts`] of every string now, so that
    /// [`Val::string_facts`] only looks them up.
    pub fn cache_string_facts(&mut self) {
        let mut facts = std::mem::take(&mut self.facts);
        facts.clear();
        facts.extend(self.nodes.iter().map(|n| match &n.kind {
            Kind::Str(r) => Some(values::string_facts(self.str(r))),
            _ => None,
        }));
        self.facts = facts;
    }

    /// The root value, unless the last parse failed.
    pub fn root(&self) -> Option<Val<'_>> {
        (!self.nodes.is_empty()).then_some(Val { doc: self, at: 0 })
    }

    fn str(&self, r: &Span) -> &str {
        self.text
            .get(r.start as usize..r.end as usize)
            .unwrap_or_default()
    }

    fn push_text(&mut self, s: &str) -> Span {
        let start = self.text.len() as u32;
        self.text.push_str(s);
        Span {
            start,
            end: self.text.len() as u32,
        }
    }

    fn leaf(&mut self, kind: Kind) -> u32 {
        let at = self.nodes.len() as u32;
        self.nodes.push(Node { kind, end: at + 1 });
        at
    }

    /// Moves the members of the object being closed (on the stack from
    /// `base`) to `members` in key order, a repeated key keeping its last
    /// value (a stable sort leaves repeats in document order; the last of
    /// each run is kept), and returns their range.
    fn sort_members(&mut self, base: usize) -> Span {
        let Doc {
            stack,
            members,
            text,
            ..
        } = self;
        let key = |r: &Span| text.get(r.start as usize..r.end as usize).unwrap_or("");
        // Byte order of the keys: their prefixes first, the text on a tie.
        let order = |a: &(Span, u32, u64), b: &(Span, u32, u64)| {
            a.2.cmp(&b.2).then_with(|| key(&a.0).cmp(key(&b.0)))
        };
        let mine = stack.get_mut(base..).unwrap_or_default();
        let start = members.len() as u32;
        if mine.is_sorted_by(|a, b| order(a, b).is_lt()) {
            // Already in order, no repeats (small objects often are).
            members.extend(mine.iter().map(|&(k, v, _)| (k, v)));
        } else {
            mine.sort_by(order);
            for (i, m) in mine.iter().enumerate() {
                let last_of_run = mine.get(i + 1).is_none_or(|n| order(n, m).is_ne());
                if last_of_run {
                    members.push((m.0, m.1));
                }
            }
        }
        stack.truncate(base);
        Span {
            start,
            end: members.len() as u32,
        }
    }
}

/// The first eight bytes of a key as a big-endian number (zero-padded):
/// two keys whose prefixes differ compare as their prefixes do.
fn key_prefix(key: &[u8]) -> u64 {
    let mut b = [0u8; 8];
    let n = key.len().min(8);
    if let (Some(to), Some(from)) = (b.get_mut(..n), key.get(..n)) {
        to.copy_from_slice(from);
    }
    u64::from_be_bytes(b)
}

impl<'d> Val<'d> {
    fn node(&self) -> Option<&'d Node> {
        self.doc.nodes.get(self.at as usize)
    }

    pub fn shape(&self) -> Shape<'d> {
        let doc = self.doc;
        match self.node().map(|n| &n.kind) {
            None | Some(Kind::Null) => Shape::Null,
            Some(Kind::Bool) => Shape::Bool,
            Some(Kind::UInt(n)) => Shape::UInt(*n),
            Some(Kind::Int) => Shape::Int,
            Some(Kind::Float) => Shape::Float,
            Some(Kind::Str(r)) => Shape::Str(doc.str(r)),
            Some(Kind::Array) => Shape::Array(Items {
                doc,
                next: self.at + 1,
                end: self.node().map_or(0, |n| n.end),
            }),
            Some(Kind::Object(r)) => Shape::Object(Members {
                doc,
                next: r.start,
                end: r.end,
            }),
        }
    }

    /// The layout of the document when this is its root (else `None`):
    /// two roots with the same layout have the same tape — structure, keys
    /// and the kind of every scalar — and differ at most in the text of
    /// strings and the value of unsigned integers. Numbers are never
    /// given twice, in any thread.
    pub fn layout(&self) -> Option<u64> {
        (self.at == 0 && self.doc.layout != 0).then_some(self.doc.layout)
    }

    /// This value's place in its document's tape (pre-order).
    pub fn index(&self) -> u32 {
        self.at
    }

    /// The value at place `index` of the same document's tape (a null
    /// past its end).
    pub fn at(&self, index: u32) -> Val<'d> {
        Val {
            doc: self.doc,
            at: index,
        }
    }

    /// Values in the document's tape.
    pub fn tape_len(&self) -> usize {
        self.doc.nodes.len()
    }

    /// [`values::string_facts`] of this value's text `s` (cached, or worked out now).
    pub fn string_facts(&self, s: &str) -> StrFacts {
        match self.doc.facts.get(self.at as usize) {
            Some(Some(f)) => *f,
            _ => values::string_facts(s),
        }
    }

    /// The JSON Schema type, as [`JType::of`] gives it for a `serde_json::Value`.
    pub fn jtype(&self) -> JType {
        match self.node().map(|n| &n.kind) {
            None | Some(Kind::Null) => JType::Null,
            Some(Kind::Bool) => JType::Boolean,
            Some(Kind::UInt(_) | Kind::Int) => JType::Integer,
            Some(Kind::Float) => JType::Number,
            Some(Kind::Str(_)) => JType::String,
            Some(Kind::Array) => JType::Array,
            Some(Kind::Object(_)) => JType::Object,
        }
    }
}

/// The items of an array, in order.
pub struct Items<'d> {
    doc: &'d Doc,
    next: u32,
    end: u32,
}

impl<'d> Items<'d> {
    pub fn is_empty(&self) -> bool {
        self.next >= self.end
    }
}

impl<'d> Iterator for Items<'d> {
    type Item = Val<'d>;

    fn next(&mut self) -> Option<Val<'d>> {
        if self.next >= self.end {
            return None;
        }
        let at = self.next;
        self.next = self.doc.nodes.get(at as usize).map_or(self.end, |n| n.end);
        Some(Val { doc: self.doc, at })
    }
}

/// The members of an object, in key order, each key once (its last value).
pub struct Members<'d> {
    doc: &'d Doc,
    next: u32,
    end: u32,
}

impl<'d> Members<'d> {
    pub fn is_empty(&self) -> bool {
        self.next >= self.end
    }
}

impl<'d> Iterator for Members<'d> {
    type Item = (&'d str, Val<'d>);

    fn next(&mut self) -> Option<(&'d str, Val<'d>)> {
        if self.next >= self.end {
            return None;
        }
        let (key, at) = self.doc.members.get(self.next as usize)?;
        self.next += 1;
        Some((
            self.doc.str(key),
            Val {
                doc: self.doc,
                at: *at,
            },
        ))
    }
}

/// The next layout number, over all threads (0 is none).
static NEXT_LAYOUT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

thread_local! {
    /// The layouts of this thread's recent documents.
    static SKELETONS: std::cell::RefCell<Skeletons> = std::cell::RefCell::default();
}

/// The layout of a recently parsed document: its bytes with the scalars
/// (strings without escapes, numbers) cut out, and the tape it made.
///
/// A body whose bytes are the same outside those scalars, with each scalar
/// of the same kind (a string without escapes, or a number `serde_json`
/// holds the same way), has the same structure, keys, literals and
/// whitespace, so the parser would make the same tape with the new scalars
/// in it: [`Skeletons::fill`] makes that tape without parsing. API bodies
/// of one endpoint mostly come out of one serializer, so most bodies match
/// a layout seen a moment before.
#[derive(Debug, Default)]
struct Skeleton {
    /// Its layout number ([`Val::layout`]): never given twice.
    id: u64,
    body: Vec<u8>,
    /// The scalars cut out, in body order.
    slots: Vec<Slot>,
    nodes: Vec<Node>,
    members: Vec<(Span, u32)>,
    /// For each member, how many slots come before its key (its text
    /// moves with the lengths of those).
    gaps: Vec<u32>,
    /// The first bytes of the body before the first slot, and which of
    /// the eight count: a quick look before the comparison.
    head: u64,
    head_mask: u64,
    /// When it last filled or was learned ([`Skeletons::clock`]).
    used: u64,
    /// The last body filled with facts ([`Skeleton::facts_into`]).
    last: Vec<u8>,
    /// By slot: where that body's string there was (in `last`) and its
    /// facts, when known.
    seen: Vec<(Span, Option<StrFacts>)>,
}

/// One scalar of a [`Skeleton`]: its span in the body and its node.
#[derive(Debug, Clone, Copy)]
struct Slot {
    start: u32,
    end: u32,
    node: u32,
    kind: SlotKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SlotKind {
    Str,
    UInt,
    Int,
    Float,
}

/// The skeletons of a thread, the least recently used replaced. Bounded in number
/// and in size (a skeleton holds one small body), so a flood of distinct
/// layouts only misses; a miss costs a comparison of the first bytes with
/// each layout, and the layout of the body that missed replaces the least
/// recently used one. Nothing is iterated into output: a skeleton cannot
/// change a parse, only skip it (proven by the tests against the parser).
#[derive(Debug, Default)]
struct Skeletons {
    list: Vec<Skeleton>,
    /// Per literal run (gap between slots): new position minus old.
    shifts: Vec<i64>,
    /// Documents seen: the least recently used layout is replaced.
    clock: u64,
}

impl Skeletons {
    const MAX: usize = 16;
    /// Bodies and tapes above these sizes are not kept as layouts.
    const MAX_BYTES: usize = 2048;
    const MAX_NODES: usize = 128;

    /// Fills `doc` (cleared, its text holding `text`) from the first
    /// layout `bytes` matches, with its strings' facts when `facts`;
    /// false when none does.
    fn fill(&mut self, doc: &mut Doc, bytes: &[u8], text: &str, facts: bool) -> bool {
        let Skeletons {
            list,
            shifts,
            clock,
        } = self;
        *clock += 1;
        let head = head_of(bytes);
        let Some(s) = list.iter_mut().find(|s| {
            s.id != 0 && head & s.head_mask == s.head && s.matches(doc, bytes, text, shifts)
        }) else {
            // A layout that matched part of the way left nodes.
            doc.nodes.clear();
            return false;
        };
        s.used = *clock;
        if !s.fill(doc, shifts) {
            return false;
        }
        if facts {
            s.facts_into(doc, bytes);
        }
        doc.layout = s.id;
        true
    }

    /// Keeps the layout of `doc`, just parsed from `bytes` in full, and
    /// returns its number (0 when it is not kept).
    fn learn(&mut self, doc: &Doc, bytes: &[u8]) -> u64 {
        if doc.escaped || bytes.len() > Self::MAX_BYTES || doc.nodes.len() > Self::MAX_NODES {
            return 0;
        }
        if self.list.len() < Self::MAX {
            self.list.push(Skeleton::default());
        }
        // A slot never used (id 0) first, else the least recently used.
        let Some(sk) = self.list.iter_mut().min_by_key(|s| (s.id != 0, s.used)) else {
            return 0;
        };
        sk.used = self.clock;
        if !sk.learn(doc, bytes) {
            // Not a layout: the slot holds none.
            sk.id = 0;
            return 0;
        }
        sk.id = NEXT_LAYOUT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        sk.id
    }
}

impl Skeleton {
    /// Becomes the layout of `doc`, parsed from `bytes`; false when a
    /// number is of a kind no slot takes.
    fn learn(&mut self, doc: &Doc, bytes: &[u8]) -> bool {
        // What the slots of the layout it was saw says nothing of this one.
        self.seen.clear();
        self.last.clear();
        self.body.clear();
        self.body.extend_from_slice(bytes);
        self.slots.clear();
        for (i, n) in doc.nodes.iter().enumerate() {
            if let Kind::Str(r) = &n.kind {
                self.slots.push(Slot {
                    start: r.start,
                    end: r.end,
                    node: i as u32,
                    kind: SlotKind::Str,
                });
            }
        }
        for &(node, start, end) in &doc.nums {
            let kind = match doc.nodes.get(node as usize).map(|n| &n.kind) {
                Some(Kind::UInt(_)) => SlotKind::UInt,
                Some(Kind::Int) => SlotKind::Int,
                Some(Kind::Float) => SlotKind::Float,
                _ => return false,
            };
            self.slots.push(Slot {
                start,
                end,
                node,
                kind,
            });
        }
        self.slots.sort_unstable_by_key(|s| s.start);
        self.nodes.clear();
        self.nodes.extend_from_slice(&doc.nodes);
        self.members.clear();
        self.members.extend_from_slice(&doc.members);
        let lead = self.slots.first().map_or(bytes.len(), |s| s.start as usize);
        let n = lead.min(8);
        self.head = head_of(bytes);
        self.head_mask = u64::MAX.checked_shl(8 * (8 - n as u32)).unwrap_or(0);
        self.head &= self.head_mask;
        self.gaps.clear();
        let slots = &self.slots;
        self.gaps.extend(
            doc.members
                .iter()
                .map(|(k, _)| slots.partition_point(|s| s.start < k.start) as u32),
        );
        true
    }

    /// Whether `bytes` is this layout with other scalars: when it is, the
    /// document's nodes are the layout's with the new scalars in them,
    /// and the literal runs' moves are in `shifts` (when it is not, the
    /// nodes are left half made: the caller clears them).
    /// The caller has checked the first bytes ([`Skeleton::head`]).
    fn matches(&self, doc: &mut Doc, bytes: &[u8], text: &str, shifts: &mut Vec<i64>) -> bool {
        shifts.clear();
        doc.nodes.clear();
        doc.nodes.extend_from_slice(&self.nodes);
        let mut at = 0;
        let mut from = 0;
        for slot in &self.slots {
            let Some(lit) = self.body.get(from..slot.start as usize) else {
                return false;
            };
            if !bytes.get(at..at + lit.len()).is_some_and(|b| same(b, lit)) {
                return false;
            }
            shifts.push(at as i64 - from as i64);
            at += lit.len();
            let start = at;
            let kind = match slot.kind {
                SlotKind::Str => {
                    // The closing quote starts the next literal run.
                    match special_at(bytes, at) {
                        Some(end) if bytes.get(end) == Some(&b'"') => at = end,
                        _ => return false,
                    }
                    Kind::Str(Span {
                        start: start as u32,
                        end: at as u32,
                    })
                }
                SlotKind::UInt if let Some((n, len)) = plain_uint(bytes, at) => {
                    at += len;
                    Kind::UInt(n)
                }
                kind => {
                    let mut p = Parser {
                        bytes,
                        text,
                        at,
                        doc: &mut *doc,
                    };
                    let Ok(got) = p.number() else {
                        return false;
                    };
                    at = p.at;
                    match (kind, got) {
                        (SlotKind::UInt, Kind::UInt(n)) => Kind::UInt(n),
                        (SlotKind::Int, Kind::Int) => Kind::Int,
                        (SlotKind::Float, Kind::Float) => Kind::Float,
                        _ => return false,
                    }
                }
            };
            if let Some(node) = doc.nodes.get_mut(slot.node as usize) {
                node.kind = kind;
            }
            from = slot.end as usize;
        }
        shifts.push(at as i64 - from as i64);
        self.body.get(from..) == bytes.get(at..)
    }

    /// The facts of the strings of `doc`, just filled from this layout
    /// out of `bytes`, as [`Doc::cache_string_facts`] makes them (every
    /// string is in a slot: a layout has no escaped string, so its text
    /// is where it stands in `bytes`): a string with the same bytes as the
    /// last one seen in its slot has the facts remembered for it.
    fn facts_into(&mut self, doc: &mut Doc, bytes: &[u8]) {
        let Doc {
            nodes, text, facts, ..
        } = doc;
        facts.clear();
        facts.resize(nodes.len(), None);
        if self.seen.len() != self.slots.len() {
            self.seen.clear();
            self.seen.resize(self.slots.len(), (Span::default(), None));
        }
        let last = &self.last;
        for (slot, seen) in self.slots.iter().zip(&mut self.seen) {
            let Some(Node {
                kind: Kind::Str(r), ..
            }) = nodes.get(slot.node as usize)
            else {
                continue;
            };
            let (start, end) = (r.start as usize, r.end as usize);
            let old = last.get(seen.0.start as usize..seen.0.end as usize);
            let f = match (seen.1, old, bytes.get(start..end)) {
                (Some(f), Some(old), Some(new)) if same(old, new) => f,
                _ => values::string_facts(text.get(start..end).unwrap_or_default()),
            };
            *seen = (*r, Some(f));
            if let Some(at) = facts.get_mut(slot.node as usize) {
                *at = Some(f);
            }
        }
        // The spans just remembered are into these bytes.
        self.last.clear();
        self.last.extend_from_slice(bytes);
    }

    /// Finishes the tape of the body [`Skeleton::matches`] accepted (its
    /// nodes made): the members, their keys moved with the scalars.
    fn fill(&self, doc: &mut Doc, shifts: &[i64]) -> bool {
        // The layout's members copied in bulk, then each key moved in
        // place by the shift of the literal run it is in.
        doc.members.clear();
        doc.members.extend_from_slice(&self.members);
        let mut ok = true;
        for ((key, _), &gap) in doc.members.iter_mut().zip(&self.gaps) {
            let shift = shifts.get(gap as usize).copied().unwrap_or(0);
            let moved = |at: u32| u32::try_from(i64::from(at) + shift).ok();
            let (Some(start), Some(end)) = (moved(key.start), moved(key.end)) else {
                ok = false;
                break;
            };
            *key = Span { start, end };
        }
        if !ok {
            doc.nodes.clear();
            doc.members.clear();
        }
        ok
    }
}

/// The first eight bytes of `b` as a big-endian number (zero-padded).
fn head_of(b: &[u8]) -> u64 {
    key_prefix(b)
}

/// `a == b`, eight bytes at a time (literal runs are short: no call), the
/// last word overlapping the one before it rather than a byte loop.
fn same(a: &[u8], b: &[u8]) -> bool {
    let n = a.len();
    if n != b.len() {
        return false;
    }
    if n >= 8 {
        let word = |s: &[u8], i: usize| {
            s.get(i..i + 8)
                .and_then(|c| c.try_into().ok())
                .map_or(0, u64::from_le_bytes)
        };
        let mut i = 0;
        while i + 8 < n {
            if word(a, i) != word(b, i) {
                return false;
            }
            i += 8;
        }
        return word(a, n - 8) == word(b, n - 8);
    }
    if n >= 4 {
        let word = |s: &[u8], i: usize| {
            s.get(i..i + 4)
                .and_then(|c| c.try_into().ok())
                .map_or(0, u32::from_le_bytes)
        };
        return word(a, 0) == word(b, 0) && word(a, n - 4) == word(b, n - 4);
    }
    // Up to three bytes: the first, the middle and the last are all.
    a.first() == b.first() && a.get(n / 2) == b.get(n / 2) && a.last() == b.last()
}

/// An unsigned integer at `at` with nothing after its digits that would
/// make it another kind of number (`.`, `e`, `E`): its value and length.
/// Up to 19 digits (always a `u64`) and no leading zero, else `None` (the
/// parser decides).
fn plain_uint(bytes: &[u8], at: usize) -> Option<(u64, usize)> {
    let rest = bytes.get(at..)?;
    let len = rest
        .iter()
        .take(20)
        .position(|b| !b.is_ascii_digit())
        .unwrap_or(rest.len().min(20));
    if len == 0 || len > 19 || (len > 1 && rest.first() == Some(&b'0')) {
        return None;
    }
    if matches!(rest.get(len), Some(b'.' | b'e' | b'E')) {
        return None;
    }
    let n = rest
        .get(..len)?
        .iter()
        .fold(0u64, |n, d| n * 10 + u64::from(d - b'0'));
    Some((n, len))
}

/// Containers open at once at most: `serde_json`'s recursion limit (it
/// counts down from 128 and fails on reaching 0).
const MAX_DEPTH: u32 = 127;

/// Bytes that end the plain run of a string: its closing quote, an escape,
/// and the control characters JSON does not allow raw.
const STR_SPECIAL: [bool; 256] = {
    let mut t = [false; 256];
    let mut b = 0;
    while b < 0x20 {
        t[b] = true;
        b += 1;
    }
    t[b'"' as usize] = true;
    t[b'\\' as usize] = true;
    t
};

/// Where the plain run of a string that starts at `from` ends: the first
/// [`STR_SPECIAL`] byte, looked for eight bytes at a time.
fn special_at(bytes: &[u8], from: usize) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let rest = bytes.get(from..)?;
    let mut chunks = rest.chunks_exact(8);
    let mut at = from;
    for chunk in &mut chunks {
        let x = u64::from_le_bytes(chunk.try_into().ok()?);
        let quote = x ^ (ONES * u64::from(b'"'));
        let slash = x ^ (ONES * u64::from(b'\\'));
        // A zero byte in `quote` or `slash`, or a byte below 0x20 in `x`;
        // the lowest flag is exact (borrows only run upwards).
        let hits = (quote.wrapping_sub(ONES) & !quote
            | slash.wrapping_sub(ONES) & !slash
            | x.wrapping_sub(ONES * 0x20) & !x)
            & HIGH;
        if hits != 0 {
            return Some(at + (hits.trailing_zeros() / 8) as usize);
        }
        at += 8;
    }
    let tail = chunks.remainder();
    tail.iter()
        .position(|&b| STR_SPECIAL[b as usize])
        .map(|i| at + i)
}

/// A failed parse (the document is not JSON, or nests too deep).
struct Bad;

/// The parser: one pass over the bytes, appending to the document.
struct Parser<'b, 'd> {
    bytes: &'b [u8],
    /// The same bytes, known to be UTF-8.
    text: &'b str,
    at: usize,
    doc: &'d mut Doc,
}

impl Parser<'_, '_> {
    /// The next byte that is not whitespace (as `serde_json` skips it).
    fn skip_ws(&mut self) -> Option<u8> {
        while let Some(&b) = self.bytes.get(self.at) {
            if !matches!(b, b' ' | b'\n' | b'\t' | b'\r') {
                return Some(b);
            }
            self.at += 1;
        }
        None
    }

    fn expect(&mut self, word: &[u8]) -> Result<(), Bad> {
        let end = self.at + word.len();
        if self.bytes.get(self.at..end) != Some(word) {
            return Err(Bad);
        }
        self.at = end;
        Ok(())
    }

    /// One value; `depth` containers are open around it.
    fn value(&mut self, depth: u32) -> Result<(), Bad> {
        match self.skip_ws().ok_or(Bad)? {
            b'n' => {
                self.expect(b"null")?;
                self.doc.leaf(Kind::Null);
            }
            b't' => {
                self.expect(b"true")?;
                self.doc.leaf(Kind::Bool);
            }
            b'f' => {
                self.expect(b"false")?;
                self.doc.leaf(Kind::Bool);
            }
            b'-' | b'0'..=b'9' => {
                let start = self.at as u32;
                let kind = self.number()?;
                let node = self.doc.leaf(kind);
                self.doc.nums.push((node, start, self.at as u32));
            }
            b'"' => {
                self.at += 1;
                let r = self.string()?;
                self.doc.leaf(Kind::Str(r));
            }
            b'[' if depth < MAX_DEPTH => {
                self.at += 1;
                self.array(depth + 1)?;
            }
            b'{' if depth < MAX_DEPTH => {
                self.at += 1;
                self.object(depth + 1)?;
            }
            _ => return Err(Bad),
        }
        Ok(())
    }

    /// After `[`.
    fn array(&mut self, depth: u32) -> Result<(), Bad> {
        let at = self.doc.leaf(Kind::Array);
        if self.skip_ws() == Some(b']') {
            self.at += 1;
        } else {
            loop {
                self.value(depth)?;
                match self.skip_ws() {
                    Some(b',') => self.at += 1,
                    Some(b']') => {
                        self.at += 1;
                        break;
                    }
                    _ => return Err(Bad),
                }
            }
        }
        let end = self.doc.nodes.len() as u32;
        if let Some(n) = self.doc.nodes.get_mut(at as usize) {
            n.end = end;
        }
        Ok(())
    }

    /// After `{`.
    fn object(&mut self, depth: u32) -> Result<(), Bad> {
        let at = self.doc.leaf(Kind::Object(Span::default()));
        let base = self.doc.stack.len();
        match self.skip_ws() {
            Some(b'}') => self.at += 1,
            Some(b'"') => loop {
                self.at += 1;
                let key = self.string()?;
                if self.skip_ws() != Some(b':') {
                    return Err(Bad);
                }
                self.at += 1;
                let prefix = key_prefix(
                    self.doc
                        .text
                        .as_bytes()
                        .get(key.start as usize..key.end as usize)
                        .unwrap_or_default(),
                );
                let value = self.doc.nodes.len() as u32;
                self.value(depth)?;
                self.doc.stack.push((key, value, prefix));
                match self.skip_ws() {
                    Some(b',') => {
                        self.at += 1;
                        if self.skip_ws() != Some(b'"') {
                            return Err(Bad);
                        }
                    }
                    Some(b'}') => {
                        self.at += 1;
                        break;
                    }
                    _ => return Err(Bad),
                }
            },
            _ => return Err(Bad),
        }
        let range = self.doc.sort_members(base);
        let end = self.doc.nodes.len() as u32;
        if let Some(n) = self.doc.nodes.get_mut(at as usize) {
            n.kind = Kind::Object(range);
            n.end = end;
        }
        Ok(())
    }

    /// A string's text after its opening quote, unescaped into the
    /// document's text (lone surrogate escapes are refused, as serde_json
    /// refuses them).
    fn string(&mut self) -> Result<Span, Bad> {
        let start = self.at;
        let end = special_at(self.bytes, start).ok_or(Bad)?;
        if self.bytes.get(end) == Some(&b'"') {
            // No escape: the text as it stands.
            self.at = end + 1;
            return Ok(Span {
                start: start as u32,
                end: end as u32,
            });
        }
        self.doc.escaped = true;
        let mut buf = std::mem::take(&mut self.doc.scratch);
        buf.clear();
        let done = self.escaped(&mut buf);
        let r = done.map(|()| self.doc.push_text(&buf));
        self.doc.scratch = buf;
        r
    }

    /// The slow path of [`Parser::string`]: runs and escapes into `buf`.
    fn escaped(&mut self, buf: &mut String) -> Result<(), Bad> {
        loop {
            let end = special_at(self.bytes, self.at).ok_or(Bad)?;
            buf.push_str(self.text.get(self.at..end).ok_or(Bad)?);
            self.at = end + 1;
            match self.bytes.get(end) {
                Some(b'"') => return Ok(()),
                Some(b'\\') => self.escape(buf)?,
                _ => return Err(Bad),
            }
        }
    }

    /// One escape, after its backslash.
    fn escape(&mut self, buf: &mut String) -> Result<(), Bad> {
        let b = *self.bytes.get(self.at).ok_or(Bad)?;
        self.at += 1;
        let plain = match b {
            b'"' => b'"',
            b'\\' => b'\\',
            b'/' => b'/',
            b'b' => b'\x08',
            b'f' => b'\x0c',
            b'n' => b'\n',
            b'r' => b'\r',
            b't' => b'\t',
            b'u' => {
                let hi = self.hex4()?;
                let c = match hi {
                    0xDC00..=0xDFFF => return Err(Bad),
                    0xD800..=0xDBFF => {
                        self.expect(b"\\u")?;
                        let lo = self.hex4()?;
                        if !(0xDC00..=0xDFFF).contains(&lo) {
                            return Err(Bad);
                        }
                        0x1_0000 + (((hi - 0xD800) << 10) | (lo - 0xDC00))
                    }
                    n => n,
                };
                buf.push(char::from_u32(c).ok_or(Bad)?);
                return Ok(());
            }
            _ => return Err(Bad),
        };
        buf.push(char::from(plain));
        Ok(())
    }

    /// Four hex digits of a `\u` escape.
    fn hex4(&mut self) -> Result<u32, Bad> {
        let digits = self.bytes.get(self.at..self.at + 4).ok_or(Bad)?;
        let mut n = 0;
        for &d in digits {
            n = n << 4 | char::from(d).to_digit(16).ok_or(Bad)?;
        }
        self.at += 4;
        Ok(n)
    }

    /// A number, with its kind as `serde_json::Value` would hold it.
    fn number(&mut self) -> Result<Kind, Bad> {
        let bytes = self.bytes;
        let start = self.at;
        let neg = bytes.get(self.at) == Some(&b'-');
        self.at += usize::from(neg);
        let digits_at = self.at;
        match bytes.get(self.at) {
            Some(b'0') => {
                self.at += 1;
                // One leading zero only.
                if bytes.get(self.at).is_some_and(u8::is_ascii_digit) {
                    return Err(Bad);
                }
            }
            Some(b'1'..=b'9') => self.digits(),
            _ => return Err(Bad),
        }
        let int = bytes.get(digits_at..self.at).ok_or(Bad)?;
        let mut fraction = false;
        if bytes.get(self.at) == Some(&b'.') {
            self.at += 1;
            self.some_digits()?;
            fraction = true;
        }
        let mut exponent = false;
        if matches!(bytes.get(self.at), Some(b'e' | b'E')) {
            self.at += 1;
            if matches!(bytes.get(self.at), Some(b'+' | b'-')) {
                self.at += 1;
            }
            self.some_digits()?;
            exponent = true;
        }
        let token = bytes.get(start..self.at).ok_or(Bad)?;
        if !exponent && token.len() <= 24 {
            if fraction {
                // At most 24 characters without an exponent: always a finite f64.
                return Ok(Kind::Float);
            }
            let mut n: u64 = 0;
            let mut fits = true;
            for &d in int {
                match n
                    .checked_mul(10)
                    .and_then(|n| n.checked_add(u64::from(d.wrapping_sub(b'0'))))
                {
                    Some(m) => n = m,
                    None => {
                        fits = false;
                        break;
                    }
                }
            }
            if fits {
                return Ok(match (neg, n) {
                    (false, n) => Kind::UInt(n),
                    // `-0` and what does not fit an i64 become floats, as in serde_json.
                    (true, 1..=0x8000_0000_0000_0000) => Kind::Int,
                    (true, _) => Kind::Float,
                });
            }
        }
        // Exponents and huge numbers: serde_json's own float conversion
        // decides (it refuses what overflows to infinity).
        match serde_json::from_slice::<serde_json::Value>(token) {
            Ok(serde_json::Value::Number(n)) => Ok(match (n.as_u64(), n.is_i64()) {
                (Some(u), _) => Kind::UInt(u),
                (None, true) => Kind::Int,
                (None, false) => Kind::Float,
            }),
            Ok(serde_json::Value::Null) => Ok(Kind::Null),
            _ => Err(Bad),
        }
    }

    fn digits(&mut self) {
        while self.bytes.get(self.at).is_some_and(u8::is_ascii_digit) {
            self.at += 1;
        }
    }

    /// One digit or more.
    fn some_digits(&mut self) -> Result<(), Bad> {
        let from = self.at;
        self.digits();
        if self.at == from {
            return Err(Bad);
        }
        Ok(())
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use serde_json::Value;

    /// Renders a parsed value back to a `Value` (numbers as their kind).
    fn back(v: Val<'_>) -> Value {
        match v.shape() {
            Shape::Null => Value::Null,
            Shape::Bool => Value::Bool(true),
            Shape::UInt(n) => Value::from(n),
            Shape::Int => Value::from(-1),
            Shape::Float => Value::from(0.5),
            Shape::Str(s) => Value::from(s),
            Shape::Array(items) => Value::Array(items.map(back).collect()),
            Shape::Object(m) => Value::Object(m.map(|(k, v)| (k.to_string(), back(v))).collect()),
        }
    }

    /// The same value with the leaves `back` cannot keep normalised.
    fn norm(v: &Value) -> Value {
        match v {
            Value::Bool(_) => Value::Bool(true),
            Value::Number(n) if n.is_u64() => v.clone(),
            Value::Number(n) if n.is_i64() => Value::from(-1),
            Value::Number(_) => Value::from(0.5),
            Value::Array(a) => Value::Array(a.iter().map(norm).collect()),
            Value::Object(m) => {
                Value::Object(m.iter().map(|(k, v)| (k.clone(), norm(v))).collect())
            }
            other => other.clone(),
        }
    }

    #[test]
    fn same_values_and_order_as_serde_json() {
        let cases = [
            r#"{"b":1,"a":[1,-2,3.5,"x\"y",null,true],"c":{"z":{},"y":[]}}"#,
            r#"{"k":1,"k":"last","a":{"k":2,"k":[3]}}"#,
            r#"[[[]],{"é":"\u00e9"},18446744073709551615,-9223372036854775808,1e300]"#,
            r#""just a string""#,
            "0",
            r#"{"":""}"#,
        ];
        let mut doc = Doc::default();
        for text in cases {
            let want: Value = serde_json::from_str(text).unwrap();
            assert!(doc.parse(text.as_bytes()), "{text}");
            let root = doc.root().unwrap();
            assert_eq!(root.jtype(), JType::of(&want), "{text}");
            assert_eq!(back(root), norm(&want), "{text}");
        }
    }

    #[test]
    fn rejects_what_serde_json_rejects() {
        let mut doc = Doc::default();
        for text in ["", "{", "[1,]", "{\"a\":1} x", "nul", "1e400", "{1:2}"] {
            assert_eq!(
                doc.parse(text.as_bytes()),
                serde_json::from_str::<Value>(text).is_ok(),
                "{text}"
            );
            if serde_json::from_str::<Value>(text).is_err() {
                assert!(doc.root().is_none(), "{text}");
            }
        }
        let deep = "[".repeat(200) + &"]".repeat(200);
        assert!(
            !doc.parse(deep.as_bytes()),
            "serde_json's recursion limit holds"
        );
        assert!(serde_json::from_str::<Value>(&deep).is_err());
    }

    /// Parses `bytes` with both and asserts the same verdict and, when
    /// accepted, the same values in the same order.
    fn same_as_serde_json(doc: &mut Doc, bytes: &[u8]) {
        let want = serde_json::from_slice::<Value>(bytes);
        let shown = String::from_utf8_lossy(bytes);
        assert_eq!(doc.parse(bytes), want.is_ok(), "{shown:?}");
        match want {
            Ok(want) => {
                let root = doc.root().expect("a root");
                assert_eq!(root.jtype(), JType::of(&want), "{shown:?}");
                assert_eq!(back(root), norm(&want), "{shown:?}");
            }
            Err(_) => assert!(doc.root().is_none(), "{shown:?}"),
        }
    }

    /// `doc` parsed from `bytes` by the parser alone, as when no layout
    /// matches (without one learned from it).
    fn parse_in_full(doc: &mut Doc, bytes: &[u8]) -> bool {
        doc.nodes.clear();
        doc.members.clear();
        doc.stack.clear();
        doc.text.clear();
        doc.facts.clear();
        doc.nums.clear();
        doc.escaped = false;
        doc.layout = 0;
        let Ok(text) = std::str::from_utf8(bytes) else {
            return false;
        };
        doc.text.push_str(text);
        let mut p = Parser {
            bytes,
            text,
            at: 0,
            doc: &mut *doc,
        };
        let ok = p.value(0).is_ok() && p.skip_ws().is_none();
        if !ok {
            doc.nodes.clear();
        }
        ok
    }

    /// Every string's cached facts are its facts.
    fn facts_hold(v: Val<'_>) {
        match v.shape() {
            Shape::Str(s) => assert_eq!(v.string_facts(s), values::string_facts(s), "{s:?}"),
            Shape::Array(items) => items.for_each(facts_hold),
            Shape::Object(m) => m.for_each(|(_, v)| facts_hold(v)),
            _ => {}
        }
    }

    /// Leaves and fragments that sit on the edges of the grammar.
    const PIECES: &[&str] = &[
        "0",
        "-0",
        "1",
        "-1",
        "01",
        "-01",
        "00",
        "1.",
        ".5",
        "1.5",
        "-0.0",
        "1e5",
        "1E+5",
        "1e-5",
        "1e",
        "1e+",
        "1.5e3",
        "0e999999",
        "1e-999999",
        "1e308",
        "1e309",
        "-1e309",
        "1.7976931348623157e308",
        "1.7976931348623159e308",
        "123456789012345678901234567890",
        "18446744073709551615",
        "18446744073709551616",
        "-9223372036854775808",
        "-9223372036854775809",
        "-18446744073709551616",
        "9223372036854775807",
        "9223372036854775808",
        "12345678901234567890.5",
        "1234567890123456789012.5",
        "0.000000000000000000000000000001",
        "+1",
        "-",
        "--1",
        "1x",
        "2.5.1",
        "true",
        "false",
        "null",
        "nul",
        "nulll",
        "tru",
        "True",
        "NaN",
        "Infinity",
        r#""""#,
        r#""a""#,
        r#""\u00e9""#,
        r#""\u00E9""#,
        r#""\ud83d\ude00""#,
        r#""\uD83D\uDE00""#,
        r#""\ud800""#,
        r#""\udc00""#,
        r#""\ud800\u0041""#,
        r#""\ud800\n""#,
        r#""\ud800\ud800""#,
        r#""\u12""#,
        r#""\u12g4""#,
        r#""\x41""#,
        r#""\/\b\f\n\r\t\"\\""#,
        r#""tab\tend""#,
        "\"raw\ttab\"",
        "\"raw\u{1}ctl\"",
        "\"é ü 中 😀\"",
        "\"\u{7f}\"",
        r#""unterminated"#,
        "\"",
        "\\",
        "[",
        "]",
        "{",
        "}",
        ",",
        ":",
        " ",
        "\t",
        "\n",
        "\r",
        "\u{c}",
        "\u{a0}",
        "[]",
        "{}",
        r#"{"a":1}"#,
        r#"{"a":1,"a":2}"#,
        r#"{"b":[],"a":{}}"#,
        "[1,]",
        "[,1]",
        r#"{"a":1,}"#,
        r#"{"a"}"#,
        r#"{"a" : 1 }"#,
        "{1:2}",
        "[1 2]",
        "/* c */",
    ];

    #[test]
    fn pieces_and_their_pairs_parse_as_serde_json_does() {
        let mut doc = Doc::default();
        for a in PIECES {
            same_as_serde_json(&mut doc, a.as_bytes());
            same_as_serde_json(&mut doc, format!(" {a}\n").as_bytes());
            same_as_serde_json(&mut doc, format!("[{a}]").as_bytes());
            same_as_serde_json(&mut doc, format!("{{\"k\":{a}}}").as_bytes());
            same_as_serde_json(&mut doc, format!("{{{a}:1}}").as_bytes());
            for b in PIECES {
                same_as_serde_json(&mut doc, format!("{a}{b}").as_bytes());
                same_as_serde_json(&mut doc, format!("[{a},{b}]").as_bytes());
            }
        }
        // Raw bytes that are not UTF-8, in and out of strings.
        for bad in [
            &b"\"\xff\""[..],
            b"\"\xc3\"",
            b"\"\xc3\\u00e9\"",
            b"\"\xed\xa0\x80\"",
            b"\"\xf4\x90\x80\x80\"",
            b"\"\xc3\xa9\"",
            b"[\"a\",\xff]",
            b"\xef\xbb\xbf{}",
            b"{\"\xc3\xa9\":1}",
        ] {
            same_as_serde_json(&mut doc, bad);
        }
    }

    #[test]
    fn nesting_limit_is_serde_jsons() {
        let mut doc = Doc::default();
        for n in 120..=132 {
            same_as_serde_json(&mut doc, ("[".repeat(n) + &"]".repeat(n)).as_bytes());
            same_as_serde_json(
                &mut doc,
                ("{\"a\":".repeat(n) + "1" + &"}".repeat(n)).as_bytes(),
            );
            let mixed = "[{\"a\":".repeat(n / 2) + "[]" + &"}]".repeat(n / 2);
            same_as_serde_json(&mut doc, mixed.as_bytes());
        }
    }

    #[test]
    fn a_body_of_a_known_layout_is_filled_from_it() {
        // A thread of its own: its layouts start empty.
        std::thread::spawn(|| {
            let layouts =
                || SKELETONS.with(|s| s.borrow().list.iter().filter(|s| s.id != 0).count());
            let mut doc = Doc::default();
            let a = r#"{"id":11725,"name":"user 11725","roles":["reader"],"t":1.5,"n":-3}"#;
            let b = r#"{"id":7,"name":"","roles":["a much longer role é"],"t":0.25,"n":-12}"#;
            same_as_serde_json(&mut doc, a.as_bytes());
            assert_eq!(layouts(), 1);
            same_as_serde_json(&mut doc, b.as_bytes());
            assert_eq!(layouts(), 1, "b filled from a's layout");
            for other in [
                // Another kind of number, an escape, another key, other space.
                r#"{"id":-7,"name":"","roles":["x"],"t":1.5,"n":-3}"#,
                r#"{"id":7,"name":"a\"b","roles":["x"],"t":1.5,"n":-3}"#,
                r#"{"id":7,"nome":"","roles":["x"],"t":1.5,"n":-3}"#,
                r#"{"id":7,"name":"" ,"roles":["x"],"t":1.5,"n":-3}"#,
                r#"{"id":7,"name":"","roles":["x"],"t":1.5,"n":-3} x"#,
                r#"{"id":7,"name":"","roles":["x"],"t":1.5,"n":-3"#,
                r#"{"id":7,"name":"","roles":["x", "y"],"t":1.5,"n":-3}"#,
            ] {
                same_as_serde_json(&mut doc, other.as_bytes());
            }
            same_as_serde_json(&mut doc, a.as_bytes());
        })
        .join()
        .unwrap();
    }

    #[test]
    fn facts_remembered_by_slot_are_the_facts() {
        std::thread::spawn(|| {
            let long = format!("{}@example.com", "a".repeat(200));
            let values = [
                "a@example.com",
                "a@example.com",
                "reader",
                long.as_str(),
                long.as_str(),
                "",
                "",
                "2024-05-01",
                "a@example.com",
            ];
            let mut doc = Doc::default();
            for (i, v) in values.iter().enumerate() {
                let body = format!(r#"{{"id":{i},"v":"{v}","w":["{v}","x"]}}"#);
                assert!(doc.parse_with_facts(body.as_bytes()), "{body}");
                assert_eq!(doc.facts.len(), 6);
                if i > 0 {
                    assert_ne!(doc.root().and_then(|r| r.layout()), None, "filled");
                }
                facts_hold(doc.root().expect("a root"));
                for (node, f) in doc.nodes.iter().zip(&doc.facts) {
                    assert_eq!(matches!(node.kind, Kind::Str(_)), f.is_some(), "{body}");
                }
            }
        })
        .join()
        .unwrap();
    }

    pub(in crate::discover) mod generated {
        use super::*;
        use proptest::prelude::*;

        /// A JSON value written with random whitespace (valid, unless a
        /// piece it was built from is not).
        fn text() -> impl Strategy<Value = String> {
            let ws = prop::sample::select(vec!["", "", " ", "\n\t", "\r "]);
            let valid: Vec<&str> = PIECES
                .iter()
                .copied()
                .filter(|p| serde_json::from_str::<Value>(p).is_ok())
                .collect();
            let leaf = prop_oneof![
                9 => prop::sample::select(valid),
                1 => prop::sample::select(PIECES.to_vec()),
            ]
            .prop_map(str::to_string);
            let key = prop::sample::select(vec![
                "a",
                "b",
                "a",
                "",
                "é",
                "\\u0061",
                "\\ud83d\\ude00",
                "k/~",
                "zz",
                "A",
            ]);
            leaf.prop_recursive(6, 64, 6, move |inner| {
                let ws = ws.clone();
                prop_oneof![
                    prop::collection::vec((inner.clone(), ws.clone()), 0..6).prop_map(|items| {
                        let body: Vec<String> = items
                            .into_iter()
                            .map(|(v, w)| format!("{w}{v}{w}"))
                            .collect();
                        format!("[{}]", body.join(","))
                    }),
                    prop::collection::vec((key.clone(), inner, ws), 0..6).prop_map(|members| {
                        let body: Vec<String> = members
                            .into_iter()
                            .map(|(k, v, w)| format!("{w}\"{k}\"{w}:{w}{v}"))
                            .collect();
                        format!("{{{}}}", body.join(","))
                    }),
                ]
            })
        }

        /// A document's structure, its leaves numbered.
        #[derive(Debug, Clone)]
        pub(in crate::discover) enum Tree {
            Leaf,
            Arr(Vec<(Tree, &'static str)>),
            Obj(Vec<(&'static str, Tree, &'static str)>),
        }

        pub(in crate::discover) fn tree() -> impl Strategy<Value = Tree> {
            let ws = prop::sample::select(vec!["", "", " ", "\n"]);
            let key = prop::sample::select(vec!["a", "b", "a", "", "é", "\\u0061", "id"]);
            Just(Tree::Leaf).prop_recursive(5, 48, 5, move |inner| {
                prop_oneof![
                    prop::collection::vec((inner.clone(), ws.clone()), 0..5).prop_map(Tree::Arr),
                    prop::collection::vec((key.clone(), inner, ws.clone()), 0..5)
                        .prop_map(Tree::Obj),
                ]
            })
        }

        /// Scalars, most of them of a few kinds so that two picks often agree.
        pub(in crate::discover) fn leaves() -> impl Strategy<Value = Vec<&'static str>> {
            prop::collection::vec(
                prop::sample::select(vec![
                    "0",
                    "7",
                    "12345",
                    "18446744073709551615",
                    "18446744073709551616",
                    "-1",
                    "-42",
                    "-0",
                    "1.5",
                    "-0.25",
                    "1e5",
                    "2E-3",
                    "\"\"",
                    "\"a\"",
                    "\"longer text\"",
                    "\"a@example.com\"",
                    "\"b@example.org\"",
                    "\"2024-05-01T11:00:00Z\"",
                    "\"é 中\"",
                    "\"x\\\"y\"",
                    "\"\\u00e9\"",
                    "true",
                    "false",
                    "null",
                    "01",
                    "\"raw\ttab\"",
                ]),
                1..12,
            )
        }

        pub(in crate::discover) fn render(
            t: &Tree,
            leaves: &[&str],
            next: &mut usize,
            out: &mut String,
        ) {
            match t {
                Tree::Leaf => {
                    out.push_str(leaves[*next % leaves.len()]);
                    *next += 1;
                }
                Tree::Arr(items) => {
                    out.push('[');
                    for (i, (v, w)) in items.iter().enumerate() {
                        if i > 0 {
                            out.push(',');
                        }
                        out.push_str(w);
                        render(v, leaves, next, out);
                    }
                    out.push(']');
                }
                Tree::Obj(members) => {
                    out.push('{');
                    for (i, (k, v, w)) in members.iter().enumerate() {
                        if i > 0 {
                            out.push(',');
                        }
                        out.push_str(&format!("{w}\"{k}\"{w}:"));
                        render(v, leaves, next, out);
                    }
                    out.push('}');
                }
            }
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(2000))]

            #[test]
            fn documents_parse_as_serde_json_does(t in text()) {
                same_as_serde_json(&mut Doc::default(), t.as_bytes());
            }

            #[test]
            fn mutated_documents_parse_as_serde_json_does(
                t in text(),
                at in any::<prop::sample::Index>(),
                byte in prop::sample::select(b"{}[],:\"\\ -+.eE0123456789tnu\x00\x1f\x80\xff".to_vec()),
                how in 0..3u8,
            ) {
                let mut b = t.into_bytes();
                let i = at.index(b.len() + 1);
                match how {
                    0 => b.insert(i, byte),
                    1 if i < b.len() => { b.remove(i); }
                    _ if i < b.len() => b[i] = byte,
                    _ => {}
                }
                same_as_serde_json(&mut Doc::default(), &b);
            }

            /// The word-at-a-time comparison of literal runs is `==`.
            #[test]
            fn same_is_slice_equality(
                a in prop::collection::vec(0..4u8, 0..40),
                flip in any::<prop::sample::Index>(),
                how in 0..3u8,
            ) {
                let mut b = a.clone();
                match how {
                    0 if !b.is_empty() => {
                        let i = flip.index(b.len());
                        b[i] ^= 1;
                    }
                    1 => b.push(0),
                    _ => {}
                }
                prop_assert_eq!(super::super::same(&a, &b), a == b);
                prop_assert_eq!(super::super::same(&b, &a), a == b);
            }

            /// Bodies of one layout with other scalars, in turn on one
            /// thread: each is filled from the layout of one before it
            /// when it can be, and parses as serde_json parses it.
            #[test]
            fn bodies_of_one_layout_parse_as_serde_json_does(
                t in tree(),
                picks in prop::collection::vec(leaves(), 2..5),
                ws in prop::sample::select(vec!["", " ", "\n"]),
            ) {
                let mut doc = Doc::default();
                for leaves in &picks {
                    let mut text = String::new();
                    render(&t, leaves, &mut 0, &mut text);
                    same_as_serde_json(&mut doc, text.as_bytes());
                    doc.cache_string_facts();
                    if let Some(root) = doc.root() {
                        facts_hold(root);
                    }
                    text.push_str(ws);
                    same_as_serde_json(&mut doc, text.as_bytes());
                }
            }

            /// Bodies of one layout, in turn on one thread, parsed with
            /// their facts (filled from a layout, most with facts
            /// remembered by slot): the same document and the same facts
            /// as a parse and [`Doc::cache_string_facts`] make.
            #[test]
            fn facts_with_the_parse_are_the_facts(
                t in tree(),
                picks in prop::collection::vec(leaves(), 2..6),
                order in prop::collection::vec(0..6usize, 2..12),
            ) {
                let mut doc = Doc::default();
                let mut want = Doc::default();
                for &i in &order {
                    let mut text = String::new();
                    render(&t, &picks[i % picks.len()], &mut 0, &mut text);
                    let ok = doc.parse_with_facts(text.as_bytes());
                    prop_assert_eq!(ok, want.parse(text.as_bytes()));
                    if ok {
                        want.cache_string_facts();
                    }
                    prop_assert_eq!(&doc.facts, &want.facts, "{}", text);
                    if let (Some(a), Some(b)) = (doc.root(), want.root()) {
                        prop_assert_eq!(back(a), back(b));
                        facts_hold(a);
                    }
                }
            }

            /// Bodies of a few layouts, many repeated (in a row, or
            /// with others between), in turn on one thread, with and
            /// without their facts: the same tape, members and facts as
            /// the parser alone makes (no layout), and one tape shape per
            /// layout number.
            #[test]
            fn repeated_bodies_are_the_parse(
                trees in prop::collection::vec(tree(), 1..3),
                picks in prop::collection::vec(leaves(), 1..4),
                order in prop::collection::vec((0..3usize, 0..4usize, any::<bool>()), 2..24),
            ) {
                let mut doc = Doc::default();
                let mut full = Doc::default();
                let mut shapes: std::collections::HashMap<u64, String> = Default::default();
                for &(t, leaves, facts) in &order {
                    let mut text = String::new();
                    render(&trees[t % trees.len()], &picks[leaves % picks.len()], &mut 0, &mut text);
                    let ok = doc.parse_inner(text.as_bytes(), facts);
                    prop_assert_eq!(ok, parse_in_full(&mut full, text.as_bytes()), "{}", text);
                    if !ok {
                        continue;
                    }
                    if facts {
                        full.cache_string_facts();
                    }
                    prop_assert_eq!(format!("{:?}", doc.nodes), format!("{:?}", full.nodes), "{}", text);
                    prop_assert_eq!(&doc.members, &full.members, "{}", text);
                    prop_assert_eq!(&doc.facts, &full.facts, "{}", text);
                    if doc.layout != 0 {
                        // The kinds and the structure, not the scalars.
                        let shape: Vec<_> = doc
                            .nodes
                            .iter()
                            .map(|n| (std::mem::discriminant(&n.kind), n.end))
                            .collect();
                        let shape = format!("{shape:?} {}", doc.members.len());
                        let known = shapes.entry(doc.layout).or_insert_with(|| shape.clone());
                        prop_assert_eq!(&*known, &shape, "{}", text);
                    }
                }
            }

            #[test]
            fn byte_soup_parses_as_serde_json_does(
                b in prop::collection::vec(prop::sample::select(b"{}[],:\"\\ \t-+.eE019afnrstu\x01\xc3\xa9".to_vec()), 0..24),
            ) {
                same_as_serde_json(&mut Doc::default(), &b);
            }
        }
    }
}

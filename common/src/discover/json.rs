//! JSON bodies parsed into reused buffers, for schema learning.
//!
//! Learning needs every value of a body once, in the order `serde_json::Value`
//! would give them (object members sorted by key, a repeated key keeping its
//! last value), but none of the `String`s, maps and vectors a `Value` would
//! allocate per document. [`Doc`] is a pre-order tape of nodes with string
//! text in one arena and each object's members in key order; its buffers are
//! kept between documents, so a warm `Doc` parses without allocating. It
//! accepts exactly what `serde_json::from_slice::<Value>` accepts (the same
//! parser drives it), and nothing it holds outgrows the body it came from.

use std::fmt;
use std::ops::Range;

use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};

use super::values::{self, JType};

/// One parsed JSON document (empty after a failed parse).
#[derive(Debug, Default)]
pub struct Doc {
    nodes: Vec<Node>,
    /// Object members in key order: (key text, value node).
    members: Vec<(Range<u32>, u32)>,
    /// Members of the objects being parsed, in document order.
    stack: Vec<(Range<u32>, u32)>,
    text: String,
    /// [`values::string_facts`] of each string node, by node, when
    /// [`Doc::cache_string_facts`] ran (a worker thread does it ahead).
    facts: Vec<Option<StrFacts>>,
}

/// A string's format and sensitive kind ([`values::string_facts`]).
pub type StrFacts = (Option<&'static str>, Option<&'static str>);

#[derive(Debug, Clone)]
struct Node {
    kind: Kind,
    /// Index just past this node's subtree (pre-order).
    end: u32,
}

#[derive(Debug, Clone)]
enum Kind {
    Null,
    Bool,
    /// A non-negative integer (`serde_json`'s `PosInt`).
    UInt(u64),
    Int,
    Float,
    Str(Range<u32>),
    Array,
    /// Range into `members`.
    Object(Range<u32>),
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
        self.nodes.clear();
        self.members.clear();
        self.stack.clear();
        self.text.clear();
        self.facts.clear();
        if u32::try_from(bytes.len()).is_err() {
            return false;
        }
        let mut de = serde_json::Deserializer::from_slice(bytes);
        let ok = Seed(self).deserialize(&mut de).is_ok() && de.end().is_ok();
        if !ok {
            self.nodes.clear();
        }
        // A huge document once should not pin its buffers forever.
        const KEEP: usize = 1 << 16;
        if self.nodes.capacity() > KEEP {
            self.nodes.shrink_to(KEEP);
            self.members.shrink_to(KEEP);
            self.stack.shrink_to(KEEP);
            self.text.shrink_to(KEEP * 16);
        }
        ok
    }

    /// Forgets the document (no root), keeping the buffers.
    pub fn clear(&mut self) {
        self.nodes.clear();
        self.facts.clear();
    }

    /// Bytes the buffers hold (capacity): a recycled document bigger than
    /// a cap is dropped instead of kept.
    pub fn footprint(&self) -> usize {
        self.nodes.capacity() * std::mem::size_of::<Node>()
            + (self.members.capacity() + self.stack.capacity())
                * std::mem::size_of::<(Range<u32>, u32)>()
            + self.text.capacity()
            + self.facts.capacity() * std::mem::size_of::<Option<StrFacts>>()
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

    fn str(&self, r: &Range<u32>) -> &str {
        self.text
            .get(r.start as usize..r.end as usize)
            .unwrap_or_default()
    }

    fn push_text(&mut self, s: &str) -> Range<u32> {
        let start = self.text.len() as u32;
        self.text.push_str(s);
        start..self.text.len() as u32
    }

    fn leaf(&mut self, kind: Kind) -> u32 {
        let at = self.nodes.len() as u32;
        self.nodes.push(Node { kind, end: at + 1 });
        at
    }
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

/// Parses one value into the document (pre-order: the node, then its subtree).
struct Seed<'a>(&'a mut Doc);

/// Parses one object key into the document's text.
struct KeySeed<'a>(&'a mut Doc);

impl<'de> DeserializeSeed<'de> for Seed<'_> {
    type Value = ();

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> DeserializeSeed<'de> for KeySeed<'_> {
    type Value = Range<u32>;

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Range<u32>, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeySeed<'_> {
    type Value = Range<u32>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an object key")
    }

    fn visit_str<E: de::Error>(self, s: &str) -> Result<Range<u32>, E> {
        Ok(self.0.push_text(s))
    }
}

impl<'de> Visitor<'de> for Seed<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        self.0.leaf(Kind::Null);
        Ok(())
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        self.0.leaf(Kind::Bool);
        Ok(())
    }

    fn visit_u64<E: de::Error>(self, n: u64) -> Result<(), E> {
        self.0.leaf(Kind::UInt(n));
        Ok(())
    }

    fn visit_i64<E: de::Error>(self, n: i64) -> Result<(), E> {
        // serde_json hands non-negative integers to visit_u64; keep its split anyway.
        match u64::try_from(n) {
            Ok(n) => self.0.leaf(Kind::UInt(n)),
            Err(_) => self.0.leaf(Kind::Int),
        };
        Ok(())
    }

    fn visit_f64<E: de::Error>(self, n: f64) -> Result<(), E> {
        // As `Value` does: a number that is not finite becomes `null`.
        self.0.leaf(if n.is_finite() {
            Kind::Float
        } else {
            Kind::Null
        });
        Ok(())
    }

    fn visit_str<E: de::Error>(self, s: &str) -> Result<(), E> {
        let r = self.0.push_text(s);
        self.0.leaf(Kind::Str(r));
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let doc = self.0;
        let at = doc.leaf(Kind::Array);
        while seq.next_element_seed(Seed(doc))?.is_some() {}
        let end = doc.nodes.len() as u32;
        if let Some(n) = doc.nodes.get_mut(at as usize) {
            n.end = end;
        }
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let doc = self.0;
        let at = doc.leaf(Kind::Object(0..0));
        let base = doc.stack.len();
        while let Some(key) = map.next_key_seed(KeySeed(doc))? {
            let value = doc.nodes.len() as u32;
            map.next_value_seed(Seed(doc))?;
            doc.stack.push((key, value));
        }
        // Key order, and a repeated key keeps its last value (a stable sort
        // leaves repeats in document order; keep the last of each run).
        let Doc {
            stack,
            members,
            text,
            ..
        } = &mut *doc;
        let key = |r: &Range<u32>| text.get(r.start as usize..r.end as usize).unwrap_or("");
        let mine = stack.get_mut(base..).unwrap_or_default();
        mine.sort_by(|a, b| key(&a.0).cmp(key(&b.0)));
        let start = members.len() as u32;
        for (i, m) in mine.iter().enumerate() {
            let last_of_run = mine.get(i + 1).is_none_or(|n| key(&n.0) != key(&m.0));
            if last_of_run {
                members.push(m.clone());
            }
        }
        stack.truncate(base);
        let range = start..members.len() as u32;
        let end = doc.nodes.len() as u32;
        if let Some(n) = doc.nodes.get_mut(at as usize) {
            n.kind = Kind::Object(range);
            n.end = end;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
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
}

//! JSON schemas merged over samples, bounded in depth and size.
//!
//! Each sample adds to counters at every node: how often each type was seen,
//! which string formats, which sensitive data, and for objects how often each
//! property was present, so `required` means "present in every object seen".
//! A budget caps the nodes of one schema and its depth; what does not fit is
//! counted, and the node is marked so the output says it was cut.

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet};
use std::ops::Bound::{Excluded, Unbounded};

use serde_json::{json, Map, Value};

use super::json::{Members, Shape, Val};
use super::values::{self, JType};

/// Limits of one schema.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Nesting levels below the root that keep their structure.
    pub max_depth: usize,
    /// Nodes (properties and array items at every level) per schema.
    pub max_nodes: usize,
}

/// One node of a merged schema.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Schema {
    /// Samples seen at this node.
    pub count: u64,
    pub types: values::TypeCounts,
    pub formats: BTreeMap<&'static str, u64>,
    pub sensitive: BTreeSet<&'static str>,
    /// Properties, with how many objects held each.
    pub props: BTreeMap<String, Schema>,
    pub items: Option<Box<Schema>>,
    /// Structure left out here (depth or size budget).
    pub cut: bool,
    /// Whether the node's name was checked for sensitive data (a node is
    /// always observed under the same name, so once is enough).
    name_checked: bool,
}

/// A schema with its node budget.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SchemaRoot {
    pub root: Schema,
    nodes: usize,
    /// Properties or items left out for the budget.
    pub dropped: u64,
}

impl SchemaRoot {
    /// Adds one sample.
    pub fn observe(&mut self, v: Val<'_>, limits: Limits) {
        let mut budget = Budget {
            nodes: &mut self.nodes,
            dropped: &mut self.dropped,
            limits,
        };
        self.root.observe(v, "", 0, &mut budget);
    }

    /// Adds every sample another schema saw.
    pub fn merge(&mut self, other: &SchemaRoot, limits: Limits) {
        let mut budget = Budget {
            nodes: &mut self.nodes,
            dropped: &mut self.dropped,
            limits,
        };
        *budget.dropped += other.dropped;
        self.root.merge(&other.root, 0, &mut budget);
    }

    /// The JSON Schema (2020-12, as OpenAPI 3.1 uses) of what was seen.
    pub fn render(&self) -> Value {
        self.root.render()
    }

    /// Sensitive data kinds anywhere in the schema.
    pub fn sensitive(&self, out: &mut BTreeSet<&'static str>) {
        self.root.collect_sensitive(out);
    }
}

struct Budget<'a> {
    nodes: &'a mut usize,
    dropped: &'a mut u64,
    limits: Limits,
}

impl Budget<'_> {
    fn take(&mut self) -> bool {
        if *self.nodes >= self.limits.max_nodes {
            *self.dropped += 1;
            false
        } else {
            *self.nodes += 1;
            true
        }
    }
}

impl Schema {
    fn observe(&mut self, v: Val<'_>, name: &str, depth: usize, budget: &mut Budget<'_>) {
        self.count += 1;
        self.types.add(v.jtype(), 1);
        match v.shape() {
            Shape::Str(s) => {
                let (format, sensitive) = v.string_facts(s);
                if let Some(f) = format {
                    *self.formats.entry(f).or_default() += 1;
                }
                if let Some(k) = sensitive {
                    self.sensitive.insert(k);
                }
                if !s.is_empty() && !self.name_checked {
                    self.name_checked = true;
                    if let Some(k) = values::sensitive_name(name) {
                        self.sensitive.insert(k);
                    }
                }
            }
            Shape::UInt(n) => {
                if values::is_card_number(n) {
                    self.sensitive.insert("card_number");
                }
            }
            Shape::Object(members) => {
                if depth >= budget.limits.max_depth {
                    self.cut |= !members.is_empty();
                    return;
                }
                self.observe_members(members, depth, budget);
            }
            Shape::Array(items) => {
                if depth >= budget.limits.max_depth {
                    self.cut |= !items.is_empty();
                    return;
                }
                for child in items {
                    if self.items.is_none() {
                        if !budget.take() {
                            self.cut = true;
                            break;
                        }
                        self.items = Some(Box::default());
                    }
                    if let Some(slot) = self.items.as_deref_mut() {
                        slot.observe(child, name, depth + 1, budget);
                    }
                }
            }
            Shape::Null | Shape::Bool | Shape::Int | Shape::Float => {}
        }
    }

    /// Observes an object's members under the properties of the same
    /// name (created while the budget lasts), in key order. Members and
    /// properties are both sorted, so they are walked in step: a known
    /// property costs one key comparison, not a search of the map.
    fn observe_members(&mut self, mut members: Members<'_>, depth: usize, budget: &mut Budget<'_>) {
        let mut next = members.next();
        // The last member given a new property: the walk resumes after it.
        let mut after: Option<&str> = None;
        while next.is_some() {
            {
                let mut props = match after {
                    None => self.props.range_mut::<str, _>(..),
                    Some(a) => self.props.range_mut::<str, _>((Excluded(a), Unbounded)),
                }
                .peekable();
                while let Some((k, child)) = next {
                    let mut found = None;
                    while let Some((pk, _)) = props.peek() {
                        match pk.as_str().cmp(k) {
                            Ordering::Less => {
                                props.next();
                            }
                            Ordering::Equal => {
                                found = props.next();
                                break;
                            }
                            Ordering::Greater => break,
                        }
                    }
                    let Some((_, slot)) = found else {
                        break;
                    };
                    slot.observe(child, k, depth + 1, budget);
                    next = members.next();
                }
            }
            // A member with no property yet.
            let Some((k, child)) = next else {
                break;
            };
            if budget.take() {
                let slot = self.props.entry(k.to_string()).or_default();
                slot.observe(child, k, depth + 1, budget);
            } else {
                self.cut = true;
            }
            after = Some(k);
            next = members.next();
        }
    }

    fn merge(&mut self, other: &Schema, depth: usize, budget: &mut Budget<'_>) {
        self.count += other.count;
        self.types.merge(&other.types);
        for (f, n) in &other.formats {
            *self.formats.entry(f).or_default() += n;
        }
        self.sensitive.extend(other.sensitive.iter().copied());
        self.cut |= other.cut;
        if depth >= budget.limits.max_depth {
            self.cut |= !other.props.is_empty() || other.items.is_some();
            return;
        }
        for (k, child) in &other.props {
            let slot = match self.props.get_mut(k) {
                Some(slot) => slot,
                None if budget.take() => self.props.entry(k.clone()).or_default(),
                None => {
                    self.cut = true;
                    continue;
                }
            };
            slot.merge(child, depth + 1, budget);
        }
        if let Some(items) = &other.items {
            if self.items.is_none() && budget.take() {
                self.items = Some(Box::default());
            }
            match self.items.as_deref_mut() {
                Some(slot) => slot.merge(items, depth + 1, budget),
                None => self.cut = true,
            }
        }
    }

    fn render(&self) -> Value {
        let mut out = Map::new();
        let types = values::unify(self.types.keys());
        match types.as_slice() {
            [] => {}
            [one] => {
                out.insert("type".into(), json!(one.name()));
            }
            many => {
                out.insert(
                    "type".into(),
                    many.iter().map(|t| json!(t.name())).collect(),
                );
            }
        }
        let strings = self.types.get(JType::String);
        if let Some(f) = agreed_format(&self.formats, strings) {
            out.insert("format".into(), json!(f));
        }
        let objects = self.types.get(JType::Object);
        if !self.props.is_empty() {
            let props: Map<String, Value> = self
                .props
                .iter()
                .map(|(k, s)| (k.clone(), s.render()))
                .collect();
            let required: Vec<Value> = self
                .props
                .iter()
                .filter(|(_, s)| objects > 0 && s.count >= objects)
                .map(|(k, _)| json!(k))
                .collect();
            out.insert("properties".into(), Value::Object(props));
            if !required.is_empty() {
                out.insert("required".into(), Value::Array(required));
            }
        }
        if let Some(items) = &self.items {
            out.insert("items".into(), items.render());
        }
        if !self.sensitive.is_empty() {
            out.insert(
                "x-tapwatch-sensitive".into(),
                self.sensitive.iter().map(|s| json!(s)).collect(),
            );
        }
        if self.cut {
            out.insert("x-tapwatch-truncated".into(), json!(true));
        }
        Value::Object(out)
    }

    fn collect_sensitive(&self, out: &mut BTreeSet<&'static str>) {
        out.extend(self.sensitive.iter().copied());
        for p in self.props.values() {
            p.collect_sensitive(out);
        }
        if let Some(i) = &self.items {
            i.collect_sensitive(out);
        }
    }
}

/// The format every string sample had, if they all had the same one.
pub fn agreed_format(formats: &BTreeMap<&'static str, u64>, strings: u64) -> Option<&'static str> {
    match formats.iter().next() {
        Some((f, n)) if formats.len() == 1 && *n == strings && strings > 0 => Some(f),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: Limits = Limits {
        max_depth: 8,
        max_nodes: 64,
    };

    fn merged(samples: &[&str], limits: Limits) -> SchemaRoot {
        let mut s = SchemaRoot::default();
        let mut doc = super::super::json::Doc::default();
        for text in samples {
            assert!(doc.parse(text.as_bytes()), "{text}");
            s.observe(doc.root().unwrap(), limits);
        }
        s
    }

    #[test]
    fn schema_merging() {
        let cases: &[(&[&str], &str)] = &[
            (&["1", "2"], r#"{"type":"integer"}"#),
            (&["1", "2.5"], r#"{"type":"number"}"#),
            (&["\"a\"", "null"], r#"{"type":["string","null"]}"#),
            (
                &[r#""2024-05-01T11:00:00Z""#],
                r#"{"format":"date-time","type":"string"}"#,
            ),
            (
                &[r#""2024-05-01T11:00:00Z""#, r#""x""#],
                r#"{"type":"string"}"#,
            ),
            // Required: present in every object.
            (
                &[r#"{"id":1,"email":"a@example.com"}"#, r#"{"id":2}"#],
                r#"{"properties":{"email":{"format":"email","type":"string","x-tapwatch-sensitive":["email"]},"id":{"type":"integer"}},"required":["id"],"type":"object"}"#,
            ),
            // Arrays merge their items.
            (
                &[r#"[{"sku":"a"},{"sku":"b","price":1.5}]"#],
                r#"{"items":{"properties":{"price":{"type":"number"},"sku":{"type":"string"}},"required":["sku"],"type":"object"},"type":"array"}"#,
            ),
            (&["[]"], r#"{"type":"array"}"#),
            // Sensitive by name.
            (
                &[r#"{"password":"x"}"#],
                r#"{"properties":{"password":{"type":"string","x-tapwatch-sensitive":["password"]}},"required":["password"],"type":"object"}"#,
            ),
        ];
        for (samples, want) in cases {
            let got = merged(samples, LIMITS).render().to_string();
            assert_eq!(got, *want, "{samples:?}");
        }
    }

    #[test]
    fn bounded_depth_and_nodes() {
        let deep = merged(
            &[r#"{"a":{"b":{"c":1}}}"#],
            Limits {
                max_depth: 1,
                max_nodes: 64,
            },
        );
        assert_eq!(
            deep.render().to_string(),
            r#"{"properties":{"a":{"type":"object","x-tapwatch-truncated":true}},"required":["a"],"type":"object"}"#
        );
        let wide = merged(
            &[r#"{"a":1,"b":2,"c":3}"#],
            Limits {
                max_depth: 8,
                max_nodes: 2,
            },
        );
        assert_eq!(wide.root.props.len(), 2);
        assert_eq!(wide.dropped, 1);
        assert!(wide.render().to_string().contains("x-tapwatch-truncated"));
    }

    #[test]
    fn budget_goes_in_member_order() {
        // Known and new properties interleave; children take budget too, so
        // only observing in key order gives this cut.
        let s = merged(
            &[
                r#"{"a":1,"c":1}"#,
                r#"{"c":{"y":1},"b":1,"a":{"x":1},"d":2}"#,
            ],
            Limits {
                max_depth: 8,
                max_nodes: 4,
            },
        );
        assert_eq!(
            s.render().to_string(),
            r#"{"properties":{"a":{"properties":{"x":{"type":"integer"}},"required":["x"],"type":["integer","object"]},"b":{"type":"integer"},"c":{"type":["integer","object"],"x-tapwatch-truncated":true}},"required":["a","c"],"type":"object","x-tapwatch-truncated":true}"#
        );
        assert_eq!(s.dropped, 2);
    }

    #[test]
    fn merge_equals_observing_everything() {
        let a = [r#"{"id":1,"tags":["x"]}"#, r#"{"id":2}"#];
        let b = [r#"{"id":"3","name":"n"}"#];
        let mut left = merged(&a, LIMITS);
        left.merge(&merged(&b, LIMITS), LIMITS);
        let all = merged(&[a[0], a[1], b[0]], LIMITS);
        assert_eq!(left.render(), all.render());
    }
}

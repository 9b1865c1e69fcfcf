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
    memo: Memo,
}

/// How the last document of one layout ([`Val::layout`]) was observed:
/// for each object member in pre-order, how many properties come between
/// the one the member before it went to and its own. Valid while the
/// schema has the nodes it had then (every property or item made takes a
/// node from the budget, so an unchanged count means an unchanged tree).
/// A document of that layout has the same members and kinds everywhere,
/// so observing it is walking the same properties: [`Schema::replay`]
/// follows the plan instead of comparing keys.
#[derive(Debug, Clone, Default)]
struct Memo {
    layout: u64,
    nodes: usize,
    plan: Vec<u32>,
}

/// A memo says nothing about what was seen.
impl PartialEq for Memo {
    fn eq(&self, _: &Memo) -> bool {
        true
    }
}

impl SchemaRoot {
    /// Adds one sample.
    pub fn observe(&mut self, v: Val<'_>, limits: Limits) {
        let layout = v.layout();
        if let Some(l) = layout {
            let memo = &self.memo;
            if memo.layout == l && memo.nodes == self.nodes {
                let mut plan = memo.plan.iter();
                if self.root.replay(v, "", 0, limits.max_depth, &mut plan) {
                    return;
                }
                // Not reached: the plan fits every document of its layout.
                self.memo.layout = 0;
                return;
            }
        }
        let before = (self.nodes, self.dropped);
        self.observe_walking(v, limits);
        // A document that found every property it has, within the budget,
        // is the one to plan from.
        if let (Some(l), true) = (layout, before == (self.nodes, self.dropped)) {
            let memo = &mut self.memo;
            memo.plan.clear();
            let planned = self.root.plan(v, 0, limits.max_depth, &mut memo.plan);
            memo.layout = if planned { l } else { 0 };
            memo.nodes = self.nodes;
        }
    }

    /// [`SchemaRoot::observe`] without the memo: the walk by keys.
    fn observe_walking(&mut self, v: Val<'_>, limits: Limits) {
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
            leaf => self.observe_leaf(v, leaf, name),
        }
    }

    /// What a scalar adds beyond its count and type.
    fn observe_leaf(&mut self, v: Val<'_>, leaf: Shape<'_>, name: &str) {
        match leaf {
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
            Shape::UInt(n) if values::is_card_number(n) => {
                self.sensitive.insert("card_number");
            }
            _ => {}
        }
    }

    /// [`Schema::observe`] of a document whose layout `plan` was made for
    /// ([`Memo`]): the same updates, the properties found by position.
    /// False only if the plan does not fit (then part of the sample was
    /// counted; the memo's rule keeps that from happening).
    fn replay(
        &mut self,
        v: Val<'_>,
        name: &str,
        depth: usize,
        max_depth: usize,
        plan: &mut std::slice::Iter<'_, u32>,
    ) -> bool {
        self.count += 1;
        self.types.add(v.jtype(), 1);
        match v.shape() {
            Shape::Object(members) => {
                if depth >= max_depth {
                    return true;
                }
                let mut props = self.props.values_mut();
                for (k, child) in members {
                    let Some(slot) = plan.next().and_then(|&skip| props.nth(skip as usize)) else {
                        return false;
                    };
                    if !slot.replay(child, k, depth + 1, max_depth, plan) {
                        return false;
                    }
                }
                true
            }
            Shape::Array(mut items) => {
                if depth >= max_depth || items.is_empty() {
                    return true;
                }
                let Some(slot) = self.items.as_deref_mut() else {
                    return false;
                };
                items.all(|child| slot.replay(child, name, depth + 1, max_depth, plan))
            }
            leaf => {
                self.observe_leaf(v, leaf, name);
                true
            }
        }
    }

    /// The [`Memo`] plan of `v`, already observed: false when a member or
    /// item has no node here (it was left out for the budget).
    fn plan(&self, v: Val<'_>, depth: usize, max_depth: usize, out: &mut Vec<u32>) -> bool {
        match v.shape() {
            Shape::Object(members) => {
                if depth >= max_depth {
                    return true;
                }
                let mut props = self.props.iter();
                for (k, child) in members {
                    let mut skip = 0u32;
                    let slot = loop {
                        match props.next() {
                            Some((pk, slot)) if pk == k => break slot,
                            Some(_) => skip += 1,
                            None => return false,
                        }
                    };
                    out.push(skip);
                    if !slot.plan(child, depth + 1, max_depth, out) {
                        return false;
                    }
                }
                true
            }
            Shape::Array(mut items) => {
                if depth >= max_depth || items.is_empty() {
                    return true;
                }
                let Some(slot) = self.items.as_deref() else {
                    return false;
                };
                items.all(|child| slot.plan(child, depth + 1, max_depth, out))
            }
            _ => true,
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

    mod generated {
        use super::super::super::json::tests::generated::{leaves, render, tree};
        use super::super::super::json::Doc;
        use super::*;
        use proptest::prelude::*;

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(1000))]

            /// Documents of a few layouts, observed by plan where the memo
            /// has one, make the schema the walk by keys makes.
            #[test]
            fn observing_by_plan_is_observing_by_keys(
                trees in prop::collection::vec(tree(), 1..4),
                picks in prop::collection::vec((0..4usize, leaves(), any::<bool>()), 1..24),
                max_nodes in 1..40usize,
                max_depth in 1..6usize,
            ) {
                let limits = Limits { max_depth, max_nodes };
                let mut by_plan = SchemaRoot::default();
                let mut by_keys = SchemaRoot::default();
                let mut doc = Doc::default();
                for (t, leaves, facts) in &picks {
                    let mut text = String::new();
                    render(&trees[t % trees.len()], leaves, &mut 0, &mut text);
                    if !doc.parse(text.as_bytes()) {
                        continue;
                    }
                    if *facts {
                        doc.cache_string_facts();
                    }
                    let root = doc.root().expect("a root");
                    by_plan.observe(root, limits);
                    by_keys.observe_walking(root, limits);
                    prop_assert_eq!(&by_plan, &by_keys);
                    prop_assert_eq!(by_plan.render(), by_keys.render());
                }
            }
        }
    }

    #[test]
    fn same_layout_is_observed_by_plan() {
        let mut s = SchemaRoot::default();
        let mut doc = super::super::json::Doc::default();
        for text in [
            r#"{"id":1,"tags":["x"],"o":{"a":"b"}}"#,
            r#"{"id":2,"tags":["yy"],"o":{"a":"c@example.com"}}"#,
            r#"{"id":3,"tags":["z"],"o":{"a":""}}"#,
        ] {
            assert!(doc.parse(text.as_bytes()));
            s.observe(doc.root().unwrap(), LIMITS);
        }
        assert_ne!(s.memo.layout, 0, "planned after the second document");
        assert_eq!(s.memo.plan, [0, 0, 0, 0]);
        let o = &s.root.props["o"].props["a"];
        assert_eq!((o.count, o.formats.get("email")), (3, Some(&1)));
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

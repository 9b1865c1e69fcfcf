//! JSON schemas merged over samples, bounded in depth and size.
//!
//! Each sample adds to counters at every node: how often each type was seen,
//! which string formats, which sensitive data, and for objects how often each
//! property was present, so `required` means "present in every object seen".
//! A budget caps the nodes of one schema and its depth; what does not fit is
//! counted, and the node is marked so the output says it was cut.
//!
//! The nodes of one schema are a flat list (the root first, a node's
//! properties and items named by their index in it), so a document of a
//! layout seen before is observed by a list of (node, value) pairs: the
//! counters are bumped by index, with no keys compared and no tree walked.

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
    /// Properties, with how many objects held each: their nodes.
    pub props: BTreeMap<String, u32>,
    /// The node of the array items.
    pub items: Option<u32>,
    /// Structure left out here (depth or size budget).
    pub cut: bool,
    /// Whether the node's name was checked for sensitive data (a node is
    /// always observed under the same name, so once is enough).
    name_checked: bool,
    /// [`values::sensitive_name`] of that name, worked out when the node
    /// was made (the check is what `name_checked` records as done).
    name_kind: Option<&'static str>,
}

/// A schema with its node budget.
#[derive(Debug, Clone, PartialEq)]
pub struct SchemaRoot {
    /// The nodes, the root first; every node but the root took one from
    /// the budget.
    nodes: Vec<Schema>,
    /// Properties or items left out for the budget.
    pub dropped: u64,
    memo: Memo,
}

impl Default for SchemaRoot {
    fn default() -> SchemaRoot {
        SchemaRoot {
            nodes: vec![Schema::named("")],
            dropped: 0,
            memo: Memo::default(),
        }
    }
}

/// How the last document of one layout ([`Val::layout`]) was observed:
/// for each value the walk by keys visits, in its order, the node it
/// updates, the value's place in the document's tape and its type. Valid while the
/// schema has the nodes it had then (every property or item made takes a
/// node from the budget, so an unchanged count means an unchanged tree)
/// and for the depth limit it was made with. A document of that layout
/// has the same members and kinds everywhere (and so the same tape), so
/// observing it is making the same updates: [`SchemaRoot::replay`] follows
/// the plan instead of comparing keys.
#[derive(Debug, Clone, Default)]
struct Memo {
    layout: u64,
    nodes: usize,
    max_depth: usize,
    /// Tape length of the planned document.
    tape: usize,
    plan: Vec<Step>,
}

/// One update of a [`Memo`] plan.
#[derive(Debug, Clone, Copy)]
struct Step {
    node: u32,
    /// The value's place in the tape.
    at: u32,
    /// Its type: the same in every document of the layout.
    jtype: JType,
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
            if memo.layout == l
                && memo.nodes == self.nodes.len()
                && memo.max_depth == limits.max_depth
                && memo.tape == v.tape_len()
            {
                self.replay(v);
                return;
            }
        }
        let before = (self.nodes.len(), self.dropped);
        self.observe_walking(v, limits);
        // A document that found every property it has, within the budget,
        // is the one to plan from.
        if let (Some(l), true) = (layout, before == (self.nodes.len(), self.dropped)) {
            let memo = &mut self.memo;
            memo.plan.clear();
            let planned = plan(&self.nodes, 0, v, 0, limits.max_depth, &mut memo.plan);
            memo.layout = if planned { l } else { 0 };
            memo.nodes = self.nodes.len();
            memo.max_depth = limits.max_depth;
            memo.tape = v.tape_len();
        }
    }

    /// [`SchemaRoot::observe`] of a document whose layout the memo's plan
    /// was made for: the updates the walk by keys would make, by index.
    fn replay(&mut self, v: Val<'_>) {
        for step in &self.memo.plan {
            if let Some(s) = self.nodes.get_mut(step.node as usize) {
                s.count += 1;
                s.types.add(step.jtype, 1);
                // Only strings and integers add more than that.
                if matches!(step.jtype, JType::String | JType::Integer) {
                    let val = v.at(step.at);
                    s.observe_leaf(val, val.shape());
                }
            }
        }
    }

    /// [`SchemaRoot::observe`] without the memo: the walk by keys.
    fn observe_walking(&mut self, v: Val<'_>, limits: Limits) {
        let mut budget = Budget {
            dropped: &mut self.dropped,
            limits,
        };
        observe(&mut self.nodes, 0, v, 0, &mut budget);
    }

    /// Adds every sample another schema saw.
    pub fn merge(&mut self, other: &SchemaRoot, limits: Limits) {
        let mut budget = Budget {
            dropped: &mut self.dropped,
            limits,
        };
        *budget.dropped += other.dropped;
        merge(&mut self.nodes, 0, &other.nodes, 0, 0, &mut budget);
    }

    /// The JSON Schema (2020-12, as OpenAPI 3.1 uses) of what was seen.
    pub fn render(&self) -> Value {
        render(&self.nodes, 0)
    }

    /// Sensitive data kinds anywhere in the schema.
    pub fn sensitive(&self, out: &mut BTreeSet<&'static str>) {
        for s in &self.nodes {
            out.extend(s.sensitive.iter().copied());
        }
    }
}

struct Budget<'a> {
    dropped: &'a mut u64,
    limits: Limits,
}

impl Budget<'_> {
    /// A new node in `nodes` (the root is not counted), unless the budget
    /// is spent.
    fn take(&mut self, nodes: &mut Vec<Schema>, name_kind: Option<&'static str>) -> Option<u32> {
        let at = u32::try_from(nodes.len()).ok();
        match at {
            Some(at) if nodes.len().saturating_sub(1) < self.limits.max_nodes => {
                nodes.push(Schema {
                    name_kind,
                    ..Schema::default()
                });
                Some(at)
            }
            _ => {
                *self.dropped += 1;
                None
            }
        }
    }
}

impl Schema {
    /// A node observed under `name`.
    fn named(name: &str) -> Schema {
        Schema {
            name_kind: values::sensitive_name(name),
            ..Schema::default()
        }
    }

    /// What a scalar `v` (of shape `shape`) adds beyond its count and type.
    fn observe_leaf(&mut self, v: Val<'_>, shape: Shape<'_>) {
        match shape {
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
                    if let Some(k) = self.name_kind {
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
}

/// Observes `v` at node `at` of `nodes`, `depth` levels below the root.
fn observe(nodes: &mut Vec<Schema>, at: u32, v: Val<'_>, depth: usize, budget: &mut Budget<'_>) {
    let Some(s) = nodes.get_mut(at as usize) else {
        return;
    };
    s.count += 1;
    s.types.add(v.jtype(), 1);
    match v.shape() {
        Shape::Object(members) => {
            if depth >= budget.limits.max_depth {
                s.cut |= !members.is_empty();
                return;
            }
            observe_members(nodes, at, members, depth, budget);
        }
        Shape::Array(items) => {
            if depth >= budget.limits.max_depth {
                s.cut |= !items.is_empty();
                return;
            }
            // Items are observed under the array's name.
            let name_kind = s.name_kind;
            for child in items {
                let slot = match nodes.get(at as usize).and_then(|s| s.items) {
                    Some(slot) => slot,
                    None => {
                        let made = budget.take(nodes, name_kind);
                        let Some(s) = nodes.get_mut(at as usize) else {
                            return;
                        };
                        match made {
                            Some(slot) => {
                                s.items = Some(slot);
                                slot
                            }
                            None => {
                                s.cut = true;
                                break;
                            }
                        }
                    }
                };
                observe(nodes, slot, child, depth + 1, budget);
            }
        }
        leaf => s.observe_leaf(v, leaf),
    }
}

/// Observes an object's members under the properties of the same
/// name (created while the budget lasts), in key order. Members and
/// properties are both sorted, so they are walked in step: a known
/// property costs one key comparison, not a search of the map.
fn observe_members(
    nodes: &mut Vec<Schema>,
    at: u32,
    mut members: Members<'_>,
    depth: usize,
    budget: &mut Budget<'_>,
) {
    // The properties are out of the node while its children are observed
    // (a child is never the node itself: the nodes make a tree).
    let Some(s) = nodes.get_mut(at as usize) else {
        return;
    };
    let mut props = std::mem::take(&mut s.props);
    let mut cut = false;
    let mut next = members.next();
    // The last member given a new property: the walk resumes after it.
    let mut after: Option<&str> = None;
    while next.is_some() {
        {
            let mut known = match after {
                None => props.range::<str, _>(..),
                Some(a) => props.range::<str, _>((Excluded(a), Unbounded)),
            }
            .peekable();
            while let Some((k, child)) = next {
                let mut found = None;
                while let Some((pk, _)) = known.peek() {
                    match pk.as_str().cmp(k) {
                        Ordering::Less => {
                            known.next();
                        }
                        Ordering::Equal => {
                            found = known.next();
                            break;
                        }
                        Ordering::Greater => break,
                    }
                }
                let Some((_, &slot)) = found else {
                    break;
                };
                observe(nodes, slot, child, depth + 1, budget);
                next = members.next();
            }
        }
        // A member with no property yet.
        let Some((k, child)) = next else {
            break;
        };
        match budget.take(nodes, values::sensitive_name(k)) {
            Some(slot) => {
                props.insert(k.to_string(), slot);
                observe(nodes, slot, child, depth + 1, budget);
            }
            None => cut = true,
        }
        after = Some(k);
        next = members.next();
    }
    if let Some(s) = nodes.get_mut(at as usize) {
        s.props = props;
        s.cut |= cut;
    }
}

/// The [`Memo`] plan of `v` at node `at`, already observed: false when a
/// member or item has no node here (it was left out for the budget).
fn plan(
    nodes: &[Schema],
    at: u32,
    v: Val<'_>,
    depth: usize,
    max_depth: usize,
    out: &mut Vec<Step>,
) -> bool {
    let Some(s) = nodes.get(at as usize) else {
        return false;
    };
    out.push(Step {
        node: at,
        at: v.index(),
        jtype: v.jtype(),
    });
    match v.shape() {
        Shape::Object(members) => {
            if depth >= max_depth {
                return true;
            }
            for (k, child) in members {
                let Some(&slot) = s.props.get(k) else {
                    return false;
                };
                if !plan(nodes, slot, child, depth + 1, max_depth, out) {
                    return false;
                }
            }
            true
        }
        Shape::Array(mut items) => {
            if depth >= max_depth || items.is_empty() {
                return true;
            }
            let Some(slot) = s.items else {
                return false;
            };
            items.all(|child| plan(nodes, slot, child, depth + 1, max_depth, out))
        }
        _ => true,
    }
}

/// Adds node `from` of `others` (another schema's nodes) to node `at`.
fn merge(
    nodes: &mut Vec<Schema>,
    at: u32,
    others: &[Schema],
    from: u32,
    depth: usize,
    budget: &mut Budget<'_>,
) {
    let (Some(s), Some(o)) = (nodes.get_mut(at as usize), others.get(from as usize)) else {
        return;
    };
    s.count += o.count;
    s.types.merge(&o.types);
    for (f, n) in &o.formats {
        *s.formats.entry(f).or_default() += n;
    }
    s.sensitive.extend(o.sensitive.iter().copied());
    s.cut |= o.cut;
    if depth >= budget.limits.max_depth {
        s.cut |= !o.props.is_empty() || o.items.is_some();
        return;
    }
    let mut props = std::mem::take(&mut s.props);
    let mut cut = false;
    for (k, &child) in &o.props {
        let slot = match props.get(k) {
            Some(&slot) => slot,
            None => {
                let kind = others.get(child as usize).and_then(|c| c.name_kind);
                match budget.take(nodes, kind) {
                    Some(slot) => {
                        props.insert(k.clone(), slot);
                        slot
                    }
                    None => {
                        cut = true;
                        continue;
                    }
                }
            }
        };
        merge(nodes, slot, others, child, depth + 1, budget);
    }
    if let Some(s) = nodes.get_mut(at as usize) {
        s.props = props;
        s.cut |= cut;
    }
    if let Some(oi) = o.items {
        let mut mine = nodes.get(at as usize).and_then(|s| s.items);
        if mine.is_none() {
            let kind = others.get(oi as usize).and_then(|c| c.name_kind);
            mine = budget.take(nodes, kind);
            if let Some(s) = nodes.get_mut(at as usize) {
                s.items = mine;
            }
        }
        match mine {
            Some(slot) => merge(nodes, slot, others, oi, depth + 1, budget),
            None => {
                if let Some(s) = nodes.get_mut(at as usize) {
                    s.cut = true;
                }
            }
        }
    }
}

fn render(nodes: &[Schema], at: u32) -> Value {
    let mut out = Map::new();
    let Some(s) = nodes.get(at as usize) else {
        return Value::Object(out);
    };
    let types = values::unify(s.types.keys());
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
    let strings = s.types.get(JType::String);
    if let Some(f) = agreed_format(&s.formats, strings) {
        out.insert("format".into(), json!(f));
    }
    let objects = s.types.get(JType::Object);
    if !s.props.is_empty() {
        let props: Map<String, Value> = s
            .props
            .iter()
            .map(|(k, &i)| (k.clone(), render(nodes, i)))
            .collect();
        let required: Vec<Value> = s
            .props
            .iter()
            .filter(|(_, &i)| {
                objects > 0 && nodes.get(i as usize).is_some_and(|c| c.count >= objects)
            })
            .map(|(k, _)| json!(k))
            .collect();
        out.insert("properties".into(), Value::Object(props));
        if !required.is_empty() {
            out.insert("required".into(), Value::Array(required));
        }
    }
    if let Some(items) = s.items {
        out.insert("items".into(), render(nodes, items));
    }
    if !s.sensitive.is_empty() {
        out.insert(
            "x-tapwatch-sensitive".into(),
            s.sensitive.iter().map(|s| json!(s)).collect(),
        );
    }
    if s.cut {
        out.insert("x-tapwatch-truncated".into(), json!(true));
    }
    Value::Object(out)
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
        assert_eq!(wide.nodes[0].props.len(), 2);
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
        // The root, id, o, o.a, tags and its one item.
        assert_eq!(s.memo.plan.len(), 6);
        let o = &s.nodes[s.nodes[s.nodes[0].props["o"] as usize].props["a"] as usize];
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

//! The stream's filter language (`shield-dhcp-stream.txt`), shared by live-stream subscribers
//! and config rules: a group `{"logic": "AND"|"OR", "rules": [...]}` whose rules are conditions
//! `{"field", "operator", "value"}` or nested groups. Operators: `eq`, `ne`, `in`, `not_in` for
//! every field; `contains`, `startswith`, `endswith`, `regex` for text fields; `gt`, `gte`,
//! `lt`, `lte` for numeric fields. [`Filter::from_json`] validates everything up front with an
//! error naming the offending place; [`Filter::matches`] never fails. Pure.
//!
//! Semantics: comparisons are exact, except that MAC values are normalized to lowercase with
//! `:` and message-type names to uppercase; a text field the packet lacks is `""`; a numeric
//! field it lacks matches only `ne` and `not_in`; an empty group matches everything; `regex` is
//! an unanchored byte-oriented match (ASCII classes: `\d` is `[0-9]`), use `^…$` to anchor.

use std::fmt;

use regex_automata::dfa::{dense, regex::Regex};
use regex_automata::nfa::thompson;
use regex_automata::util::syntax;
use serde_json::Value;

use crate::event::{field_kind, FieldKind, FieldValue, Fields};

/// Nesting depth of groups, conditions per filter, bytes per text value, items per `in` list.
pub const MAX_DEPTH: usize = 8;
/// Conditions a filter may hold, all groups together.
pub const MAX_CONDITIONS: usize = 64;
/// Bytes a text value may have.
pub const MAX_VALUE_LEN: usize = 256;
/// Items an `in` list may have.
pub const MAX_LIST: usize = 64;
/// Memory a regex may take once compiled (bytes).
const REGEX_SIZE_LIMIT: usize = 256 * 1024;

/// Why a filter was refused: where (`rules[1].rules[0].operator`) and what.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {message}")]
pub struct FilterError {
    /// Where in the filter, e.g. `rules[1].rules[0].operator`.
    pub path: String,
    /// What is wrong there.
    pub message: String,
}

fn err(path: &str, message: impl Into<String>) -> FilterError {
    FilterError {
        path: if path.is_empty() {
            "filter".into()
        } else {
            path.into()
        },
        message: message.into(),
    }
}

/// A validated, compiled filter.
#[derive(Clone)]
pub struct Filter {
    root: Group,
    /// The JSON it was built from (for display, saving and equality).
    source: Value,
}

impl fmt::Debug for Filter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Filter({})", self.source)
    }
}

impl PartialEq for Filter {
    fn eq(&self, other: &Self) -> bool {
        self.source == other.source
    }
}

impl Eq for Filter {}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Logic {
    And,
    Or,
}

#[derive(Debug, Clone)]
struct Group {
    logic: Logic,
    nodes: Vec<Node>,
}

#[derive(Debug, Clone)]
enum Node {
    Group(Group),
    Cond(Cond),
}

#[derive(Debug, Clone)]
struct Cond {
    field: String,
    op: Op,
}

#[derive(Debug, Clone, PartialEq)]
enum Val {
    Str(String),
    Num(f64),
}

#[derive(Debug, Clone)]
enum Op {
    Eq(Val),
    Ne(Val),
    Contains(String),
    StartsWith(String),
    EndsWith(String),
    Regex(Box<Regex>),
    Gt(f64),
    Gte(f64),
    Lt(f64),
    Lte(f64),
    In(Vec<Val>),
    NotIn(Vec<Val>),
}

/// The operators and what they work with.
pub const OPERATORS: &[&str] = &[
    "eq",
    "ne",
    "contains",
    "startswith",
    "endswith",
    "regex",
    "gt",
    "gte",
    "lt",
    "lte",
    "in",
    "not_in",
];

impl Filter {
    /// A filter that matches every event.
    pub fn all() -> Filter {
        Filter {
            root: Group {
                logic: Logic::And,
                nodes: Vec::new(),
            },
            source: serde_json::json!({"logic": "AND", "rules": []}),
        }
    }

    /// Parses and validates a filter from JSON text.
    pub fn parse(text: &str) -> Result<Filter, FilterError> {
        let value: Value =
            serde_json::from_str(text).map_err(|e| err("", format!("not valid JSON: {e}")))?;
        Filter::from_json(&value)
    }

    /// Validates and compiles a filter given as JSON.
    pub fn from_json(value: &Value) -> Result<Filter, FilterError> {
        let mut count = 0;
        let root = group(value, "", 1, &mut count)?;
        Ok(Filter {
            root,
            source: value.clone(),
        })
    }

    /// The JSON the filter was built from.
    pub fn source(&self) -> &Value {
        &self.source
    }

    /// Whether `event` passes the filter.
    pub fn matches<F: Fields + ?Sized>(&self, event: &F) -> bool {
        self.root.matches(event)
    }
}

impl Group {
    fn matches<F: Fields + ?Sized>(&self, e: &F) -> bool {
        let node = |n: &Node| match n {
            Node::Group(g) => g.matches(e),
            Node::Cond(c) => c.matches(e),
        };
        match self.logic {
            _ if self.nodes.is_empty() => true,
            Logic::And => self.nodes.iter().all(node),
            Logic::Or => self.nodes.iter().any(node),
        }
    }
}

fn val_eq(field: &FieldValue<'_>, v: &Val) -> bool {
    match (field, v) {
        (FieldValue::Str(s), Val::Str(v)) => s.as_ref() == v,
        (FieldValue::Num(n), Val::Num(v)) => n == v,
        _ => false,
    }
}

impl Cond {
    fn matches<F: Fields + ?Sized>(&self, e: &F) -> bool {
        let value = e.field(&self.field);
        let text = || match &value {
            FieldValue::Str(s) => Some(s.as_ref()),
            _ => None,
        };
        let cmp = |f: fn(f64, f64) -> bool, v: f64| match value {
            FieldValue::Num(n) => f(n, v),
            _ => false,
        };
        match &self.op {
            Op::Eq(v) => val_eq(&value, v),
            Op::Ne(v) => !val_eq(&value, v),
            Op::Contains(v) => text().is_some_and(|s| s.contains(v.as_str())),
            Op::StartsWith(v) => text().is_some_and(|s| s.starts_with(v.as_str())),
            Op::EndsWith(v) => text().is_some_and(|s| s.ends_with(v.as_str())),
            Op::Regex(re) => text().is_some_and(|s| re.is_match(s.as_bytes())),
            Op::Gt(v) => cmp(|a, b| a > b, *v),
            Op::Gte(v) => cmp(|a, b| a >= b, *v),
            Op::Lt(v) => cmp(|a, b| a < b, *v),
            Op::Lte(v) => cmp(|a, b| a <= b, *v),
            Op::In(list) => list.iter().any(|v| val_eq(&value, v)),
            Op::NotIn(list) => !list.iter().any(|v| val_eq(&value, v)),
        }
    }
}

fn object<'a>(
    value: &'a Value,
    path: &str,
    allowed: &[&str],
) -> Result<&'a serde_json::Map<String, Value>, FilterError> {
    let map = value
        .as_object()
        .ok_or_else(|| err(path, format!("expected an object, found {value}")))?;
    if let Some(unknown) = map.keys().find(|k| !allowed.contains(&k.as_str())) {
        return Err(err(
            path,
            format!("unknown key {unknown:?} (expected {})", allowed.join(", ")),
        ));
    }
    Ok(map)
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

fn group(value: &Value, path: &str, depth: usize, count: &mut usize) -> Result<Group, FilterError> {
    if depth > MAX_DEPTH {
        return Err(err(path, format!("groups nest deeper than {MAX_DEPTH}")));
    }
    let map = object(value, path, &["logic", "rules"])?;
    let logic_path = join(path, "logic");
    let logic = match map.get("logic").and_then(Value::as_str) {
        Some(l) if l.eq_ignore_ascii_case("and") => Logic::And,
        Some(l) if l.eq_ignore_ascii_case("or") => Logic::Or,
        Some(l) => return Err(err(&logic_path, format!("{l:?} is not AND or OR"))),
        None => {
            return Err(err(
                &logic_path,
                "missing: a group needs \"logic\": \"AND\" or \"OR\"",
            ))
        }
    };
    let rules_path = join(path, "rules");
    let rules = map
        .get("rules")
        .and_then(Value::as_array)
        .ok_or_else(|| err(&rules_path, "missing: a group needs a \"rules\" array"))?;
    let nodes = rules
        .iter()
        .enumerate()
        .map(|(i, rule)| {
            let path = format!("{rules_path}[{i}]");
            if rule.get("logic").is_some() || rule.get("rules").is_some() {
                group(rule, &path, depth + 1, count).map(Node::Group)
            } else {
                *count += 1;
                if *count > MAX_CONDITIONS {
                    return Err(err(&path, format!("more than {MAX_CONDITIONS} conditions")));
                }
                condition(rule, &path).map(Node::Cond)
            }
        })
        .collect::<Result<_, _>>()?;
    Ok(Group { logic, nodes })
}

fn condition(value: &Value, path: &str) -> Result<Cond, FilterError> {
    let map = object(value, path, &["field", "operator", "value"])?;
    let field_path = join(path, "field");
    let field = map
        .get("field")
        .and_then(Value::as_str)
        .ok_or_else(|| err(&field_path, "missing: a rule needs a \"field\" name"))?;
    let kind = field_kind(field).ok_or_else(|| {
        err(
            &field_path,
            format!(
                "unknown field {field:?} (see the filter fields; options as dhcp_options.<CODE>)"
            ),
        )
    })?;
    let op_path = join(path, "operator");
    let operator = map
        .get("operator")
        .and_then(Value::as_str)
        .ok_or_else(|| err(&op_path, "missing: a rule needs an \"operator\""))?;
    let value_path = join(path, "value");
    let value = map
        .get("value")
        .ok_or_else(|| err(&value_path, "missing: a rule needs a \"value\""))?;
    let single = || scalar(field, kind, value, &value_path);
    let text = || match kind {
        FieldKind::String => match single()? {
            Val::Str(s) => Ok(s),
            Val::Num(n) => Ok(n.to_string()),
        },
        FieldKind::Numeric => Err(err(
            &op_path,
            format!("{operator} works with text fields only; {field} is numeric"),
        )),
    };
    let number = || match kind {
        FieldKind::Numeric => match single()? {
            Val::Num(n) => Ok(n),
            Val::Str(_) => Err(err(&value_path, "expected a number")),
        },
        FieldKind::String => Err(err(
            &op_path,
            format!("{operator} works with numeric fields only; {field} is text"),
        )),
    };
    let op = match operator {
        "eq" => Op::Eq(single()?),
        "ne" => Op::Ne(single()?),
        "contains" => Op::Contains(text()?),
        "startswith" => Op::StartsWith(text()?),
        "endswith" => Op::EndsWith(text()?),
        "regex" => Op::Regex(Box::new(regex(&text()?, &value_path)?)),
        "gt" => Op::Gt(number()?),
        "gte" => Op::Gte(number()?),
        "lt" => Op::Lt(number()?),
        "lte" => Op::Lte(number()?),
        "in" => Op::In(list(field, kind, value, &value_path)?),
        "not_in" => Op::NotIn(list(field, kind, value, &value_path)?),
        other => {
            return Err(err(
                &op_path,
                format!(
                    "unknown operator {other:?} (expected one of {})",
                    OPERATORS.join(", ")
                ),
            ))
        }
    };
    Ok(Cond {
        field: field.to_string(),
        op,
    })
}

/// Text as the event holds it for `field`: MACs lowercase with `:`, type names uppercase.
fn normalize(field: &str, text: &str) -> String {
    match field {
        "client_mac" | "source_mac" | "dest_mac" => text.to_ascii_lowercase().replace('-', ":"),
        "message_type" | "inner_message_type" | "op_code" => text.to_ascii_uppercase(),
        _ => text.to_string(),
    }
}

fn scalar(field: &str, kind: FieldKind, value: &Value, path: &str) -> Result<Val, FilterError> {
    match (kind, value) {
        (FieldKind::String, Value::String(s)) => {
            if s.len() > MAX_VALUE_LEN {
                return Err(err(path, format!("longer than {MAX_VALUE_LEN} bytes")));
            }
            Ok(Val::Str(normalize(field, s)))
        }
        (FieldKind::String, Value::Number(n)) => Ok(Val::Str(n.to_string())),
        (FieldKind::Numeric, Value::Number(n)) => n
            .as_f64()
            .map(Val::Num)
            .ok_or_else(|| err(path, "not a usable number")),
        (FieldKind::Numeric, Value::String(s)) => s
            .trim()
            .parse::<f64>()
            .ok()
            .filter(|n| n.is_finite())
            .map(Val::Num)
            .ok_or_else(|| {
                err(
                    path,
                    format!("{s:?} is not a number, and {field} is numeric"),
                )
            }),
        (_, other) => Err(err(path, format!("expected a single value, found {other}"))),
    }
}

/// A list for `in`/`not_in`: a JSON array, or text like `[DISCOVER, REQUEST]` or `A,B`.
fn list(field: &str, kind: FieldKind, value: &Value, path: &str) -> Result<Vec<Val>, FilterError> {
    let items: Vec<Value> = match value {
        Value::Array(items) => items.clone(),
        Value::String(s) => {
            let inner = s.trim();
            let inner = inner
                .strip_prefix('[')
                .and_then(|i| i.strip_suffix(']'))
                .unwrap_or(inner);
            inner
                .split(',')
                .map(str::trim)
                .filter(|i| !i.is_empty())
                .map(|i| Value::String(i.to_string()))
                .collect()
        }
        other => return Err(err(path, format!("expected a list, found {other}"))),
    };
    if items.is_empty() || items.len() > MAX_LIST {
        return Err(err(path, format!("a list needs 1 to {MAX_LIST} values")));
    }
    items
        .iter()
        .enumerate()
        .map(|(i, v)| scalar(field, kind, v, &format!("{path}[{i}]")))
        .collect()
}

fn regex(pattern: &str, path: &str) -> Result<Regex, FilterError> {
    Regex::builder()
        .syntax(syntax::Config::new().unicode(false).utf8(false))
        .thompson(
            thompson::Config::new()
                .utf8(false)
                .nfa_size_limit(Some(REGEX_SIZE_LIMIT)),
        )
        .dense(
            dense::Config::new()
                .dfa_size_limit(Some(REGEX_SIZE_LIMIT))
                .determinize_size_limit(Some(REGEX_SIZE_LIMIT)),
        )
        .build(pattern)
        .map_err(|e| err(path, format!("bad regex {pattern:?}: {e}")))
}

#[cfg(test)]
mod tests;

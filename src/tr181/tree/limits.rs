//! How much one data-model request may ask for, checked before the work: names per request,
//! the length of each name, values (or names) per reply, bytes per reply. Any bus user may
//! read, so a request must never make the daemon build more than a bounded reply: over a
//! limit it gets `ResourcesExceeded` (9004) before anything is rendered. Duplicate names are
//! answered once. Pure.

use std::collections::HashSet;

use super::Tree;
use crate::tr181::fault::{Fault, FaultKind};

/// Most names (or name-value pairs, or command arguments) in one request: enough to read
/// every parameter of a full tree by name.
pub const MAX_NAMES: usize = 1024;
/// Longest name a request may carry (TR-069 names are at most 256 characters).
pub const MAX_NAME_BYTES: usize = 256;
/// Most entries in one reply: values for GetParameterValues, names for GetParameterNames.
/// Counted from the definition before rendering, so it is an upper bound of the reply.
pub const MAX_REPLY_ENTRIES: usize = 16_384;
/// Most bytes of names, types and values in one reply.
pub const MAX_REPLY_BYTES: usize = 2 * 1024 * 1024;

fn exceeded(message: String) -> Fault {
    Fault::new(FaultKind::ResourcesExceeded, message)
}

/// The names of a request, each once in first-seen order; refused when there are too many
/// or one is too long.
pub fn unique_names(names: &[String]) -> Result<Vec<String>, Fault> {
    check_count(names.len())?;
    let mut seen = HashSet::new();
    let mut unique = Vec::new();
    for name in names {
        check_name(name)?;
        if seen.insert(name.as_str()) {
            unique.push(name.clone());
        }
    }
    Ok(unique)
}

/// Refuses a request with more than [`MAX_NAMES`] names.
pub fn check_count(count: usize) -> Result<(), Fault> {
    if count > MAX_NAMES {
        return Err(exceeded(format!(
            "{count} names in one request; at most {MAX_NAMES}"
        )));
    }
    Ok(())
}

/// Refuses a name longer than [`MAX_NAME_BYTES`]; no parameter has one, so it is no such name.
pub fn check_name(name: &str) -> Result<(), Fault> {
    if name.len() > MAX_NAME_BYTES {
        let start: String = name.chars().take(64).collect();
        return Err(Fault::new(
            FaultKind::InvalidParameterName,
            format!(
                "{start}…: a name of {} bytes; names have at most {MAX_NAME_BYTES}",
                name.len()
            ),
        ));
    }
    Ok(())
}

/// Refuses a reply of more than [`MAX_REPLY_ENTRIES`] entries.
pub fn check_entries(entries: usize, what: &str) -> Result<(), Fault> {
    if entries > MAX_REPLY_ENTRIES {
        return Err(exceeded(format!(
            "the reply would carry more than {MAX_REPLY_ENTRIES} {what}; ask for smaller subtrees"
        )));
    }
    Ok(())
}

/// Counts reply bytes as entries are added, refusing past [`MAX_REPLY_BYTES`].
#[derive(Debug, Default)]
pub(crate) struct ReplyBytes(usize);

impl ReplyBytes {
    /// Counts the bytes of `parts` (one entry's name, type, value); refuses with 9004 once the
    /// reply would pass [`MAX_REPLY_BYTES`].
    pub(crate) fn add(&mut self, parts: &[&str]) -> Result<(), Fault> {
        self.0 = parts
            .iter()
            .fold(self.0, |total, part| total.saturating_add(part.len()));
        if self.0 > MAX_REPLY_BYTES {
            return Err(exceeded(format!(
                "the reply would be larger than {MAX_REPLY_BYTES} bytes; ask for smaller subtrees"
            )));
        }
        Ok(())
    }
}

impl Tree {
    /// How many values GetParameterValues of `names` would return, at most: every parameter
    /// the definition gives each object below a partial name, one per full name; counting
    /// stops once past `limit`. Walks the object instances only, rendering no value.
    pub(super) fn values_upper_bound(&self, names: &[String], limit: usize) -> usize {
        let mut total = 0usize;
        for object in self.def.objects() {
            for (path, _) in self.expand(&object.path) {
                for name in names {
                    if name.ends_with('.') {
                        if path.starts_with(name.as_str()) {
                            total = total.saturating_add(object.params.len());
                        }
                    } else if name
                        .strip_prefix(path.as_str())
                        .is_some_and(|param| object.param(param).is_some())
                    {
                        total = total.saturating_add(1);
                    }
                }
                if total > limit {
                    return total;
                }
            }
        }
        total
    }

    /// How many names GetParameterNames of `path` (partial, or empty for everything) would
    /// return, at most: the tables and objects at or below it and their parameters;
    /// counting stops once past `limit`.
    pub(super) fn names_upper_bound(&self, path: &str, limit: usize) -> usize {
        let mut total = 0usize;
        for object in self.def.objects() {
            if object.is_table() {
                let tables = self.expand(object.path.trim_end_matches("{i}."));
                let below = tables.iter().filter(|(p, _)| p.starts_with(path)).count();
                total = total.saturating_add(below);
            }
            for (object_path, _) in self.expand(&object.path) {
                if object_path.starts_with(path) {
                    total = total.saturating_add(1 + object.params.len());
                }
                if total > limit {
                    return total;
                }
            }
        }
        total
    }
}

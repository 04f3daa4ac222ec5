//! The check that values meant to be unique within a configuration section are: one rule for
//! the daemon's configuration and the shield's, with one wording for the refusal.

use std::collections::HashSet;
use std::fmt::Display;
use std::hash::Hash;

/// `Ok` when no value of `values` appears twice; else the refusal naming the first value seen
/// again: "`what` `value` appears more than once".
pub fn all_unique<T: Hash + Eq + Display>(
    what: &str,
    values: impl IntoIterator<Item = T>,
) -> Result<(), String> {
    let mut seen = HashSet::new();
    for value in values {
        if seen.contains(&value) {
            return Err(format!("{what} {value} appears more than once"));
        }
        seen.insert(value);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::all_unique;

    #[test]
    fn names_the_first_value_seen_again() {
        assert_eq!(all_unique("name", ["a", "b", "c"]), Ok(()));
        assert_eq!(all_unique("name", Vec::<&str>::new()), Ok(()));
        assert_eq!(
            all_unique("interface", ["eth0", "eth1", "eth1", "eth0"]),
            Err("interface eth1 appears more than once".to_string())
        );
    }
}

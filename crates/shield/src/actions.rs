//! The table of per-client actions in force: set from config, by rules and at run time, each
//! with an expiry (unix seconds; `None` indefinite) and who set it and why. Pure (the caller
//! passes the time), persisted by the caller as a list of [`ActionRecord`]s.
//!
//! Two budgets of `cap` each: actions set by the operator or the config, and actions set by
//! rules (`by` = `rule:<name>`). A full operator budget refuses the new action; a full rule
//! budget makes room by evicting the oldest rule-made action. So a LAN host that makes rules
//! match with random MACs can never take a slot the operator needs.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::action::{Action, ClientKey};

/// One client's action, as listed, persisted and audited.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActionRecord {
    pub client: ClientKey,
    pub action: Action,
    /// Unix seconds when it was set.
    pub since: u64,
    /// Unix seconds when it ends; absent: indefinite.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<u64>,
    /// Who set it: `config`, `rule:<name>`, `uid:<n>`.
    pub by: String,
    #[serde(default)]
    pub reason: String,
}

impl ActionRecord {
    /// Whether a config rule set it (as opposed to the operator or the config's clients).
    pub fn by_rule(&self) -> bool {
        self.by.starts_with("rule:")
    }
}

/// What [`Actions::set`] displaced.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Displaced {
    /// The client's previous action.
    pub replaced: Option<ActionRecord>,
    /// The oldest rule-made action, evicted to make room for a new one.
    pub evicted: Option<ActionRecord>,
}

/// Why an action could not be set.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ActionError {
    #[error("the action table is full ({0} clients); clear some first")]
    Full(usize),
    #[error("{0} has an action set by the operator; a rule does not replace it")]
    OperatorHolds(ClientKey),
}

/// The actions in force.
#[derive(Debug, Clone)]
pub struct Actions {
    map: HashMap<ClientKey, ActionRecord>,
    cap: usize,
}

impl Actions {
    pub fn new(cap: usize) -> Actions {
        Actions {
            map: HashMap::new(),
            cap,
        }
    }

    fn count(&self, by_rule: bool) -> usize {
        self.map.values().filter(|r| r.by_rule() == by_rule).count()
    }

    /// Sets (or replaces) a client's action; says what it displaced. A rule-made action never
    /// replaces an operator's.
    pub fn set(&mut self, record: ActionRecord) -> Result<Displaced, ActionError> {
        let current = self.map.get(&record.client);
        if record.by_rule() && current.is_some_and(|c| !c.by_rule()) {
            return Err(ActionError::OperatorHolds(record.client));
        }
        let same_budget = current.is_some_and(|c| c.by_rule() == record.by_rule());
        let mut evicted = None;
        if !same_budget && self.count(record.by_rule()) >= self.cap {
            if !record.by_rule() {
                return Err(ActionError::Full(self.cap));
            }
            let oldest = self
                .map
                .values()
                .filter(|r| r.by_rule())
                .min_by(|a, b| (a.since, &a.client).cmp(&(b.since, &b.client)))
                .map(|r| r.client.clone());
            evicted = oldest.and_then(|k| self.map.remove(&k));
        }
        let replaced = self.map.insert(record.client.clone(), record);
        Ok(Displaced { replaced, evicted })
    }

    pub fn clear(&mut self, client: &ClientKey) -> Option<ActionRecord> {
        self.map.remove(client)
    }

    /// The client's action if it is still in force at `now`.
    pub fn get(&self, client: &ClientKey, now: u64) -> Option<&ActionRecord> {
        self.map
            .get(client)
            .filter(|r| r.until.is_none_or(|until| until > now))
    }

    /// When the first action that has an end ends (unix seconds); `None` when none has one.
    pub fn next_end(&self) -> Option<u64> {
        self.map.values().filter_map(|r| r.until).min()
    }

    /// Removes and returns the actions that ended by `now`.
    pub fn expire(&mut self, now: u64) -> Vec<ActionRecord> {
        let ended: Vec<ClientKey> = self
            .map
            .iter()
            .filter(|(_, r)| r.until.is_some_and(|until| until <= now))
            .map(|(k, _)| k.clone())
            .collect();
        ended.iter().filter_map(|k| self.map.remove(k)).collect()
    }

    /// Every action, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = &ActionRecord> {
        self.map.values()
    }

    /// Every action, sorted by client.
    pub fn list(&self) -> Vec<ActionRecord> {
        let mut all: Vec<ActionRecord> = self.map.values().cloned().collect();
        all.sort_by(|a, b| a.client.cmp(&b.client));
        all
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::action::Mac;

    fn record(n: u8, action: Action, until: Option<u64>) -> ActionRecord {
        ActionRecord {
            client: ClientKey::Mac(Mac([2, 0, 0, 0, 0, n])),
            action,
            since: 100,
            until,
            by: "uid:0".into(),
            reason: String::new(),
        }
    }

    fn by_rule(n: u8, since: u64) -> ActionRecord {
        ActionRecord {
            since,
            by: "rule:printers".into(),
            ..record(n, Action::Monitor, None)
        }
    }

    #[test]
    fn the_next_end_is_the_earliest_of_the_actions_that_end() {
        let mut a = Actions::new(4);
        assert_eq!(a.next_end(), None);
        a.set(record(1, Action::Deny, None)).unwrap();
        assert_eq!(a.next_end(), None, "a permanent action has no end");
        a.set(record(2, Action::Block, Some(900))).unwrap();
        a.set(record(3, Action::Block, Some(400))).unwrap();
        assert_eq!(a.next_end(), Some(400));
        a.expire(400);
        assert_eq!(a.next_end(), Some(900));
    }

    #[test]
    fn set_get_expire_and_cap() {
        let mut a = Actions::new(2);
        assert_eq!(
            a.set(record(1, Action::Block, Some(200))),
            Ok(Displaced::default())
        );
        assert!(a.set(record(2, Action::Deny, None)).is_ok());
        assert_eq!(
            a.set(record(3, Action::Allow, None)),
            Err(ActionError::Full(2))
        );
        // Replacing an existing client's action is always possible.
        assert!(a
            .set(record(2, Action::Monitor, Some(500)))
            .unwrap()
            .replaced
            .is_some());
        let one = record(1, Action::Block, None).client;
        assert!(a.get(&one, 199).is_some());
        assert!(a.get(&one, 200).is_none());
        assert_eq!(a.expire(300).len(), 1);
        assert_eq!(a.len(), 1);
        assert_eq!(a.list()[0].action, Action::Monitor);
    }

    #[test]
    fn rule_made_actions_never_crowd_out_the_operator() {
        let mut a = Actions::new(2);
        // A flood of rule matches: the rule budget keeps the newest two.
        for n in 10..20 {
            a.set(by_rule(n, u64::from(n))).unwrap();
        }
        assert_eq!(a.len(), 2);
        assert!(a.get(&by_rule(19, 0).client, 0).is_some());
        assert!(a.get(&by_rule(18, 0).client, 0).is_some());
        // The operator's budget is untouched by them.
        assert!(a.set(record(1, Action::Deny, None)).is_ok());
        assert!(a.set(record(2, Action::Deny, None)).is_ok());
        assert_eq!(a.len(), 4);
        // A new rule-made action evicts the oldest rule-made one, never an operator's.
        let displaced = a.set(by_rule(30, 30)).unwrap();
        assert_eq!(
            displaced.evicted.map(|r| r.client),
            Some(by_rule(18, 0).client)
        );
        assert!(a.get(&record(1, Action::Deny, None).client, 0).is_some());
        // A rule does not replace an operator's action; the operator replaces a rule's.
        assert_eq!(
            a.set(by_rule(1, 40)),
            Err(ActionError::OperatorHolds(
                record(1, Action::Deny, None).client
            ))
        );
        let over = a.set(record(19, Action::Block, None));
        assert_eq!(
            over,
            Err(ActionError::Full(2)),
            "the operator budget is full"
        );
        a.clear(&record(2, Action::Deny, None).client);
        let moved = a.set(record(19, Action::Block, None)).unwrap();
        assert!(moved.replaced.is_some_and(|r| r.by_rule()));
        assert_eq!(a.len(), 3);
    }
}

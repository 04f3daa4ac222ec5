//! The table of per-client actions in force: set from config, by rules and at run time, each
//! with an expiry (unix seconds; `None` indefinite) and who set it and why. Bounded; pure (the
//! caller passes the time), persisted by the caller as a list of [`ActionRecord`]s.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::shield::action::{Action, ClientKey};

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

/// Why an action could not be set.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ActionError {
    #[error("the action table is full ({0} clients); clear some first")]
    Full(usize),
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

    /// Sets (or replaces) a client's action; returns the one it replaced.
    pub fn set(&mut self, record: ActionRecord) -> Result<Option<ActionRecord>, ActionError> {
        if !self.map.contains_key(&record.client) && self.map.len() >= self.cap {
            return Err(ActionError::Full(self.cap));
        }
        Ok(self.map.insert(record.client.clone(), record))
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
    use crate::shield::action::Mac;

    fn record(n: u8, action: Action, until: Option<u64>) -> ActionRecord {
        ActionRecord {
            client: ClientKey::Mac(Mac([2, 0, 0, 0, 0, n])),
            action,
            since: 100,
            until,
            by: "test".into(),
            reason: String::new(),
        }
    }

    #[test]
    fn set_get_expire_and_cap() {
        let mut a = Actions::new(2);
        assert_eq!(a.set(record(1, Action::Block, Some(200))), Ok(None));
        assert!(a.set(record(2, Action::Deny, None)).is_ok());
        assert_eq!(
            a.set(record(3, Action::Allow, None)),
            Err(ActionError::Full(2))
        );
        // Replacing an existing client's action is always possible.
        assert!(a
            .set(record(2, Action::Monitor, Some(500)))
            .unwrap()
            .is_some());
        let one = record(1, Action::Block, None).client;
        assert!(a.get(&one, 199).is_some());
        assert!(a.get(&one, 200).is_none());
        assert_eq!(a.expire(300).len(), 1);
        assert_eq!(a.len(), 1);
        assert_eq!(a.list()[0].action, Action::Monitor);
    }
}

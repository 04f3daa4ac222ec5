//! TR-181 style tables inside a client's settings (SentOption, ReqOption): rows with an instance
//! number that is never reused, an `Alias` and an `Enable`, as AddObject/DeleteObject need.
//! Rows from the configuration file are numbered 1, 2, … in file order and enabled.

use serde::{Deserialize, Serialize};

/// One row: its instance number, `Alias`, `Enable` and what it holds.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Row<T> {
    /// TR-181 instance number of the row, stable across restarts.
    pub instance: u32,
    /// TR-181 `Alias` of the row (`cpe-<n>` unless written).
    pub alias: String,
    /// TR-181 `Enable` of the row: a disabled row is kept but not used.
    pub enable: bool,
    /// The row's own values (an option to send or request).
    pub item: T,
}

/// Rows in instance order, and the number the next added row gets.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(
    try_from = "WireTable<T>",
    into = "WireTable<T>",
    bound(
        serialize = "T: Serialize + Clone",
        deserialize = "T: Deserialize<'de>"
    )
)]
pub struct Table<T> {
    rows: Vec<Row<T>>,
    next_instance: u32,
}

/// A table as stored: checked on the way in.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct WireTable<T> {
    rows: Vec<Row<T>>,
    next_instance: u32,
}

impl<T> TryFrom<WireTable<T>> for Table<T> {
    type Error = String;

    fn try_from(wire: WireTable<T>) -> Result<Self, String> {
        let mut last = 0;
        for row in &wire.rows {
            if row.instance <= last || row.instance >= wire.next_instance {
                return Err(format!(
                    "row instance {} is out of order or not below next_instance {}",
                    row.instance, wire.next_instance
                ));
            }
            last = row.instance;
        }
        Ok(Self {
            rows: wire.rows,
            next_instance: wire.next_instance,
        })
    }
}

impl<T: Clone> From<Table<T>> for WireTable<T> {
    fn from(table: Table<T>) -> Self {
        Self {
            rows: table.rows,
            next_instance: table.next_instance,
        }
    }
}

impl<T> Default for Table<T> {
    fn default() -> Self {
        Self {
            rows: Vec::new(),
            next_instance: 1,
        }
    }
}

/// The alias TR-069 gives a row nobody named: `cpe-<instance>`.
pub fn default_alias(instance: u32) -> String {
    format!("cpe-{instance}")
}

impl<T> Table<T> {
    /// Enabled rows numbered 1, 2, … in the order given.
    pub fn from_items(items: impl IntoIterator<Item = T>) -> Self {
        let mut table = Self::default();
        for item in items {
            let instance = table.add(item);
            if let Some(row) = table.row_mut(instance) {
                row.enable = true;
            }
        }
        table
    }

    /// The rows, in instance-number order.
    pub fn rows(&self) -> &[Row<T>] {
        &self.rows
    }

    /// How many rows there are.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// Whether there are no rows.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// What the enabled rows hold, in instance order.
    pub fn enabled(&self) -> impl Iterator<Item = &T> {
        self.rows.iter().filter(|r| r.enable).map(|r| &r.item)
    }

    /// The row with instance number `instance`.
    pub fn row(&self, instance: u32) -> Option<&Row<T>> {
        self.rows.iter().find(|r| r.instance == instance)
    }

    /// The row with instance number `instance`, to change.
    pub fn row_mut(&mut self, instance: u32) -> Option<&mut Row<T>> {
        self.rows.iter_mut().find(|r| r.instance == instance)
    }

    /// Appends a disabled row under a number never used before; returns that number.
    pub fn add(&mut self, item: T) -> u32 {
        let instance = self.next_instance;
        self.next_instance = self.next_instance.saturating_add(1);
        self.rows.push(Row {
            instance,
            alias: default_alias(instance),
            enable: false,
            item,
        });
        instance
    }

    /// Removes a row; false when there is none with that number.
    pub fn remove(&mut self, instance: u32) -> bool {
        let before = self.rows.len();
        self.rows.retain(|r| r.instance != instance);
        self.rows.len() != before
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_not_reused_after_a_delete() {
        let mut table = Table::from_items(["a", "b"]);
        assert!(table.remove(2));
        assert_eq!(table.add("c"), 3);
        assert_eq!(
            table.rows().iter().map(|r| r.instance).collect::<Vec<_>>(),
            [1, 3]
        );
        assert!(!table.remove(2));
    }

    #[test]
    fn configured_rows_are_enabled_and_added_rows_are_not() {
        let mut table = Table::from_items([7]);
        table.add(8);
        assert_eq!(table.enabled().collect::<Vec<_>>(), [&7]);
        assert_eq!(table.row(2).map(|r| r.alias.as_str()), Some("cpe-2"));
    }

    #[test]
    fn a_stored_table_round_trips_and_a_broken_one_is_refused() {
        let table = Table::from_items([1u8, 2]);
        let text = serde_json::to_string(&table).expect("serialize");
        let back: Table<u8> = serde_json::from_str(&text).expect("parse");
        assert_eq!(back, table);
        let reused =
            r#"{"rows":[{"instance":3,"alias":"a","enable":true,"item":1}],"next_instance":3}"#;
        assert!(serde_json::from_str::<Table<u8>>(reused).is_err());
        let unordered = r#"{"rows":[{"instance":2,"alias":"a","enable":true,"item":1},{"instance":1,"alias":"b","enable":true,"item":1}],"next_instance":3}"#;
        assert!(serde_json::from_str::<Table<u8>>(unordered).is_err());
    }
}

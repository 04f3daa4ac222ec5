//! What lease checks leave out of a lease: one entry per field and reason, with a count and
//! the first value, so that a flood of bad values makes one log field, not one line each.

use dhcpmgr_ipc::plugin::clip;

/// Values of one field left out of a lease for one reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Dropped {
    pub field: &'static str,
    pub why: String,
    /// How many values, and the first of them (clipped).
    pub count: usize,
    pub example: String,
}

impl std::fmt::Display for Dropped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}: {} value(s) {} (first: {})",
            self.field, self.count, self.why, self.example
        )
    }
}

/// Collects dropped values, one entry per field and reason.
#[derive(Default)]
pub(crate) struct Notes(Vec<Dropped>);

impl Notes {
    pub(crate) fn drop(
        &mut self,
        field: &'static str,
        why: impl Into<String>,
        value: impl ToString,
    ) {
        let why = why.into();
        match self.0.iter_mut().find(|d| d.field == field && d.why == why) {
            Some(d) => d.count += 1,
            None => self.0.push(Dropped {
                field,
                why,
                count: 1,
                example: clip(&value.to_string()),
            }),
        }
    }

    pub(crate) fn into_vec(self) -> Vec<Dropped> {
        self.0
    }
}

//! Persistence of daemon state in `state_dir`: one JSON file per record, written atomically
//! (temp file, fsync, rename, fsync of the directory) and read back at start. A truncated or
//! corrupt file is reported, set aside under a `.corrupt` name and treated as absent.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use dhcpmgr_ipc::write_atomically;

use serde::de::DeserializeOwned;
use serde::Serialize;

/// Why state could not be saved or loaded.
#[derive(Debug, thiserror::Error)]
pub enum PersistError {
    /// The record could not be written (or removed).
    #[error("cannot write {path}: {source}")]
    Write {
        /// The record's file.
        path: PathBuf,
        /// What the file system said.
        source: io::Error,
    },
    /// The record exists but could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The record's file.
        path: PathBuf,
        /// What the file system said.
        source: io::Error,
    },
    /// The value could not be encoded as JSON.
    #[error("cannot encode state for {path}: {message}")]
    Encode {
        /// The record's file.
        path: PathBuf,
        /// What the encoder said.
        message: String,
    },
}

/// A directory of JSON records.
#[derive(Debug, Clone)]
pub struct StateStore {
    dir: PathBuf,
}

impl StateStore {
    /// A store over `dir` (created on the first save).
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    /// The directory the records live in.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.join(format!("{name}.json"))
    }

    /// Writes `value` as record `name`, replacing the previous one atomically.
    pub fn save<T: Serialize>(&self, name: &str, value: &T) -> Result<(), PersistError> {
        let path = self.path(name);
        let body = serde_json::to_vec_pretty(value).map_err(|e| PersistError::Encode {
            path: path.clone(),
            message: e.to_string(),
        })?;
        write_atomically(&path, &body).map_err(|source| PersistError::Write { path, source })
    }

    /// Reads record `name`. `Ok(None)` when it does not exist or was corrupt (then it is moved
    /// aside and a warning logged).
    pub fn load<T: DeserializeOwned>(&self, name: &str) -> Result<Option<T>, PersistError> {
        let path = self.path(name);
        let body = match fs::read(&path) {
            Ok(body) => body,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(source) => return Err(PersistError::Read { path, source }),
        };
        match serde_json::from_slice(&body) {
            Ok(value) => Ok(Some(value)),
            Err(e) => {
                let aside = path.with_extension("json.corrupt");
                let moved = fs::rename(&path, &aside);
                tracing::warn!(
                    path = %path.display(),
                    error = %e,
                    set_aside = %aside.display(),
                    moved = moved.is_ok(),
                    "state file is corrupt; starting without it"
                );
                Ok(None)
            }
        }
    }

    /// Reads record `name`, or the default when it is absent, corrupt or unreadable (the last
    /// logged as a warning naming `owner`): losing a state file must never stop the daemon.
    pub fn load_or_default<T: DeserializeOwned + Default>(&self, name: &str, owner: &str) -> T {
        match self.load(name) {
            Ok(value) => value.unwrap_or_default(),
            Err(e) => {
                tracing::warn!(owner, error = %e, "cannot read state; starting without it");
                T::default()
            }
        }
    }

    /// Deletes record `name`; a missing record is not an error.
    pub fn remove(&self, name: &str) -> Result<(), PersistError> {
        let path = self.path(name);
        match fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(source) => Err(PersistError::Write { path, source }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
    struct Record {
        n: u32,
        s: String,
    }

    #[test]
    fn saves_loads_and_removes() {
        let dir = tempfile::tempdir().unwrap();
        let store = StateStore::new(dir.path().join("state"));
        assert_eq!(store.load::<Record>("r").unwrap(), None);
        let rec = Record {
            n: 7,
            s: "x".into(),
        };
        store.save("r", &rec).unwrap();
        assert_eq!(store.load::<Record>("r").unwrap(), Some(rec));
        store.remove("r").unwrap();
        store.remove("r").unwrap();
        assert_eq!(store.load::<Record>("r").unwrap(), None);
    }

    #[test]
    fn truncated_file_is_set_aside_not_fatal() {
        let dir = tempfile::tempdir().unwrap();
        let store = StateStore::new(dir.path());
        store
            .save(
                "r",
                &Record {
                    n: 1,
                    s: "abc".into(),
                },
            )
            .unwrap();
        let path = dir.path().join("r.json");
        let full = fs::read(&path).unwrap();
        fs::write(&path, &full[..full.len() / 2]).unwrap();
        assert_eq!(store.load::<Record>("r").unwrap(), None);
        assert!(!path.exists());
        assert!(dir.path().join("r.json.corrupt").exists());
        store
            .save(
                "r",
                &Record {
                    n: 2,
                    s: "y".into(),
                },
            )
            .unwrap();
        assert_eq!(store.load::<Record>("r").unwrap().map(|r| r.n), Some(2));
    }
}

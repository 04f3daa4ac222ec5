//! The access token of the shield's stream page (`dhcpmgr-shield-web`): 32 random bytes (from
//! the kernel's random source) as 64 hex digits, in a file of its own readable by root only
//! (0600). Both the page's server and `dhcpmgrctl shield rotate-token` use it. [`ensure`] creates it when missing (at
//! install and at start), [`rotate`] replaces it atomically; the server reads the file for
//! every new connection, so a rotation takes effect at once for new sessions. [`matches`]
//! compares in constant time.

use std::fs::{self, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

/// The token's length in hex digits.
pub const TOKEN_LEN: usize = 64;

/// Where the stream page's token lives by default (the web program's `token_file`).
pub const DEFAULT_TOKEN_FILE: &str = "/var/lib/dhcpmgr/shield-web.token";

/// A fresh token.
pub fn generate() -> io::Result<String> {
    let mut bytes = [0u8; TOKEN_LEN / 2];
    fs::File::open("/dev/urandom")?.read_exact(&mut bytes)?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// Writes `token` to `path` (mode 0600) through a temporary file and a rename.
fn write(path: &Path, token: &str) -> io::Result<()> {
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir)?;
    }
    let tmp = path.with_extension("tmp");
    let _ = fs::remove_file(&tmp);
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&tmp)?;
    file.write_all(token.as_bytes())?;
    file.write_all(b"\n")?;
    file.sync_all()?;
    fs::rename(&tmp, path)
}

/// Creates the token file unless it exists; true when it was created.
pub fn ensure(path: &Path) -> io::Result<bool> {
    match read(path) {
        Ok(_) => Ok(false),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            write(path, &generate()?)?;
            Ok(true)
        }
        Err(e) => Err(e),
    }
}

/// Replaces the token; returns the new one.
pub fn rotate(path: &Path) -> io::Result<String> {
    let token = generate()?;
    write(path, &token)?;
    Ok(token)
}

/// The token in `path`; a file that does not hold one is an error.
pub fn read(path: &Path) -> io::Result<String> {
    let text = fs::read_to_string(path)?;
    let token = text.trim();
    if token.len() != TOKEN_LEN || !token.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("{} does not hold a token", path.display()),
        ));
    }
    Ok(token.to_string())
}

/// Whether `given` is `expected`, in time independent of where they differ.
pub fn matches(expected: &str, given: &str) -> bool {
    let (a, b) = (expected.as_bytes(), given.as_bytes());
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn ensure_rotate_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state/shield-web.token");
        assert!(ensure(&path).unwrap());
        let first = read(&path).unwrap();
        assert_eq!(first.len(), TOKEN_LEN);
        assert_eq!(
            fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        assert!(!ensure(&path).unwrap(), "an existing token is kept");
        assert_eq!(read(&path).unwrap(), first);
        let second = rotate(&path).unwrap();
        assert_ne!(first, second);
        assert_eq!(read(&path).unwrap(), second);
        assert_eq!(
            fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        fs::write(&path, "short\n").unwrap();
        assert!(read(&path).is_err());
        assert!(
            ensure(&path).is_err(),
            "a damaged file is reported, not replaced"
        );
    }

    #[test]
    fn comparison() {
        assert!(matches("abc", "abc"));
        assert!(!matches("abc", "abd"));
        assert!(!matches("abc", "ab"));
        assert!(!matches("abc", ""));
    }
}

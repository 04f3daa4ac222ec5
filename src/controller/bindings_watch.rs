//! Watches dibbler-client work directories (inotify) for a rewritten `client-AddrMgr.xml`, so
//! that a lease dibbler took without running its script (rapid commit) reaches the daemon at
//! once instead of at T1.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::os::fd::{AsFd, AsRawFd, RawFd};
use std::path::Path;

use nix::sys::inotify::{AddWatchFlags, InitFlags, Inotify, WatchDescriptor};
use tokio::io::unix::AsyncFd;

use super::addr_mgr;
use crate::model::ClientKey;

/// The inotify instance as tokio polls it.
struct InotifyFd(Inotify);

impl AsRawFd for InotifyFd {
    fn as_raw_fd(&self) -> RawFd {
        self.0.as_fd().as_raw_fd()
    }
}

/// One inotify instance for every watched work directory.
pub(super) struct BindingsWatch {
    inotify: AsyncFd<InotifyFd>,
    clients: RefCell<BTreeMap<WatchDescriptor, ClientKey>>,
}

impl BindingsWatch {
    /// Registering the inotify descriptor with the reactor is tokio's one `unsafe` entry point
    /// here (see SAFETY below).
    #[allow(unsafe_code)]
    pub(super) fn new() -> std::io::Result<Self> {
        let inotify = Inotify::init(InitFlags::IN_NONBLOCK | InitFlags::IN_CLOEXEC)?;
        // SAFETY: `InotifyFd` owns the descriptor (through `Inotify`'s `OwnedFd`) for as long as
        // the `AsyncFd` holds it and always gives back that same descriptor.
        let inotify =
            unsafe { AsyncFd::register(InotifyFd(inotify)) }.map_err(std::io::Error::from)?;
        Ok(Self {
            inotify,
            clients: RefCell::new(BTreeMap::new()),
        })
    }

    /// Reports `key` whenever `client-AddrMgr.xml` in `dir` is written or replaced.
    pub(super) fn watch(&self, dir: &Path, key: ClientKey) -> nix::Result<()> {
        let wd = self.inotify.get_ref().0.add_watch(
            dir,
            AddWatchFlags::IN_CLOSE_WRITE | AddWatchFlags::IN_MOVED_TO,
        )?;
        self.clients.borrow_mut().insert(wd, key);
        Ok(())
    }

    /// The clients whose bindings file changed, once any did.
    pub(super) async fn changed(&self) -> Vec<ClientKey> {
        loop {
            let mut guard = match self.inotify.readable().await {
                Ok(guard) => guard,
                Err(e) => {
                    tracing::error!(error = %e, "cannot watch dibbler's bindings files any more");
                    std::future::pending::<()>().await;
                    continue;
                }
            };
            match guard.get_inner().0.read_events() {
                Ok(events) => {
                    let clients = self.clients.borrow();
                    let mut keys: Vec<ClientKey> = events
                        .iter()
                        .filter(|e| e.name.as_deref().is_some_and(|n| n == addr_mgr::FILE_NAME))
                        .filter_map(|e| clients.get(&e.wd).copied())
                        .collect();
                    keys.dedup();
                    if !keys.is_empty() {
                        return keys;
                    }
                }
                Err(nix::errno::Errno::EAGAIN) => guard.clear_ready(),
                Err(e) => {
                    tracing::warn!(error = %e, "cannot read inotify events");
                    guard.clear_ready();
                }
            }
        }
    }
}

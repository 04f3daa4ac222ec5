//! The TR-181 thread alone on a private `dbus-daemon`, with the controller's ends of its
//! channels, for the D-Bus tests (`tr181_dbus.rs`, `tr181_objects.rs`): they feed it client
//! updates and answer the commands it sends, as the controller would.

use std::os::unix::fs::PermissionsExt;
use std::thread::JoinHandle;
use std::time::Duration;

use dhcpmgr::channels::{
    ClientAction, CommandError, CommandReceiver, ControllerCommand, ControllerUpdate, UpdateSender,
};
use dhcpmgr::config::BusChoice;
use dhcpmgr::model::ClientKey;
use dhcpmgr::tr181_thread::{self, Tr181Settings};
use dhcpmgr_lab::DbusDaemon;
use tokio::sync::mpsc;
use tokio::time::timeout;
use tokio_util::sync::CancellationToken;

/// How long a test waits for a command or a reply.
pub const WAIT: Duration = Duration::from_secs(10);

/// The TR-181 thread on its bus; stopped when dropped.
pub struct Tr181Thread {
    pub updates: UpdateSender,
    pub commands: CommandReceiver,
    pub address: String,
    shutdown: CancellationToken,
    thread: Option<JoinHandle<()>>,
    // Dropped last, in this order: the thread stops before the bus goes away.
    _bus: DbusDaemon,
    _dir: tempfile::TempDir,
}

/// A directory for a bus socket that other users can reach (for the uid tests).
pub fn bus_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temporary directory");
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).expect("chmod");
    dir
}

/// The address of the bus socket in `dir`.
pub fn bus_address(dir: &std::path::Path) -> String {
    format!("unix:path={}/bus.sock", dir.display())
}

impl Tr181Thread {
    /// Starts a bus and the thread on it, writes allowed to root and `write_uids`; `None` when
    /// dbus-daemon is missing and DHCPMGR_SKIP_LAB=1.
    pub fn start(write_uids: Vec<u32>) -> Option<Self> {
        let dir = bus_dir();
        let bus = DbusDaemon::start_or_skip(dir.path())?;
        let address = bus_address(dir.path());
        let (updates, updates_rx) = mpsc::unbounded_channel();
        let (commands_tx, commands) = mpsc::channel(4);
        let shutdown = CancellationToken::new();
        let settings = Tr181Settings {
            bus: BusChoice::Address(address.clone()),
            write_uids,
            table_limit: dhcpmgr::config::DEFAULT_TABLE_LIMIT,
            rbus: Default::default(),
        };
        let thread = tr181_thread::spawn(settings, updates_rx, commands_tx, shutdown.clone())
            .expect("TR-181 thread starts");
        Some(Self {
            updates,
            commands,
            address,
            shutdown,
            thread: Some(thread),
            _bus: bus,
            _dir: dir,
        })
    }

    pub fn update(&self, update: ControllerUpdate) {
        self.updates.send(update).expect("TR-181 thread listens");
    }

    /// The next command for the controller, to be answered by the caller.
    pub async fn next_command(&mut self) -> ControllerCommand {
        timeout(WAIT, self.commands.recv())
            .await
            .expect("a command in time")
            .expect("command channel open")
    }

    /// The next command for the controller, answered with `outcome`.
    pub async fn answer(&mut self, outcome: Result<(), CommandError>) -> (ClientKey, ClientAction) {
        let command = self.next_command().await;
        let ControllerCommand::Client {
            client,
            action,
            reply,
        } = command
        else {
            panic!("expected a client command, got {command:?}");
        };
        reply.send(outcome).expect("caller waits");
        (client, action)
    }

    /// Stops the thread and waits for it; panics unless it ends cleanly.
    pub fn stop(&mut self) {
        self.shutdown.cancel();
        if let Some(thread) = self.thread.take() {
            thread.join().expect("TR-181 thread ends cleanly");
        }
    }
}

impl Drop for Tr181Thread {
    fn drop(&mut self) {
        self.shutdown.cancel();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

//! The daemon's log output: tracing events as single lines, through a level filter that a
//! SIGHUP can change at run time.
//!
//! A line goes to one of three places:
//! - **journal** — stderr is the stream `$JOURNAL_STREAM` names (started by systemd): no
//!   timestamp (journald stamps each line) and a `<N>` syslog priority prefix, which journald
//!   turns into the entry's priority (`SyslogLevelPrefix=`, on by default) and strips;
//! - **syslog** — `--syslog` (SysV init scripts): one RFC 3164 datagram per event to
//!   `/dev/log`, facility `daemon`, tag `dhcpmgr[PID]`, no timestamp (syslogd adds it); when no
//!   syslog daemon listens the line goes to stderr instead;
//! - **stderr** — started by hand: a UTC timestamp first.
//!
//! Then always `LEVEL target: message key=value…`, no ANSI colours. The filter is `$RUST_LOG`
//! when it is set and valid (it then also wins over the configuration on reload), else
//! `daemon.log_level`; both use the `level` / `target=level,…` syntax.

use std::fmt;
use std::io::{self, Write as _};
use std::os::unix::net::UnixDatagram;
use std::path::PathBuf;
use std::str::FromStr as _;

use tracing::{Event, Level, Subscriber};
use tracing_subscriber::filter::Targets;
use tracing_subscriber::fmt::format::{FormatEvent, FormatFields, Writer};
use tracing_subscriber::fmt::time::{FormatTime as _, SystemTime};
use tracing_subscriber::fmt::{FmtContext, MakeWriter};
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::registry::{LookupSpan, Registry};
use tracing_subscriber::reload;
use tracing_subscriber::util::SubscriberInitExt as _;

/// Where log lines go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Sink {
    Stderr,
    Journal,
    Syslog,
}

/// The syslog socket.
const DEV_LOG: &str = "/dev/log";
/// syslog facility `daemon` (3), shifted as in a priority value.
const FACILITY_DAEMON: u8 = 3 << 3;

/// Parses a filter such as `info` or `warn,dhcpmgr=debug`.
pub(super) fn parse_filter(text: &str) -> Result<Targets, String> {
    Targets::from_str(text.trim()).map_err(|e| format!("invalid log filter {text:?}: {e}"))
}

/// syslog severity of a level (RFC 5424 §6.2.1).
fn severity(level: &Level) -> u8 {
    match *level {
        Level::ERROR => 3,
        Level::WARN => 4,
        Level::INFO => 6,
        Level::DEBUG | Level::TRACE => 7,
    }
}

/// Changes the running filter.
pub(super) struct LogControl {
    handle: reload::Handle<Targets, Registry>,
    /// `$RUST_LOG` set the filter: the configuration does not change it.
    from_env: bool,
}

impl LogControl {
    /// Applies `daemon.log_level` from a reloaded configuration.
    pub(super) fn apply(&self, level: &str) {
        if self.from_env {
            tracing::info!("RUST_LOG is set; daemon.log_level not applied");
            return;
        }
        match parse_filter(level) {
            Ok(filter) => match self.handle.reload(filter) {
                Ok(()) => tracing::info!(log_level = level, "log level applied"),
                Err(e) => tracing::warn!(error = %e, "cannot change the log level"),
            },
            Err(e) => tracing::warn!(error = %e, "keeping the current log level"),
        }
    }
}

/// Installs the global subscriber: `level` (unless `$RUST_LOG` is set) filtering, lines to
/// `sink`.
pub(super) fn init(level: &str, sink: Sink) -> LogControl {
    let env = std::env::var("RUST_LOG")
        .ok()
        .filter(|v| !v.trim().is_empty());
    let (filter, from_env, env_error) = match env.as_deref().map(parse_filter) {
        Some(Ok(filter)) => (filter, true, None),
        other => (
            parse_filter(level).unwrap_or_else(|_| Targets::new().with_default(Level::INFO)),
            false,
            other.and_then(Result::err),
        ),
    };
    let (filter, handle) = reload::Layer::new(filter);
    let format = LineFormat {
        style: sink,
        pid: std::process::id(),
    };
    let layer = tracing_subscriber::fmt::layer().event_format(format);
    let registry = tracing_subscriber::registry().with(filter);
    match sink {
        Sink::Stderr | Sink::Journal => registry.with(layer.with_writer(io::stderr)).init(),
        Sink::Syslog => registry
            .with(layer.with_writer(SyslogWriter::new(DEV_LOG.into())))
            .init(),
    }
    if let Some(e) = env_error {
        tracing::warn!(error = %e, "RUST_LOG ignored");
    }
    LogControl { handle, from_env }
}

/// One event as one line, with the prefix its sink wants.
struct LineFormat {
    style: Sink,
    pid: u32,
}

impl<S, N> FormatEvent<S, N> for LineFormat
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let meta = event.metadata();
        let severity = severity(meta.level());
        match self.style {
            Sink::Stderr => {
                SystemTime.format_time(&mut writer)?;
                writer.write_char(' ')?;
            }
            Sink::Journal => write!(writer, "<{severity}>")?,
            Sink::Syslog => write!(
                writer,
                "<{}>dhcpmgr[{}]: ",
                FACILITY_DAEMON | severity,
                self.pid
            )?,
        }
        write!(writer, "{} {}: ", meta.level(), meta.target())?;
        ctx.format_fields(writer.by_ref(), event)?;
        writeln!(writer)
    }
}

/// Sends each event to the syslog socket as one datagram.
struct SyslogWriter {
    socket: Option<UnixDatagram>,
    path: PathBuf,
}

impl SyslogWriter {
    fn new(path: PathBuf) -> SyslogWriter {
        SyslogWriter {
            socket: UnixDatagram::unbound().ok(),
            path,
        }
    }
}

impl<'a> MakeWriter<'a> for SyslogWriter {
    type Writer = SyslogLine<'a>;

    fn make_writer(&'a self) -> SyslogLine<'a> {
        SyslogLine {
            sink: self,
            line: Vec::new(),
        }
    }
}

/// One formatted event, sent when dropped.
struct SyslogLine<'a> {
    sink: &'a SyslogWriter,
    line: Vec<u8>,
}

impl io::Write for SyslogLine<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.line.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Drop for SyslogLine<'_> {
    fn drop(&mut self) {
        if self.line.is_empty() {
            return;
        }
        let datagram = self.line.strip_suffix(b"\n").unwrap_or(&self.line);
        let sent = self
            .sink
            .socket
            .as_ref()
            .is_some_and(|s| s.send_to(datagram, &self.sink.path).is_ok());
        if !sent {
            let _ = io::stderr().write_all(&self.line);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};
    use std::time::Duration;
    use tracing::subscriber::with_default;

    /// Collects what a subscriber writes.
    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl io::Write for Captured {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    fn lines(style: Sink, emit: impl FnOnce()) -> String {
        let out = Captured::default();
        let sink = out.clone();
        let subscriber = tracing_subscriber::registry().with(
            tracing_subscriber::fmt::layer()
                .event_format(LineFormat { style, pid: 42 })
                .with_writer(move || sink.clone()),
        );
        with_default(subscriber, emit);
        let bytes = out.0.lock().unwrap().clone();
        String::from_utf8(bytes).unwrap()
    }

    #[test]
    fn journal_lines_carry_the_priority_and_no_timestamp() {
        let out = lines(Sink::Journal, || {
            tracing::info!(target: "dhcpmgr::daemon", version = "0.1.0", "dhcpmgr ready");
            tracing::error!(target: "dhcpmgr::controller", "failed");
            tracing::debug!(target: "dhcpmgr::x", "detail");
        });
        assert_eq!(
            out,
            "<6>INFO dhcpmgr::daemon: dhcpmgr ready version=\"0.1.0\"\n\
             <3>ERROR dhcpmgr::controller: failed\n\
             <7>DEBUG dhcpmgr::x: detail\n"
        );
    }

    #[test]
    fn syslog_lines_carry_facility_tag_and_pid() {
        let out = lines(Sink::Syslog, || {
            tracing::warn!(target: "dhcpmgr::daemon", "careful");
        });
        assert_eq!(out, "<28>dhcpmgr[42]: WARN dhcpmgr::daemon: careful\n");
    }

    #[test]
    fn stderr_lines_start_with_a_timestamp_and_have_no_colour() {
        let out = lines(Sink::Stderr, || {
            tracing::info!(target: "dhcpmgr::daemon", "hello");
        });
        let (stamp, rest) = out.split_once(' ').unwrap();
        assert!(stamp.ends_with('Z') && stamp.contains('T'), "{out}");
        assert_eq!(rest, "INFO dhcpmgr::daemon: hello\n");
        assert!(!out.contains('\x1b'));
    }

    #[test]
    fn filters_parse_levels_and_targets() {
        assert!(parse_filter("info").is_ok());
        assert!(parse_filter(" warn,dhcpmgr=debug ").is_ok());
        assert!(parse_filter("dhcpmgr=loud").is_err());
        let filter = parse_filter("warn,dhcpmgr::controller=debug").unwrap();
        assert!(filter.would_enable("dhcpmgr::controller::v4", &Level::DEBUG));
        assert!(!filter.would_enable("dhcpmgr::daemon", &Level::INFO));
        assert!(filter.would_enable("zbus", &Level::WARN));
    }

    #[test]
    fn reloading_the_filter_changes_what_is_logged() {
        let out = Captured::default();
        let sink = out.clone();
        let (filter, handle) = reload::Layer::new(parse_filter("info").unwrap());
        let subscriber = tracing_subscriber::registry().with(filter).with(
            tracing_subscriber::fmt::layer()
                .event_format(LineFormat {
                    style: Sink::Journal,
                    pid: 1,
                })
                .with_writer(move || sink.clone()),
        );
        let control = LogControl {
            handle,
            from_env: false,
        };
        with_default(subscriber, || {
            tracing::debug!(target: "dhcpmgr::t", "hidden");
            control.apply("debug");
            tracing::debug!(target: "dhcpmgr::t", "shown");
            control.apply("not a=level");
            tracing::debug!(target: "dhcpmgr::t", "still shown");
        });
        let text = String::from_utf8(out.0.lock().unwrap().clone()).unwrap();
        assert!(!text.contains("hidden"), "{text}");
        assert!(text.contains("DEBUG dhcpmgr::t: shown"), "{text}");
        assert!(text.contains("keeping the current log level"), "{text}");
        assert!(text.contains("still shown"), "{text}");
    }

    #[test]
    fn syslog_writer_sends_one_datagram_per_event() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log");
        let server = UnixDatagram::bind(&path).unwrap();
        server
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let writer = SyslogWriter::new(path);
        writer
            .make_writer()
            .write_all(b"<30>dhcpmgr[1]: INFO x: one\n")
            .unwrap();
        writer.make_writer().write_all(b"<30>two\n").unwrap();
        let mut buf = [0u8; 256];
        let n = server.recv(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"<30>dhcpmgr[1]: INFO x: one");
        let n = server.recv(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"<30>two");
    }
}

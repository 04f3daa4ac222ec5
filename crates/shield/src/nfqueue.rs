//! The packets the kernel gives us over netfilter netlink, without libnetfilter_queue or
//! libnetfilter_log: held ones from an NFQUEUE (inline mode: each waits for our verdict), or
//! copies from an NFLOG group (observe mode: the kernel has already let the packet go on).
//! [`wire`] encodes the config and verdict messages and decodes packets of both (pure,
//! tested), [`Queue`] owns the socket. The queue is bound with copy-packet mode, a maximum
//! length and `NFQA_CFG_F_FAIL_OPEN`, so when we fall behind the kernel accepts what it cannot
//! queue instead of dropping DHCP; a log group in copy-packet mode simply drops copies it
//! cannot deliver.

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::time::Duration;

use nix::errno::Errno;
use nix::sys::socket::{
    bind, recv, send, setsockopt, socket, sockopt, AddressFamily, MsgFlags, NetlinkAddr, SockFlag,
    SockProtocol, SockType,
};
use nix::sys::time::TimeVal;

use crate::action::Mac;

/// A packet the kernel queued to us.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct QueuedPacket {
    /// The kernel's packet id, which the verdict names (0 for a copy from a log group).
    pub id: u32,
    /// The netfilter hook the packet was queued at (`NF_INET_*`).
    pub hook: u8,
    /// The packet's mark when it was queued.
    pub mark: u32,
    /// The interface index the packet came in on, if the kernel said.
    pub indev: Option<u32>,
    /// The bridge port's interface index the packet came in on, when it was bridged.
    pub physindev: Option<u32>,
    /// The link-layer source address, when the kernel gave a 6-byte one.
    pub source_mac: Option<Mac>,
    /// The IP packet.
    pub payload: Vec<u8>,
}

/// Why the queue failed.
#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    /// The netfilter netlink socket could not be opened or set up.
    #[error("netlink socket: {0}")]
    Socket(Errno),
    /// The kernel refused to bind the queue or log group.
    #[error("binding NFQUEUE {queue}: {errno} (is another program using this queue number?)")]
    Bind {
        /// The queue number or log group.
        queue: u16,
        /// What the kernel answered.
        errno: Errno,
    },
    /// The kernel refused the queue's or log group's settings.
    #[error("configuring NFQUEUE {queue}: {errno}")]
    Config {
        /// The queue number or log group.
        queue: u16,
        /// What the kernel answered.
        errno: Errno,
    },
    /// Sending to or receiving from the socket failed.
    #[error("netlink: {0}")]
    Io(Errno),
}

/// Message encoding and decoding (native-endian netlink headers, big-endian netfilter values).
pub(crate) mod wire {
    use super::{Mac, QueuedPacket};

    pub(crate) const NFNL_SUBSYS_QUEUE: u16 = 3;
    pub(crate) const NFNL_SUBSYS_ULOG: u16 = 4;
    pub(crate) const NFULNL_MSG_PACKET: u16 = 0;
    pub(crate) const NFULNL_MSG_CONFIG: u16 = 1;
    pub(crate) const NFULNL_CFG_CMD_BIND: u8 = 1;
    pub(crate) const NFULNL_CFG_CMD_UNBIND: u8 = 2;
    pub(crate) const NFULNL_COPY_PACKET: u8 = 2;
    /// Copies the kernel gathers before it delivers them (observe mode).
    pub(crate) const LOG_BATCH: u32 = 32;
    pub(crate) const NFQNL_MSG_PACKET: u16 = 0;
    pub(crate) const NFQNL_MSG_VERDICT: u16 = 1;
    pub(crate) const NFQNL_MSG_CONFIG: u16 = 2;
    pub(crate) const NLMSG_ERROR: u16 = 2;
    pub(crate) const NLM_F_REQUEST: u16 = 1;
    pub(crate) const NLM_F_ACK: u16 = 4;
    pub(crate) const NFQNL_CFG_CMD_BIND: u8 = 1;
    pub(crate) const NFQNL_CFG_CMD_UNBIND: u8 = 2;
    pub(crate) const NFQNL_COPY_PACKET: u8 = 2;
    pub(crate) const NFQA_CFG_F_FAIL_OPEN: u32 = 1;
    pub(crate) const NF_DROP: u32 = 0;
    pub(crate) const NF_ACCEPT: u32 = 1;

    fn align(n: usize) -> usize {
        (n + 3) & !3
    }

    /// A netfilter message to the queue subsystem: nlmsghdr + nfgenmsg + attributes.
    pub(crate) struct Builder {
        buf: Vec<u8>,
    }

    impl Builder {
        /// A message to the queue subsystem.
        pub(crate) fn new(msg: u16, flags: u16, seq: u32, queue: u16) -> Builder {
            Builder::for_subsys(NFNL_SUBSYS_QUEUE, msg, flags, seq, queue)
        }

        /// A message to `subsys` (queue or log), `res_id` its queue number or log group.
        pub(crate) fn for_subsys(
            subsys: u16,
            msg: u16,
            flags: u16,
            seq: u32,
            res_id: u16,
        ) -> Builder {
            let queue = res_id;
            let mut buf = Vec::with_capacity(64);
            buf.extend_from_slice(&0u32.to_ne_bytes());
            buf.extend_from_slice(&((subsys << 8) | msg).to_ne_bytes());
            buf.extend_from_slice(&flags.to_ne_bytes());
            buf.extend_from_slice(&seq.to_ne_bytes());
            buf.extend_from_slice(&0u32.to_ne_bytes());
            // nfgenmsg: family AF_UNSPEC, version NFNETLINK_V0, res_id = queue (big-endian).
            buf.extend_from_slice(&[0, 0]);
            buf.extend_from_slice(&queue.to_be_bytes());
            Builder { buf }
        }

        pub(crate) fn attr(mut self, kind: u16, value: &[u8]) -> Builder {
            let len = 4 + value.len();
            self.buf.extend_from_slice(&(len as u16).to_ne_bytes());
            self.buf.extend_from_slice(&kind.to_ne_bytes());
            self.buf.extend_from_slice(value);
            self.buf.resize(align(self.buf.len()), 0);
            self
        }

        pub(crate) fn finish(mut self) -> Vec<u8> {
            let len = (self.buf.len() as u32).to_ne_bytes();
            self.buf[..4].copy_from_slice(&len);
            self.buf
        }
    }

    /// NFQA_CFG_CMD.
    pub(crate) fn cmd(seq: u32, queue: u16, command: u8) -> Vec<u8> {
        Builder::new(NFQNL_MSG_CONFIG, NLM_F_REQUEST | NLM_F_ACK, seq, queue)
            .attr(1, &[command, 0, 0, 0])
            .finish()
    }

    /// NFQA_CFG_PARAMS (copy the whole packet), NFQA_CFG_QUEUE_MAXLEN and the fail-open flag.
    pub(crate) fn params(seq: u32, queue: u16, maxlen: u32) -> Vec<u8> {
        let mut params = 0xffffu32.to_be_bytes().to_vec();
        params.push(NFQNL_COPY_PACKET);
        Builder::new(NFQNL_MSG_CONFIG, NLM_F_REQUEST | NLM_F_ACK, seq, queue)
            .attr(2, &params)
            .attr(3, &maxlen.to_be_bytes())
            .attr(4, &NFQA_CFG_F_FAIL_OPEN.to_be_bytes())
            .attr(5, &NFQA_CFG_F_FAIL_OPEN.to_be_bytes())
            .finish()
    }

    fn log_config(seq: u32, group: u16) -> Builder {
        Builder::for_subsys(
            NFNL_SUBSYS_ULOG,
            NFULNL_MSG_CONFIG,
            NLM_F_REQUEST | NLM_F_ACK,
            seq,
            group,
        )
    }

    /// NFULA_CFG_CMD for log group `group`.
    pub(crate) fn log_cmd(seq: u32, group: u16, command: u8) -> Vec<u8> {
        log_config(seq, group).attr(1, &[command]).finish()
    }

    /// NFULA_CFG_MODE: copy whole packets; copies are delivered in batches of up to
    /// [`LOG_BATCH`] or after 10 ms (NFULA_CFG_QTHRESH, NFULA_CFG_TIMEOUT in 1/100 s; the
    /// kernel's default waits up to a second), into a 64 KiB netlink buffer
    /// (NFULA_CFG_NLBUFSIZ). Batching keeps the daemon's wake-ups off the packets' path.
    pub(crate) fn log_mode(seq: u32, group: u16) -> Vec<u8> {
        let mut mode = 0xffffu32.to_be_bytes().to_vec();
        mode.extend_from_slice(&[NFULNL_COPY_PACKET, 0]);
        log_config(seq, group)
            .attr(2, &mode)
            .attr(3, &(64u32 << 10).to_be_bytes())
            .attr(4, &1u32.to_be_bytes())
            .attr(5, &LOG_BATCH.to_be_bytes())
            .finish()
    }

    /// A verdict for packet `id`, with a mark unless `mark` is `None`.
    pub(crate) fn verdict(queue: u16, id: u32, verdict: u32, mark: Option<u32>) -> Vec<u8> {
        let mut hdr = verdict.to_be_bytes().to_vec();
        hdr.extend_from_slice(&id.to_be_bytes());
        let b = Builder::new(NFQNL_MSG_VERDICT, NLM_F_REQUEST, 0, queue).attr(2, &hdr);
        match mark {
            Some(mark) => b.attr(3, &mark.to_be_bytes()).finish(),
            None => b.finish(),
        }
    }

    /// One message of a received buffer.
    #[derive(Debug, PartialEq, Eq)]
    pub(crate) enum Message {
        Packet(QueuedPacket),
        /// An ack (0) or error (negative errno) for request `seq`.
        Ack {
            seq: u32,
            error: i32,
        },
        Other,
    }

    fn u16_at(b: &[u8], at: usize) -> Option<u16> {
        Some(u16::from_ne_bytes(b.get(at..at + 2)?.try_into().ok()?))
    }

    fn u32_at(b: &[u8], at: usize) -> Option<u32> {
        Some(u32::from_ne_bytes(b.get(at..at + 4)?.try_into().ok()?))
    }

    fn be32(b: &[u8]) -> Option<u32> {
        Some(u32::from_be_bytes(b.get(..4)?.try_into().ok()?))
    }

    /// Splits a received buffer into messages; stops at anything malformed.
    pub(crate) fn parse(buf: &[u8]) -> Vec<Message> {
        let mut out = Vec::new();
        let mut at = 0;
        while let (Some(len), Some(kind)) = (u32_at(buf, at), u16_at(buf, at + 4)) {
            let len = len as usize;
            let Some(msg) = buf.get(at..at + len).filter(|_| len >= 16) else {
                break;
            };
            let seq = u32_at(msg, 8).unwrap_or(0);
            out.push(match kind {
                NLMSG_ERROR => Message::Ack {
                    seq,
                    error: u32_at(msg, 16).map_or(-1, |e| e as i32),
                },
                k if k == (NFNL_SUBSYS_QUEUE << 8) | NFQNL_MSG_PACKET => {
                    packet(&QUEUED, msg.get(20..).unwrap_or_default())
                        .map_or(Message::Other, Message::Packet)
                }
                k if k == (NFNL_SUBSYS_ULOG << 8) | NFULNL_MSG_PACKET => {
                    packet(&LOGGED, msg.get(20..).unwrap_or_default())
                        .map_or(Message::Other, Message::Packet)
                }
                _ => Message::Other,
            });
            at += align(len);
        }
        out
    }

    /// Where a packet message keeps what we read (the two subsystems number them apart).
    struct Layout {
        /// NFQA_PACKET_HDR carries the packet id (queue) or not (log).
        id_in_header: bool,
        mark: u16,
        indev: u16,
        physindev: u16,
        hwaddr: u16,
        payload: u16,
    }

    const QUEUED: Layout = Layout {
        id_in_header: true,
        mark: 3,
        indev: 5,
        physindev: 7,
        hwaddr: 9,
        payload: 10,
    };

    const LOGGED: Layout = Layout {
        id_in_header: false,
        mark: 2,
        indev: 4,
        physindev: 6,
        hwaddr: 8,
        payload: 9,
    };

    fn packet(layout: &Layout, mut attrs: &[u8]) -> Option<QueuedPacket> {
        let mut p = QueuedPacket::default();
        let mut have_header = false;
        while let (Some(len), Some(kind)) = (u16_at(attrs, 0), u16_at(attrs, 2)) {
            let len = usize::from(len);
            let value = attrs.get(4..len.max(4))?;
            match kind & 0x3fff {
                1 if layout.id_in_header => {
                    p.id = be32(value)?;
                    p.hook = *value.get(6)?;
                    have_header = true;
                }
                1 => {
                    p.hook = *value.get(2)?;
                    have_header = true;
                }
                k if k == layout.mark => p.mark = be32(value)?,
                k if k == layout.indev => p.indev = be32(value),
                k if k == layout.physindev => p.physindev = be32(value),
                k if k == layout.hwaddr => {
                    let hlen = u16::from_be_bytes(value.get(..2)?.try_into().ok()?);
                    if hlen == 6 {
                        p.source_mac = Mac::from_slice(value.get(4..)?);
                    }
                }
                k if k == layout.payload => p.payload = value.to_vec(),
                _ => {}
            }
            attrs = attrs.get(align(len).max(4)..).unwrap_or_default();
        }
        have_header.then_some(p)
    }
}

/// A bound NFQUEUE (packets held for our verdict) or NFLOG group (copies).
pub struct Queue {
    fd: OwnedFd,
    queue: u16,
    /// Whether the kernel holds each packet until our verdict (NFQUEUE).
    holds: bool,
    seq: u32,
    buf: Vec<u8>,
}

impl Queue {
    /// Opens a netfilter netlink socket, binds queue `queue` and configures it (copy packets,
    /// `maxlen`, fail-open); each configuration request waits at most `ack_timeout` for the
    /// kernel's answer.
    pub fn open(queue: u16, maxlen: u32, ack_timeout: Duration) -> Result<Queue, QueueError> {
        let mut q = Queue::socket(queue, true, ack_timeout)?;
        q.request(|seq| wire::cmd(seq, queue, wire::NFQNL_CFG_CMD_BIND))
            .map_err(|errno| QueueError::Bind { queue, errno })?;
        q.request(|seq| wire::params(seq, queue, maxlen))
            .map_err(|errno| QueueError::Config { queue, errno })?;
        Ok(q)
    }

    /// Opens a netfilter netlink socket and binds NFLOG group `group` in copy-packet mode.
    pub fn open_log(group: u16, ack_timeout: Duration) -> Result<Queue, QueueError> {
        let mut q = Queue::socket(group, false, ack_timeout)?;
        q.request(|seq| wire::log_cmd(seq, group, wire::NFULNL_CFG_CMD_BIND))
            .map_err(|errno| QueueError::Bind {
                queue: group,
                errno,
            })?;
        q.request(|seq| wire::log_mode(seq, group))
            .map_err(|errno| QueueError::Config {
                queue: group,
                errno,
            })?;
        Ok(q)
    }

    /// Whether packets wait for our verdict (NFQUEUE) or are copies (NFLOG).
    pub fn holds(&self) -> bool {
        self.holds
    }

    fn socket(queue: u16, holds: bool, ack_timeout: Duration) -> Result<Queue, QueueError> {
        let fd = socket(
            AddressFamily::Netlink,
            SockType::Raw,
            SockFlag::SOCK_CLOEXEC,
            SockProtocol::NetlinkNetFilter,
        )
        .map_err(QueueError::Socket)?;
        bind(fd.as_raw_fd(), &NetlinkAddr::new(0, 0)).map_err(QueueError::Socket)?;
        // A large receive buffer absorbs bursts; failure to enlarge it is not fatal.
        if setsockopt(&fd, sockopt::RcvBufForce, &(4 << 20)).is_err() {
            let _ = setsockopt(&fd, sockopt::RcvBuf, &(1 << 20));
        }
        // time_t and suseconds_t are 32-bit on armv7: let the target decide the widths.
        // Bounds the wait for a configuration request's ack; packets are waited for with poll.
        let tv = TimeVal::new(ack_timeout.as_secs() as _, ack_timeout.subsec_micros() as _);
        setsockopt(&fd, sockopt::ReceiveTimeout, &tv).map_err(QueueError::Socket)?;
        Ok(Queue {
            fd,
            queue,
            holds,
            seq: 0,
            buf: vec![0; 128 * 1024],
        })
    }

    /// Sends a config request and waits for its ack (packets arriving meanwhile are accepted
    /// untouched: none should, the rules are installed after the bind).
    fn request(&mut self, build: impl Fn(u32) -> Vec<u8>) -> Result<(), Errno> {
        self.seq += 1;
        let seq = self.seq;
        send(self.fd.as_raw_fd(), &build(seq), MsgFlags::empty())?;
        for _ in 0..64 {
            let n = recv(self.fd.as_raw_fd(), &mut self.buf, MsgFlags::empty())?;
            for msg in wire::parse(&self.buf[..n]) {
                match msg {
                    wire::Message::Ack { seq: s, error } if s == seq => {
                        return match error {
                            0 => Ok(()),
                            e => Err(Errno::from_raw(-e)),
                        };
                    }
                    wire::Message::Packet(p) if self.holds => {
                        let _ = self.verdict(p.id, wire::NF_ACCEPT, None);
                    }
                    _ => {}
                }
            }
        }
        Err(Errno::ETIMEDOUT)
    }

    /// Takes the packets the kernel has queued, without waiting (an empty list when there are
    /// none: wait for the socket with its [`AsFd`] first). `ENOBUFS` (we fell behind; the
    /// kernel failed open) is reported as `Ok` with `overrun`.
    pub fn recv(&mut self) -> Result<Received, QueueError> {
        match recv(self.fd.as_raw_fd(), &mut self.buf, MsgFlags::MSG_DONTWAIT) {
            Ok(n) => Ok(Received {
                packets: wire::parse(&self.buf[..n])
                    .into_iter()
                    .filter_map(|m| match m {
                        wire::Message::Packet(p) => Some(p),
                        _ => None,
                    })
                    .collect(),
                overrun: false,
            }),
            Err(Errno::EAGAIN | Errno::EINTR) => Ok(Received::default()),
            Err(Errno::ENOBUFS) => Ok(Received {
                packets: Vec::new(),
                overrun: true,
            }),
            Err(e) => Err(QueueError::Io(e)),
        }
    }

    /// Gives the kernel our verdict on packet `id` (a copy needs none).
    pub fn verdict(&self, id: u32, verdict: u32, mark: Option<u32>) -> Result<(), QueueError> {
        if !self.holds {
            return Ok(());
        }
        send(
            self.fd.as_raw_fd(),
            &wire::verdict(self.queue, id, verdict, mark),
            MsgFlags::empty(),
        )
        .map(|_| ())
        .map_err(QueueError::Io)
    }
}

impl Drop for Queue {
    fn drop(&mut self) {
        // Unbinding hands queued packets back; closing the socket does the same.
        let unbind = if self.holds {
            wire::cmd(0, self.queue, wire::NFQNL_CFG_CMD_UNBIND)
        } else {
            wire::log_cmd(0, self.queue, wire::NFULNL_CFG_CMD_UNBIND)
        };
        let _ = send(self.fd.as_raw_fd(), &unbind, MsgFlags::empty());
    }
}

impl AsFd for Queue {
    /// The netlink socket, readable when packets are queued.
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

/// What one `recv` brought.
#[derive(Debug, Default)]
pub struct Received {
    /// The packets (held or copies) in this batch, in the order the kernel sent them.
    pub packets: Vec<QueuedPacket>,
    /// The socket overflowed (`ENOBUFS`).
    pub overrun: bool,
}

#[cfg(test)]
mod tests {
    use super::wire::*;
    use super::*;

    #[test]
    fn config_and_verdict_encoding() {
        let m = cmd(7, 67, NFQNL_CFG_CMD_BIND);
        assert_eq!(m.len(), 28);
        assert_eq!(u32::from_ne_bytes(m[..4].try_into().unwrap()), 28);
        assert_eq!(u16::from_ne_bytes(m[4..6].try_into().unwrap()), 0x0302);
        assert_eq!(&m[18..20], &67u16.to_be_bytes());
        assert_eq!(&m[24..28], &[1, 0, 0, 0]);
        let p = params(1, 67, 64);
        // header 20 + params attr 4+5→12 + maxlen 8 + mask 8 + flags 8
        assert_eq!(p.len(), 56);
        let v = verdict(67, 0x01020304, NF_ACCEPT, Some(0x4453_0001));
        assert_eq!(v.len(), 20 + 12 + 8);
        assert_eq!(&v[24..32], &[0, 0, 0, 1, 1, 2, 3, 4]);
        assert_eq!(&v[36..40], &0x4453_0001u32.to_be_bytes());
    }

    fn packet_msg(attrs: &[(u16, Vec<u8>)]) -> Vec<u8> {
        let mut b = Builder::new(NFQNL_MSG_PACKET, 0, 0, 67);
        for (k, v) in attrs {
            b = b.attr(*k, v);
        }
        b.finish()
    }

    #[test]
    fn decodes_packets_and_acks() {
        let mut hw = 6u16.to_be_bytes().to_vec();
        hw.extend_from_slice(&[0, 0, 2, 0, 0, 0, 0, 7, 0, 0]);
        let mut buf = packet_msg(&[
            (1, vec![0, 0, 0, 9, 0x08, 0x00, 0]),
            (5, 3u32.to_be_bytes().to_vec()),
            (9, hw),
            (10, b"ip-packet".to_vec()),
        ]);
        let mut ack = vec![0u8; 36];
        ack[..4].copy_from_slice(&36u32.to_ne_bytes());
        ack[4..6].copy_from_slice(&NLMSG_ERROR.to_ne_bytes());
        ack[8..12].copy_from_slice(&5u32.to_ne_bytes());
        ack[16..20].copy_from_slice(&(-16i32).to_ne_bytes());
        buf.extend_from_slice(&ack);
        let msgs = parse(&buf);
        assert_eq!(
            msgs[0],
            Message::Packet(QueuedPacket {
                id: 9,
                hook: 0,
                mark: 0,
                indev: Some(3),
                physindev: None,
                source_mac: Some(Mac([2, 0, 0, 0, 0, 7])),
                payload: b"ip-packet".to_vec(),
            })
        );
        assert_eq!(msgs[1], Message::Ack { seq: 5, error: -16 });
        for n in 0..buf.len() {
            let _ = parse(&buf[..n]);
        }
    }

    #[test]
    fn decodes_logged_copies() {
        let mut hw = 6u16.to_be_bytes().to_vec();
        hw.extend_from_slice(&[0, 0, 2, 0, 0, 0, 0, 8, 0, 0]);
        let mut b = Builder::for_subsys(NFNL_SUBSYS_ULOG, NFULNL_MSG_PACKET, 0, 0, 67);
        for (k, v) in [
            (1u16, vec![0x08, 0x00, 0, 0]),
            (4, 3u32.to_be_bytes().to_vec()),
            (8, hw),
            (9, b"ip-packet".to_vec()),
        ] {
            b = b.attr(k, &v);
        }
        let buf = b.finish();
        assert_eq!(
            parse(&buf),
            vec![Message::Packet(QueuedPacket {
                id: 0,
                hook: 0,
                mark: 0,
                indev: Some(3),
                physindev: None,
                source_mac: Some(Mac([2, 0, 0, 0, 0, 8])),
                payload: b"ip-packet".to_vec(),
            })]
        );
        let bind = log_cmd(1, 67, NFULNL_CFG_CMD_BIND);
        assert_eq!(u16::from_ne_bytes(bind[4..6].try_into().unwrap()), 0x0401);
        assert_eq!(&bind[18..20], &67u16.to_be_bytes());
        let mode = log_mode(2, 67);
        assert_eq!(&mode[24..30], &[0, 0, 0xff, 0xff, 2, 0]);
        // Buffer size, a 10 ms flush and the batch size follow, as big-endian u32 attributes.
        assert_eq!(mode.len(), 20 + 12 + 3 * 8);
        assert_eq!(&mode[48..56], &[8, 0, 5, 0, 0, 0, 0, 32]);
        for n in 0..buf.len() {
            let _ = parse(&buf[..n]);
        }
    }
}

//! Kernel set updates over nftables netlink: one transaction (a netfilter batch) per set of
//! changes, no process per element. [`batch`] encodes the messages (pure, tested); [`apply`]
//! sends them and reads the acknowledgements. Deleting an element that may be absent is done as
//! add-then-delete in the same transaction, and an element's timeout is replaced by
//! delete-then-add, as the `nft` tool itself does.

use std::os::fd::AsRawFd;
use std::time::Duration;

use nix::errno::Errno;
use nix::sys::socket::{
    bind, recv, send, setsockopt, socket, sockopt, AddressFamily, MsgFlags, NetlinkAddr, SockFlag,
    SockProtocol, SockType,
};
use nix::sys::time::TimeVal;

use crate::shield::action::Mac;

const NFNL_SUBSYS_NFTABLES: u16 = 10;
const NFNL_MSG_BATCH_BEGIN: u16 = 0x10;
const NFNL_MSG_BATCH_END: u16 = 0x11;
const NFT_MSG_NEWSETELEM: u16 = 12;
const NFT_MSG_DELSETELEM: u16 = 14;
const NLM_F_REQUEST: u16 = 1;
const NLM_F_ACK: u16 = 4;
const NLM_F_CREATE: u16 = 0x400;
const NLA_F_NESTED: u16 = 0x8000;
const NFPROTO_INET: u8 = 1;
const NLMSG_ERROR: u16 = 2;

/// One change to a set of ether addresses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// Add (or replace) with a timeout in seconds (`None`: none).
    Add {
        set: String,
        mac: Mac,
        timeout_secs: Option<u64>,
    },
    /// Remove if present.
    Delete { set: String, mac: Mac },
}

fn align(n: usize) -> usize {
    (n + 3) & !3
}

fn attr(buf: &mut Vec<u8>, kind: u16, value: &[u8]) {
    buf.extend_from_slice(&((4 + value.len()) as u16).to_ne_bytes());
    buf.extend_from_slice(&kind.to_ne_bytes());
    buf.extend_from_slice(value);
    buf.resize(align(buf.len()), 0);
}

fn nested(buf: &mut Vec<u8>, kind: u16, fill: impl FnOnce(&mut Vec<u8>)) {
    let start = buf.len();
    buf.extend_from_slice(&[0, 0]);
    buf.extend_from_slice(&(kind | NLA_F_NESTED).to_ne_bytes());
    fill(buf);
    let len = (buf.len() - start) as u16;
    buf[start..start + 2].copy_from_slice(&len.to_ne_bytes());
}

fn message(
    out: &mut Vec<u8>,
    kind: u16,
    flags: u16,
    seq: u32,
    family: u8,
    res_id: u16,
    body: &[u8],
) {
    let len = 16 + 4 + body.len();
    out.extend_from_slice(&(len as u32).to_ne_bytes());
    out.extend_from_slice(&kind.to_ne_bytes());
    out.extend_from_slice(&flags.to_ne_bytes());
    out.extend_from_slice(&seq.to_ne_bytes());
    out.extend_from_slice(&0u32.to_ne_bytes());
    out.extend_from_slice(&[family, 0]);
    out.extend_from_slice(&res_id.to_be_bytes());
    out.extend_from_slice(body);
    out.resize(align(out.len()), 0);
}

fn element(table: &str, set: &str, mac: &Mac, timeout_secs: Option<u64>) -> Vec<u8> {
    let mut body = Vec::new();
    attr(&mut body, 1, format!("{table}\0").as_bytes());
    attr(&mut body, 2, format!("{set}\0").as_bytes());
    nested(&mut body, 3, |b| {
        nested(b, 1, |e| {
            nested(e, 1, |k| attr(k, 1, &mac.0));
            if let Some(secs) = timeout_secs {
                attr(e, 4, &(secs.saturating_mul(1000)).to_be_bytes());
            }
        });
    });
    body
}

/// The batch for `changes` in `table` (family inet), sequence numbers from `seq`; returns the
/// bytes and the sequence numbers that will be acknowledged.
pub fn batch(table: &str, changes: &[Change], seq: u32) -> (Vec<u8>, Vec<u32>) {
    let mut out = Vec::new();
    let mut acked = Vec::new();
    let mut seq = seq;
    message(
        &mut out,
        NFNL_MSG_BATCH_BEGIN,
        NLM_F_REQUEST,
        seq,
        0,
        NFNL_SUBSYS_NFTABLES,
        &[],
    );
    let kind = |msg: u16| (NFNL_SUBSYS_NFTABLES << 8) | msg;
    let mut push = |out: &mut Vec<u8>, msg: u16, flags: u16, body: Vec<u8>| {
        seq += 1;
        acked.push(seq);
        message(
            out,
            kind(msg),
            NLM_F_REQUEST | NLM_F_ACK | flags,
            seq,
            NFPROTO_INET,
            0,
            &body,
        );
    };
    for change in changes {
        let (set, mac, timeout) = match change {
            Change::Add {
                set,
                mac,
                timeout_secs,
            } => (set, mac, Some(*timeout_secs)),
            Change::Delete { set, mac } => (set, mac, None),
        };
        // Make sure it exists, then remove it: neither step can fail on an absent element.
        push(
            &mut out,
            NFT_MSG_NEWSETELEM,
            NLM_F_CREATE,
            element(table, set, mac, None),
        );
        push(
            &mut out,
            NFT_MSG_DELSETELEM,
            0,
            element(table, set, mac, None),
        );
        if let Some(timeout) = timeout {
            push(
                &mut out,
                NFT_MSG_NEWSETELEM,
                NLM_F_CREATE,
                element(table, set, mac, timeout),
            );
        }
    }
    seq += 1;
    message(
        &mut out,
        NFNL_MSG_BATCH_END,
        NLM_F_REQUEST,
        seq,
        0,
        NFNL_SUBSYS_NFTABLES,
        &[],
    );
    (out, acked)
}

/// Why a transaction failed.
#[derive(Debug, thiserror::Error)]
pub enum NftError {
    #[error("nftables netlink: {0}")]
    Netlink(Errno),
    #[error("the kernel refused the set update: {0}")]
    Refused(Errno),
    #[error("no answer from the kernel")]
    Timeout,
}

/// Applies `changes` to sets of `table` (family inet) in one transaction.
pub fn apply(table: &str, changes: &[Change]) -> Result<(), NftError> {
    if changes.is_empty() {
        return Ok(());
    }
    let fd = socket(
        AddressFamily::Netlink,
        SockType::Raw,
        SockFlag::SOCK_CLOEXEC,
        SockProtocol::NetlinkNetFilter,
    )
    .map_err(NftError::Netlink)?;
    bind(fd.as_raw_fd(), &NetlinkAddr::new(0, 0)).map_err(NftError::Netlink)?;
    let tv = TimeVal::new(1, 0);
    setsockopt(&fd, sockopt::ReceiveTimeout, &tv).map_err(NftError::Netlink)?;
    let (bytes, mut pending) = batch(table, changes, 1);
    send(fd.as_raw_fd(), &bytes, MsgFlags::empty()).map_err(NftError::Netlink)?;
    let mut buf = vec![0u8; 64 * 1024];
    let deadline = std::time::Instant::now() + Duration::from_secs(2);
    let mut first_error = None;
    while !pending.is_empty() && std::time::Instant::now() < deadline {
        let n = match recv(fd.as_raw_fd(), &mut buf, MsgFlags::empty()) {
            Ok(n) => n,
            Err(Errno::EAGAIN | Errno::EINTR) => continue,
            Err(e) => return Err(NftError::Netlink(e)),
        };
        for (seq, error) in acks(&buf[..n]) {
            pending.retain(|s| *s != seq);
            if error != 0 && first_error.is_none() {
                first_error = Some(Errno::from_raw(-error));
            }
        }
        // After an error the kernel aborts the transaction and may not ack the rest.
        if first_error.is_some() {
            break;
        }
    }
    match first_error {
        Some(e) => Err(NftError::Refused(e)),
        None if pending.is_empty() => Ok(()),
        None => Err(NftError::Timeout),
    }
}

/// (sequence, error) of every NLMSG_ERROR in a buffer (0: success).
fn acks(buf: &[u8]) -> Vec<(u32, i32)> {
    let mut out = Vec::new();
    let mut at = 0;
    while let Some(h) = buf.get(at..at + 16) {
        let len = u32::from_ne_bytes([h[0], h[1], h[2], h[3]]) as usize;
        let kind = u16::from_ne_bytes([h[4], h[5]]);
        if len < 16 {
            break;
        }
        if kind == NLMSG_ERROR {
            let seq = u32::from_ne_bytes([h[8], h[9], h[10], h[11]]);
            let error = buf
                .get(at + 16..at + 20)
                .map_or(-1, |e| i32::from_ne_bytes([e[0], e[1], e[2], e[3]]));
            out.push((seq, error));
        }
        at += align(len);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batch_layout() {
        let mac = Mac([2, 0, 0, 0, 0, 1]);
        let (bytes, acked) = batch(
            "dhcpmgr_shield",
            &[
                Change::Add {
                    set: "deny".into(),
                    mac,
                    timeout_secs: Some(7200),
                },
                Change::Delete {
                    set: "throttle".into(),
                    mac,
                },
            ],
            1,
        );
        assert_eq!(acked, vec![2, 3, 4, 5, 6]);
        // Walk the messages: begin, 3 for the add, 2 for the delete, end.
        let mut kinds = Vec::new();
        let mut at = 0;
        while at < bytes.len() {
            let len = u32::from_ne_bytes(bytes[at..at + 4].try_into().unwrap()) as usize;
            kinds.push(u16::from_ne_bytes(
                bytes[at + 4..at + 6].try_into().unwrap(),
            ));
            assert_eq!(len % 4, 0);
            at += len;
        }
        assert_eq!(
            kinds,
            vec![0x10, 0x0a0c, 0x0a0e, 0x0a0c, 0x0a0c, 0x0a0e, 0x11]
        );
        // The timeout travels as big-endian milliseconds.
        let ms = 7_200_000u64.to_be_bytes();
        assert!(bytes.windows(8).any(|w| w == ms));
        assert!(bytes.windows(15).any(|w| w == b"dhcpmgr_shield\0"));
        assert_eq!(acks(&bytes), vec![]);
    }
}

//! Kernel set updates over nftables netlink: one transaction (a netfilter batch) per set of
//! changes, no process per element. [`batch`] encodes the messages (pure, tested); [`apply`]
//! sends them and reads the acknowledgements; [`list`] dumps a set's elements and
//! [`parse_elements`] reads the dump (pure, tested: anything it cannot read is an error, never
//! a guess). [`Kernel`] is what the enforcer needs of all this. Deleting an element that may be absent is done as
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

use crate::action::Mac;
use crate::hook::KernelSet;

const NFNL_SUBSYS_NFTABLES: u16 = 10;
const NFNL_MSG_BATCH_BEGIN: u16 = 0x10;
const NFNL_MSG_BATCH_END: u16 = 0x11;
pub(crate) const NFT_MSG_NEWTABLE: u16 = 0;
pub(crate) const NFT_MSG_DELTABLE: u16 = 2;
pub(crate) const NFT_MSG_NEWCHAIN: u16 = 3;
pub(crate) const NFT_MSG_NEWRULE: u16 = 6;
pub(crate) const NFT_MSG_DELRULE: u16 = 8;
pub(crate) const NFT_MSG_NEWSET: u16 = 9;
const NFT_MSG_NEWSETELEM: u16 = 12;
const NFT_MSG_GETSETELEM: u16 = 13;
const NFT_MSG_DELSETELEM: u16 = 14;
const NLM_F_REQUEST: u16 = 1;
const NLM_F_ACK: u16 = 4;
const NLM_F_DUMP: u16 = 0x300;
const NLMSG_DONE: u16 = 3;
pub(crate) const NLM_F_CREATE: u16 = 0x400;
pub(crate) const NLM_F_APPEND: u16 = 0x800;
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

pub(crate) fn align(n: usize) -> usize {
    (n + 3) & !3
}

/// Appends one netlink attribute.
pub(crate) fn attr(buf: &mut Vec<u8>, kind: u16, value: &[u8]) {
    buf.extend_from_slice(&((4 + value.len()) as u16).to_ne_bytes());
    buf.extend_from_slice(&kind.to_ne_bytes());
    buf.extend_from_slice(value);
    buf.resize(align(buf.len()), 0);
}

/// Appends one nested netlink attribute, its content written by `fill`.
pub(crate) fn nested(buf: &mut Vec<u8>, kind: u16, fill: impl FnOnce(&mut Vec<u8>)) {
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

/// One message of a transaction: an `NFT_MSG_*` type, its extra flags and its attributes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Msg {
    pub kind: u16,
    pub flags: u16,
    pub body: Vec<u8>,
}

/// `msgs` framed as one netfilter batch (family inet), sequence numbers from `seq`; returns
/// the bytes and the sequence numbers that will be acknowledged.
pub(crate) fn transaction(msgs: &[Msg], seq: u32) -> (Vec<u8>, Vec<u32>) {
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
    for m in msgs {
        seq += 1;
        acked.push(seq);
        message(
            &mut out,
            (NFNL_SUBSYS_NFTABLES << 8) | m.kind,
            NLM_F_REQUEST | NLM_F_ACK | m.flags,
            seq,
            NFPROTO_INET,
            0,
            &m.body,
        );
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

/// The batch for `changes` in `table` (family inet), sequence numbers from `seq`; returns the
/// bytes and the sequence numbers that will be acknowledged.
pub(crate) fn batch(table: &str, changes: &[Change], seq: u32) -> (Vec<u8>, Vec<u32>) {
    let mut msgs = Vec::new();
    for change in changes {
        let (set, mac, timeout) = match change {
            Change::Add {
                set,
                mac,
                timeout_secs,
            } => (set, mac, Some(*timeout_secs)),
            Change::Delete { set, mac } => (set, mac, None),
        };
        let msg = |kind, flags, timeout| Msg {
            kind,
            flags,
            body: element(table, set, mac, timeout),
        };
        // Make sure it exists, then remove it: neither step can fail on an absent element.
        msgs.push(msg(NFT_MSG_NEWSETELEM, NLM_F_CREATE, None));
        msgs.push(msg(NFT_MSG_DELSETELEM, 0, None));
        if let Some(timeout) = timeout {
            msgs.push(msg(NFT_MSG_NEWSETELEM, NLM_F_CREATE, timeout));
        }
    }
    transaction(&msgs, seq)
}

/// Why a transaction or a listing failed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum NftError {
    #[error("nftables netlink: {0}")]
    Netlink(Errno),
    #[error("the kernel refused the transaction: {0}")]
    Refused(Errno),
    #[error("the kernel refused to list set {set}: {errno}")]
    ListRefused { set: String, errno: Errno },
    #[error("the kernel's listing of set {set} cannot be read: {why}")]
    Listing { set: String, why: String },
    #[error("no answer from the kernel")]
    Timeout,
}

/// One element of one of our sets as the kernel lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Element {
    pub set: KernelSet,
    pub mac: Mac,
    /// Milliseconds until the kernel removes it (`None`: no timeout).
    pub expires_ms: Option<u64>,
}

/// What the enforcer needs of the kernel: apply one transaction, list our sets.
pub(crate) trait Kernel: Send {
    fn apply(&mut self, changes: &[Change]) -> Result<(), NftError>;
    fn list(&mut self) -> Result<Vec<Element>, NftError>;
}

/// The real kernel: our table over nftables netlink.
#[derive(Debug, Clone)]
pub(crate) struct Netlink {
    pub table: String,
}

impl Kernel for Netlink {
    fn apply(&mut self, changes: &[Change]) -> Result<(), NftError> {
        apply(&self.table, changes)
    }

    fn list(&mut self) -> Result<Vec<Element>, NftError> {
        let mut out = Vec::new();
        for set in KernelSet::ALL {
            out.extend(list(&self.table, set)?);
        }
        Ok(out)
    }
}

/// No kernel (benchmarks and tests of the engine alone): every change is accepted, the sets
/// are always empty.
#[derive(Debug, Clone, Default)]
pub(crate) struct NoKernel;

impl Kernel for NoKernel {
    fn apply(&mut self, _: &[Change]) -> Result<(), NftError> {
        Ok(())
    }

    fn list(&mut self) -> Result<Vec<Element>, NftError> {
        Ok(Vec::new())
    }
}

fn open_socket() -> Result<std::os::fd::OwnedFd, NftError> {
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
    Ok(fd)
}

/// The dump request for the elements of `set` in `table` (family inet).
pub(crate) fn list_request(table: &str, set: &str, seq: u32) -> Vec<u8> {
    let mut body = Vec::new();
    attr(&mut body, 1, format!("{table}\0").as_bytes());
    attr(&mut body, 2, format!("{set}\0").as_bytes());
    let mut out = Vec::new();
    message(
        &mut out,
        (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_GETSETELEM,
        NLM_F_REQUEST | NLM_F_DUMP,
        seq,
        NFPROTO_INET,
        0,
        &body,
    );
    out
}

/// Lists the elements of `set` in `table`.
pub(crate) fn list(table: &str, set: KernelSet) -> Result<Vec<Element>, NftError> {
    let fd = open_socket()?;
    send(
        fd.as_raw_fd(),
        &list_request(table, set.name(), 1),
        MsgFlags::empty(),
    )
    .map_err(NftError::Netlink)?;
    let mut buf = vec![0u8; 256 * 1024];
    let mut out = Vec::new();
    let deadline = std::time::Instant::now() + Duration::from_secs(2);
    while std::time::Instant::now() < deadline {
        let n = match recv(fd.as_raw_fd(), &mut buf, MsgFlags::empty()) {
            Ok(n) => n,
            Err(Errno::EAGAIN | Errno::EINTR) => continue,
            Err(e) => return Err(NftError::Netlink(e)),
        };
        if parse_elements(&buf[..n], set, &mut out)? {
            return Ok(out);
        }
    }
    Err(NftError::Timeout)
}

/// The netlink attributes in `buf` as (type without flags, value).
fn attributes(buf: &[u8]) -> Result<Vec<(u16, &[u8])>, String> {
    let mut out = Vec::new();
    let mut at = 0;
    while at < buf.len() {
        let h = buf
            .get(at..at + 4)
            .ok_or_else(|| format!("a truncated attribute header at {at}"))?;
        let len = usize::from(u16::from_ne_bytes([h[0], h[1]]));
        let kind = u16::from_ne_bytes([h[2], h[3]]) & 0x3fff;
        let value = buf
            .get(at + 4..at + len.max(4))
            .filter(|_| len >= 4)
            .ok_or_else(|| format!("attribute {kind} has a bad length {len}"))?;
        out.push((kind, value));
        at += align(len.max(4));
    }
    Ok(out)
}

fn be_u64(value: &[u8]) -> Result<u64, String> {
    value
        .try_into()
        .map(u64::from_be_bytes)
        .map_err(|_| format!("a {}-byte time where 8 are expected", value.len()))
}

fn element_of(set: KernelSet, value: &[u8]) -> Result<Element, String> {
    let mut mac = None;
    let mut expires_ms = None;
    for (kind, v) in attributes(value)? {
        match kind {
            1 => {
                let data = attributes(v)?;
                let key = data
                    .iter()
                    .find(|(k, _)| *k == 1)
                    .map(|(_, v)| *v)
                    .ok_or("an element key without a value")?;
                mac =
                    Some(<[u8; 6]>::try_from(key).map(Mac).map_err(|_| {
                        format!("a {}-byte key where a MAC is expected", key.len())
                    })?);
            }
            5 => expires_ms = Some(be_u64(v)?),
            _ => {}
        }
    }
    Ok(Element {
        set,
        mac: mac.ok_or("an element without a key")?,
        expires_ms,
    })
}

/// Reads the messages of a set-element dump in `buf` into `out`; `true` once the dump is done.
pub(crate) fn parse_elements(
    buf: &[u8],
    set: KernelSet,
    out: &mut Vec<Element>,
) -> Result<bool, NftError> {
    let bad = |why: String| NftError::Listing {
        set: set.name().to_string(),
        why,
    };
    let mut at = 0;
    while at < buf.len() {
        let h = buf
            .get(at..at + 16)
            .ok_or_else(|| bad("a truncated message header".into()))?;
        let len = u32::from_ne_bytes([h[0], h[1], h[2], h[3]]) as usize;
        let kind = u16::from_ne_bytes([h[4], h[5]]);
        let body = buf
            .get(at + 16..at + len)
            .filter(|_| len >= 16)
            .ok_or_else(|| bad(format!("a message with a bad length {len}")))?;
        match kind {
            NLMSG_DONE => return Ok(true),
            NLMSG_ERROR => {
                let code = body
                    .get(..4)
                    .map(|e| i32::from_ne_bytes([e[0], e[1], e[2], e[3]]))
                    .ok_or_else(|| bad("a truncated error".into()))?;
                if code != 0 {
                    return Err(NftError::ListRefused {
                        set: set.name().to_string(),
                        errno: Errno::from_raw(-code),
                    });
                }
            }
            k if k == (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_NEWSETELEM => {
                let attrs = body
                    .get(4..)
                    .ok_or_else(|| bad("a message without its header".into()))?;
                for (kind, value) in attributes(attrs).map_err(bad)? {
                    if kind != 3 {
                        continue;
                    }
                    for (kind, element) in attributes(value).map_err(bad)? {
                        if kind == 1 {
                            out.push(element_of(set, element).map_err(bad)?);
                        }
                    }
                }
            }
            other => return Err(bad(format!("an unexpected message type {other:#x}"))),
        }
        at += align(len);
    }
    Ok(false)
}

/// Applies `changes` to sets of `table` (family inet) in one transaction.
pub(crate) fn apply(table: &str, changes: &[Change]) -> Result<(), NftError> {
    if changes.is_empty() {
        return Ok(());
    }
    send_transaction(batch(table, changes, 1))
}

/// Sends `msgs` as one transaction and waits for every acknowledgement: all of it is in force,
/// or (on the first refusal) none of it.
pub(crate) fn execute(msgs: &[Msg]) -> Result<(), NftError> {
    send_transaction(transaction(msgs, 1))
}

fn send_transaction((bytes, mut pending): (Vec<u8>, Vec<u32>)) -> Result<(), NftError> {
    let fd = open_socket()?;
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

    /// A dump message as the kernel sends it: one NEWSETELEM with `elements` (MAC key bytes,
    /// optional expiration), then DONE.
    fn dump(elements: &[(&[u8], Option<u64>)]) -> Vec<u8> {
        let mut body = Vec::new();
        attr(&mut body, 1, b"dhcpmgr_shield\0");
        attr(&mut body, 2, b"deny\0");
        nested(&mut body, 3, |b| {
            for (key, expires) in elements {
                nested(b, 1, |e| {
                    nested(e, 1, |k| attr(k, 1, key));
                    if let Some(ms) = expires {
                        attr(e, 4, &7_200_000u64.to_be_bytes());
                        attr(e, 5, &ms.to_be_bytes());
                    }
                });
            }
        });
        let mut out = Vec::new();
        message(&mut out, 0x0a0c, 2, 1, NFPROTO_INET, 0, &body);
        message(&mut out, NLMSG_DONE, 2, 1, 0, 0, &[0, 0, 0, 0]);
        out
    }

    #[test]
    fn listing_is_read_or_refused_never_guessed() {
        let request = list_request("dhcpmgr_shield", "deny", 7);
        assert_eq!(u16::from_ne_bytes([request[4], request[5]]), 0x0a0d);
        assert_eq!(u16::from_ne_bytes([request[6], request[7]]), 0x301);
        assert!(request.windows(5).any(|w| w == b"deny\0"));

        let a = [2, 0, 0, 0, 0, 1];
        let b = [2, 0, 0, 0, 0, 2];
        let mut out = Vec::new();
        let done = parse_elements(
            &dump(&[(&a, None), (&b, Some(5_000))]),
            KernelSet::Deny,
            &mut out,
        )
        .unwrap();
        assert!(done);
        assert_eq!(
            out,
            vec![
                Element {
                    set: KernelSet::Deny,
                    mac: Mac(a),
                    expires_ms: None
                },
                Element {
                    set: KernelSet::Deny,
                    mac: Mac(b),
                    expires_ms: Some(5_000)
                },
            ]
        );
        // A key that is not a MAC, a cut message, an error: errors, nothing half-read used.
        let wrong_key = dump(&[(&[10, 0, 0, 1], None)]);
        let e = parse_elements(&wrong_key, KernelSet::Deny, &mut Vec::new()).unwrap_err();
        assert!(e.to_string().contains("4-byte key"), "{e}");
        let full = dump(&[(&a, None)]);
        for cut in [3, 17, 30, full.len() - 21] {
            assert!(
                parse_elements(&full[..cut], KernelSet::Deny, &mut Vec::new()).is_err(),
                "cut at {cut}"
            );
        }
        // nlmsghdr, then the (negative) errno and the request's header.
        let mut refused = Vec::new();
        refused.extend_from_slice(&36u32.to_ne_bytes());
        refused.extend_from_slice(&NLMSG_ERROR.to_ne_bytes());
        refused.extend_from_slice(&[0; 10]);
        refused.extend_from_slice(&(-2i32).to_ne_bytes());
        refused.extend_from_slice(&request[..16]);
        let e = parse_elements(&refused, KernelSet::Throttle, &mut Vec::new()).unwrap_err();
        assert!(
            matches!(
                e,
                NftError::ListRefused {
                    errno: Errno::ENOENT,
                    ..
                }
            ),
            "{e}"
        );
    }
}

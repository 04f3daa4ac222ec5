//! A small reader for classic pcap and pcapng captures (either byte order), and the link-layer
//! step from a captured frame to its IP packet. Used by the tests on the reference captures, the
//! fuzz target's seeds and the benchmark; pure and panic-free.

use crate::action::Mac;
use crate::packet::parse_ethernet;

/// One captured frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Captured {
    /// The link type (1 Ethernet, 101 raw IP, 113 Linux cooked, …).
    pub linktype: u32,
    /// The frame's bytes as captured.
    pub data: Vec<u8>,
}

/// Why a capture could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PcapError {
    /// The file starts with neither the pcap nor the pcapng magic number.
    #[error("not a pcap or pcapng file")]
    UnknownFormat,
    /// A record runs past the end of the file, at this byte offset.
    #[error("capture cut short at byte {0}")]
    Truncated(usize),
}

/// Reads every frame of a pcap or pcapng file.
pub fn read(bytes: &[u8]) -> Result<Vec<Captured>, PcapError> {
    match bytes.get(..4) {
        Some([0x0a, 0x0d, 0x0d, 0x0a]) => read_pcapng(bytes),
        Some(m) if is_pcap_magic(m) => read_pcap(bytes),
        _ => Err(PcapError::UnknownFormat),
    }
}

fn is_pcap_magic(m: &[u8]) -> bool {
    matches!(
        m,
        [0xd4, 0xc3, 0xb2, 0xa1]
            | [0xa1, 0xb2, 0xc3, 0xd4]
            | [0x4d, 0x3c, 0xb2, 0xa1]
            | [0xa1, 0xb2, 0x3c, 0x4d]
    )
}

struct Reader<'a> {
    bytes: &'a [u8],
    little: bool,
}

impl Reader<'_> {
    fn u16(&self, at: usize) -> Option<u16> {
        let b: [u8; 2] = self.bytes.get(at..at + 2)?.try_into().ok()?;
        Some(if self.little {
            u16::from_le_bytes(b)
        } else {
            u16::from_be_bytes(b)
        })
    }

    fn u32(&self, at: usize) -> Option<u32> {
        let b: [u8; 4] = self.bytes.get(at..at + 4)?.try_into().ok()?;
        Some(if self.little {
            u32::from_le_bytes(b)
        } else {
            u32::from_be_bytes(b)
        })
    }

    fn slice(&self, at: usize, len: usize) -> Option<&[u8]> {
        self.bytes.get(at..at.checked_add(len)?)
    }
}

fn read_pcap(bytes: &[u8]) -> Result<Vec<Captured>, PcapError> {
    let r = Reader {
        bytes,
        little: bytes.first() == Some(&0xd4) || bytes.first() == Some(&0x4d),
    };
    let linktype = r.u32(20).ok_or(PcapError::Truncated(20))? & 0x0fff_ffff;
    let mut at = 24;
    let mut out = Vec::new();
    while at < bytes.len() {
        let len = r.u32(at + 8).ok_or(PcapError::Truncated(at))? as usize;
        let data = r.slice(at + 16, len).ok_or(PcapError::Truncated(at))?;
        out.push(Captured {
            linktype,
            data: data.to_vec(),
        });
        at += 16 + len;
    }
    Ok(out)
}

fn read_pcapng(bytes: &[u8]) -> Result<Vec<Captured>, PcapError> {
    let mut r = Reader {
        bytes,
        little: true,
    };
    let mut interfaces: Vec<u32> = Vec::new();
    let mut out = Vec::new();
    let mut at = 0;
    while at < bytes.len() {
        let block_type = r.u32(at).ok_or(PcapError::Truncated(at))?;
        if block_type == 0x0a0d_0d0a {
            // Section header: the byte-order magic decides how the rest reads.
            let magic = bytes.get(at + 8..at + 12).ok_or(PcapError::Truncated(at))?;
            r.little = magic == [0x4d, 0x3c, 0x2b, 0x1a];
            interfaces.clear();
        }
        let len = r.u32(at + 4).ok_or(PcapError::Truncated(at))? as usize;
        if len < 12 || len % 4 != 0 {
            return Err(PcapError::Truncated(at));
        }
        r.slice(at, len).ok_or(PcapError::Truncated(at))?;
        match block_type {
            1 => interfaces.push(u32::from(r.u16(at + 8).ok_or(PcapError::Truncated(at))?)),
            6 => {
                let iface = r.u32(at + 8).ok_or(PcapError::Truncated(at))? as usize;
                let cap = r.u32(at + 20).ok_or(PcapError::Truncated(at))? as usize;
                let data = r.slice(at + 28, cap).ok_or(PcapError::Truncated(at))?;
                out.push(Captured {
                    linktype: interfaces.get(iface).copied().unwrap_or(1),
                    data: data.to_vec(),
                });
            }
            3 => {
                let orig = r.u32(at + 8).ok_or(PcapError::Truncated(at))? as usize;
                let cap = orig.min(len.saturating_sub(16));
                let data = r.slice(at + 12, cap).ok_or(PcapError::Truncated(at))?;
                out.push(Captured {
                    linktype: interfaces.first().copied().unwrap_or(1),
                    data: data.to_vec(),
                });
            }
            _ => {}
        }
        at += len;
    }
    Ok(out)
}

/// A frame's link-layer addresses (when the link type has them) and its IP packet; `None` for
/// link types or ethertypes that carry no IP.
pub fn ip_packet(c: &Captured) -> Option<(Option<Mac>, Option<Mac>, &[u8])> {
    match c.linktype {
        1 => parse_ethernet(&c.data)
            .ok()
            .map(|f| (Some(f.src_mac), Some(f.dst_mac), f.ip)),
        101 | 228 | 229 | 12 | 14 => Some((None, None, &c.data)),
        // Linux cooked capture v1: 16-byte header, address at 6, protocol at 14.
        113 => {
            let proto = c.data.get(14..16)?;
            if proto != [0x08, 0x00] && proto != [0x86, 0xdd] {
                return None;
            }
            Some((Mac::from_slice(c.data.get(6..)?), None, c.data.get(16..)?))
        }
        // Linux cooked capture v2: 20-byte header, protocol at 0, address at 12.
        276 => {
            let proto = c.data.get(..2)?;
            if proto != [0x08, 0x00] && proto != [0x86, 0xdd] {
                return None;
            }
            Some((Mac::from_slice(c.data.get(12..)?), None, c.data.get(20..)?))
        }
        // BSD loopback: 4-byte address family.
        0 => Some((None, None, c.data.get(4..)?)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classic_pcap_both_orders() {
        let mut le = vec![0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0];
        le.extend_from_slice(&[0; 8]);
        le.extend_from_slice(&65535u32.to_le_bytes());
        le.extend_from_slice(&1u32.to_le_bytes());
        le.extend_from_slice(&[0; 8]);
        le.extend_from_slice(&3u32.to_le_bytes());
        le.extend_from_slice(&3u32.to_le_bytes());
        le.extend_from_slice(b"abc");
        let frames = read(&le).unwrap();
        assert_eq!(
            frames,
            vec![Captured {
                linktype: 1,
                data: b"abc".to_vec()
            }]
        );
        assert_eq!(read(&le[..le.len() - 1]), Err(PcapError::Truncated(24)));
        assert_eq!(read(b"nope"), Err(PcapError::UnknownFormat));
        for n in 0..le.len() {
            let _ = read(&le[..n]);
        }
    }
}

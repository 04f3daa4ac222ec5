//! The port set of a PSID (RFC 7597 §5.1, Appendix B): which source ports a CE sharing an IPv4
//! address may use.

use std::fmt;

use super::options::Psid;

/// An inclusive range of ports, displayed as `first-last`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PortRange {
    /// First port of the range.
    pub first: u16,
    /// Last port of the range (inclusive).
    pub last: u16,
}

impl fmt::Display for PortRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.first, self.last)
    }
}

/// The ranges of PSID `psid` with PSID offset `offset` (a), in ascending order.
///
/// With k = `psid.bits()` > 0 and m = 16 - a - k, they are, for every A in 1..2^a - 1 (A = 0 when
/// a = 0), `A·2^(16-a) + PSID·2^m + [0, 2^m - 1]`. With k = 0 the address is not shared and the
/// whole port space 0-65535 is the CE's (the algorithm only applies to shared addresses).
/// Returns nothing when `offset + k` > 16, which callers have already refused.
pub(crate) fn port_ranges(offset: u8, psid: Psid) -> Vec<PortRange> {
    let (a, k) = (u32::from(offset), u32::from(psid.bits()));
    if k == 0 {
        return vec![PortRange {
            first: 0,
            last: u16::MAX,
        }];
    }
    let Some(m) = 16u32.checked_sub(a + k) else {
        return Vec::new();
    };
    let block = u32::from(psid.value()) << m;
    let indices = if a == 0 { 0..1 } else { 1..1u32 << a };
    indices
        .filter_map(|index| {
            // index < 2^a and block < 2^(16-a), so first and last stay below 2^16.
            let first = index << (16 - a) | block;
            let last = first + (1 << m) - 1;
            Some(PortRange {
                first: u16::try_from(first).ok()?,
                last: u16::try_from(last).ok()?,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn psid(value: u16, len: u8) -> Psid {
        Psid::new(value, len).unwrap()
    }

    #[test]
    fn s46_port_ranges_of_rfc7599_example_1() {
        let ranges = port_ranges(6, psid(0x34, 8));
        assert_eq!(ranges.len(), 63);
        let text: Vec<String> = ranges.iter().map(ToString::to_string).collect();
        assert_eq!(&text[..2], ["1232-1235", "2256-2259"]);
        assert_eq!(&text[61..], ["63696-63699", "64720-64723"]);
    }

    #[test]
    fn s46_port_ranges_edges() {
        // No sharing: every port.
        assert_eq!(
            port_ranges(6, Psid::NONE),
            [PortRange {
                first: 0,
                last: 65535
            }]
        );
        // a = 0: one contiguous range per PSID.
        assert_eq!(
            port_ranges(0, psid(3, 2)),
            [PortRange {
                first: 49152,
                last: 65535
            }]
        );
        // a + k = 16: single ports.
        let singles = port_ranges(4, psid(0xfff, 12));
        assert_eq!(singles.len(), 15);
        assert!(singles.iter().all(|r| r.first == r.last));
        assert_eq!(singles.last().map(|r| r.last), Some(65535));
        // a = 15, k = 1: 2^15 - 1 ranges of one port, never port 0..1.
        let many = port_ranges(15, psid(1, 1));
        assert_eq!(many.len(), 32767);
        assert_eq!(many.first().map(|r| (r.first, r.last)), Some((3, 3)));
        // Refused combinations produce nothing.
        assert!(port_ranges(8, psid(1, 9)).is_empty());
    }

    #[test]
    fn s46_port_sets_partition_the_non_excluded_ports() {
        // For a = 6, k = 4 every port ≥ 1024 belongs to exactly one PSID.
        let mut seen = vec![0u8; 65536];
        for value in 0..16 {
            for r in port_ranges(6, psid(value, 4)) {
                for port in r.first..=r.last {
                    seen[usize::from(port)] += 1;
                }
            }
        }
        assert!(seen[..1024].iter().all(|&n| n == 0));
        assert!(seen[1024..].iter().all(|&n| n == 1));
    }
}

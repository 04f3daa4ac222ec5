//! The shield's whole pure packet path (headers, DHCPv4/v6, decision, event, filter) on
//! arbitrary bytes; the first byte picks raw IP or an Ethernet frame. Seed it with the frames of
//! `tests/data/pcaps` (see fuzz/README.md).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| dhcpmgr_shield::fuzzing::packet_path(data));

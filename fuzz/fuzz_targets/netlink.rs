//! The NFQUEUE netlink message decoder on arbitrary bytes.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| dhcpmgr_shield::fuzzing::netlink(data));

//! TR-181 values in string form through the value checker, under every syntax of the builtin
//! definition and made-up list/range/size combinations (`dhcpmgr::tr181::fuzzing::value_check`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| dhcpmgr::tr181::fuzzing::value_check(data));

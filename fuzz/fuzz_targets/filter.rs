//! The stream filter language's parser and evaluator on arbitrary text.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| dhcpmgr_shield::fuzzing::filter_text(data));

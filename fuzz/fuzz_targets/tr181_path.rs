//! TR-181 request paths on a tree with DHCPv4 and DHCPv6 rows: GetParameterValues,
//! GetParameterNames, SetParameterValues and Operate planning, AddObject/DeleteObject
//! (`dhcpmgr::tr181::fuzzing::path_request`). A fault is fine; a panic is not.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| dhcpmgr::tr181::fuzzing::path_request(data));

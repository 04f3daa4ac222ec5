//! A deterministic stand-in for the fuzz targets in every `cargo test`: the first frames of each
//! reference capture, and mutations of them ([`Rng::mutate`]), go through the shield's packet
//! path, the filter parser and the netlink decoder. None may panic.

use std::fs;
use std::path::PathBuf;

use dhcpmgr_lab::Rng;
use dhcpmgr_shield::{fuzzing, pcap};

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/data/pcaps");

/// Bytes a filter mutation inserts: JSON's punctuation and digits.
const FILTER_BYTES: &[u8] = b"{}[]\",:0123456789";

#[test]
fn mutated_captures_never_panic_the_packet_path() {
    let dir = PathBuf::from(DIR);
    assert!(
        dir.is_dir(),
        "the reference captures are missing: expected the folder {DIR}"
    );
    let mut rng = Rng(0x5eed_d4c9_0000_0001);
    let mut runs = 0u64;
    let mut paths: Vec<PathBuf> = fs::read_dir(&dir)
        .expect("read the captures folder")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "pcap" || x == "pcapng"))
        .collect();
    paths.sort();
    for path in paths {
        let bytes = fs::read(&path).expect("read a capture");
        // The capture readers themselves, on mutated files.
        for _ in 0..20 {
            let _ = pcap::read(&rng.mutate(&bytes[..bytes.len().min(4096)], &[]));
        }
        let Ok(frames) = pcap::read(&bytes) else {
            continue;
        };
        for frame in frames.iter().take(16) {
            let Some((_, _, ip)) = pcap::ip_packet(frame) else {
                continue;
            };
            let seeds = [
                [&[0u8][..], ip].concat(),
                [&[1u8][..], &frame.data].concat(),
            ];
            for seed in &seeds {
                fuzzing::packet_path(seed);
                for _ in 0..100 {
                    fuzzing::packet_path(&rng.mutate(seed, &[]));
                    runs += 1;
                }
            }
            fuzzing::netlink(&rng.mutate(ip, &[]));
        }
    }
    let filter = br#"{"logic":"AND","rules":[{"field":"hostname","operator":"regex","value":"^a+$"},{"logic":"OR","rules":[{"field":"lease_time","operator":"in","value":[1,2]}]}]}"#;
    for _ in 0..5000 {
        fuzzing::filter_text(&rng.mutate(filter, FILTER_BYTES));
    }
    assert!(runs > 50_000, "only {runs} mutated packets");
}

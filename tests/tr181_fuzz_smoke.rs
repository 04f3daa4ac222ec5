//! A deterministic stand-in for the `tr181_path` and `tr181_value` fuzz targets in every
//! `cargo test`: tricky paths (instance numbers out of range or oddly written, missing and doubled
//! dots, commands in the wrong place, non-ASCII digits, huge strings) and tricky values (range
//! edges, signs, blanks, hex case, list separators, length limits in characters) go through the
//! same entry points, then byte-level mutations of every real path of the sample tree. None may
//! panic, and the entry points' own invariants must hold. Also: everything the sample tree
//! renders checks against its own syntax, and every name it lists can be read.

use dhcpmgr::tr181::definition::Definition;
use dhcpmgr::tr181::fuzzing;
use dhcpmgr::tr181::value;

use dhcpmgr_lab::Rng;

/// Methods [`fuzzing::path_request`] picks from its first byte.
const METHODS: u8 = 6;

/// Bytes a mutation inserts: those that matter to paths and values.
const PATH_BYTES: &[u8] = b"..019{}()\n=\xff";

/// A raw-text request for `method` (see [`fuzzing::path_request`]).
fn request(method: u8, text: &str) -> Vec<u8> {
    [&[method, 0][..], text.as_bytes()].concat()
}

fn tricky_paths() -> Vec<String> {
    let mut paths: Vec<String> = [
        "",
        ".",
        "..",
        "Device",
        "Device.",
        "Device..",
        "device.dhcpv4.",
        "Device.DHCPv4",
        "Device.DHCPv4.",
        "Device.DHCPv6.",
        "Device.MAP.Domain.1.",
        "Device.DHCPv4.Client",
        "Device.DHCPv4.Client.",
        "Device.DHCPv4.Client..",
        "Device.DHCPv4.Client.{i}.",
        "Device.DHCPv4.Client.{i}.Enable",
        "Device.{i}.",
        "{i}.{i}.{i}.",
        "Device.DHCPv4.Client.0.",
        "Device.DHCPv4.Client.01.",
        "Device.DHCPv4.Client.+1.",
        "Device.DHCPv4.Client.-1.",
        "Device.DHCPv4.Client. 1.",
        "Device.DHCPv4.Client.1 .",
        "Device.DHCPv4.Client.3.",
        "Device.DHCPv4.Client.4294967295.",
        "Device.DHCPv4.Client.4294967296.",
        "Device.DHCPv4.Client.99999999999999999999999.",
        "Device.DHCPv4.Client.\u{663}.",
        "Device.DHCPv4.Client.\u{ff11}.",
        "Device.DHCPv4.Client.1",
        "Device.DHCPv4.Client.1.",
        "Device.DHCPv4.Client.1..",
        "Device.DHCPv4.Client.1.Enable",
        "Device.DHCPv4.Client.1.Enable.",
        "Device.DHCPv4.Client.1.enable",
        "Device.DHCPv4.Client.1.SentOption.",
        "Device.DHCPv4.Client.1.SentOption.1.Value",
        "Device.DHCPv4.Client.1.SentOption.9.Value",
        "Device.DHCPv4.Client.1.ReqOption.7.Value",
        "Device.DHCPv4.Client.1.ReqOption.0.Value",
        "Device.DHCPv6.Client.2.ReceivedOption.4.Value",
        "Device.DHCPv6.Client.2.ReceivedOption.",
        "Device.DHCPv4.Client.1.Renew()",
        "Device.DHCPv4.Client.1.X_RDK_Release()",
        "Device.DHCPv6.Client.2.X_RDK_Restart()",
        "Device.DHCPv4.Client.1.Renew",
        "Device.DHCPv4.Client.1.Renew().",
        "Device.DHCPv4.Client.1.Renew(",
        "Device.DHCPv4.Client.1.renew()",
        "Device.DHCPv4.Client.1.()",
        "Device.DHCPv4.Client.1.SentOption.1.Renew()",
        "Device.DHCPv4.Client.Renew()",
        "Device.DHCPv4.Client.{i}.Renew()",
        "Device.DHCPv4.Renew()",
        "Renew()",
        "()",
        ".Renew()",
        " Device.DHCPv4.",
        "Device.DHCPv4. ",
        "Device.DHCPv4.\0",
        "Device.DHCPv4.Client.1.Enable\nDevice.DHCPv4.Client.1.Enable",
        "Device.DHCPv4.Client.1.Enable=maybe",
        "Device.DHCPv4.Client.1.Enable=",
        "Device.DHCPv4.Client.1.Enable=1=1",
        "Device.DHCPv4.Client.1.IPAddress=192.0.2.1",
        "Device.DHCPv4.Client.1.Alias=new-name",
        "Device.DHCPv4.Client.1.Renew=1\nDevice.DHCPv4.Client.2.X_RDK_Restart=true",
        "Device.DHCPv4.Client.1.Renew()\nforce=true",
        "Device.DHCPv4.Client.1.Renew()\n=",
        "\n\n",
        "=",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    paths.push("Device.".repeat(10_000));
    paths.push(format!("Device.DHCPv4.Client.{}", "1.".repeat(1000)));
    paths.push("a".repeat(100_000));
    paths.push("\u{e9}".repeat(1000));
    paths.push(format!(
        "Device.DHCPv4.Client.1.SentOption.1.Value={}",
        "ab".repeat(300)
    ));
    paths
}

fn tricky_values() -> Vec<String> {
    let mut values: Vec<String> = [
        "",
        " ",
        "\n",
        "\0",
        ",",
        ",,",
        " , ",
        "true",
        "false",
        "TRUE",
        "True",
        "yes",
        "1",
        "0",
        "-0",
        "+0",
        "00",
        "+1",
        "-1",
        "-2",
        "01",
        " 1",
        "1 ",
        "1e3",
        "0x10",
        "1.5",
        "\u{663}",
        "\u{ff11}",
        "2147483647",
        "2147483648",
        "-2147483648",
        "-2147483649",
        "4294967295",
        "4294967296",
        "18446744073709551616",
        "9223372036854775807",
        "0a",
        "0A",
        "0g",
        "a",
        "abc",
        "ABCDEF",
        "192.0.2.1",
        "192.0.2.256",
        "192.0.2.01",
        "192.0.2",
        "::1",
        "192.0.2.1,192.0.2.2",
        "192.0.2.1, ,192.0.2.2",
        "192.0.2.1,",
        ",192.0.2.1",
        "Enabled",
        "enabled",
        "Enabled,Disabled",
        " Enabled",
        "Error_Misconfigured",
        "1,2,3",
        "1,,3",
        "23,24,64,95",
        "65535,65536",
        "-1,1",
        "true,false",
        "true, 1",
        "\u{85}1\u{85}",
        "\u{a0}true",
        "\u{3000}1",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    for n in [15, 16, 63, 64, 65, 129, 130, 131, 255, 256, 257] {
        values.push("x".repeat(n));
        values.push("\u{e9}".repeat(n));
        values.push("0a".repeat(n));
        values.push(vec!["192.0.2.1"; n / 8 + 1].join(","));
    }
    values.push("00".repeat(65_536));
    values
}

#[test]
fn sample_tree_has_its_rows() {
    let tree = fuzzing::sample_tree();
    let names = tree.get_names("", false).expect("the whole tree");
    for row in [
        "Device.DHCPv4.Client.1.",
        "Device.DHCPv4.Client.2.SentOption.1.",
        "Device.DHCPv4.Client.1.ReqOption.7.",
        "Device.DHCPv6.Client.2.",
        "Device.DHCPv6.Client.1.ReceivedOption.4.",
    ] {
        assert!(names.iter().any(|(n, _)| n == row), "no {row} in {names:?}");
    }
}

#[test]
fn rendered_values_check_against_their_own_syntax() {
    let def = Definition::builtin().expect("definition");
    let tree = fuzzing::sample_tree();
    let names = tree.get_names("", false).expect("the whole tree");
    let params: Vec<String> = names
        .iter()
        .filter(|(n, _)| !n.ends_with('.'))
        .map(|(n, _)| n.clone())
        .collect();
    let values = tree
        .get_values(&params, dhcpmgr::boottime::BootSeconds(1000))
        .expect("every listed parameter can be read");
    assert_eq!(values.len(), params.len());
    let mut bad = Vec::new();
    for (name, type_name, rendered) in &values {
        let def_path = fuzzing::definition_path(name);
        let (object, param) = def_path.rsplit_once('.').expect("a parameter path");
        let param = def
            .object(&format!("{object}."))
            .and_then(|o| o.param(param))
            .unwrap_or_else(|| panic!("{name}: not in the definition"));
        assert_eq!(type_name, param.syntax.base.as_str(), "{name}");
        match value::check(name, &param.syntax, rendered) {
            Ok(canonical) if canonical == *rendered => {}
            other => bad.push(format!("{name} = {rendered:?}: {other:?}")),
        }
    }
    assert!(
        bad.is_empty(),
        "rendered values outside their syntax:\n{}",
        bad.join("\n")
    );
    // Every object path can be read as a partial path, and listed one level down.
    for (name, _) in names.iter().filter(|(n, _)| n.ends_with('.')) {
        tree.get_values(
            std::slice::from_ref(name),
            dhcpmgr::boottime::BootSeconds(1000),
        )
        .unwrap_or_else(|f| panic!("{name}: {f}"));
        tree.get_names(name, true)
            .unwrap_or_else(|f| panic!("{name}: {f}"));
    }
}

#[test]
fn tricky_paths_get_an_answer_or_a_fault() {
    for path in tricky_paths() {
        for method in 0..METHODS {
            fuzzing::path_request(&request(method, &path));
        }
    }
}

#[test]
fn tricky_values_get_an_answer_or_a_fault() {
    let syntaxes = fuzzing::syntaxes();
    assert!(syntaxes.len() >= 15, "only {} syntaxes", syntaxes.len());
    for value in tricky_values() {
        for (name, syntax) in syntaxes {
            fuzzing::check_value(name, syntax, &value);
        }
    }
    // And through the fuzz target's own decoding.
    for pick in 0..=u8::MAX {
        fuzzing::value_check(&[pick]);
        fuzzing::value_check(&[&[pick][..], b"0A,1, 192.0.2.1"].concat());
    }
}

#[test]
fn mutated_paths_and_values_never_panic() {
    let tree = fuzzing::sample_tree();
    let names = tree.get_names("", false).expect("the whole tree");
    let mut rng = Rng(0x7218_1f22_0000_0001);
    let mut runs = 0u64;
    for (name, _) in &names {
        for method in 0..METHODS {
            let seed = request(method, name);
            fuzzing::path_request(&seed);
            for _ in 0..8 {
                fuzzing::path_request(&rng.mutate(&seed, PATH_BYTES));
                runs += 1;
            }
        }
    }
    // Token mode: random pieces of real paths.
    for _ in 0..5000 {
        let len = rng.below(24);
        let data: Vec<u8> = [rng.below(256) as u8, 1]
            .into_iter()
            .chain((0..len).map(|_| rng.next_u64() as u8))
            .collect();
        fuzzing::path_request(&data);
        runs += 1;
    }
    let syntaxes = fuzzing::syntaxes().len();
    for value in tricky_values().iter().filter(|v| v.len() < 64) {
        for pick in 0..syntaxes {
            let seed = [&[pick as u8][..], value.as_bytes()].concat();
            for _ in 0..8 {
                fuzzing::value_check(&rng.mutate(&seed, PATH_BYTES));
                runs += 1;
            }
        }
    }
    assert!(runs > 20_000, "only {runs} mutated inputs");
}

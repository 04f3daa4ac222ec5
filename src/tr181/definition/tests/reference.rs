//! The reverse direction of the reference checks: every object, parameter, command and
//! component of the two TR-181 2.19 client sections is in the definition with the same access
//! and syntax (enumerations included), and RDK-B's `X_RDKCENTRAL-COM_RcvOption.` object is ours
//! name for name.

use super::*;

/// Components the sections refer to whose definitions are not in the reference (the Stats
/// `Reset` command and parameter of TR-181 2.19); the definition does not model them.
const UNRESOLVED_COMPONENTS: [&str; 2] = ["ObjectStatsResetUSP", "ObjectStatsResetCWMP"];

#[test]
fn every_dhcpv4_reference_item_is_defined() {
    // Client: 16 parameters, Alias, Renew() and Renew; SentOption: 3 and Alias; ReqOption: 4
    // and Alias; Retransmission: 7; Stats: 11.
    assert_eq!(check_reference_is_covered(REFERENCE), 19 + 4 + 5 + 7 + 11);
}

#[test]
fn every_dhcpv6_reference_item_is_defined() {
    // Client: 16 parameters, Alias, Renew() and Renew; Server: 3; SentOption: 3 and Alias;
    // ReceivedOption: 3; Retransmission: 28; Stats: 13.
    assert_eq!(
        check_reference_is_covered(V6_REFERENCE),
        19 + 3 + 4 + 3 + 28 + 13
    );
}

/// Checks every item of the BBF `reference` section against the definition; returns how many
/// parameters, commands and resolved components it checked.
fn check_reference_is_covered(reference: &str) -> usize {
    let text = read_reference(reference);
    let wrapped = format!(
        r#"<section xmlns:dmr="urn:broadband-forum-org:cwmp:datamodel-report-0-1">{text}</section>"#
    );
    let reference = roxmltree::Document::parse(&wrapped).expect("reference parses");
    let builtin_doc = roxmltree::Document::parse(BUILTIN).expect("parses");
    let data_types = parse_data_types(builtin_doc.root_element()).expect("data types");
    let ours = builtin();
    let mut checked = 0;
    for fragment in elements(reference.root_element()).filter(|n| n.has_tag_name("object")) {
        let named = fragment.attribute("name");
        let path = named
            .or(fragment.attribute("base"))
            .expect("a reference object has a name or base");
        let object = ours
            .object(path)
            .unwrap_or_else(|| panic!("{path} is not in the definition"));
        if named.is_some() {
            assert_eq!(
                parse_access(fragment).expect("access"),
                object.access,
                "{path}"
            );
        }
        for child in elements(fragment) {
            match child.tag_name().name() {
                "parameter" => {
                    let name = required(child, "name").expect("name");
                    let param = object
                        .param(name)
                        .unwrap_or_else(|| panic!("{path}{name} is not in the definition"));
                    let syntax = elements(child)
                        .find(|n| n.has_tag_name("syntax"))
                        .expect("reference syntax");
                    let syntax = parse_syntax(syntax, &data_types).expect("syntax parses");
                    assert_eq!(
                        param.access,
                        parse_access(child).expect("access"),
                        "{path}{name}"
                    );
                    assert_eq!(param.syntax, syntax, "syntax of {path}{name}");
                    checked += 1;
                }
                "command" => {
                    let name = required(child, "name").expect("name");
                    assert!(
                        object.commands.iter().any(|c| c == name),
                        "{path}{name} is not in the definition"
                    );
                    checked += 1;
                }
                "component" => match child.attribute("ref") {
                    Some("Alias") => {
                        let alias = object.param("Alias").expect("Alias");
                        assert_eq!(alias.syntax.data_type.as_deref(), Some("Alias"), "{path}");
                        checked += 1;
                    }
                    Some(other) => assert!(
                        UNRESOLVED_COMPONENTS.contains(&other),
                        "{path}: component {other} is neither modelled nor known to be left out"
                    ),
                    None => panic!("{path}: a component without ref"),
                },
                _ => {}
            }
        }
    }
    checked
}

#[test]
fn rcv_option_is_rdk_s_object() {
    let text = read_reference(RDK_REFERENCE);
    let rdk = roxmltree::Document::parse(&text).expect("RDK data model parses");
    let rdk_object = rdk
        .descendants()
        .find(|n| {
            n.has_tag_name("object") && child_text(*n, "name") == Some("X_RDKCENTRAL-COM_RcvOption")
        })
        .expect("RDK has X_RDKCENTRAL-COM_RcvOption");
    let rdk_params: Vec<Node> = elements(rdk_object)
        .filter(|n| n.has_tag_name("parameters"))
        .flat_map(elements)
        .collect();
    let ours = builtin();
    let object = ours
        .object("Device.DHCPv6.Client.{i}.X_RDKCENTRAL-COM_RcvOption.")
        .expect("RcvOption object");
    assert_eq!(object.params.len(), rdk_params.len());
    assert_eq!(rdk_params.len(), 11);
    for theirs in rdk_params {
        let name = child_text(theirs, "name").expect("name");
        let param = object
            .param(name)
            .unwrap_or_else(|| panic!("RcvOption.{name} is not in the definition"));
        assert_eq!(
            param.syntax.base.as_str(),
            child_text(theirs, "type").expect("type"),
            "type of {name}"
        );
        // RDK's <writable> defaults to false; all of these are read-only.
        assert_eq!(child_text(theirs, "writable").unwrap_or("false"), "false");
        assert_eq!(param.access, Access::ReadOnly, "{name}");
    }
}

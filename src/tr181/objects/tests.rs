use super::*;

#[test]
fn object_paths() {
    let path = |p: &str| dbus_path(p).map(|p| p.to_string());
    assert_eq!(
        path("Device.DHCPv4.Client.1.SentOption.2.").as_deref(),
        Some("/org/dhcpmgr/Device/DHCPv4/Client/1/SentOption/2")
    );
    assert_eq!(
        path("Device.DHCPv4.Client.1.X_RDKCENTRAL-COM_RcvOption.").as_deref(),
        Some("/org/dhcpmgr/Device/DHCPv4/Client/1/X_RDKCENTRAL_COM_RcvOption")
    );
    assert_eq!(path("").as_deref(), Some("/org/dhcpmgr"));
    assert_eq!(path("Device..é.").as_deref(), Some("/org/dhcpmgr/Device/_"));
}

#[test]
fn member_names() {
    assert_eq!(member_name("DNSServers").as_deref(), Some("DNSServers"));
    assert_eq!(
        member_name("X_RDKCENTRAL-COM_RcvOption").as_deref(),
        Some("X_RDKCENTRAL_COM_RcvOption")
    );
    assert_eq!(member_name("6rd").as_deref(), Some("_6rd"));
    assert_eq!(member_name(""), None);
    assert_eq!(member_name(&"a".repeat(300)), None);
}

#[test]
fn colliding_names_keep_the_first() {
    let param = |name: &str| ParamView {
        name: name.into(),
        type_name: "string",
        value: String::new(),
        writable: false,
        volatile: false,
    };
    let view = ObjectView {
        path: "Device.X.".into(),
        params: vec![param("A-B"), param("A_B"), param("C")],
    };
    let names: Vec<_> = properties(&view).into_iter().map(|p| p.name).collect();
    assert_eq!(names, ["A-B", "C"]);
}

#[test]
fn changes_leave_out_volatile_values() {
    let param = |name: &str, value: &str, volatile| ParamView {
        name: name.into(),
        type_name: "string",
        value: value.into(),
        writable: false,
        volatile,
    };
    let before = ObjectView {
        path: "Device.X.".into(),
        params: vec![
            param("A", "1", false),
            param("B-C", "2", false),
            param("T", "9", true),
        ],
    };
    let after = ObjectView {
        path: "Device.X.".into(),
        params: vec![
            param("A", "1", false),
            param("B-C", "3", false),
            param("T", "8", true),
        ],
    };
    let properties = properties(&after);
    let old = published(&before);
    assert!(!old.contains_key("T"));
    assert_eq!(changed(&properties, &old, &after), [("B_C", "3")]);
    assert!(changed(&properties, &published(&after), &after).is_empty());
}

#[test]
fn faults_keep_their_cwmp_name() {
    let error = fault_error(Fault::new(
        FaultKind::NotWritable,
        "Device.X.Y is read-only",
    ));
    assert_eq!(
        error,
        fdo::Error::PropertyReadOnly(
            "org.dhcpmgr.Error.NotWritable: Device.X.Y is read-only (CWMP fault 9008)".into()
        )
    );
}

#[test]
fn escapes_annotation_values() {
    assert_eq!(xml_escape("a<b&\"c\""), "a&lt;b&amp;&quot;c&quot;");
    assert!(matches!(xml_escape("plain"), Cow::Borrowed("plain")));
}

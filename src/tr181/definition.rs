//! The data-model definition: `tr181/dhcpmgr.xml` (BBF XML style), compiled in and parsed once
//! at start into objects, parameters, syntaxes and commands. Every name, type, access and default
//! the TR-181 thread knows comes from here; nothing else in the daemon spells them out.

use std::collections::BTreeMap;

use roxmltree::Node;

/// The definition shipped with the daemon.
const BUILTIN: &str = include_str!("../../tr181/dhcpmgr.xml");

/// Namespace of dhcpmgr's own attributes in the definition (`dhcpmgr:writable`).
pub const EXTENSION_NS: &str = "urn:dhcpmgr:datamodel-extensions-1";

/// Why a definition could not be used. The message names the line and element.
#[derive(Debug, thiserror::Error)]
pub enum DefinitionError {
    #[error("data-model definition is not well-formed XML: {0}")]
    Xml(#[from] roxmltree::Error),
    #[error("data-model definition, line {line}, <{element}>: {message}")]
    Invalid {
        line: u32,
        element: String,
        message: String,
    },
}

/// BBF `access` of an object or parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    ReadOnly,
    ReadWrite,
    WriteOnceReadOnly,
}

/// TR-181 primitive type a parameter's value has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BaseType {
    Boolean,
    Int,
    UnsignedInt,
    String,
    /// Bytes as hex digits; `size` counts bytes.
    HexBinary,
}

impl BaseType {
    /// The type name reported with values (`GetParameterValues`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Boolean => "boolean",
            Self::Int => "int",
            Self::UnsignedInt => "unsignedInt",
            Self::String => "string",
            Self::HexBinary => "hexBinary",
        }
    }
}

/// A parameter's `<syntax>`, with named data types resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Syntax {
    pub base: BaseType,
    /// The named data type it refers to (`IPv4Address`, `Alias`).
    pub data_type: Option<String>,
    /// `Some` for a comma-separated list, with the list's maximum length in characters.
    pub list: Option<Option<u32>>,
    /// Maximum length of a string (of each item, for a list).
    pub max_length: Option<u32>,
    /// Inclusive range of a number.
    pub min: Option<i64>,
    pub max: Option<i64>,
    /// Allowed values of a string, when restricted.
    pub enumeration: Vec<String>,
    /// BBF default (`[]` is an empty list), as written in the definition.
    pub default: Option<String>,
}

impl Syntax {
    /// A value of `base` type with no facets.
    pub fn new(base: BaseType) -> Self {
        Self {
            base,
            data_type: None,
            list: None,
            max_length: None,
            min: None,
            max: None,
            enumeration: Vec::new(),
            default: None,
        }
    }
}

/// One `<parameter>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParamDef {
    pub name: String,
    /// Access as the standard defines it.
    pub access: Access,
    pub syntax: Syntax,
    /// Whether this build accepts writes (the access, less `dhcpmgr:writable="false"`).
    pub writable: bool,
    /// `activeNotify="canDeny"`: the value changes all the time and is left out of
    /// `ValuesChanged`.
    pub volatile: bool,
}

/// One `<object>`: a single object (`Device.DHCPv4.`) or a table (`Device.DHCPv4.Client.{i}.`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectDef {
    /// Path with `{i}` for instance numbers and a trailing dot.
    pub path: String,
    pub access: Access,
    /// Whether this build accepts AddObject/DeleteObject on the table.
    pub writable: bool,
    pub params: Vec<ParamDef>,
    /// Command names with their parentheses: `Renew()`.
    pub commands: Vec<String>,
}

impl ObjectDef {
    pub fn is_table(&self) -> bool {
        self.path.ends_with(".{i}.")
    }

    pub fn param(&self, name: &str) -> Option<&ParamDef> {
        self.params.iter().find(|p| p.name == name)
    }
}

/// The parsed definition: objects in document order, each after its parent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Definition {
    objects: Vec<ObjectDef>,
}

impl Definition {
    /// Parses the definition compiled into the daemon.
    pub fn builtin() -> Result<Self, DefinitionError> {
        Self::parse(BUILTIN)
    }

    /// Parses a definition document.
    pub fn parse(text: &str) -> Result<Self, DefinitionError> {
        let doc = roxmltree::Document::parse(text)?;
        let root = doc.root_element();
        if root.tag_name().name() != "document" {
            return Err(invalid(root, "the root element must be <dm:document>"));
        }
        let data_types = parse_data_types(root)?;
        let model = elements(root)
            .find(|n| n.has_tag_name("model"))
            .ok_or_else(|| invalid(root, "has no <model>"))?;
        let mut objects: Vec<ObjectDef> = Vec::new();
        for node in elements(model).filter(|n| n.has_tag_name("object")) {
            let object = parse_object(node, &data_types)?;
            let parent_known = match parent_path(&object.path) {
                None => object.path == "Device.",
                Some(parent) => objects.iter().any(|o| o.path == parent),
            };
            if !parent_known || objects.iter().any(|o| o.path == object.path) {
                return Err(invalid(
                    node,
                    &format!("{} must appear once, after its parent", object.path),
                ));
            }
            objects.push(object);
        }
        Ok(Self { objects })
    }

    pub fn objects(&self) -> &[ObjectDef] {
        &self.objects
    }

    /// The object at a definition path such as `Device.DHCPv4.Client.{i}.`.
    pub fn object(&self, path: &str) -> Option<&ObjectDef> {
        self.objects.iter().find(|o| o.path == path)
    }
}

/// Definition path of the parent of an object path: `Device.DHCPv4.` for both
/// `Device.DHCPv4.Client.{i}.` and `Device.DHCPv4.Foo.`; `None` for `Device.`.
pub fn parent_path(path: &str) -> Option<&str> {
    let trimmed = path.strip_suffix(".{i}.").unwrap_or(path);
    let trimmed = trimmed.strip_suffix('.').unwrap_or(trimmed);
    trimmed.rfind('.').map(|dot| &path[..=dot])
}

/// The named `<dataType>`s of a document.
fn parse_data_types(root: Node<'_, '_>) -> Result<BTreeMap<String, Syntax>, DefinitionError> {
    elements(root)
        .filter(|n| n.has_tag_name("dataType"))
        .map(|node| {
            let base = elements(node)
                .find(|n| !n.has_tag_name("description"))
                .ok_or_else(|| invalid(node, "has no type"))?;
            Ok((required(node, "name")?.to_string(), parse_base(base)?))
        })
        .collect()
}

fn parse_object(
    node: Node<'_, '_>,
    data_types: &BTreeMap<String, Syntax>,
) -> Result<ObjectDef, DefinitionError> {
    let path = required(node, "name")?;
    if !path.starts_with("Device.") || !path.ends_with('.') {
        return Err(invalid(node, "an object name is a path ending in '.'"));
    }
    let access = parse_access(node)?;
    let table = path.ends_with(".{i}.");
    let writable = table && access == Access::ReadWrite && !writes_refused(node)?;
    let mut params = Vec::new();
    let mut commands = Vec::new();
    for child in elements(node) {
        match child.tag_name().name() {
            "parameter" => params.push(parse_param(child, data_types)?),
            "command" => {
                let name = required(child, "name")?;
                if !name.ends_with("()") || name.len() < 3 {
                    return Err(invalid(child, "a command name ends in \"()\""));
                }
                commands.push(name.to_string());
            }
            "description" => {}
            other => {
                return Err(invalid(child, &format!("unsupported element <{other}>")));
            }
        }
    }
    Ok(ObjectDef {
        path: path.to_string(),
        access,
        writable,
        params,
        commands,
    })
}

fn parse_param(
    node: Node<'_, '_>,
    data_types: &BTreeMap<String, Syntax>,
) -> Result<ParamDef, DefinitionError> {
    let name = required(node, "name")?;
    let access = parse_access(node)?;
    let syntax = elements(node)
        .find(|n| n.has_tag_name("syntax"))
        .ok_or_else(|| invalid(node, "has no <syntax>"))?;
    Ok(ParamDef {
        name: name.to_string(),
        access,
        syntax: parse_syntax(syntax, data_types)?,
        writable: access != Access::ReadOnly && !writes_refused(node)?,
        volatile: node.attribute("activeNotify") == Some("canDeny"),
    })
}

/// Parses a `<syntax>` element: a type or a data-type reference, optionally a `<list>` and a
/// `<default>`.
fn parse_syntax(
    node: Node<'_, '_>,
    data_types: &BTreeMap<String, Syntax>,
) -> Result<Syntax, DefinitionError> {
    let mut syntax = None;
    let mut list = None;
    let mut default = None;
    for child in elements(node) {
        let typed = match child.tag_name().name() {
            "list" => {
                list = Some(max_length(child)?);
                continue;
            }
            "default" => {
                default = Some(required(child, "value")?.to_string());
                continue;
            }
            "dataType" => {
                let name = required(child, "ref")?;
                let mut resolved = data_types
                    .get(name)
                    .cloned()
                    .ok_or_else(|| invalid(child, &format!("unknown data type {name:?}")))?;
                resolved.data_type = Some(name.to_string());
                resolved
            }
            _ => parse_base(child)?,
        };
        if syntax.replace(typed).is_some() {
            return Err(invalid(node, "has more than one type"));
        }
    }
    let mut syntax = syntax.ok_or_else(|| invalid(node, "has no type"))?;
    syntax.list = list;
    syntax.default = default;
    Ok(syntax)
}

/// Parses a primitive type element with its facets (`<string><size maxLength="64"/></string>`).
fn parse_base(node: Node<'_, '_>) -> Result<Syntax, DefinitionError> {
    let base = match node.tag_name().name() {
        "boolean" => BaseType::Boolean,
        "int" => BaseType::Int,
        "unsignedInt" => BaseType::UnsignedInt,
        "string" => BaseType::String,
        "hexBinary" => BaseType::HexBinary,
        other => return Err(invalid(node, &format!("unsupported type <{other}>"))),
    };
    let mut syntax = Syntax::new(base);
    for facet in elements(node) {
        match facet.tag_name().name() {
            "size" => syntax.max_length = max_length_attr(facet)?,
            "range" => {
                syntax.min = number_attr(facet, "minInclusive")?;
                syntax.max = number_attr(facet, "maxInclusive")?;
            }
            "enumeration" => syntax
                .enumeration
                .push(required(facet, "value")?.to_string()),
            // Informational here: units for people, reference targets for the full model.
            "units" | "pathRef" => {}
            other => return Err(invalid(facet, &format!("unsupported facet <{other}>"))),
        }
    }
    Ok(syntax)
}

/// The `maxLength` of the `<size>` inside `node` (a `<list>`), if any.
fn max_length(node: Node<'_, '_>) -> Result<Option<u32>, DefinitionError> {
    match elements(node).find(|n| n.has_tag_name("size")) {
        Some(size) => max_length_attr(size),
        None => Ok(None),
    }
}

fn max_length_attr(size: Node<'_, '_>) -> Result<Option<u32>, DefinitionError> {
    number_attr(size, "maxLength")?
        .map(|n| u32::try_from(n).map_err(|_| invalid(size, "maxLength is out of range")))
        .transpose()
}

fn number_attr(node: Node<'_, '_>, name: &str) -> Result<Option<i64>, DefinitionError> {
    node.attribute(name)
        .map(|text| {
            text.parse()
                .map_err(|_| invalid(node, &format!("{name}={text:?} is not a number")))
        })
        .transpose()
}

fn parse_access(node: Node<'_, '_>) -> Result<Access, DefinitionError> {
    match required(node, "access")? {
        "readOnly" => Ok(Access::ReadOnly),
        "readWrite" => Ok(Access::ReadWrite),
        "writeOnceReadOnly" => Ok(Access::WriteOnceReadOnly),
        other => Err(invalid(node, &format!("unknown access {other:?}"))),
    }
}

/// `dhcpmgr:writable="false"`: the standard allows writes that this build refuses.
fn writes_refused(node: Node<'_, '_>) -> Result<bool, DefinitionError> {
    match node.attribute((EXTENSION_NS, "writable")) {
        None => Ok(false),
        Some("false") => Ok(true),
        Some(other) => Err(invalid(
            node,
            &format!("dhcpmgr:writable may only be \"false\", not {other:?}"),
        )),
    }
}

fn required<'a>(node: Node<'a, '_>, name: &str) -> Result<&'a str, DefinitionError> {
    node.attribute(name)
        .ok_or_else(|| invalid(node, &format!("has no {name} attribute")))
}

fn elements<'a, 'i>(node: Node<'a, 'i>) -> impl Iterator<Item = Node<'a, 'i>> {
    node.children().filter(Node::is_element)
}

fn invalid(node: Node<'_, '_>, message: &str) -> DefinitionError {
    DefinitionError::Invalid {
        line: node.document().text_pos_at(node.range().start).row,
        element: node.tag_name().name().to_string(),
        message: message.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CLIENT: &str = "Device.DHCPv4.Client.{i}.";

    fn builtin() -> Definition {
        Definition::builtin().expect("the compiled-in definition parses")
    }

    #[test]
    fn builtin_definition_has_the_client_table() {
        let def = builtin();
        let paths: Vec<&str> = def.objects().iter().map(|o| o.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "Device.",
                "Device.DHCPv4.",
                CLIENT,
                "Device.DHCPv6.",
                "Device.DHCPv6.Client.{i}."
            ]
        );
        let client = def.object(CLIENT).expect("client table");
        assert!(client.is_table());
        assert!(!client.writable, "rows come from the configuration");
        let names: Vec<&str> = client.params.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "Enable",
                "Alias",
                "Interface",
                "Status",
                "DHCPStatus",
                "IPAddress",
                "SubnetMask",
                "IPRouters",
                "DNSServers",
                "LeaseTimeRemaining",
                "DHCPServer",
                "X_RDK_LinuxInterface",
            ]
        );
        let writable: Vec<String> = def
            .objects()
            .iter()
            .flat_map(|o| {
                o.params
                    .iter()
                    .filter(|p| p.writable)
                    .map(move |p| format!("{}{}", o.path, p.name))
            })
            .collect();
        assert_eq!(
            writable,
            [
                "Device.DHCPv4.Client.{i}.Enable",
                "Device.DHCPv6.Client.{i}.Enable"
            ]
        );
        assert_eq!(
            client.commands,
            ["Renew()", "X_RDK_Release()", "X_RDK_Restart()"]
        );
    }

    #[test]
    fn builtin_syntaxes_resolve_data_types() {
        let def = builtin();
        let client = def.object(CLIENT).expect("client table");
        let routers = &client.param("IPRouters").expect("IPRouters").syntax;
        assert_eq!(routers.base, BaseType::String);
        assert_eq!(routers.list, Some(Some(256)));
        assert_eq!(routers.data_type.as_deref(), Some("IPv4Address"));
        assert_eq!(routers.max_length, Some(15));
        assert_eq!(routers.default.as_deref(), Some("[]"));
        let lease = client.param("LeaseTimeRemaining").expect("lease");
        assert_eq!(
            (lease.syntax.base, lease.syntax.min),
            (BaseType::Int, Some(-1))
        );
        assert!(lease.volatile);
        let alias = &client.param("Alias").expect("Alias").syntax;
        assert_eq!((alias.base, alias.max_length), (BaseType::String, Some(64)));
        let status = &client.param("Status").expect("Status").syntax;
        assert_eq!(
            status.enumeration,
            ["Disabled", "Enabled", "Error_Misconfigured", "Error"]
        );
    }

    #[test]
    fn parent_paths() {
        for (path, parent) in [
            ("Device.", None),
            ("Device.DHCPv4.", Some("Device.")),
            ("Device.DHCPv4.Client.{i}.", Some("Device.DHCPv4.")),
            (
                "Device.DHCPv4.Client.{i}.Stats.",
                Some("Device.DHCPv4.Client.{i}."),
            ),
        ] {
            assert_eq!(parent_path(path), parent, "{path}");
        }
    }

    fn doc(model: &str) -> String {
        format!(
            r#"<dm:document xmlns:dm="urn:broadband-forum-org:cwmp:datamodel-1-14"
                xmlns:dhcpmgr="{EXTENSION_NS}">
              <dataType name="Alias"><string><size maxLength="64"/></string></dataType>
              <model name="Device:2.19">
                <object name="Device." access="readOnly"/>
                {model}
              </model>
            </dm:document>"#
        )
    }

    fn param(syntax: &str) -> String {
        format!(
            r#"<object name="Device.X." access="readOnly">
                 <parameter name="P" access="readWrite"><syntax>{syntax}</syntax></parameter>
               </object>"#
        )
    }

    #[test]
    fn rejects_what_it_cannot_honour() {
        let cases = [
            ("<object", "not well-formed"),
            (&param("<dateTime/>"), "unsupported type <dateTime>"),
            (
                &param(r#"<dataType ref="MACAddress"/>"#),
                "unknown data type",
            ),
            (
                &param("<string><pattern value=\"x\"/></string>"),
                "unsupported facet",
            ),
            (
                &param("<int><range minInclusive=\"x\"/></int>"),
                "not a number",
            ),
            (&param("<boolean/><int/>"), "more than one type"),
            (&param(""), "has no type"),
            (
                r#"<object name="Device.X." access="sometimes"/>"#,
                "unknown access \"sometimes\"",
            ),
            (
                r#"<object name="Device.X.Y." access="readOnly"/>"#,
                "after its parent",
            ),
            (
                r#"<object name="Device.X." access="readOnly"><command name="Go"/></object>"#,
                "ends in \"()\"",
            ),
            (
                r#"<object name="Device.X." access="readOnly">
                     <parameter name="P" access="readWrite" dhcpmgr:writable="yes">
                       <syntax><boolean/></syntax></parameter></object>"#,
                "may only be \"false\"",
            ),
        ];
        for (model, expected) in cases {
            let text = if model.starts_with("<object name") {
                doc(model)
            } else {
                model.to_string()
            };
            let err = Definition::parse(&text).expect_err(model).to_string();
            assert!(err.contains(expected), "{model}: {err}");
        }
    }

    #[test]
    fn errors_name_the_line() {
        let err = Definition::parse(&doc(&param("<float/>"))).expect_err("float");
        assert!(
            matches!(err, DefinitionError::Invalid { line: 7, ref element, .. } if element == "float"),
            "{err}"
        );
    }

    #[test]
    fn writable_override_and_volatile() {
        let text = doc(
            r#"<object name="Device.T.{i}." access="readWrite" dhcpmgr:writable="false">
              <parameter name="A" access="readWrite" dhcpmgr:writable="false">
                <syntax><boolean/></syntax></parameter>
              <parameter name="B" access="readWrite"><syntax><boolean/></syntax></parameter>
              <parameter name="C" access="readOnly" activeNotify="canDeny">
                <syntax><unsignedInt/></syntax></parameter>
            </object>"#,
        );
        let def = Definition::parse(&text).expect("parses");
        let table = def.object("Device.T.{i}.").expect("table");
        assert!(!table.writable);
        let flags: Vec<(bool, bool)> = table
            .params
            .iter()
            .map(|p| (p.writable, p.volatile))
            .collect();
        assert_eq!(flags, [(false, false), (true, false), (false, true)]);
    }

    fn read_reference(path: &str) -> String {
        std::fs::read_to_string(path).unwrap_or_else(|e| {
            panic!(
                "this test needs the reference data model at {path} (shared/ beside the repo): {e}"
            )
        })
    }

    /// The BBF reference this definition copies from (TR-181 2.19, DHCPv4 client section).
    const REFERENCE: &str = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../shared/reference/tr181/tr181-2.19-DHCPv4.Client.section.xml"
    );

    /// Parameters that the reference brings in through `<component ref=…/>`, with the access
    /// and data type of the BBF component.
    const COMPONENTS: [(&str, Access, &str); 1] = [("Alias", Access::ReadWrite, "Alias")];

    #[test]
    fn standard_dhcpv4_parameters_match_the_bbf_reference() {
        check_against_reference(REFERENCE, CLIENT, "Device.DHCPv4.", 11);
    }

    #[test]
    fn standard_dhcpv6_parameters_match_the_bbf_reference() {
        check_against_reference(V6_REFERENCE, V6_CLIENT, "Device.DHCPv6.", 11);
    }

    /// The BBF reference of the DHCPv6 client section.
    const V6_REFERENCE: &str = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../shared/reference/tr181/tr181-2.19-DHCPv6.Client.section.xml"
    );
    const V6_CLIENT: &str = "Device.DHCPv6.Client.{i}.";

    /// Checks every standard parameter and command of our `client` table (and the entry count
    /// in `parent`) against the BBF `reference` section, name by name.
    fn check_against_reference(reference: &str, client_path: &str, parent: &str, expected: usize) {
        let text = read_reference(reference);
        // The section is a run of <object> fragments: give it a root and the dmr namespace.
        let wrapped = format!(
            r#"<section xmlns:dmr="urn:broadband-forum-org:cwmp:datamodel-report-0-1">{text}</section>"#
        );
        let reference = roxmltree::Document::parse(&wrapped).expect("reference parses");
        let ours = builtin();
        let builtin = roxmltree::Document::parse(BUILTIN).expect("parses");
        let data_types = parse_data_types(builtin.root_element()).expect("data types");
        let client = ours.object(client_path).expect("client table");
        let fragments: Vec<Node> = reference
            .root_element()
            .children()
            .filter(|n| {
                n.has_tag_name("object")
                    && (n.attribute("name") == Some(client_path)
                        || n.attribute("base") == Some(client_path))
            })
            .collect();
        let table = fragments
            .iter()
            .find(|n| n.attribute("name") == Some(client_path))
            .expect("the reference defines the client table");
        assert_eq!(parse_access(*table).expect("access"), client.access);
        let entries = table
            .attribute("numEntriesParameter")
            .expect("numEntriesParameter");
        let count = ours
            .object(parent)
            .and_then(|o| o.param(entries))
            .expect("our Device.DHCPv4. has the table's entry count");
        assert_eq!(
            (count.access, count.syntax.base),
            (Access::ReadOnly, BaseType::UnsignedInt)
        );

        let mut checked = 0;
        for ours in client.params.iter().filter(|p| !p.name.starts_with("X_")) {
            let found = fragments
                .iter()
                .flat_map(|f| elements(*f))
                .find(|n| n.has_tag_name("parameter") && n.attribute("name") == Some(&ours.name));
            let (access, syntax, volatile) = match found {
                Some(theirs) => {
                    let syntax = elements(theirs).find(|n| n.has_tag_name("syntax"));
                    (
                        parse_access(theirs).expect("reference access"),
                        parse_syntax(syntax.expect("reference syntax"), &data_types)
                            .expect("reference syntax parses"),
                        theirs.attribute("activeNotify") == Some("canDeny"),
                    )
                }
                None => {
                    let (_, access, data_type) = COMPONENTS
                        .iter()
                        .find(|(name, ..)| *name == ours.name)
                        .unwrap_or_else(|| panic!("{} is not in the BBF reference", ours.name));
                    let component = elements(*table).any(|n| {
                        n.has_tag_name("component") && n.attribute("ref") == Some(&ours.name)
                    });
                    assert!(
                        component,
                        "{} is not a component of the reference table",
                        ours.name
                    );
                    let mut syntax = data_types[*data_type].clone();
                    syntax.data_type = Some(data_type.to_string());
                    (*access, syntax, false)
                }
            };
            assert_eq!(ours.access, access, "access of {}", ours.name);
            assert_eq!(ours.syntax, syntax, "syntax of {}", ours.name);
            assert_eq!(ours.volatile, volatile, "activeNotify of {}", ours.name);
            checked += 1;
        }
        assert_eq!(checked, expected);
        for command in client.commands.iter().filter(|c| !c.starts_with("X_")) {
            let found = fragments
                .iter()
                .flat_map(|f| elements(*f))
                .any(|n| n.has_tag_name("command") && n.attribute("name") == Some(command));
            assert!(found, "{command} is not in the BBF reference");
        }
    }

    /// RDK-B's DHCP Manager data model, where the X_RDK_* names come from.
    const RDK_REFERENCE: &str = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../shared/reference/tr181/rdkb-dhcp-manager-TR181-DHCPMgr.XML"
    );

    fn child_text<'a>(node: Node<'a, '_>, tag: &str) -> Option<&'a str> {
        elements(node)
            .find(|n| n.has_tag_name(tag))
            .and_then(|n| n.text())
    }

    #[test]
    fn vendor_names_are_rdk_dhcp_manager_parameters() {
        check_vendor_names("DHCPv4", CLIENT);
        check_vendor_names("DHCPv6", "Device.DHCPv6.Client.{i}.");
    }

    /// Every `X_*` parameter and command of our `client_path` table is a parameter of RDK's
    /// `Device.<family>.Client` object.
    fn check_vendor_names(family: &str, client_path: &str) {
        let text = read_reference(RDK_REFERENCE);
        let rdk = roxmltree::Document::parse(&text).expect("RDK data model parses");
        let is_object =
            |n: &Node, name| n.has_tag_name("object") && child_text(*n, "name") == Some(name);
        let rdk_client = rdk
            .descendants()
            .find(|n| {
                is_object(n, "Client") && n.ancestors().skip(1).any(|a| is_object(&a, family))
            })
            .unwrap_or_else(|| panic!("RDK data model has Device.{family}.Client"));
        let rdk_names: Vec<&str> = elements(rdk_client)
            .filter(|n| n.has_tag_name("parameters"))
            .flat_map(elements)
            .filter_map(|p| child_text(p, "name"))
            .collect();
        let ours = builtin();
        let client = ours.object(client_path).expect("client table");
        let vendor = client
            .params
            .iter()
            .map(|p| p.name.as_str())
            .chain(client.commands.iter().map(|c| c.trim_end_matches("()")))
            .filter(|name| name.starts_with("X_"));
        for name in vendor {
            assert!(
                rdk_names.contains(&name),
                "{name} is not an RDK {family} client parameter"
            );
        }
    }
}

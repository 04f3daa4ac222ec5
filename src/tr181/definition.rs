//! The data-model definition: `tr181/dhcpmgr.xml` (BBF XML style), compiled in and parsed once
//! at start into objects, parameters, syntaxes and commands. Every name, type, access and default
//! the TR-181 thread knows comes from here; nothing else in the daemon spells them out.

use std::collections::BTreeMap;

use roxmltree::Node;

/// The definition shipped with the daemon.
const BUILTIN: &str = include_str!("../../tr181/dhcpmgr.xml");

/// Namespace of dhcpmgr's own attributes in the definition (`dhcpmgr:writable`,
/// `dhcpmgr:fixed`, `dhcpmgr:fixedReason`).
pub const EXTENSION_NS: &str = "urn:dhcpmgr:datamodel-extensions-1";

/// Why a definition could not be used. The message names the line and element.
#[derive(Debug, thiserror::Error)]
pub enum DefinitionError {
    /// The document is not well-formed XML; roxmltree's error gives the position.
    #[error("data-model definition is not well-formed XML: {0}")]
    Xml(#[from] roxmltree::Error),
    /// Well-formed XML that is not a definition this daemon can serve: a missing attribute, an
    /// unknown type or facet, an object before its parent, a `dhcpmgr:fixed` value its syntax
    /// refuses.
    #[error("data-model definition, line {line}, <{element}>: {message}")]
    Invalid {
        /// The 1-based line of the element's start tag.
        line: u32,
        /// The element's local name (`object`, `parameter`, `syntax`, …).
        element: String,
        /// What is wrong with it.
        message: String,
    },
}

/// BBF `access` of an object or parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// `readOnly`: no ACS or bus user may write it (a write is refused with 9008).
    ReadOnly,
    /// `readWrite`: writable, unless `dhcpmgr:writable="false"` says this build refuses it.
    ReadWrite,
    /// `writeOnceReadOnly`: BBF's "may be set once"; treated as `ReadWrite` here (no
    /// parameter of the shipped definition has it).
    WriteOnceReadOnly,
}

/// TR-181 primitive type a parameter's value has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BaseType {
    /// `boolean`: `true`/`false` (`1`/`0` accepted on writes).
    Boolean,
    /// `int`: 32-bit signed.
    Int,
    /// `unsignedInt`: 32-bit unsigned.
    UnsignedInt,
    /// 64-bit unsigned (`StatsCounter64`).
    UnsignedLong,
    /// `string`, with the facets of [`Syntax`] (length, enumeration).
    String,
    /// Bytes as hex digits; `size` counts bytes.
    HexBinary,
    /// UTC time as `YYYY-MM-DDThh:mm:ssZ` (`0001-01-01T00:00:00Z` is the Unknown Time).
    DateTime,
}

impl BaseType {
    /// The type name reported with values (`GetParameterValues`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Boolean => "boolean",
            Self::Int => "int",
            Self::UnsignedInt => "unsignedInt",
            Self::UnsignedLong => "unsignedLong",
            Self::String => "string",
            Self::HexBinary => "hexBinary",
            Self::DateTime => "dateTime",
        }
    }
}

/// A parameter's `<syntax>`, with named data types resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Syntax {
    /// The primitive type (of each item, for a list), after resolving [`Syntax::data_type`].
    pub base: BaseType,
    /// The named data type it refers to (`IPv4Address`, `Alias`).
    pub data_type: Option<String>,
    /// `Some` for a comma-separated list, with the list's maximum length in characters.
    pub list: Option<Option<u32>>,
    /// Maximum length of a string (of each item, for a list).
    pub max_length: Option<u32>,
    /// Smallest value of a number (`<range minInclusive>`); `None`: only the type's bound.
    pub min: Option<i64>,
    /// Largest value of a number (`<range maxInclusive>`); `None`: only the type's bound.
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
    /// The parameter's name within its object, without a dot: `Enable`, `IPAddress`.
    pub name: String,
    /// Access as the standard defines it.
    pub access: Access,
    /// The type and facets every value read or written must satisfy.
    pub syntax: Syntax,
    /// Whether this build accepts writes (the access, less `dhcpmgr:writable="false"`).
    pub writable: bool,
    /// `activeNotify="canDeny"`: the value changes all the time and is left out of
    /// `ValuesChanged`.
    pub volatile: bool,
    /// `dhcpmgr:fixed`: the only value the DHCP client can have (canonical form); reads give it,
    /// writing it is a no-op, other values are refused with [`ParamDef::fixed_reason`].
    pub fixed: Option<String>,
    /// `dhcpmgr:fixedReason` (of the parameter, else of its object): why the value is fixed.
    pub fixed_reason: Option<String>,
}

/// One `<object>`: a single object (`Device.DHCPv4.`) or a table (`Device.DHCPv4.Client.{i}.`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectDef {
    /// Path with `{i}` for instance numbers and a trailing dot.
    pub path: String,
    /// Access as the standard defines it (`readWrite` on a table allows AddObject/DeleteObject).
    pub access: Access,
    /// Whether this build accepts AddObject/DeleteObject on the table.
    pub writable: bool,
    /// `minEntries`: the fewest rows the table may have (DeleteObject stops there).
    pub min_entries: usize,
    /// The object's parameters, in document order.
    pub params: Vec<ParamDef>,
    /// Command names with their parentheses: `Renew()`.
    pub commands: Vec<String>,
}

impl ObjectDef {
    /// Whether this is a multi-instance table: its path ends in `.{i}.`.
    pub fn is_table(&self) -> bool {
        self.path.ends_with(".{i}.")
    }

    /// The parameter called `name` (no dot), if the object has one.
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

    /// Every object, in document order (each after its parent).
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
    let min_entries = match node.attribute("minEntries") {
        None => 0,
        Some(text) => text
            .parse()
            .map_err(|_| invalid(node, "minEntries is not a number"))?,
    };
    let mut params = Vec::new();
    let mut commands = Vec::new();
    for child in elements(node) {
        match child.tag_name().name() {
            "parameter" => params.push(parse_param(child, data_types, fixed_reason(node))?),
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
        min_entries,
        params,
        commands,
    })
}

fn parse_param(
    node: Node<'_, '_>,
    data_types: &BTreeMap<String, Syntax>,
    object_reason: Option<&str>,
) -> Result<ParamDef, DefinitionError> {
    let name = required(node, "name")?;
    let access = parse_access(node)?;
    let syntax = elements(node)
        .find(|n| n.has_tag_name("syntax"))
        .ok_or_else(|| invalid(node, "has no <syntax>"))?;
    let syntax = parse_syntax(syntax, data_types)?;
    let fixed_reason = fixed_reason(node).or(object_reason).map(str::to_string);
    let fixed = match node.attribute((EXTENSION_NS, "fixed")) {
        None => None,
        Some(_) if access == Access::ReadOnly => {
            return Err(invalid(node, "dhcpmgr:fixed is for writable parameters"))
        }
        Some(_) if fixed_reason.is_none() => {
            return Err(invalid(node, "dhcpmgr:fixed needs a dhcpmgr:fixedReason"))
        }
        Some(value) => Some(
            super::value::check(name, &syntax, value)
                .map_err(|f| invalid(node, &format!("dhcpmgr:fixed: {}", f.message)))?,
        ),
    };
    Ok(ParamDef {
        name: name.to_string(),
        access,
        syntax,
        writable: access != Access::ReadOnly && !writes_refused(node)?,
        volatile: node.attribute("activeNotify") == Some("canDeny"),
        fixed,
        fixed_reason,
    })
}

/// `dhcpmgr:fixedReason` of a parameter or object.
fn fixed_reason<'a>(node: Node<'a, '_>) -> Option<&'a str> {
    node.attribute((EXTENSION_NS, "fixedReason"))
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
        "unsignedLong" => BaseType::UnsignedLong,
        "string" => BaseType::String,
        "hexBinary" => BaseType::HexBinary,
        "dateTime" => BaseType::DateTime,
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
mod tests;

//! The `[rbus]` section of the configuration: whether the RBUS front end runs, the component
//! name it opens the bus as, and the `LeaseInfo` layout its lease events carry.

use serde::Deserialize;

/// The component name RDK-B's CCSP wrappers address the C DHCP manager by
/// (`DHCPMGR_COMPONENT_NAME` in WAN Manager).
pub(crate) const DEFAULT_COMPONENT: &str = "eRT.com.cisco.spvtg.ccsp.dhcpmgr";

/// Which C header version `LeaseInfo` is laid out like (docs/rbus.md has the layouts).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum LeaseInfoVersion {
    /// `DHCP_MGR_IPV4_MSG` of 372 bytes and `DHCP_MGR_IPV6_MSG` of 912 bytes (x86-64 and
    /// 32-bit ARM alike): the published header whose v4 fields are exactly those WAN Manager
    /// (main, 2025-07) copies out of the event.
    #[serde(rename = "v1")]
    V1,
}

/// What the TR-181 thread takes from `[rbus]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RbusSettings {
    /// Serve the data model on RBUS as well as on D-Bus.
    pub enable: bool,
    /// Component name for `rbus_open`.
    pub component: String,
    /// The C header layout of the `LeaseInfo` bytes in lease events (`lease_info = "v1"`).
    pub lease_info: LeaseInfoVersion,
}

impl Default for RbusSettings {
    fn default() -> Self {
        Self {
            enable: false,
            component: DEFAULT_COMPONENT.into(),
            lease_info: LeaseInfoVersion::V1,
        }
    }
}

/// `[rbus]` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawRbus {
    pub enable: bool,
    pub component: String,
    pub lease_info: LeaseInfoVersion,
}

impl Default for RawRbus {
    fn default() -> Self {
        let d = RbusSettings::default();
        Self {
            enable: d.enable,
            component: d.component,
            lease_info: d.lease_info,
        }
    }
}

impl RawRbus {
    /// The validated settings, or why the section is refused (key, reason).
    pub fn validate(self) -> Result<RbusSettings, (&'static str, String)> {
        let name_ok = !self.component.is_empty()
            && self.component.len() < 256
            && self
                .component
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
        if !name_ok {
            return Err((
                "rbus.component",
                "must be 1-255 characters of letters, digits, '.', '_' and '-'".into(),
            ));
        }
        if self.enable && !cfg!(feature = "rbus") {
            return Err((
                "rbus.enable",
                "this dhcpmgr was built without the \"rbus\" feature".into(),
            ));
        }
        Ok(RbusSettings {
            enable: self.enable,
            component: self.component,
            lease_info: self.lease_info,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<RbusSettings, (&'static str, String)> {
        toml::from_str::<RawRbus>(text)
            .map_err(|e| ("toml", e.to_string()))?
            .validate()
    }

    #[test]
    fn defaults_to_off_as_the_c_managers_component() {
        let s = parse("").unwrap();
        assert_eq!(s, RbusSettings::default());
        assert!(!s.enable);
        assert_eq!(s.component, "eRT.com.cisco.spvtg.ccsp.dhcpmgr");
    }

    #[test]
    fn takes_enable_component_and_layout() {
        let s = parse("enable = true\ncomponent = \"DHCPMANAGER\"\nlease_info = \"v1\"").unwrap();
        assert!(s.enable);
        assert_eq!(s.component, "DHCPMANAGER");
        assert_eq!(s.lease_info, LeaseInfoVersion::V1);
    }

    #[test]
    fn refuses_bad_names_and_layouts() {
        assert_eq!(
            parse("component = \"a b\"").unwrap_err().0,
            "rbus.component"
        );
        assert_eq!(parse("component = \"\"").unwrap_err().0, "rbus.component");
        assert!(parse("lease_info = \"v9\"").is_err());
        assert!(parse("bogus = 1").is_err());
    }
}

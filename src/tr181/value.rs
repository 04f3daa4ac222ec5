//! Checking a value written in TR-181 string form against a parameter's syntax, and bringing it
//! to canonical form (`1` → `true`, lists without blanks). Faults name the parameter.

use std::net::Ipv4Addr;

use super::definition::{BaseType, Syntax};
use super::fault::{Fault, FaultKind};

/// Checks `value` for parameter `name` and returns its canonical form.
pub fn check(name: &str, syntax: &Syntax, value: &str) -> Result<String, Fault> {
    let Some(list_max) = syntax.list else {
        return check_item(name, syntax, value);
    };
    if let Some(max) = list_max {
        if value.chars().count() > max as usize {
            return Err(invalid_value(
                name,
                format!("the list is longer than {max} characters"),
            ));
        }
    }
    if value.trim().is_empty() {
        return Ok(String::new());
    }
    let items = value
        .split(',')
        .map(|item| check_item(name, syntax, item.trim()))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(items.join(","))
}

fn check_item(name: &str, syntax: &Syntax, value: &str) -> Result<String, Fault> {
    let wrong_type = || {
        Fault::new(
            FaultKind::InvalidParameterType,
            format!("{name}: {value:?} is not of type {}", syntax.base.as_str()),
        )
    };
    match syntax.base {
        BaseType::Boolean => match value {
            "true" | "1" => Ok("true".to_string()),
            "false" | "0" => Ok("false".to_string()),
            _ => Err(wrong_type()),
        },
        BaseType::Int => {
            let n: i32 = value.parse().map_err(|_| wrong_type())?;
            check_range(name, syntax, n.into())
        }
        BaseType::UnsignedInt => {
            let n: u32 = value.parse().map_err(|_| wrong_type())?;
            check_range(name, syntax, n.into())
        }
        BaseType::UnsignedLong => {
            let n: u64 = value.parse().map_err(|_| wrong_type())?;
            Ok(n.to_string())
        }
        BaseType::DateTime => is_date_time(value)
            .then(|| value.to_string())
            .ok_or_else(wrong_type),
        BaseType::HexBinary => check_hex(name, syntax, value),
        BaseType::String => {
            if let Some(max) = syntax.max_length {
                if value.chars().count() > max as usize {
                    return Err(invalid_value(name, format!("longer than {max} characters")));
                }
            }
            if !syntax.enumeration.is_empty() && !syntax.enumeration.iter().any(|e| e == value) {
                return Err(invalid_value(
                    name,
                    format!("{value:?} is not one of {}", syntax.enumeration.join(", ")),
                ));
            }
            let ipv4 = syntax.data_type.as_deref() == Some("IPv4Address");
            if ipv4 && !value.is_empty() && value.parse::<Ipv4Addr>().is_err() {
                return Err(invalid_value(
                    name,
                    format!("{value:?} is not an IPv4 address"),
                ));
            }
            Ok(value.to_string())
        }
    }
}

/// dateTime in the UTC form this daemon writes: `YYYY-MM-DDThh:mm:ssZ`, fields in range.
pub fn is_date_time(value: &str) -> bool {
    let b = value.as_bytes();
    let digits = |range: std::ops::Range<usize>| {
        b.get(range.clone())
            .filter(|d| d.iter().all(u8::is_ascii_digit))
            .and_then(|_| value[range].parse::<u32>().ok())
    };
    let shape = b.len() == 20
        && b[4] == b'-'
        && b[7] == b'-'
        && b[10] == b'T'
        && b[13] == b':'
        && b[16] == b':'
        && b[19] == b'Z';
    shape
        && digits(0..4).is_some()
        && digits(5..7).is_some_and(|m| (1..=12).contains(&m))
        && digits(8..10).is_some_and(|d| (1..=31).contains(&d))
        && digits(11..13).is_some_and(|h| h < 24)
        && digits(14..16).is_some_and(|m| m < 60)
        && digits(17..19).is_some_and(|s| s < 60)
}

/// hexBinary: hex digits, either case, written back in lowercase; `size` counts bytes.
fn check_hex(name: &str, syntax: &Syntax, value: &str) -> Result<String, Fault> {
    if value.len() % 2 != 0 || !value.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(Fault::new(
            FaultKind::InvalidParameterType,
            format!("{name}: {value:?} is not of type hexBinary (an even number of hex digits)"),
        ));
    }
    if let Some(max) = syntax.max_length {
        if value.len() / 2 > max as usize {
            return Err(invalid_value(name, format!("longer than {max} bytes")));
        }
    }
    Ok(value.to_ascii_lowercase())
}

fn check_range(name: &str, syntax: &Syntax, n: i64) -> Result<String, Fault> {
    let below = syntax.min.is_some_and(|min| n < min);
    let above = syntax.max.is_some_and(|max| n > max);
    if below || above {
        let bound = |b: Option<i64>| b.map_or(String::from("…"), |b| b.to_string());
        return Err(invalid_value(
            name,
            format!(
                "{n} is outside {}..{}",
                bound(syntax.min),
                bound(syntax.max)
            ),
        ));
    }
    Ok(n.to_string())
}

fn invalid_value(name: &str, why: String) -> Fault {
    Fault::new(FaultKind::InvalidParameterValue, format!("{name}: {why}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn syntax(base: BaseType) -> Syntax {
        Syntax::new(base)
    }

    #[test]
    fn values_are_checked_and_made_canonical() {
        let boolean = syntax(BaseType::Boolean);
        let dscp = Syntax {
            min: Some(0),
            max: Some(63),
            ..syntax(BaseType::UnsignedInt)
        };
        let lease = Syntax {
            min: Some(-1),
            ..syntax(BaseType::Int)
        };
        let status = Syntax {
            enumeration: vec!["Enabled".into(), "Disabled".into()],
            ..syntax(BaseType::String)
        };
        let alias = Syntax {
            max_length: Some(4),
            ..syntax(BaseType::String)
        };
        let ipv4 = Syntax {
            data_type: Some("IPv4Address".into()),
            ..syntax(BaseType::String)
        };
        let ipv4_list = Syntax {
            list: Some(Some(20)),
            ..ipv4.clone()
        };
        let duid = Syntax {
            max_length: Some(2),
            ..syntax(BaseType::HexBinary)
        };
        use FaultKind::{InvalidParameterType as Type, InvalidParameterValue as Value};
        let counter = syntax(BaseType::UnsignedLong);
        let time = syntax(BaseType::DateTime);
        let cases: [(&Syntax, &str, Result<&str, FaultKind>); 30] = [
            (&counter, "18446744073709551615", Ok("18446744073709551615")),
            (&counter, "-1", Err(Type)),
            (&time, "0001-01-01T00:00:00Z", Ok("0001-01-01T00:00:00Z")),
            (&time, "9999-12-31T23:59:59Z", Ok("9999-12-31T23:59:59Z")),
            (&time, "2024-13-01T00:00:00Z", Err(Type)),
            (&time, "2024-01-01 00:00:00", Err(Type)),
            (&duid, "0A1b", Ok("0a1b")),
            (&duid, "0a1", Err(Type)),
            (&duid, "0g", Err(Type)),
            (&duid, "0a1b2c", Err(Value)),
            (&boolean, "true", Ok("true")),
            (&boolean, "1", Ok("true")),
            (&boolean, "0", Ok("false")),
            (&boolean, "yes", Err(Type)),
            (&boolean, "", Err(Type)),
            (&dscp, "63", Ok("63")),
            (&dscp, "64", Err(Value)),
            (&dscp, "-1", Err(Type)),
            (&lease, "-1", Ok("-1")),
            (&lease, "-2", Err(Value)),
            (&lease, "1.5", Err(Type)),
            (&status, "Enabled", Ok("Enabled")),
            (&status, "enabled", Err(Value)),
            (&alias, "wan1", Ok("wan1")),
            (&alias, "wan12", Err(Value)),
            (&ipv4, "", Ok("")),
            (&ipv4, "192.0.2.300", Err(Value)),
            (
                &ipv4_list,
                "192.0.2.1, 192.0.2.2",
                Ok("192.0.2.1,192.0.2.2"),
            ),
            (&ipv4_list, "192.0.2.1,192.0.2.2,192.0.2.3", Err(Value)),
            (&ipv4_list, "", Ok("")),
        ];
        for (syntax, value, expected) in cases {
            let got = check("Device.X.P", syntax, value).map_err(|f| {
                assert!(f.message.starts_with("Device.X.P: "), "{f}");
                f.kind
            });
            assert_eq!(
                got.as_deref(),
                expected.as_deref(),
                "{value:?} as {syntax:?}"
            );
        }
    }
}

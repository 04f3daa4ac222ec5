//! The colon-hex text dibbler-client hands its script for options it keeps as generic
//! (`SRV_OPTION95=00:59:00:15:…`: the option payload, lowercase, one octet per group).

use super::error::S46Error;

/// The bytes of `text`: octets of exactly two hex digits (either case) separated by single
/// colons. Surrounding ASCII whitespace is ignored (dibbler pads some values with a trailing
/// space); empty text is an empty payload.
pub fn parse_colon_hex(text: &str) -> Result<Vec<u8>, S46Error> {
    let text = text.trim_ascii();
    if text.is_empty() {
        return Ok(Vec::new());
    }
    text.split(':')
        .enumerate()
        .map(|(index, group)| match group.as_bytes() {
            [hi, lo] => match (hex_digit(*hi), hex_digit(*lo)) {
                (Some(hi), Some(lo)) => Ok(hi << 4 | lo),
                _ => Err(S46Error::Hex {
                    index,
                    reason: "not a hex digit",
                }),
            },
            [] => Err(S46Error::Hex {
                index,
                reason: "empty octet",
            }),
            _ => Err(S46Error::Hex {
                index,
                reason: "an octet must be exactly two hex digits",
            }),
        })
        .collect()
}

fn hex_digit(c: u8) -> Option<u8> {
    char::from(c)
        .to_digit(16)
        .and_then(|d| u8::try_from(d).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn s46_colon_hex() {
        assert_eq!(
            parse_colon_hex("00:59:0a:FF").unwrap(),
            [0, 0x59, 0x0a, 0xff]
        );
        assert_eq!(parse_colon_hex(" 5b \n").unwrap(), [0x5b]);
        assert_eq!(parse_colon_hex("").unwrap(), Vec::<u8>::new());
        for (bad, index) in [
            ("00:5", 1),
            ("00::59", 1),
            ("00:59:", 2),
            ("0059", 0),
            ("00:g9", 1),
            ("00 59", 0),
            ("é0", 0),
            (":00", 0),
        ] {
            assert!(
                matches!(parse_colon_hex(bad), Err(S46Error::Hex { index: i, .. }) if i == index),
                "{bad:?}"
            );
        }
    }
}

//! The page, embedded at build time: plain HTML, CSS and JavaScript (no framework, no build
//! step, nothing fetched from elsewhere).

use crate::web::http::Asset;

const PAGE: &str = include_str!("../../page/index.html");
const SCRIPT: &str = include_str!("../../page/app.js");
const STYLE: &str = include_str!("../../page/app.css");

/// The asset's content type and body.
pub(crate) fn asset(asset: Asset) -> (&'static str, &'static [u8]) {
    match asset {
        Asset::Page => ("text/html; charset=utf-8", PAGE.as_bytes()),
        Asset::Script => ("text/javascript; charset=utf-8", SCRIPT.as_bytes()),
        Asset::Style => ("text/css; charset=utf-8", STYLE.as_bytes()),
    }
}

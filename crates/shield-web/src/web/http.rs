//! The HTTP/1.1 this server needs, and nothing more: parsing a request head (httparse) into a
//! [`Head`], choosing a [`Route`], and writing the few responses (the embedded page, 401, 404,
//! 405, 400, 503, and the WebSocket upgrade's 101). Pure, so every refusal is tested apart
//! from sockets.

use tokio_tungstenite::tungstenite::handshake::derive_accept_key;

/// The largest request head accepted.
pub(crate) const MAX_HEAD: usize = 8 * 1024;
const MAX_HEADERS: usize = 32;

/// The WebSocket endpoint's path (`shield-dhcp-stream.txt`).
pub(crate) const EVENTS_PATH: &str = "/api/ws/dhcp-events";
/// Answers 204 for a good token and 401 otherwise, so the page can tell a wrong token apart
/// from a network failure (a browser does not show a refused WebSocket's status).
pub(crate) const AUTH_PATH: &str = "/api/auth";
/// The query parameter carrying the token.
pub(crate) const TOKEN_PARAM: &str = "token";

/// Why a request head was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum HttpError {
    #[error("malformed request: {0}")]
    Malformed(String),
    #[error("request head larger than {MAX_HEAD} bytes")]
    TooLarge,
}

/// The parts of a request this server looks at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Head {
    pub method: String,
    pub path: String,
    pub query: Option<String>,
    pub upgrade_websocket: bool,
    pub websocket_key: Option<String>,
    pub websocket_version: Option<String>,
}

/// Parses `buf`; `Ok(None)` while the head is incomplete, else the head and its length.
pub(crate) fn parse_head(buf: &[u8]) -> Result<Option<(Head, usize)>, HttpError> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut req = httparse::Request::new(&mut headers);
    let len = match req.parse(buf) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) if buf.len() >= MAX_HEAD => return Err(HttpError::TooLarge),
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(e) => return Err(HttpError::Malformed(e.to_string())),
    };
    if len > MAX_HEAD {
        return Err(HttpError::TooLarge);
    }
    let target = req.path.unwrap_or("/");
    let (path, query) = match target.split_once('?') {
        Some((p, q)) => (p, Some(q.to_string())),
        None => (target, None),
    };
    let header = |name: &str| {
        req.headers
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case(name))
            .and_then(|h| std::str::from_utf8(h.value).ok())
            .map(str::trim)
    };
    let has_token = |name: &str, token: &str| {
        header(name).is_some_and(|v| v.split(',').any(|t| t.trim().eq_ignore_ascii_case(token)))
    };
    let upgrade_websocket = has_token("upgrade", "websocket") && has_token("connection", "upgrade");
    Ok(Some((
        Head {
            method: req.method.unwrap_or("").to_string(),
            path: path.to_string(),
            query,
            upgrade_websocket,
            websocket_key: header("sec-websocket-key").map(str::to_string),
            websocket_version: header("sec-websocket-version").map(str::to_string),
        },
        len,
    )))
}

/// The embedded files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Asset {
    Page,
    Script,
    Style,
}

/// What a request asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Route {
    Asset(Asset),
    Auth,
    Events,
    NotFound,
    MethodNotAllowed,
}

/// The route of `head`: GET only, the page's three files, the auth probe and the WebSocket.
pub(crate) fn route(head: &Head) -> Route {
    let route = match head.path.as_str() {
        "/" | "/index.html" => Route::Asset(Asset::Page),
        "/app.js" => Route::Asset(Asset::Script),
        "/app.css" => Route::Asset(Asset::Style),
        AUTH_PATH => Route::Auth,
        EVENTS_PATH => Route::Events,
        _ => return Route::NotFound,
    };
    if head.method == "GET" {
        route
    } else {
        Route::MethodNotAllowed
    }
}

/// The value of query parameter `name` (percent-decoded), if present.
pub(crate) fn query_param(query: Option<&str>, name: &str) -> Option<String> {
    query?
        .split('&')
        .filter_map(|pair| pair.split_once('=').or(Some((pair, ""))))
        .find(|(k, _)| *k == name)
        .and_then(|(_, v)| percent_decode(v))
}

fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hex = text.get(i + 1..i + 3)?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

/// Headers every response carries: nothing cached, no referrer (the token is in the URL),
/// nothing loaded from anywhere but this server.
const COMMON: &str = "Cache-Control: no-store\r\nReferrer-Policy: no-referrer\r\n\
X-Content-Type-Options: nosniff\r\nX-Frame-Options: DENY\r\n\
Content-Security-Policy: default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'\r\n";

/// A complete response with `body`, closing the connection.
pub(crate) fn response(status: u16, content_type: &str, body: &[u8]) -> Vec<u8> {
    let reason = match status {
        200 => "OK",
        204 => "No Content",
        400 => "Bad Request",
        401 => "Unauthorized",
        404 => "Not Found",
        405 => "Method Not Allowed",
        426 => "Upgrade Required",
        503 => "Service Unavailable",
        _ => "Error",
    };
    let mut out = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n{COMMON}Connection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    out.extend_from_slice(body);
    out
}

/// A plain-text error response.
pub(crate) fn text(status: u16, message: &str) -> Vec<u8> {
    response(
        status,
        "text/plain; charset=utf-8",
        format!("{message}\n").as_bytes(),
    )
}

/// Checks the upgrade headers of a WebSocket request; the 101 answer, or why not.
pub(crate) fn upgrade(head: &Head) -> Result<Vec<u8>, &'static str> {
    if !head.upgrade_websocket {
        return Err("this is the WebSocket endpoint: an Upgrade: websocket request is expected");
    }
    if head.websocket_version.as_deref() != Some("13") {
        return Err("WebSocket version 13 is required");
    }
    let key = head
        .websocket_key
        .as_deref()
        .filter(|k| !k.is_empty())
        .ok_or("Sec-WebSocket-Key is missing")?;
    Ok(format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {}\r\n\r\n",
        derive_accept_key(key.as_bytes())
    )
    .into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(text: &str) -> Head {
        parse_head(text.as_bytes()).unwrap().unwrap().0
    }

    const WS: &str = "GET /api/ws/dhcp-events?token=ab%63d HTTP/1.1\r\nHost: x\r\n\
Upgrade: websocket\r\nConnection: keep-alive, Upgrade\r\n\
Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";

    #[test]
    fn websocket_request() {
        let h = head(WS);
        assert_eq!(route(&h), Route::Events);
        assert_eq!(
            query_param(h.query.as_deref(), TOKEN_PARAM).as_deref(),
            Some("abcd")
        );
        let answer = String::from_utf8(upgrade(&h).unwrap()).unwrap();
        // RFC 6455 §1.3's example key and answer.
        assert!(answer.contains("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"));
    }

    #[test]
    fn incomplete_oversized_and_malformed_heads() {
        assert_eq!(parse_head(b"GET / HTTP/1.1\r\nHost:"), Ok(None));
        let big = format!("GET / HTTP/1.1\r\nX: {}\r\n", "a".repeat(MAX_HEAD));
        assert_eq!(parse_head(big.as_bytes()), Err(HttpError::TooLarge));
        assert!(matches!(
            parse_head(b"\x00\x01 nonsense\r\n\r\n"),
            Err(HttpError::Malformed(_))
        ));
    }

    #[test]
    fn routes() {
        assert_eq!(
            route(&head("GET / HTTP/1.1\r\n\r\n")),
            Route::Asset(Asset::Page)
        );
        assert_eq!(
            route(&head("GET /app.js HTTP/1.1\r\n\r\n")),
            Route::Asset(Asset::Script)
        );
        assert_eq!(
            route(&head("GET /etc/passwd HTTP/1.1\r\n\r\n")),
            Route::NotFound
        );
        assert_eq!(
            route(&head("GET /../app.js HTTP/1.1\r\n\r\n")),
            Route::NotFound
        );
        assert_eq!(
            route(&head("POST /api/ws/dhcp-events HTTP/1.1\r\n\r\n")),
            Route::MethodNotAllowed
        );
        assert_eq!(
            route(&head("GET /api/auth?token=x HTTP/1.1\r\n\r\n")),
            Route::Auth
        );
    }

    #[test]
    fn upgrade_refusals() {
        let plain = head("GET /api/ws/dhcp-events HTTP/1.1\r\n\r\n");
        assert!(upgrade(&plain).is_err());
        let old = head(&WS.replace("Version: 13", "Version: 8"));
        assert!(upgrade(&old).is_err());
        let keyless = head(&WS.replace("Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n", ""));
        assert!(upgrade(&keyless).is_err());
    }

    #[test]
    fn query_parameters() {
        assert_eq!(
            query_param(Some("a=1&token=x%2By"), "token").as_deref(),
            Some("x+y")
        );
        assert_eq!(query_param(Some("token"), "token").as_deref(), Some(""));
        assert_eq!(query_param(Some("a=1"), "token"), None);
        assert_eq!(query_param(Some("token=%zz"), "token"), None);
        assert_eq!(query_param(None, "token"), None);
    }

    #[test]
    fn responses_carry_the_security_headers() {
        let r = String::from_utf8(text(401, "no")).unwrap();
        assert!(r.starts_with("HTTP/1.1 401 Unauthorized\r\n"));
        assert!(r.contains("Referrer-Policy: no-referrer"));
        assert!(r.contains("Content-Length: 3\r\n"));
        assert!(r.ends_with("\r\n\r\nno\n"));
    }
}

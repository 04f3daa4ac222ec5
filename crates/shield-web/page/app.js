// DHCP Stream page: one WebSocket to /api/ws/dhcp-events (token from this page's ?token=),
// server-side filters (update_filters), play/pause with a buffer, clear, counts, saved filters,
// reconnection every 5 s. No framework; every value is written with textContent.
"use strict";

const RECONNECT_MS = 5000;
const MAX_ROWS = 2000;
const MAX_BUFFER = 10000;
const FLUSH_MS = 100;

const $ = (id) => document.getElementById(id);
const token = new URLSearchParams(location.search).get("token") || "";
const state = {
  ws: null, paused: false, buffer: [], pending: [], events: 0, serverDropped: 0,
  localDropped: 0, filter: null, saved: {}, flushTimer: null,
};

const V4_OPTIONS = {
  1: "Subnet Mask", 3: "Router", 6: "Domain Name Server", 12: "Host Name", 15: "Domain Name",
  28: "Broadcast Address", 42: "NTP Servers", 43: "Vendor Specific", 50: "Requested IP Address",
  51: "IP Address Lease Time", 53: "DHCP Message Type", 54: "Server Identifier",
  55: "Parameter Request List", 57: "Maximum Message Size", 58: "Renewal (T1) Time",
  59: "Rebinding (T2) Time", 60: "Vendor Class Identifier", 61: "Client Identifier",
  77: "User Class", 81: "Client FQDN", 82: "Relay Agent Information", 119: "Domain Search",
  121: "Classless Static Route", 125: "V-I Vendor-Specific",
};
const V6_OPTIONS = {
  1: "Client Identifier", 2: "Server Identifier", 3: "IA_NA", 4: "IA_TA", 5: "IA Address",
  6: "Option Request", 7: "Preference", 8: "Elapsed Time", 9: "Relay Message", 13: "Status Code",
  14: "Rapid Commit", 16: "Vendor Class", 17: "Vendor-specific Information", 18: "Interface-Id",
  23: "DNS Recursive Name Server", 24: "Domain Search List", 25: "IA_PD", 26: "IA Prefix",
  39: "Client FQDN", 95: "S46 MAP-T Container",
};

function setStatus(text, cls) {
  const el = $("status");
  el.textContent = text;
  el.className = cls;
}

function showCounts() {
  $("count-events").textContent = String(state.events);
  $("count-dropped").textContent = String(state.serverDropped + state.localDropped);
  const b = $("buffered");
  b.hidden = !state.paused;
  b.textContent = state.paused ? `buffered: ${state.buffer.length}` : "";
}

// ---- the table ----
const dash = (v) => (v === undefined || v === null || v === "" ? "-" : String(v));

function optsSummary(e) {
  const codes = Object.keys(e.dhcp_options || {});
  return codes.length ? codes.map((c) => "t" + c).join(", ") : "-";
}

function cells(e) {
  const lease = e.lease_time ?? e.valid_lifetime;
  return [
    dash(e.time), dash(e.message_type), null, dash(e.xid), dash(e.client_mac),
    dash(e.source_ip), dash(e.hostname), dash(e.vendor_class),
    dash(e.requested_ip ?? (e.ia_addresses || [])[0]), dash(e.server_ip),
    lease === undefined ? "-" : lease + "s",
    "0x" + (e.mark >>> 0).toString(16).padStart(8, "0"), dash(e.matched_rule), optsSummary(e),
  ];
}

function row(e) {
  const tr = document.createElement("tr");
  tr.dataset.type = e.message_type || "";
  if (e.verdict === "drop") tr.className = "drop";
  cells(e).forEach((text, i) => {
    const td = document.createElement("td");
    if (i === 2) {
      const badge = document.createElement("span");
      badge.className = "badge " + (e.proto || "unknown");
      badge.textContent = e.proto || "?";
      td.appendChild(badge);
    } else {
      td.textContent = text;
    }
    tr.appendChild(td);
  });
  tr.addEventListener("click", () => showDetail(e));
  return tr;
}

function flush() {
  state.flushTimer = null;
  if (!state.pending.length) return;
  const body = $("events").tBodies[0];
  const frag = document.createDocumentFragment();
  // Only the newest MAX_ROWS can stay in the table: the older ones are not built at all.
  const oldest = Math.max(0, state.pending.length - MAX_ROWS);
  for (let i = state.pending.length - 1; i >= oldest; i--) frag.appendChild(row(state.pending[i]));
  state.pending = [];
  body.insertBefore(frag, body.firstChild);
  while (body.rows.length > MAX_ROWS) body.deleteRow(-1);
}

function display(e) {
  state.pending.push(e);
  if (!state.flushTimer) state.flushTimer = setTimeout(flush, FLUSH_MS);
}

function onEvent(e) {
  state.events += 1;
  if (state.paused) {
    if (state.buffer.length >= MAX_BUFFER) {
      state.buffer.shift();
      state.localDropped += 1;
    }
    state.buffer.push(e);
  } else {
    display(e);
  }
}

// ---- the detail view ----
function section(parent, title, pairs) {
  const shown = pairs.filter(([, v]) => v !== undefined && v !== null && v !== "" &&
    !(Array.isArray(v) && !v.length));
  if (!shown.length) return;
  const h = document.createElement("h2");
  h.textContent = title;
  parent.appendChild(h);
  const t = document.createElement("table");
  for (const [k, v] of shown) {
    const tr = t.insertRow();
    tr.insertCell().textContent = k;
    tr.insertCell().textContent = Array.isArray(v) ? v.join(", ") : String(v);
  }
  parent.appendChild(t);
}

// The daemon gives printable options as text and the rest as hex; a few well-known DHCPv4
// options are decoded further (addresses, durations, the message type, the request list).
const V4_TYPES = ["", "DISCOVER", "OFFER", "REQUEST", "DECLINE", "ACK", "NAK", "RELEASE", "INFORM"];
const V4_ADDRESSES = new Set([1, 3, 6, 28, 42, 50, 54]);
const V4_SECONDS = new Set([51, 58, 59]);

function hexBytes(value) {
  return /^([0-9a-f]{2})+$/.test(value) ? value.match(/../g).map((h) => parseInt(h, 16)) : null;
}

function decodeOption(proto, code, value) {
  const bytes = proto === "v4" ? hexBytes(value) : null;
  if (!bytes) return value;
  if (V4_ADDRESSES.has(code) && bytes.length % 4 === 0) {
    const addrs = [];
    for (let i = 0; i < bytes.length; i += 4) addrs.push(bytes.slice(i, i + 4).join("."));
    return addrs.join(", ");
  }
  if (V4_SECONDS.has(code) && bytes.length === 4) {
    return String(((bytes[0] << 24) >>> 0) + (bytes[1] << 16) + (bytes[2] << 8) + bytes[3]) + " s";
  }
  if (code === 53 && bytes.length === 1) return V4_TYPES[bytes[0]] || value;
  if (code === 55) return bytes.join(", ");
  if (code === 57 && bytes.length === 2) return String((bytes[0] << 8) + bytes[1]);
  return value;
}

function showDetail(e) {
  const body = $("detail-body");
  body.textContent = "";
  const title = document.createElement("h2");
  title.textContent = `${dash(e.message_type)} ${dash(e.xid)} (${dash(e.proto)}) #${dash(e.seq)}`;
  body.appendChild(title);
  section(body, "Packet Header", [["OpCode", e.op_code], ["Hardware type", e.hw_type],
    ["Transaction ID", e.xid], ["Message type", e.message_type], ["Time", e.time],
    ["Interface", e.interface]]);
  section(body, "Addresses", [["Client IP", e.client_ip], ["Your IP", e.your_ip],
    ["Server IP", e.server_ip], ["Gateway IP", e.gateway_ip], ["Relay IP", e.relay_ip],
    ["Requested IP", e.requested_ip], ["Client MAC", e.client_mac]]);
  const names = e.proto === "v6" ? V6_OPTIONS : V4_OPTIONS;
  const h = document.createElement("h2");
  h.textContent = `DHCP Options (${dash(e.option_count)})`;
  body.appendChild(h);
  const opts = document.createElement("table");
  opts.id = "detail-options";
  for (const [code, value] of Object.entries(e.dhcp_options || {})) {
    const tr = opts.insertRow();
    tr.insertCell().textContent = code;
    tr.insertCell().textContent = names[code] || "option " + code;
    tr.insertCell().textContent = decodeOption(e.proto, Number(code), value);
  }
  body.appendChild(opts);
  section(body, "Network Layer", [["Source IP", e.source_ip], ["Destination IP", e.dest_ip],
    ["Source port", e.source_port], ["Destination port", e.dest_port],
    ["Source MAC", e.source_mac], ["Destination MAC", e.dest_mac]]);
  section(body, "Processing", [["Verdict", e.verdict],
    ["Mark", "0x" + (e.mark >>> 0).toString(16).padStart(8, "0")], ["Matched rule", e.matched_rule],
    ["Action", e.action], ["Detections", e.detections], ["Malformed", e.malformed],
    ["Processing time", e.processing_time_ms === undefined ? "" : e.processing_time_ms + " ms"]]);
  section(body, "Lease", [["Lease time", e.lease_time], ["Renewal (T1)", e.renewal_time],
    ["Rebinding (T2)", e.rebinding_time], ["Hostname", e.hostname],
    ["Vendor class", e.vendor_class], ["Client identifier", e.client_identifier]]);
  if (e.proto === "v6") {
    section(body, "DHCPv6 Fields", [["Inner message type", e.inner_message_type],
      ["Client DUID", e.client_duid], ["Server DUID", e.server_duid], ["DUID type", e.duid_type],
      ["IA type", e.ia_type], ["IAID", e.iaid], ["IA addresses", e.ia_addresses],
      ["Delegated prefixes", e.delegated_prefixes], ["Preferred lifetime", e.preferred_lifetime],
      ["Valid lifetime", e.valid_lifetime], ["T1", e.renewal_time], ["T2", e.rebinding_time]]);
  }
  $("detail").hidden = false;
}

// ---- filters ----
// "field operator value" per line (in / not_in take "[A, B]" or "A, B"; "" is the empty text),
// joined by the chosen logic; or the JSON form as it is. Empty: every event.
function parseFilterText(text, logic) {
  const trimmed = text.trim();
  if (!trimmed) return null;
  if (trimmed.startsWith("{")) return JSON.parse(trimmed);
  const rules = trimmed.split("\n").map((l) => l.trim()).filter(Boolean).map((line, i) => {
    const m = line.match(/^(\S+)\s+(\S+)\s*(.*)$/);
    if (!m) throw new Error(`line ${i + 1}: expected "field operator value"`);
    const [, field, operator, rest] = m;
    const unquote = (v) => v.trim().replace(/^"(.*)"$/, "$1");
    let value = unquote(rest);
    if (operator === "in" || operator === "not_in") {
      value = rest.trim().replace(/^\[|\]$/g, "").split(",").map(unquote).filter((v) => v !== "");
    }
    return { field, operator, value };
  });
  return { logic, rules };
}

function send(msg) {
  if (state.ws && state.ws.readyState === WebSocket.OPEN) {
    state.ws.send(JSON.stringify(msg));
    return true;
  }
  return false;
}

function applyFilter() {
  $("filter-error").textContent = "";
  let filter;
  try {
    filter = parseFilterText($("filter-text").value, $("filter-logic").value);
  } catch (err) {
    $("filter-error").textContent = "Filter: " + err.message;
    return;
  }
  state.filter = filter;
  if (!send({ type: "update_filters", filters: filter })) {
    $("filter-error").textContent = "not connected: the filter is sent on reconnection";
  }
}

function showSaved(filters) {
  state.saved = filters || {};
  const sel = $("saved");
  const keep = sel.value;
  sel.textContent = "";
  const none = document.createElement("option");
  none.value = "";
  none.textContent = "(none)";
  sel.appendChild(none);
  for (const name of Object.keys(state.saved)) {
    const o = document.createElement("option");
    o.value = name;
    o.textContent = name;
    sel.appendChild(o);
  }
  if (keep in state.saved) sel.value = keep;
}

// ---- the connection ----
function onMessage(ev) {
  let msg;
  try {
    msg = JSON.parse(ev.data);
  } catch (err) {
    return;
  }
  switch (msg.type) {
    case "event": onEvent(msg.event); break;
    case "dropped": state.serverDropped = msg.total; break;
    case "error": $("filter-error").textContent = msg.error; break;
    case "filters_updated":
      $("filter-error").textContent = "";
      $("filter-active").textContent = "Filter: " +
        (msg.filters === null ? "all events" : JSON.stringify(msg.filters));
      break;
    case "saved_filters": showSaved(msg.filters); break;
    case "daemon":
      if (msg.connected) setStatus("live", "connected");
      else setStatus("daemon unreachable", "daemon-down");
      break;
    case "hello":
      if (msg.daemon_connected) setStatus("live", "connected");
      else setStatus("daemon unreachable", "daemon-down");
      break;
    default: break;
  }
  showCounts();
}

function retry() {
  setTimeout(connect, RECONNECT_MS);
}

async function connect() {
  let auth;
  try {
    auth = await fetch("/api/auth?token=" + encodeURIComponent(token), { cache: "no-store" });
  } catch (err) {
    setStatus("disconnected: reconnecting every 5 s", "reconnecting");
    retry();
    return;
  }
  if (auth.status === 401) {
    setStatus("authentication failed: missing or wrong token", "auth-error");
    retry();
    return;
  }
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  const ws = new WebSocket(`${scheme}//${location.host}/api/ws/dhcp-events?token=` +
    encodeURIComponent(token));
  state.ws = ws;
  ws.onopen = () => {
    setStatus("live", "connected");
    if (state.filter !== null) send({ type: "update_filters", filters: state.filter });
  };
  ws.onmessage = onMessage;
  ws.onclose = () => {
    state.ws = null;
    setStatus("disconnected: reconnecting every 5 s", "reconnecting");
    retry();
  };
}

function init() {
  $("pause").addEventListener("click", () => {
    state.paused = !state.paused;
    $("pause").textContent = state.paused ? "Play" : "Pause";
    if (!state.paused) {
      state.buffer.forEach(display);
      state.buffer = [];
    }
    showCounts();
  });
  $("clear").addEventListener("click", () => {
    $("events").tBodies[0].textContent = "";
    state.pending = [];
    state.buffer = [];
    state.events = 0;
    state.localDropped = 0;
    showCounts();
  });
  $("filter-apply").addEventListener("click", applyFilter);
  $("filter-reset").addEventListener("click", () => {
    $("filter-text").value = "";
    applyFilter();
  });
  $("saved-load").addEventListener("click", () => {
    const f = state.saved[$("saved").value];
    if (f === undefined) return;
    $("filter-text").value = JSON.stringify(f, null, 1);
    applyFilter();
  });
  $("saved-delete").addEventListener("click", () => {
    const name = $("saved").value;
    if (name) send({ type: "delete_filter", name });
  });
  $("save").addEventListener("click", () => {
    const name = $("save-name").value.trim();
    if (!name) {
      $("filter-error").textContent = "give the filter a name";
      return;
    }
    try {
      const filter = parseFilterText($("filter-text").value, $("filter-logic").value) ||
        { logic: "AND", rules: [] };
      send({ type: "save_filter", name, filter });
    } catch (err) {
      $("filter-error").textContent = "Filter: " + err.message;
    }
  });
  $("detail-close").addEventListener("click", () => { $("detail").hidden = true; });
  showCounts();
  connect();
}

init();

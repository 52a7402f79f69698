// The dashboard: one HTML page, one stylesheet, one script, all plain (no
// framework, no CDN, no build step). The page gets a first snapshot inline
// (kInitialDataMarker) so it renders without waiting for a fetch, then follows
// /api/v1/events (server-sent events) and re-reads the JSON API when something
// changes. The timeline is a waterfall of divs positioned in percent of the
// boot's duration.

#include "app/http/dashboard.h"

namespace pinet::app::http {

std::string_view dashboardHtml() {
    return R"PNB(<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>pinetboot</title>
<link rel="stylesheet" href="/dashboard.css">
<link rel="stylesheet" href="/dashboard-admin.css">
</head>
<body>
<header>
  <h1>pinetboot</h1>
  <span id="summary"></span>
  <nav id="views"><a href="#clients" data-view="clients">Clients</a><a href="#images" data-view="images">Images</a><a href="#doctor" data-view="doctor">Doctor</a></nav>
  <span id="live" class="live off" title="live updates">&#9679; live</span>
</header>
<main>
  <section>
    <h2>Clients</h2>
    <table id="clients">
      <thead><tr><th>Serial</th><th>MAC</th><th>Model</th><th>Name</th><th>IP</th><th>State</th><th>Last boot</th></tr></thead>
      <tbody><tr class="empty"><td colspan="7">No client has been seen yet.</td></tr></tbody>
    </table>
  </section>
  <section id="admission" hidden>
    <h2>Boot storm</h2>
    <p id="admission-summary"></p>
    <ol id="admission-queue"></ol>
  </section>
  <section id="nodes" hidden>
    <h2>Nodes <span id="nodes-summary" class="muted"></span></h2>
    <table id="nodes-table">
      <thead><tr><th>Node</th><th>Address</th><th>State</th><th>DHCP buckets</th><th>Heartbeat</th></tr></thead>
      <tbody></tbody>
    </table>
    <table id="node-boots">
      <thead><tr><th>Ended</th><th>Node</th><th>Serial</th><th>MAC</th><th>IP</th><th>Outcome</th></tr></thead>
      <tbody></tbody>
    </table>
  </section>
  <section id="detail" hidden>
    <h2>Boot timeline <span id="detail-title"></span></h2>
    <div id="boots"></div>
    <div id="timeline"></div>
  </section>
  <section id="images" data-view="images" class="view-hidden">
    <h2>Images</h2>
    <table id="images-table">
      <thead><tr><th>Name</th><th>Size</th><th>Layout</th><th>Models</th><th>Clients</th></tr></thead>
      <tbody><tr class="empty"><td colspan="5">Loading&hellip;</td></tr></tbody>
    </table>
  </section>
  <section id="doctor" data-view="doctor" class="view-hidden">
    <h2>Doctor <button id="doctor-run" type="button">Check again</button></h2>
    <p id="doctor-summary">Loading&hellip;</p>
    <ul id="doctor-findings"></ul>
    <p id="doctor-skipped" class="muted"></p>
  </section>
</main>
<script id="initial" type="application/json">/*INITIAL_DATA*/null</script>
<script src="/dashboard.js"></script>
<script src="/dashboard-fleet.js"></script>
<script src="/dashboard-admin.js"></script>
</body>
</html>
)PNB";
}

std::string_view dashboardCss() {
    return R"PNB(:root { --ok:#2e9d5b; --probe:#9aa5b1; --miss:#e8a33d; --fail:#d64545; --dhcp:#4a7bd1; --http:#7b5cd6; }
* { box-sizing: border-box; }
body { margin:0; font: 14px/1.4 system-ui, "DejaVu Sans", sans-serif; color:#1d2430; background:#f4f6f9; }
header { display:flex; align-items:center; gap:1.2em; padding:.6em 1.2em; background:#1d2430; color:#fff; }
header h1 { font-size:1.2em; margin:0; letter-spacing:.02em; }
#summary { color:#c5ccd6; }
.live { margin-left:auto; font-size:.9em; }
.live.on { color:#5fd68f; } .live.off { color:#8a93a0; }
main { padding:1em 1.2em; max-width:1400px; }
h2 { font-size:1.05em; margin:.4em 0 .6em; }
section { background:#fff; border:1px solid #dde2e8; border-radius:6px; padding:.8em 1em; margin-bottom:1em; }
table { border-collapse:collapse; width:100%; }
th, td { text-align:left; padding:.35em .6em; border-bottom:1px solid #eef1f4; white-space:nowrap; }
th { font-weight:600; color:#56606d; font-size:.9em; }
td.mono, .mono { font-family: ui-monospace, "DejaVu Sans Mono", monospace; font-size:.92em; }
tbody tr { cursor:pointer; }
tbody tr:hover { background:#f0f4fa; }
tbody tr.selected { background:#e3ecfa; }
tr.empty { cursor:default; color:#8a93a0; }
.badge { display:inline-block; padding:0 .5em; border-radius:9px; font-size:.85em; color:#fff; background:#8a93a0; }
.badge.booted { background:var(--ok); } .badge.booting { background:var(--dhcp); }
.badge.failed { background:var(--fail); } .badge.discovered { background:var(--miss); }
.fail-text { color:var(--fail); }
#boots { display:flex; flex-wrap:wrap; gap:.4em; margin-bottom:.7em; }
.boot-chip { border:1px solid #cfd6df; border-radius:4px; padding:.15em .5em; cursor:pointer; font-size:.88em; background:#fafbfc; }
.boot-chip.sel { border-color:var(--dhcp); background:#e3ecfa; }
.boot-chip.failed { color:var(--fail); }
.fail-banner { background:#fdecec; border:1px solid #f2b8b8; color:#9b1c1c; padding:.5em .8em; border-radius:4px; margin-bottom:.6em; font-weight:600; }
.ok-banner { background:#e9f7ef; border:1px solid #b5e2c6; color:#1d6b3c; padding:.5em .8em; border-radius:4px; margin-bottom:.6em; }
.wf { position:relative; }
.wf-axis, .wf-row { display:grid; grid-template-columns: 260px 1fr 230px; align-items:center; }
.wf-axis { color:#8a93a0; font-size:.8em; height:1.6em; }
.wf-ticks { position:relative; height:100%; border-bottom:1px solid #dde2e8; }
.wf-tick { position:absolute; bottom:0; transform:translateX(-50%); white-space:nowrap; }
.wf-row { height:1.55em; border-bottom:1px dotted #eef1f4; }
.wf-row:hover { background:#f6f8fb; }
.wf-label { overflow:hidden; text-overflow:ellipsis; white-space:nowrap; padding-right:.6em; font-family: ui-monospace, "DejaVu Sans Mono", monospace; font-size:.88em; }
.wf-track { position:relative; height:100%; }
.wf-bar { position:absolute; top:25%; height:50%; min-width:2px; border-radius:2px; background:var(--ok); }
.wf-bar.probe { background:var(--probe); } .wf-bar.not_found { background:var(--miss); }
.wf-bar.timeout, .wf-bar.refused, .wf-bar.client_error, .wf-bar.server_error { background:var(--fail); }
.wf-bar.dhcp { background:var(--dhcp); } .wf-bar.http { background:var(--http); }
.wf-row.bad .wf-label { color:var(--fail); font-weight:600; }
.wf-info { font-size:.82em; color:#56606d; padding-left:.6em; white-space:nowrap; overflow:hidden; }
.legend { margin-top:.6em; font-size:.82em; color:#56606d; display:flex; gap:1em; flex-wrap:wrap; }
.legend i { display:inline-block; width:.9em; height:.9em; border-radius:2px; vertical-align:-2px; margin-right:.3em; }
/* Views (Clients, Images, Doctor) and the boards nobody enrolled. */
#views { display:flex; gap:.2em; }
#views a { color:#c5ccd6; text-decoration:none; padding:.2em .7em; border-radius:4px; }
#views a.active { background:#3a4556; color:#fff; }
.view-hidden { display:none; }
tbody tr.unknown { background:#fff6e5; box-shadow: inset 4px 0 0 var(--miss); }
tbody tr.unknown:hover { background:#ffefd1; }
tbody tr.unknown.selected { background:#fbe3b8; }
.badge.unknown-badge { background:var(--miss); }
.muted { color:#8a93a0; }
.sev { display:inline-block; min-width:3.2em; text-align:center; padding:0 .4em; border-radius:9px; font-size:.82em; color:#fff; background:#8a93a0; margin-right:.5em; }
.sev.ok { background:var(--ok); } .sev.info { background:var(--dhcp); } .sev.warn { background:var(--miss); } .sev.FAIL { background:var(--fail); }
#doctor-findings { list-style:none; padding:0; margin:0; }
#doctor-findings li { padding:.35em 0; border-bottom:1px solid #eef1f4; }
#doctor-findings .fix { margin:.2em 0 0 4.2em; font-size:.9em; color:#56606d; }
#doctor-findings .fix code { background:#f4f6f9; padding:0 .3em; border-radius:3px; }
#doctor-run { margin-left:.8em; font-size:.8em; }
)PNB";
}

std::string_view dashboardJs() {
    return R"PNB('use strict';
// pinetboot dashboard: renders /api/v1 data; live via server-sent events.
const S = { clients: [], selected: null, detail: null, bootId: null, timer: null };
const $ = (id) => document.getElementById(id);

function esc(v) {
  return String(v == null ? '' : v).replace(/[&<>"']/g, (c) =>
    ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c]));
}
function fmtBytes(n) {
  if (n == null) return '';
  if (n < 1024) return n + ' B';
  if (n < 1048576) return (n / 1024).toFixed(1) + ' KiB';
  return (n / 1048576).toFixed(1) + ' MiB';
}
function fmtMs(ms) {
  if (ms == null) return '';
  if (ms < 1000) return Math.round(ms) + ' ms';
  return (ms / 1000).toFixed(ms < 10000 ? 2 : 1) + ' s';
}
function fmtTime(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  return isNaN(d) ? iso : d.toLocaleTimeString();
}
const OUTCOME = { kernel_loaded: 'kernel loaded', failed: 'failed', in_progress: 'booting' };

function clientId(c) { return c.serial || c.mac || c.key; }
// The board's EEPROM rollout state (issue 17), when it is in one.
function eepromBadge(e) {
  if (!e) return '';
  const tip = 'rollout ' + e.rollout + ' (' + e.rollout_state + '), wave ' + e.wave + ', ts ' +
    (e.offered_ts === null ? '-' : e.offered_ts) + ', pieeprom.upd x' + e.update_fetches +
    (e.gone_s === null ? '' : ', gone ' + e.gone_s.toFixed(1) + ' s') + (e.detail ? ': ' + e.detail : '');
  return ' <span class="badge eeprom ' + esc(e.state) + '" data-eeprom="' + esc(e.state) +
    '" title="' + esc(tip) + '">EEPROM ' + esc(e.state.replace(/_/g, ' ')) + '</span>';
}

function renderClients() {
  const tb = $('clients').tBodies[0];
  if (!S.clients.length) {
    tb.innerHTML = '<tr class="empty"><td colspan="7">No client has been seen yet.</td></tr>';
  } else {
    tb.innerHTML = S.clients.map((c) => {
      const lb = c.last_boot;
      let last = '';
      if (lb) {
        last = esc(fmtTime(lb.start)) + ' &middot; ' + esc(fmtMs(lb.duration_ms)) + ' &middot; ' +
          (lb.outcome === 'failed' ? '<span class="fail-text">failed: ' + esc(lb.failure) + '</span>'
                                   : esc(OUTCOME[lb.outcome] || lb.outcome));
      }
      const id = clientId(c);
      // A board nobody enrolled (discovered on the wire, or not in the registry) stands out.
      const unknown = !c.registered || c.discovered;
      const cls = (id === S.selected ? 'selected ' : '') + (unknown ? 'unknown' : '');
      return '<tr data-client="' + esc(id) + '" data-serial="' + esc(c.serial || '') + '"' +
        ' data-model="' + esc(c.model || '') + '" data-enrolled="' + (unknown ? 'no' : 'yes') + '"' +
        (cls.trim() ? ' class="' + cls.trim() + '"' : '') + '>' +
        '<td class="mono">' + esc(c.serial || '-') + (unknown ? ' <span class="badge unknown-badge">not enrolled</span>' : '') +
        '</td><td class="mono">' + esc(c.mac || '-') +
        '</td><td class="model" title="' + esc(c.model_source ? 'from ' + c.model_source : '') + '">' +
        esc(c.model_name || c.model || '') + '</td><td>' + esc(c.name || '') + '</td><td class="mono">' +
        esc(c.ip || '') + '</td><td><span class="badge ' + esc(c.state) + '">' + esc(c.state) +
        '</span>' + eepromBadge(c.eeprom) + '</td><td>' + last + '</td></tr>';
    }).join('');
  }
  const n = S.clients.length;
  const booting = S.clients.filter((c) => c.state === 'booting').length;
  const failed = S.clients.filter((c) => c.state === 'failed').length;
  $('summary').textContent = n + ' client' + (n === 1 ? '' : 's') + ' \u00b7 ' + booting +
    ' booting \u00b7 ' + failed + ' failed';
}

function stepLabel(kind) { return 'DHCP ' + String(kind).toUpperCase(); }

function renderTimeline() {
  const d = S.detail;
  const sec = $('detail');
  if (!d) { sec.hidden = true; return; }
  sec.hidden = false;
  const c = d.client;
  $('detail-title').textContent = '\u2014 ' + (c.name ? c.name + ' ' : '') + clientId(c) +
    (c.model ? ' (' + (c.model_name || c.model) + ')' : '');
  const boots = d.boots || [];
  let boot = boots.find((b) => b.id === S.bootId) || boots[0];
  $('boots').innerHTML = boots.map((b) =>
    '<span class="boot-chip ' + (b === boot ? 'sel ' : '') + esc(b.outcome) + '" data-boot="' + b.id +
    '">#' + b.id + ' ' + esc(fmtTime(b.start)) + ' ' + esc(OUTCOME[b.outcome] || b.outcome) + '</span>').join('');
  const tl = $('timeline');
  if (!boot) { tl.innerHTML = '<p>No boot recorded for this client yet.</p>'; return; }
  tl.dataset.boot = boot.id;
  tl.dataset.outcome = boot.outcome;
  const rows = [];
  const dh = boot.dhcp || [];
  dh.forEach((s, i) => {
    let end = s.t_ms;
    const next = dh[i + 1];
    if (next && ((s.kind === 'discover' && next.kind === 'offer') || (s.kind === 'request' && (next.kind === 'ack' || next.kind === 'nak')))) end = next.t_ms;
    rows.push({ kind: 'dhcp', label: stepLabel(s.kind), t: s.t_ms, dur: end - s.t_ms, cls: 'dhcp',
      info: (s.ip ? s.ip + ' ' : '') + (s.proxy ? 'proxy ' : '') + (s.detail || ''), result: s.kind, bad: s.kind === 'nak' });
  });
  (boot.files || []).forEach((f) => {
    const bad = ['timeout', 'refused', 'client_error', 'server_error'].includes(f.result) ||
      (f.result === 'not_found' && boot.outcome === 'failed');
    rows.push({ kind: 'file', label: (f.protocol === 'http' ? 'HTTP ' : '') + f.path, t: f.t_ms, dur: f.duration_ms,
      cls: f.result + (f.protocol === 'http' && f.result === 'ok' ? ' http' : ''), path: f.path, result: f.result, bad,
      info: fmtBytes(f.bytes) + (f.size && f.bytes !== f.size ? ' of ' + fmtBytes(f.size) : '') + ' \u00b7 ' +
        fmtMs(f.duration_ms) + ' \u00b7 ' + f.result.replace('_', ' ') + (f.detail ? ' (' + f.detail + ')' : '') });
  });
  rows.sort((a, b) => a.t - b.t);
  const total = Math.max(1, boot.duration_ms || 0, ...rows.map((r) => r.t + Math.max(0, r.dur)));
  let html = '';
  if (boot.outcome === 'failed') html += '<div class="fail-banner" id="failure">Boot failed: ' + esc(boot.failure) + '</div>';
  else if (boot.outcome === 'kernel_loaded') html += '<div class="ok-banner">Kernel loaded (' + esc(boot.kernel) + ') after ' + esc(fmtMs(boot.duration_ms)) + '</div>';
  else html += '<div class="ok-banner">Booting\u2026 ' + esc(fmtMs(boot.duration_ms)) + ' so far</div>';
  html += '<div class="wf"><div class="wf-axis"><div></div><div class="wf-ticks">';
  for (let i = 0; i <= 4; i++) {
    html += '<span class="wf-tick" style="left:' + (i * 25) + '%">' + esc(fmtMs(total * i / 4)) + '</span>';
  }
  html += '</div><div></div></div>';
  for (const r of rows) {
    const left = (100 * r.t / total).toFixed(3);
    const width = (100 * Math.max(0, r.dur) / total).toFixed(3);
    html += '<div class="wf-row' + (r.bad ? ' bad' : '') + '" data-kind="' + r.kind + '" data-result="' + esc(r.result) + '"' +
      (r.path ? ' data-path="' + esc(r.path) + '"' : '') + '><div class="wf-label" title="' + esc(r.label) + '">' + esc(r.label) +
      '</div><div class="wf-track"><div class="wf-bar ' + esc(r.cls) + '" style="left:' + left + '%;width:' + width +
      '%" title="' + esc(fmtMs(r.t)) + ' +' + esc(fmtMs(r.dur)) + '"></div></div><div class="wf-info">' + esc(r.info) + '</div></div>';
  }
  html += '</div><div class="legend"><span><i style="background:var(--dhcp)"></i>DHCP</span>' +
    '<span><i style="background:var(--ok)"></i>TFTP ok</span><span><i style="background:var(--http)"></i>HTTP ok</span>' +
    '<span><i style="background:var(--probe)"></i>probe (size check, normal)</span>' +
    '<span><i style="background:var(--miss)"></i>not found</span><span><i style="background:var(--fail)"></i>error</span></div>';
  tl.innerHTML = html;
}

async function getJson(url) {
  const r = await fetch(url, { cache: 'no-store' });
  if (!r.ok) throw new Error(url + ': ' + r.status);
  return r.json();
}

function renderAdmission(a) {
  const sec = $('admission');
  if (!a || !a.enabled || (!a.waiting && !S.admissionSeen)) { sec.hidden = true; return; }
  S.admissionSeen = S.admissionSeen || a.waiting > 0;
  sec.hidden = false;
  const mbit = (a.throughput_bytes_per_second * 8 / 1e6).toFixed(0);
  $('admission-summary').textContent = a.waiting + ' waiting, ' + a.admitted + ' booting, ' +
    a.admissions + ' let in so far (' + a.admissions_per_second.toFixed(1) + '/s), ' + mbit + ' Mbit/s' +
    (a.wait_seconds.count ? ', average wait ' + (a.wait_seconds.sum / a.wait_seconds.count).toFixed(1) + ' s' : '');
  $('admission-queue').innerHTML = (a.queue || []).slice(0, 20).map((w) =>
    '<li>' + esc(w.board) + ' <span class="muted">waiting ' + w.waited_seconds.toFixed(1) + ' s</span></li>').join('');
}

// Several nodes (issue #19): which node is live and answers which share of the boards,
// and the last boots of every node sharing the store (which node served what).
function renderNodes(n, b) {
  const sec = $('nodes');
  if (!n || !n.nodes || !n.nodes.length) { sec.hidden = true; return; }
  sec.hidden = false;
  $('nodes-summary').textContent = n.live + ' live of ' + n.nodes.length + ', this is ' + n.self;
  $('nodes-table').tBodies[0].innerHTML = n.nodes.map((x) =>
    '<tr' + (x.self ? ' class="self"' : '') + '><td class="mono">' + esc(x.node_id) + '</td><td class="mono">' +
    esc(x.address) + '</td><td>' + (x.live ? 'live' : '<b>no heartbeat</b>') + '</td><td>' + esc(x.buckets) +
    ' of ' + esc(n.buckets) + '</td><td>' + esc(fmtMs(x.heartbeat_age_ms)) + ' ago</td></tr>').join('');
  const boots = ((b && b.boots) || []).slice(0, 10);
  $('node-boots').hidden = !boots.length;
  $('node-boots').tBodies[0].innerHTML = boots.map((x) =>
    '<tr><td>' + esc(new Date(x.ended).toLocaleTimeString()) + '</td><td class="mono">' + esc(x.node_id) +
    '</td><td class="mono">' + esc(x.serial) + '</td><td class="mono">' + esc(x.mac) + '</td><td class="mono">' +
    esc(x.ip) + '</td><td>' + esc(OUTCOME[x.outcome] || x.outcome) + '</td></tr>').join('');
}

async function refresh() {
  S.timer = null;
  try { renderAdmission(await getJson('/api/v1/admission')); } catch (e) { /* older server */ }
  try { renderNodes(await getJson('/api/v1/nodes'), await getJson('/api/v1/nodes/boots?limit=10')); }
  catch (e) { /* older server */ }
  try {
    const data = await getJson('/api/v1/clients');
    S.clients = data.clients || [];
    if (!S.selected && S.clients.length) S.selected = clientId(S.clients[0]);
    renderClients();
    if (S.selected) {
      try { S.detail = await getJson('/api/v1/clients/' + encodeURIComponent(S.selected)); }
      catch (e) { S.detail = null; }
      renderTimeline();
    }
  } catch (e) { /* server restarting: the next event or poll retries */ }
}
function schedule() { if (!S.timer) S.timer = setTimeout(refresh, 250); }

function select(id) {
  S.selected = id; S.bootId = null;
  const u = new URL(location.href); u.searchParams.set('client', id); history.replaceState(null, '', u);
  renderClients(); refresh();
}

function connect() {
  if (!window.EventSource) { setInterval(refresh, 3000); return; }
  const es = new EventSource('/api/v1/events');
  S.es = es;  // dashboard-admin.js listens to the import's "image" events on it too
  es.onopen = () => { $('live').className = 'live on'; schedule(); };
  es.onerror = () => { $('live').className = 'live off'; };
  for (const ev of ['dhcp', 'transfer', 'boot', 'client', 'reload']) es.addEventListener(ev, schedule);
}

function init() {
  let initial = null;
  try { initial = JSON.parse($('initial').textContent); } catch (e) { initial = null; }
  if (initial && initial.clients) {
    S.clients = initial.clients.clients || [];
    if (initial.selected) { S.detail = initial.selected; S.selected = clientId(initial.selected.client); }
    else if (S.clients.length) S.selected = clientId(S.clients[0]);
    renderClients();
    renderTimeline();
  }
  $('clients').addEventListener('click', (e) => {
    const tr = e.target.closest('tr[data-client]');
    if (tr) select(tr.dataset.client);
  });
  $('boots').addEventListener('click', (e) => {
    const chip = e.target.closest('[data-boot]');
    if (chip) { S.bootId = Number(chip.dataset.boot); renderTimeline(); }
  });
  if (!S.detail) refresh();
  connect();
  setInterval(schedule, 15000);  // also catches boots that time out quietly
  // A storm's queue moves without events for the boards still waiting.
  setInterval(() => { if (S.admissionSeen) schedule(); }, 2000);
}
init();
)PNB";
}

// The Images and Doctor views (issue 16), a script of their own so the clients view's code
// stays as it was. It uses dashboard.js's globals ($, esc, fmtBytes, getJson).
std::string_view dashboardFleetJs() {
    return R"PNB('use strict';
const FLEET = { view: 'clients', imagesTimer: null };

function renderImages(data) {
  const tb = $('images-table').tBodies[0];
  const images = (data && data.images) || [];
  if (!images.length) {
    tb.innerHTML = '<tr class="empty"><td colspan="5">No image imported yet: pinetboot image import FILE --name NAME</td></tr>';
    return;
  }
  tb.innerHTML = images.map((i) => {
    const l = i.layout || {};
    const boot = l.boot || {};
    const root = l.root || {};
    const layout = String(l.table || '?').toUpperCase() + ' \u00b7 boot ' + (boot.fs || '?') + ' (' +
      (boot.files || 0) + ' files) \u00b7 root ' + (root.fs || '?') + ' (' + (root.files || 0) + ' files, ' +
      fmtBytes(root.bytes || 0) + ')';
    const clients = (i.clients || []).map((s) =>
      '<a href="?client=' + encodeURIComponent(s) + '#clients" class="mono" data-client="' + esc(s) + '">' + esc(s) + '</a>').join(', ');
    return '<tr data-image="' + esc(i.name) + '"><td class="mono">' + esc(i.name) + '</td><td class="size" data-bytes="' +
      esc(i.size_bytes) + '">' + esc(fmtBytes(i.size_bytes)) + '</td><td class="layout">' + esc(layout) + '</td><td>' +
      esc(i.models || '-') + '</td><td class="clients">' + (clients || '<span class="muted">none</span>') + '</td></tr>';
  }).join('');
}

function renderDoctor(d) {
  const findings = (d && d.findings) || [];
  const order = { FAIL: 0, warn: 1, info: 2, ok: 3 };
  const sorted = findings.slice().sort((a, b) => (order[a.severity] ?? 4) - (order[b.severity] ?? 4));
  $('doctor-summary').textContent = (d.problems || 0) + ' problem' + (d.problems === 1 ? '' : 's') + ', ' +
    findings.length + ' finding' + (findings.length === 1 ? '' : 's') + (d.generated_at ? ' (checked ' + fmtTime(d.generated_at) + ')' : '');
  $('doctor-findings').innerHTML = sorted.map((f) =>
    '<li data-severity="' + esc(f.severity) + '" data-check="' + esc(f.check) + '"><span class="sev ' + esc(f.severity) + '">' +
    esc(f.severity) + '</span><b>' + esc(f.check) + '</b>: ' + esc(f.message) +
    (f.fix ? '<div class="fix">fix: <code>' + esc(f.fix) + '</code></div>' : '') + '</li>').join('');
  $('doctor-skipped').textContent = (d.skipped || []).map((s) => 'Not checked here: ' + s.check + ' (' + s.reason + ')').join(' ');
}

function fleetError(where, e) {
  return 'Could not load ' + where + ': ' + (e && e.message ? e.message : e);
}

// getJson() throws on a status; the API's errors are {"error":{"code","message"}}.
async function fleetJson(url) {
  const r = await fetch(url, { cache: 'no-store' });
  const body = await r.json().catch(() => null);
  if (!r.ok) throw new Error(body && body.error ? body.error.message + ' (' + body.error.code + ')' : url + ': ' + r.status);
  return body;
}

async function loadImages() {
  try { renderImages(await fleetJson('/api/v1/images')); }
  catch (e) { $('images-table').tBodies[0].innerHTML = '<tr class="empty"><td colspan="5">' + esc(fleetError('images', e)) + '</td></tr>'; }
}

async function loadDoctor() {
  $('doctor-run').disabled = true;
  try { renderDoctor(await fleetJson('/api/v1/doctor')); }
  catch (e) { $('doctor-summary').textContent = fleetError('doctor findings', e); }
  finally { $('doctor-run').disabled = false; }
}

function showView(view) {
  if (!['clients', 'images', 'doctor'].includes(view)) view = 'clients';
  FLEET.view = view;
  document.body.dataset.view = view;
  for (const sec of document.querySelectorAll('main > section')) {
    sec.classList.toggle('view-hidden', (sec.dataset.view || 'clients') !== view);
  }
  for (const a of document.querySelectorAll('#views a')) a.classList.toggle('active', a.dataset.view === view);
  clearInterval(FLEET.imagesTimer);
  if (view === 'images') { loadImages(); FLEET.imagesTimer = setInterval(loadImages, 15000); }
  if (view === 'doctor') loadDoctor();
}

window.addEventListener('hashchange', () => showView(location.hash.slice(1)));
$('doctor-run').addEventListener('click', loadDoctor);
showView(location.hash.slice(1));
)PNB";
}

}  // namespace pinet::app::http

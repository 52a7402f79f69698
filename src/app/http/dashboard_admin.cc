// The dashboard's write side (issue #16), a second small script beside
// dashboard.js: the sign-in form (the API token, once; then the session cookie
// and the CSRF token), and for the selected board an Enrol form (a discovered
// board) or Edit / Reset root / Remove (an enrolled one, destructive ones asked
// first). It reads the page's state (S, clientId, schedule) from dashboard.js
// and calls the same /api/v1 writes as any API client (docs/api.md).

#include "app/http/dashboard.h"

namespace pinet::app::http {

std::string_view dashboardAdminJs() {
    return R"PNB('use strict';
const A = { session: null, images: null, shownFor: undefined, dirty: false, importing: null, imageEvents: {} };

async function api(method, url, body) {
  const h = { 'Content-Type': 'application/json' };
  if (A.session && A.session.csrf) h['X-CSRF-Token'] = A.session.csrf;
  const r = await fetch(url, { method, headers: h, body: body === undefined ? undefined : JSON.stringify(body),
                               credentials: 'same-origin', cache: 'no-store' });
  let j = null;
  try { j = await r.json(); } catch (e) { j = null; }
  return { ok: r.ok, status: r.status, json: j,
           error: j && j.error ? j.error.message + ' (' + j.error.code + ')' : (r.ok ? '' : 'HTTP ' + r.status) };
}

function renderSession() {
  let box = $('session');
  if (!box) {
    box = document.createElement('form');
    box.id = 'session';
    box.className = 'session';
    document.querySelector('header').appendChild(box);
    box.addEventListener('submit', async (e) => {
      e.preventDefault();
      if (A.session && A.session.signed_in) {
        await api('DELETE', '/api/v1/session');
        A.session = { signed_in: false };
        renderSession(); renderAdmin(true); renderImport();
        return;
      }
      const r = await api('POST', '/api/v1/session', { token: $('token').value.trim() });
      $('token').value = '';
      if (!r.ok) { $('session-msg').textContent = r.error; return; }
      const reload = A.session && A.session.reads_need_sign_in;
      A.session = Object.assign({}, A.session, r.json, { via: 'session' });
      if (reload) { location.reload(); return; }  // the fleet was hidden until now
      renderSession(); renderAdmin(true); renderImport();
    });
  }
  const s = A.session || {};
  if (s.signed_in) {
    box.innerHTML = '<span>signed in' + (s.via === 'bearer' ? ' (token)' : '') + '</span>' +
      (s.via === 'session' ? ' <button type="submit" id="sign-out">Sign out</button>' : '');
  } else {
    box.innerHTML = '<input id="token" type="password" autocomplete="current-password" placeholder="API token" ' +
      'aria-label="API token" size="18"> <button type="submit" id="sign-in">Sign in</button> ' +
      '<span id="session-msg" class="fail-text"></span>';
  }
}

function selectedClient() {
  return (S.clients || []).find((c) => clientId(c) === S.selected) || null;
}

function field(label, id, value, extra) {
  return '<label>' + esc(label) + ' <input id="' + id + '" value="' + esc(value || '') + '"' + (extra || '') + '></label> ';
}
function rootSelect(id, blank) {
  return '<label>root <select id="' + id + '">' + (blank ? '<option value="">(unchanged)</option>' : '') +
    ['copy', 'overlay', 'shared'].map((m) => '<option>' + m + '</option>').join('') + '</select></label> ';
}
const IMAGE_LIST = ' list="admin-images" placeholder="image name"';

function renderAdmin(force) {
  let sec = $('admin');
  if (!sec) {
    sec = document.createElement('section');
    sec.id = 'admin';
    sec.innerHTML = '<h2>Manage <span id="admin-title"></span></h2><div id="admin-body"></div>' +
      '<p id="admin-msg"></p><datalist id="admin-images"></datalist>';
    const clients = $('clients').closest('section');
    clients.parentNode.insertBefore(sec, clients.nextSibling);
    sec.addEventListener('click', onAdminClick);
    // What the user typed is theirs: a live change (CLI, another browser) redraws the
    // form only while nothing in it was touched.
    sec.addEventListener('input', () => { A.dirty = true; });
  }
  const c = selectedClient();
  const who = (A.session && A.session.signed_in ? 'in:' : 'out:') + (c ? clientId(c) + ':' + c.registered + ':' + c.discovered : '');
  // The stored fields the form shows: when the CLI changes them, the form follows.
  const key = who + (c ? '\n' + [c.name, c.notes].join('\n') : '');
  if (!force && key === A.shownFor) return;
  const sameBoard = A.shownFor !== undefined && A.shownFor.split('\n')[0] === who;
  if (!force && sameBoard && A.dirty) return;  // keep what the user is typing
  A.shownFor = key;
  A.dirty = false;
  const body = $('admin-body');
  $('admin-title').textContent = c ? '\u2014 ' + clientId(c) : '';
  if (!A.session || !A.session.signed_in) {
    body.innerHTML = '<p class="muted">Sign in (top right) with the API token to enrol or change boards; ' +
      '<code>pinetboot token show</code> on the server prints it.</p>';
    return;
  }
  if (!c) { body.innerHTML = '<p class="muted">Select a board.</p>'; return; }
  if (!c.serial) { body.innerHTML = '<p class="muted">This board has not told its serial number yet.</p>'; return; }
  const enrolled = c.registered && !c.discovered;
  if (!enrolled) {
    body.innerHTML = '<form id="enrol-form" data-serial="' + esc(c.serial) + '">' +
      '<p>Discovered board: enrol it to give it its own boot tree and root.</p>' +
      field('name', 'enrol-name', c.name || 'pi-' + c.serial) + field('image', 'enrol-image', '', IMAGE_LIST) +
      rootSelect('enrol-root', false) + field('address', 'enrol-address', '', ' placeholder="(client subnet)"') +
      '<button type="button" data-act="enrol">Enrol</button></form>';
  } else {
    body.innerHTML = '<form id="edit-form" data-serial="' + esc(c.serial) + '">' +
      field('name', 'edit-name', c.name) + field('notes', 'edit-notes', c.notes) +
      field('image', 'edit-image', '', IMAGE_LIST + ' placeholder="(unchanged)"') + rootSelect('edit-root', true) +
      '<label><input type="checkbox" id="edit-reset-root"> replace its root</label> ' +
      '<button type="button" data-act="edit">Save</button></form>' +
      '<p><button type="button" data-act="reset">Reset root\u2026</button> ' +
      '<button type="button" data-act="remove" class="danger">Remove\u2026</button> ' +
      '<label><input type="checkbox" id="remove-keep-root" checked> keep its root (moved aside)</label></p>';
  }
  loadImageNames();
}

// Not loadImages: dashboard-fleet.js has that name (the Images view), and a second
// global function of the same name would replace it.
async function loadImageNames() {
  if (A.images === null) {
    A.images = [];
    // /api/v1/images, where the server has it: names to pick from.
    try {
      const r = await api('GET', '/api/v1/images');
      if (r.ok && r.json && r.json.images) A.images = r.json.images.map((i) => i.name);
    } catch (e) { /* free text then */ }
  }
  $('admin-images').innerHTML = A.images.map((n) => '<option value="' + esc(n) + '">').join('');
}

function say(r, done) {
  const m = $('admin-msg');
  m.className = r.ok ? '' : 'fail-text';
  m.textContent = r.ok ? done : r.error;
  if (r.ok) { A.shownFor = undefined; schedule(); }
}

async function onAdminClick(e) {
  const b = e.target.closest('button[data-act]');
  if (!b) return;
  const c = selectedClient();
  if (!c) return;
  const serial = c.serial;
  const act = b.dataset.act;
  if (act === 'enrol') {
    const body = { serial, name: $('enrol-name').value.trim(), image: $('enrol-image').value.trim(),
                   root_mode: $('enrol-root').value };
    if (c.mac) body.mac = c.mac;
    const addr = $('enrol-address').value.trim();
    if (addr) body.address = addr;
    b.disabled = true;
    say(await api('POST', '/api/v1/clients', body), 'enrolled ' + serial);
    b.disabled = false;
  } else if (act === 'edit') {
    const body = { name: $('edit-name').value.trim(), notes: $('edit-notes').value };
    const img = $('edit-image').value.trim();
    if (img) body.image = img;
    if ($('edit-root').value) body.root_mode = $('edit-root').value;
    if ($('edit-reset-root').checked) {
      if (!confirm('Replace the root of ' + serial + '? The files the board wrote there are deleted.')) return;
      body.reset_root = true;
    }
    say(await api('PATCH', '/api/v1/clients/' + encodeURIComponent(serial), body), 'saved ' + serial);
  } else if (act === 'reset') {
    if (!confirm('Reset the root of ' + serial + ' to its image? The files the board wrote there are deleted.')) return;
    say(await api('POST', '/api/v1/clients/' + encodeURIComponent(serial) + '/reset', {}), 'reset ' + serial);
  } else if (act === 'remove') {
    const keep = $('remove-keep-root').checked;
    if (!confirm('Remove ' + serial + (keep ? ' (its root is kept, moved aside)' : ' and DELETE its root') + '?')) return;
    say(await api('DELETE', '/api/v1/clients/' + encodeURIComponent(serial) + '?root=' + (keep ? 'keep' : 'delete')),
        'removed ' + serial);
  }
}

// The Images view's Import form (POST /api/v1/images): a file already on the server, by
// path; the import runs in the background and its "image" events feed the bar.
function renderImport() {
  const sec = $('images');
  let box = $('import-form');
  const signedIn = A.session && A.session.signed_in;
  if (!signedIn) { if (box) box.remove(); return; }
  if (box) return;
  box = document.createElement('form');
  box.id = 'import-form';
  box.innerHTML = '<h3>Import an image</h3>' +
    field('file on the server', 'import-path', '', ' size="40" placeholder="/srv/images/raspios.img.xz"') +
    field('name', 'import-name', '', ' size="14"') +
    '<button type="button" data-act="import">Import</button> ' +
    '<progress id="import-progress" value="0" max="1" hidden></progress> <span id="import-msg"></span>';
  sec.appendChild(box);
  box.addEventListener('click', async (e) => {
    if (!e.target.closest('button[data-act="import"]')) return;
    const body = { path: $('import-path').value.trim(), name: $('import-name').value.trim() };
    const r = await api('POST', '/api/v1/images', body);
    const m = $('import-msg');
    m.className = r.ok ? '' : 'fail-text';
    if (!r.ok) { m.textContent = r.error; return; }
    A.importing = r.json.job;
    const bar = $('import-progress');
    bar.hidden = false; bar.value = 0; bar.max = 1; bar.dataset.phases = '';
    m.textContent = 'importing ' + body.name + '\u2026';
    // Events may beat the 202 here (a small image imports in a second): the latest one.
    const early = A.imageEvents[body.name];
    if (early && early.id === A.importing.id) showImageEvent(early);
  });
}

function onImageEvent(ev) {
  let d = null;
  try { d = JSON.parse(ev.data); } catch (e) { return; }
  if (!d || typeof d.name !== 'string' || d.phase === undefined) return;
  A.imageEvents[d.name] = d;
  showImageEvent(d);
}

function showImageEvent(d) {
  const job = A.importing;
  if (!job || !d || d.name !== job.name || d.id !== job.id || !$('import-progress')) return;
  const bar = $('import-progress');
  const m = $('import-msg');
  if (d.total > 0) { bar.max = d.total; bar.value = Math.min(d.done, d.total); }
  const phases = bar.dataset.phases ? bar.dataset.phases.split(' ') : [];
  if (!phases.includes(d.phase)) bar.dataset.phases = phases.concat([d.phase]).join(' ');
  bar.dataset.phase = d.phase;
  if (d.phase === 'done') {
    A.importing = null; A.images = null;
    m.className = ''; m.textContent = 'imported ' + d.name;
    if (typeof loadImages === 'function') loadImages();  // the Images table (dashboard-fleet.js)
  } else if (d.phase === 'failed') {
    A.importing = null;
    m.className = 'fail-text'; m.textContent = 'import of ' + d.name + ' failed: ' + (d.error || '?');
  } else {
    m.className = ''; m.textContent = 'importing ' + d.name + ': ' + d.phase + ' ' +
      fmtBytes(d.done) + (d.total ? ' of ' + fmtBytes(d.total) : '');
  }
}

async function initAdmin() {
  // Drawn at once (signed out), then again when the server says who we are.
  renderSession();
  renderAdmin(true);
  try { A.session = (await api('GET', '/api/v1/session')).json || { signed_in: false }; }
  catch (e) { A.session = { signed_in: false }; }
  renderSession();
  renderAdmin(true);
  renderImport();
  if (S.es) S.es.addEventListener('image', onImageEvent);
  // The table is redrawn on every refresh and click: follow the selection.
  new MutationObserver(() => renderAdmin(false)).observe($('clients').tBodies[0], { childList: true, subtree: true, attributes: true });
}
initAdmin();
)PNB";
}

std::string_view dashboardAdminCss() {
    return R"PNB(.session { display:flex; gap:.4em; align-items:center; font-size:.9em; }
.session input { font-size:.9em; }
#admin label { margin-right:.6em; white-space:nowrap; }
#admin input, #admin select { font-size:.92em; }
#admin .muted, .muted { color:#8a93a0; }
button.danger { color:#9b1c1c; }
#import-form { margin-top:1em; }
#import-form h3 { font-size:1em; margin:.2em 0 .5em; }
#import-progress { width:16em; vertical-align:middle; }
)PNB";
}

}  // namespace pinet::app::http

// The dashboard in a real Chromium page (tests/integration/web_dashboard.sh starts
// serve and boots probe boards first, then runs this):
//   - the clients view: the CM4 says CM4, the Pi 4 says Pi 4, a board nobody
//     enrolled stands out (row class, "not enrolled" badge, another background);
//   - the Images view: the image with its size, its layout and its clients;
//   - the Doctor view: findings with their fixes.
//   - the write side: signed out, the Manage section has no actions and a write is
//     401; signed in with the API token, the unknown board is enrolled from the page
//     (the CLI's `client show --json` agrees), its notes edited from the page (the
//     CLI agrees), a CLI `client set` reaches the page live (server-sent events, no
//     reload), and the board is removed from the page (the confirm() accepted).
// PINET_EXPECT: {"cm4": SERIAL, "pi4": SERIAL, "unknown": SERIAL,
//                "image": {"name", "size_bytes", "clients": [SERIAL...]},
//                "token": API token, "cli": path of pinetboot (its state dir from
//                PINETBOOT_STATE_DIR), "import_path": an image file on the server}
//   - the Images view's Import form: a file on the server imported by path, its
//     progress bar fed by the "image" events, the new image in the table and the CLI.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

import { Run, check, config } from './lib/harness.mjs';

const cfg = config();
const E = cfg.expect;
const run = new Run(cfg);
const page = await run.start();

const row = (serial) => page.locator('#clients tr[data-serial="' + serial + '"]');
const text = async (locator) => (await locator.textContent()).trim();

await run.step('dashboard loads with its client rows', async () => {
  await page.goto(cfg.url + '/', { waitUntil: 'load' });
  await row(E.cm4).waitFor({ timeout: 10000 });
  await row(E.pi4).waitFor({ timeout: 10000 });
  return (await page.locator('#clients tbody tr').count()) + ' rows';
}, { required: true });

await run.step('the CM4 row says CM4', async () => {
  const model = await text(row(E.cm4).locator('td.model'));
  check(model === 'CM4', 'model cell of ' + E.cm4 + ' is "' + model + '"');
  return model;
});

await run.step('the Pi 4 row says Pi 4', async () => {
  const model = await text(row(E.pi4).locator('td.model'));
  check(model === 'Pi 4', 'model cell of ' + E.pi4 + ' is "' + model + '"');
  return model;
});

await run.step('the board nobody enrolled stands out', async () => {
  const unknown = row(E.unknown);
  check(await unknown.evaluate((tr) => tr.classList.contains('unknown')), 'row has no "unknown" class');
  check((await unknown.locator('.unknown-badge').count()) === 1, 'no "not enrolled" badge');
  const enrolled = row(E.cm4);
  check(!(await enrolled.evaluate((tr) => tr.classList.contains('unknown'))), 'the enrolled CM4 is marked unknown too');
  check((await enrolled.locator('.unknown-badge').count()) === 0, 'the enrolled CM4 has the badge');
  // Seen, not only in the DOM: its background differs from the enrolled row's.
  // The rows are re-rendered on every event; a row read while it was being replaced has
  // no computed style (""), so read until both are styled (at most 2 s).
  const bg = (l) => l.evaluate((tr) => getComputedStyle(tr).backgroundColor);
  let u = '', k = '';
  for (let i = 0; i < 20 && (u === '' || k === ''); ++i) {
    [u, k] = [await bg(unknown), await bg(enrolled)];
    if (u === '' || k === '') await page.waitForTimeout(100);
  }
  check(/^rgb/.test(u) && u !== 'rgba(0, 0, 0, 0)', 'the unknown row has no background of its own: "' + u + '"');
  check(u !== k, 'same background ' + u + ' for the unknown and the enrolled row');
  return 'background ' + u + ' vs ' + k;
});
await run.keep('dashboard-clients');

await run.step('the Images view lists the image with its size and its clients', async () => {
  await page.click('#views a[data-view="images"]');
  const r = page.locator('#images-table tr[data-image="' + E.image.name + '"]');
  await r.waitFor({ timeout: 10000 });
  check(await page.locator('#clients').isHidden(), 'the clients table is still shown');
  const bytes = Number(await r.locator('td.size').getAttribute('data-bytes'));
  check(bytes === E.image.size_bytes, 'size ' + bytes + ', the API says ' + E.image.size_bytes);
  const size = await text(r.locator('td.size'));
  check(/^\d+(\.\d)? (B|KiB|MiB)$/.test(size), 'size shown as "' + size + '"');
  const layout = await text(r.locator('td.layout'));
  check(/^(MBR|GPT) · boot FAT(12|16|32) \(\d+ files\) · root ext4/.test(layout), 'layout "' + layout + '"');
  const clients = await r.locator('td.clients a').allTextContents();
  check(JSON.stringify(clients) === JSON.stringify(E.image.clients), 'clients ' + JSON.stringify(clients));
  return size + ', ' + layout + ', clients ' + clients.join(' ');
});
await run.keep('dashboard-images');

await run.step('the Doctor view shows findings with their fixes', async () => {
  await page.click('#views a[data-view="doctor"]');
  await page.locator('#doctor-findings li').first().waitFor({ timeout: 15000 });
  const n = await page.locator('#doctor-findings li').count();
  const withFix = await page.locator('#doctor-findings li .fix code').count();
  check(n > 0 && withFix > 0, n + ' findings, ' + withFix + ' with a fix');
  // The discovered board's finding names the command that enrols it.
  const mine = page.locator('#doctor-findings li[data-check="client ' + E.unknown + '"]');
  check((await mine.count()) === 1, 'no finding for the discovered ' + E.unknown);
  const fix = await text(mine.locator('.fix code'));
  check(fix.includes('pinetboot client add --serial ' + E.unknown), 'its fix is "' + fix + '"');
  const summary = await text(page.locator('#doctor-summary'));
  check(/^\d+ problems?, \d+ findings?/.test(summary), 'summary "' + summary + '"');
  check((await text(page.locator('#doctor-skipped'))).includes('dhcp'), 'the skipped DHCP probe is not said');
  return n + ' findings, ' + withFix + ' fixes; ' + summary;
});
await run.keep('dashboard-doctor');

await run.step('the Clients view comes back', async () => {
  await page.click('#views a[data-view="clients"]');
  await row(E.cm4).waitFor({ state: 'visible', timeout: 5000 });
  check(await page.locator('#images').isHidden(), 'the images view is still shown');
});

// --- the write side, on the board nobody enrolled
const cli = (...args) => execFileSync(E.cli, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
const shown = (serial) => {
  try { return JSON.parse(cli('client', 'show', serial, '--json')); } catch (e) { return null; }
};
const until = async (what, fn, ms = 8000) => {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(what);
    await page.waitForTimeout(100);
  }
};
const U = E.unknown;

await run.step('signed out: no Manage actions, and a write is refused with 401', async () => {
  await row(U).click();
  await page.locator('#admin-title').filter({ hasText: U }).waitFor();
  check(await page.locator('#sign-in').isVisible(), 'no sign-in button');
  const acts = await page.locator('#admin button[data-act]').count();
  check(acts === 0, acts + ' Manage actions while signed out');
  check((await text(page.locator('#admin-body'))).includes('pinetboot token show'), 'no hint where the token is');
  // What the page would send, sent anyway: the server refuses it and stores nothing.
  const r = await page.evaluate(async (serial) => {
    const res = await fetch('/api/v1/clients', { method: 'POST', headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ serial, name: 'sneaky', image: 'os', root_mode: 'shared' }) });
    return { status: res.status, body: await res.json().catch(() => null) };
  }, U);
  check(r.status === 401, 'unsigned POST /api/v1/clients is ' + r.status);
  check(r.body && r.body.error && r.body.error.code, 'no error code in ' + JSON.stringify(r.body));
  const c = shown(U);
  check(!c || c.name !== 'sneaky', 'the refused write changed the registry: ' + JSON.stringify(c));
  return r.status + ' ' + r.body.error.code;
});

await run.step('sign in with the API token', async () => {
  await page.fill('#token', 'not-the-token');
  await page.click('#sign-in');
  await page.locator('#session-msg').filter({ hasText: /\S/ }).waitFor();
  const wrong = await text(page.locator('#session-msg'));
  await page.fill('#token', E.token);
  await page.click('#sign-in');
  await page.locator('#sign-out').waitFor();
  await page.locator('#admin button[data-act="enrol"]').waitFor();
  const cookies = await page.context().cookies();
  check(cookies.some((k) => k.httpOnly && k.sameSite === 'Strict'), 'no HttpOnly SameSite=Strict cookie: ' +
    JSON.stringify(cookies.map((k) => [k.name, k.httpOnly, k.sameSite])));
  return 'a wrong token said "' + wrong + '"';
}, { required: true });

await run.step('enrol the discovered board from the page', async () => {
  // Its address: the one it has now (the lease in the IP column); the NFS export lets only it in.
  const ip = await text(row(U).locator('td').nth(4));
  check(/^\d+\.\d+\.\d+\.\d+$/.test(ip), 'no address in the IP cell: "' + ip + '"');
  await page.fill('#enrol-address', ip);
  await page.fill('#enrol-name', 'web-pi4');
  await page.fill('#enrol-image', E.image.name);
  // A private copy (the test image's root is a few MB), so that it can be reset below.
  await page.selectOption('#enrol-root', 'copy');
  await page.click('#admin button[data-act="enrol"]');
  await page.locator('#admin-msg').filter({ hasText: 'enrolled ' + U }).waitFor({ timeout: 15000 });
  await until('the row does not say enrolled', async () => (await row(U).getAttribute('data-enrolled')) === 'yes');
  check((await row(U).locator('.unknown-badge').count()) === 0, 'the enrolled row still has the "not enrolled" badge');
  check((await text(row(U).locator('td').nth(3))) === 'web-pi4', 'name cell is not web-pi4');
  await page.locator('#admin button[data-act="edit"]').waitFor();
  const c = shown(U);
  check(c !== null, 'client show ' + U + ' fails after the enrol');
  check(c.name === 'web-pi4' && c.image === E.image.name && c.root_mode === 'copy' && c.address === ip,
        'client show: ' + JSON.stringify({ name: c.name, image: c.image, root_mode: c.root_mode, address: c.address }));
  return 'client show: ' + c.name + ', ' + c.image + ', ' + c.root_mode + ', ' + c.address;
}, { required: true });
await run.keep('dashboard-enrolled');

await run.step('edit its notes from the page; the CLI sees them', async () => {
  await page.fill('#edit-notes', 'shelf 3, from the browser');
  await page.click('#admin button[data-act="edit"]');
  await page.locator('#admin-msg').filter({ hasText: 'saved ' + U }).waitFor({ timeout: 10000 });
  const c = shown(U);
  check(c && c.notes === 'shelf 3, from the browser', 'client show notes: ' + (c && JSON.stringify(c.notes)));
  return 'notes "' + c.notes + '"';
});

await run.step('a CLI change reaches the page live (no reload)', async () => {
  await page.evaluate(() => { window.__sameDocument = true; });
  const t0 = Date.now();
  cli('client', 'set', U, '--name', 'cli-pi4', '--notes', 'moved by the CLI');
  await until('the row name did not follow the CLI', async () => (await text(row(U).locator('td').nth(3))) === 'cli-pi4');
  await until('the notes field did not follow the CLI',
              async () => (await page.inputValue('#edit-notes')) === 'moved by the CLI');
  const ms = Date.now() - t0;
  check(await page.evaluate(() => window.__sameDocument === true), 'the page was reloaded');
  // The poll fallback is every 15 s: this fast, it came by the event stream.
  check(ms < 5000, 'took ' + ms + ' ms');
  check((await page.locator('#live').getAttribute('class')).includes('on'), 'the live indicator is off');
  return 'in ' + ms + ' ms';
});

await run.step('the enrolled board boots from its new tree; its timeline appears live', async () => {
  const chips = page.locator('#boots .boot-chip');
  const before = await chips.count();
  // Runs while the page stays open: the boot reaches it by the event stream.
  const log = execFileSync(E.boot[0], E.boot.slice(1), { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  check(log.includes(U + '/kernel8.img'), 'the probe did not fetch ' + U + '/kernel8.img: ' + log.slice(-300));
  await until('no new boot in the timeline', async () => (await chips.count()) > before, 10000);
  await until('the timeline does not show the kernel', async () =>
    (await text(page.locator('#timeline'))).includes('kernel8.img'), 5000);
  return (await chips.count()) + ' boots listed (was ' + before + '), kernel from ' + U + '/';
});
await run.keep('dashboard-timeline');

await run.step('reset its root from the page (the confirm dialog accepted)', async () => {
  const root = shown(U).root_export;
  check(root && fs.existsSync(root), 'no private root at "' + root + '"');
  const marker = path.join(root, 'written-by-the-board');
  fs.writeFileSync(marker, 'x');
  const asked = [];
  const onDialog = (d) => { asked.push(d.type() + ': ' + d.message()); d.accept(); };
  page.on('dialog', onDialog);
  try {
    await page.click('#admin button[data-act="reset"]');
    await page.locator('#admin-msg').filter({ hasText: 'reset ' + U }).waitFor({ timeout: 15000 });
  } finally {
    page.off('dialog', onDialog);
  }
  check(asked.length === 1 && asked[0].startsWith('confirm: Reset the root of ' + U), 'dialogs: ' + JSON.stringify(asked));
  check(!fs.existsSync(marker), 'the file the board wrote survived the reset');
  check(fs.existsSync(path.join(root, 'etc')), 'the reset root has no etc/');
  return asked[0];
});

await run.step('remove it from the page (the confirm dialog accepted)', async () => {
  const asked = [];
  const onDialog = (d) => { asked.push(d.type() + ': ' + d.message()); d.accept(); };
  page.on('dialog', onDialog);
  try {
    await page.click('#admin button[data-act="remove"]');
    await page.locator('#admin-msg').filter({ hasText: 'removed ' + U }).waitFor({ timeout: 10000 });
  } finally {
    page.off('dialog', onDialog);
  }
  check(asked.length === 1 && asked[0].startsWith('confirm: Remove ' + U), 'dialogs: ' + JSON.stringify(asked));
  check(shown(U) === null, 'client show ' + U + ' still succeeds');
  // Still seen on the wire, so back to a board nobody enrolled.
  await until('the row is not back to "not enrolled"', async () =>
    (await row(U).count()) === 0 || (await row(U).getAttribute('data-enrolled')) === 'no');
  return asked[0];
});

await run.step('import an image from the Images view, with its progress bar', async () => {
  await page.click('#views a[data-view="images"]');
  await page.locator('#import-form').waitFor();
  // A bad path first: refused at once, named.
  await page.fill('#import-path', 'relative.img');
  await page.fill('#import-name', 'web-os');
  await page.click('#import-form button[data-act="import"]');
  await page.locator('#import-msg.fail-text').filter({ hasText: 'absolute' }).waitFor();
  await page.fill('#import-path', E.import_path);
  await page.click('#import-form button[data-act="import"]');
  await page.locator('#import-msg').filter({ hasText: 'imported web-os' }).waitFor({ timeout: 20000 });
  const bar = page.locator('#import-progress');
  check(await bar.isVisible(), 'the progress bar is hidden');
  const phases = (await bar.getAttribute('data-phases')) || '';
  check(phases.split(' ').includes('done'), 'phases seen by the bar: "' + phases + '"');
  const [value, max] = await bar.evaluate((b) => [b.value, b.max]);
  check(max > 1 && value === max, 'bar at ' + value + ' of ' + max);
  await page.locator('#images-table tr[data-image="web-os"]').waitFor({ timeout: 5000 });
  const listed = JSON.parse(cli('image', 'list', '--json')).map((i) => i.name);
  check(listed.includes('web-os'), 'image list: ' + listed.join(' '));
  return 'phases ' + phases + ', bar ' + value + '/' + max;
});
await run.keep('dashboard-import');

await run.finish();

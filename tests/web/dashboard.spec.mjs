// The dashboard in a real Chromium page (tests/integration/web_dashboard.sh starts
// serve and boots probe boards first, then runs this):
//   - the clients view: the CM4 says CM4, the Pi 4 says Pi 4, a board nobody
//     enrolled stands out (row class, "not enrolled" badge, another background);
//   - the Images view: the image with its size, its layout and its clients;
//   - the Doctor view: findings with their fixes.
// PINET_EXPECT: {"cm4": SERIAL, "pi4": SERIAL, "unknown": SERIAL,
//                "image": {"name", "size_bytes", "clients": [SERIAL...]}}
// Write actions (enrol, edit, reset, remove) are further steps on the same Run.
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

await run.finish();

// A small browser-test harness over playwright-core, no test framework: Debian's
// /usr/bin/chromium (never a downloaded browser), steps that print PASS/FAIL lines like
// the shell integration tests, a screenshot of the page when a step fails, and the exit
// status. Used by dashboard.spec.mjs; further specs (the write actions: enrol, edit,
// reset, remove) add their steps the same way.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

import { chromium } from 'playwright-core';

export const CHROMIUM = process.env.PINET_CHROMIUM || '/usr/bin/chromium';

/// Environment the shell test passes: PINET_URL (the dashboard), PINET_OUT (where
/// screenshots go), PINET_EXPECT (JSON with what the page must show).
export function config() {
  const url = process.env.PINET_URL;
  const out = process.env.PINET_OUT;
  if (!url || !out) {
    console.error('usage: PINET_URL=http://127.0.0.1:PORT PINET_OUT=DIR [PINET_EXPECT=JSON] node SPEC');
    process.exit(2);
  }
  mkdirSync(out, { recursive: true });
  return { url: url.replace(/\/$/, ''), out, expect: JSON.parse(process.env.PINET_EXPECT || '{}') };
}

function slug(text) {
  return text.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '').slice(0, 60);
}

export class Run {
  constructor(cfg) {
    this.cfg = cfg;
    this.failures = 0;
    this.browser = null;
    this.page = null;
  }

  async start() {
    this.browser = await chromium.launch({
      executablePath: CHROMIUM,
      // --no-sandbox: the tests run as root, where Chromium refuses its sandbox.
      args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking'],
    });
    const context = await this.browser.newContext({ viewport: { width: 1300, height: 900 } });
    this.page = await context.newPage();
    // A failing check should fail in seconds, not Playwright's 30 s per action.
    this.page.setDefaultTimeout(5000);
    this.consoleErrors = [];
    this.page.on('pageerror', (e) => this.consoleErrors.push(String(e)));
    return this.page;
  }

  /// Runs @p fn(page); a throw is a FAIL with a screenshot in PINET_OUT. With
  /// { required: true } a failure ends the run (later steps would only time out).
  async step(name, fn, { required = false } = {}) {
    try {
      const note = await fn(this.page);
      console.log('PASS ' + name + (note ? ': ' + note : ''));
    } catch (e) {
      this.failures += 1;
      const shot = join(this.cfg.out, 'fail-' + slug(name) + '.png');
      try {
        await this.page.screenshot({ path: shot, fullPage: true });
      } catch (se) {
        console.log('  (no screenshot: ' + se.message + ')');
      }
      console.log('FAIL ' + name + ': ' + (e && e.message ? e.message.split('\n')[0] : e) + ' (screenshot ' + shot + ')');
      if (required) {
        console.log('FAIL stopping: "' + name + '" is needed by the steps after it');
        await this.finish();
        process.exit(1);
      }
    }
  }

  /// A screenshot for people to look at (each view), not a check.
  async keep(name) {
    await this.page.screenshot({ path: join(this.cfg.out, name + '.png'), fullPage: true });
  }

  async finish() {
    if (this.consoleErrors.length) {
      this.failures += 1;
      console.log('FAIL page script errors: ' + this.consoleErrors.join(' | '));
    }
    if (this.browser) await this.browser.close();
    process.exitCode = this.failures ? 1 : 0;
  }
}

/// Throws unless @p cond, with @p message.
export function check(cond, message) {
  if (!cond) throw new Error(message);
}

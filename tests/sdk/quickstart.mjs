// quickstart.mjs - docs/VIEWER.md's SDK quick start, exactly as written:
// takes the ```html block under "### Quick start" out of the document,
// serves it from porthole-cloud (a copy of web/ plus that page) and opens
// it in headless Debian chromium with a real porthole-robot named robot-1.
// Passes when the page, untouched, plays video (frames decoded, 640x480),
// logs what the quick start says it logs (robots, session states, camera,
// the option set), switches to depth with its button and stops with the
// other, without a page error or console warning; and when its calls went
// out in the order the SDK promises (registration first, then the session
// and the requests asked before the connection was open).
//
//   PORTHOLE_CLOUD=build/porthole-cloud PORTHOLE_ROBOT=build/porthole-robot \
//     tests/netns-run.sh node tests/sdk/quickstart.mjs

import assert from 'node:assert/strict';
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  artifactsDir, freePort, launchBrowser, startCloud, startRobot, tempDir, waitFor,
} from '../browser/harness.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '../..');
const { PORTHOLE_CLOUD: CLOUD_BIN, PORTHOLE_ROBOT: ROBOT_BIN } = process.env;
if (!CLOUD_BIN || !ROBOT_BIN) {
  console.error('quickstart: FAIL: set PORTHOLE_CLOUD and PORTHOLE_ROBOT (paths of the binaries)');
  process.exit(1);
}
const watchdog = setTimeout(() => {
  console.error('quickstart: FAIL: the run took more than 120 s');
  process.exit(1);
}, 120000);
watchdog.unref();

/** The first ```html block after the "### Quick start" heading of docs/VIEWER.md. */
function quickStart() {
  const md = readFileSync(join(root, 'docs/VIEWER.md'), 'utf8');
  const at = md.indexOf('\n### Quick start\n');
  assert.ok(at >= 0, 'docs/VIEWER.md has a "### Quick start" section');
  const m = /\n```html\n([\s\S]*?)\n```\n/.exec(md.slice(at));
  assert.ok(m, 'the quick start has an ```html block');
  return `${m[1]}\n`;
}

const webRoot = tempDir('porthole-quickstart-');
cpSync(join(root, 'web'), webRoot, { recursive: true });
writeFileSync(join(webRoot, 'quickstart.html'), quickStart());

const port = await freePort();
await startCloud({ bin: CLOUD_BIN, port, webRoot });
await startRobot({ bin: ROBOT_BIN, port, robotId: 'robot-1' });

const browser = await launchBrowser();
let page;
try {
  const url = `http://127.0.0.1:${port}/quickstart.html`;
  page = await browser.newPage(url, {
    // Records what the page's WebSockets send (the order of the SDK's messages).
    init: () => {
      window.sentTypes = [];
      const send = WebSocket.prototype.send;
      WebSocket.prototype.send = function patched(data) {
        try { window.sentTypes.push(JSON.parse(data).type); } catch { /* not JSON */ }
        return send.call(this, data);
      };
    },
  });
  const warnings = [];
  page.on('console', (m) => {
    // The browser asks for /favicon.ico by itself; the quick start has none.
    if (/\/favicon\.ico$/.test(m.location()?.url || '')) return;
    if (m.type() === 'warning' || m.type() === 'error') warnings.push(`${m.text()} (${m.location()?.url})`);
  });
  await page.goto(url);
  const log = () => page.locator('#log').innerText();
  const frames = () => page.evaluate(() => document.querySelector('video').getVideoPlaybackQuality().totalVideoFrames);

  await waitFor(async () => /session: connected/.test(await log()), 20000, 'the log to say "session: connected"');
  const first = await frames();
  await waitFor(async () => (await frames()) >= first + 15, 10000, `frames decoded to grow by 15 (from ${first})`);
  const size = await page.evaluate(() => [document.querySelector('video').videoWidth, document.querySelector('video').videoHeight]);
  assert.deepEqual(size, [640, 480], 'the video is the robot\'s 640x480');
  await waitFor(async () => /^640x480, \d+ fps, VP8$/.test(await page.locator('#stats').innerText()), 5000,
    'the stats line (640x480, N fps, VP8)');
  await waitFor(async () => /color_exposure: 400/.test(await log()), 10000, 'the option set through the cloud');

  const text = await log();
  assert.match(text, /^robots: robot-1 \(online\)$/m);
  assert.deepEqual(text.split('\n').filter((l) => l.startsWith('session: ')),
    ['session: negotiating', 'session: connecting', 'session: connected'], 'the session states in order');
  assert.match(text, /^camera: Intel RealSense D435 \(simulated\) \d+$/m);

  const sent = await page.evaluate(() => window.sentTypes);
  assert.equal(sent[0], 'client-register', `the registration goes first: ${sent}`);
  assert.deepEqual(sent.slice(1, 3), ['create-session', 'robot-request'],
    `then the session and the request asked before the connection was open: ${sent}`);

  await page.click('#depth');
  await waitFor(async () => /now showing: depth/.test(await log()), 10000, 'the switch to depth');
  const before = await frames();
  await waitFor(async () => (await frames()) >= before + 10, 10000, 'depth frames decoded');

  await page.click('#stop');
  await waitFor(async () => /closed: closed-by-client Disconnected\./.test(await log()), 5000, 'the session closed');

  assert.deepEqual(browser.errors, [], 'no page errors');
  assert.deepEqual(warnings, [], 'no console warnings or errors');
  console.log(`quickstart: ok: docs/VIEWER.md's quick start played ${before} frames of colour, then depth, and stopped`);
} catch (e) {
  if (page) await page.screenshot({ path: join(artifactsDir(), 'sdk-quickstart.png') }).catch(() => {});
  console.error(`quickstart: FAIL: ${e.stack || e}\n  page log:\n${page ? await page.locator('#log').innerText().catch(() => '?') : '?'}`);
  await browser.close();
  process.exit(1);
}
await browser.close();
process.exit(0);

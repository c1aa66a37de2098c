// run.mjs - browser tests of the web viewer (web/): headless Debian chromium
// driven by playwright-core against the real porthole-cloud, with the real
// porthole-robot for the video scenarios and a signaling-only fake robot
// (fakerobot.mjs) for the UI ones.
//
//   node tests/browser/run.mjs [scenario or group ...]    e.g. `ui`, `video.switch`
//
// Environment: PORTHOLE_CLOUD, PORTHOLE_ROBOT (binaries; PORTHOLE_ROBOT=page
// uses the in-browser stand-in of pagerobot.mjs), PORTHOLE_WEB_ROOT,
// PORTHOLE_ARTIFACTS (screenshots; default ./test-artifacts),
// PORTHOLE_DOCS_SCREENSHOT (a path: also save the viewer screenshot there),
// PORTHOLE_TEST_VERBOSE=1 (echo process and page logs). Run it inside
// tests/netns-run.sh so nothing leaves loopback. Exits 0 when every selected
// scenario passed.

import assert from 'node:assert/strict';
import { copyFileSync, existsSync } from 'node:fs';
import { createServer } from 'node:http';
import { readFile } from 'node:fs/promises';
import { dirname, extname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FakeRobot } from './fakerobot.mjs';
import {
  artifactsDir, freePort, getJson, launchBrowser, runScenarios, sleep, startCloud, startRobot, waitFor,
} from './harness.mjs';
import { startPageRobot } from './pagerobot.mjs';
import { colorToDepth } from '../../web/colormap.js';

const here = dirname(fileURLToPath(import.meta.url));
const CLOUD_BIN = process.env.PORTHOLE_CLOUD;
const ROBOT_BIN = process.env.PORTHOLE_ROBOT;
const WEB_ROOT = resolve(process.env.PORTHOLE_WEB_ROOT || join(here, '../../web'));
const ARTIFACTS = artifactsDir();
const only = process.argv.slice(2);
const TOTAL_MS = 280000;

if (!CLOUD_BIN) {
  console.error('browser: FAIL: PORTHOLE_CLOUD is not set (path of porthole-cloud)');
  process.exit(1);
}
const watchdog = setTimeout(() => {
  console.error(`browser: FAIL: the whole run took more than ${TOTAL_MS} ms`);
  process.exit(1);
}, TOTAL_MS);
watchdog.unref();

// --- page helpers --------------------------------------------------------------

const row = (page, id) => page.locator(`#robot-list li[data-robot-id="${id}"]`);
const tile = (page, id) => page.locator(`#grid .tile[data-robot-id="${id}"]`);

async function shot(page, name) {
  const path = join(ARTIFACTS, `${name}.png`);
  await page.screenshot({ path }).catch(() => {});
  return path;
}

/** Frames decoded so far, the video size and the session state of robot id's tile. */
function videoState(page, id) {
  return page.evaluate(async (rid) => {
    const t = window.portholeViewer?.tiles.get(rid);
    const pc = t?.session?.peerConnection;
    if (!t || !pc) return null;
    let frames = 0;
    (await pc.getStats()).forEach((s) => {
      if (s.type === 'inbound-rtp' && s.kind === 'video') frames = Math.max(frames, s.framesDecoded || 0);
    });
    return { frames, width: t.video.videoWidth, height: t.video.videoHeight, state: t.session.state,
      signaling: t.session.signaling, streamTypes: t.session.streamTypes };
  }, id);
}

/** Waits until the decoded frame count of robot id's video grows by `by`. */
async function expectFlowing(page, id, what, by = 15, ms = 8000) {
  const first = await waitFor(() => videoState(page, id), ms, `${what}: a peer connection`);
  await waitFor(async () => {
    const s = await videoState(page, id);
    return s && s.frames >= first.frames + by;
  }, ms, `${what}: framesDecoded to grow by ${by} (from ${first.frames})`);
  return videoState(page, id);
}

/** Clicks Watch on robot id with the stream picked in its row. */
async function watch(page, id, stream = 'color') {
  await row(page, id).locator('select.robot-stream').selectOption(stream);
  await row(page, id).locator('button.watch').click();
  await waitFor(async () => (await tile(page, id).getAttribute('data-state')) === 'connected', 10000,
    `${id}: session state 'connected'`);
}

/** RGB samples on a 32x24 grid of the frame on show, below the marker row. */
function samplePixels(page, id) {
  return page.evaluate((rid) => {
    const v = window.portholeViewer.tiles.get(rid).video;
    const c = document.createElement('canvas');
    c.width = v.videoWidth;
    c.height = v.videoHeight;
    const ctx = c.getContext('2d', { willReadFrequently: true });
    ctx.drawImage(v, 0, 0);
    const { data } = ctx.getImageData(0, 0, c.width, c.height);
    const out = [];
    for (let gy = 0; gy < 24; gy++) {
      for (let gx = 0; gx < 32; gx++) {
        const x = Math.floor(((gx + 0.5) * c.width) / 32);
        const y = Math.floor(c.height / 8 + ((gy + 0.5) * (c.height * 7 / 8)) / 24);
        const o = (y * c.width + x) * 4;
        out.push([data[o], data[o + 1], data[o + 2]]);
      }
    }
    return out;
  }, id);
}

/** Depth pictures are the jet colormap: mostly saturated colours on the ramp. */
function assertDepthPicture(px) {
  const lit = px.filter(([r, g, b]) => r + g + b >= 60);
  assert.ok(lit.length >= px.length * 0.3, `depth: only ${lit.length}/${px.length} samples are not black`);
  const saturated = lit.filter(([r, g, b]) => Math.max(r, g, b) - Math.min(r, g, b) >= 100);
  assert.ok(saturated.length >= lit.length * 0.6,
    `depth: only ${saturated.length}/${lit.length} lit samples are saturated (a colormap is)`);
  const onRamp = lit.filter(([r, g, b]) => !Number.isNaN(colorToDepth(r, g, b, 90)));
  assert.ok(onRamp.length >= lit.length * 0.7, `depth: only ${onRamp.length}/${lit.length} samples are jet colours`);
}

/** Infrared pictures are gray: r = g = b up to coding noise, and not black. */
function assertGrayPicture(px) {
  const gray = px.filter(([r, g, b]) => Math.abs(r - g) <= 16 && Math.abs(g - b) <= 16 && Math.abs(r - b) <= 16);
  assert.ok(gray.length >= px.length * 0.95, `infrared: only ${gray.length}/${px.length} samples are gray`);
  const mean = px.reduce((a, [r, g, b]) => a + (r + g + b) / 3, 0) / px.length;
  assert.ok(mean > 8, `infrared: the picture is black (mean ${mean.toFixed(1)})`);
}

// --- a small static server: the viewer hosted away from the cloud -------------

const MIME = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css', '.svg': 'image/svg+xml' };
async function startStatic(port) {
  const srv = createServer(async (req, res) => {
    const p = new URL(req.url, 'http://x').pathname;
    const file = join(WEB_ROOT, p.endsWith('/') ? `${p}index.html` : p);
    if (!file.startsWith(WEB_ROOT)) { res.writeHead(404).end(); return; }
    try {
      const body = await readFile(file);
      res.writeHead(200, { 'content-type': MIME[extname(file)] || 'application/octet-stream' }).end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  await new Promise((r) => srv.listen(port, '127.0.0.1', r));
  return srv;
}

// --- the UI scenarios: real cloud, fake robots, no video -------------------------

async function uiGroup() {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}/`;
  const wsUrl = `ws://127.0.0.1:${port}/ws`;
  let cloud = await startCloud({ bin: CLOUD_BIN, port, webRoot: WEB_ROOT });
  const browser = await launchBrowser();
  const fakes = [];
  const fake = async (id, mode) => {
    const f = await new FakeRobot(wsUrl, id, { mode }).start();
    fakes.push(f);
    return f;
  };
  const scenarios = [
    { name: 'ui.list', async run() {
      await fake('fake-1', 'error');
      const t0 = Date.now();
      const page = await browser.newPage(url);
      await row(page, 'fake-1').waitFor({ timeout: 2000 });
      const took = Date.now() - t0;
      assert.equal(await row(page, 'fake-1').getAttribute('data-online'), 'true');
      const text = await row(page, 'fake-1').innerText();
      for (const want of ['Intel RealSense D435 (fake)', 'fake-1', '000000000042', 'depth', 'infrared-2']) {
        assert.ok(text.includes(want), `the robot row shows '${want}': ${JSON.stringify(text)}`);
      }
      // A robot that arrives later appears without a reload.
      await fake('fake-2', 'error');
      await row(page, 'fake-2').waitFor({ timeout: 2000 });
      assert.equal(await page.locator('#cloud-status').getAttribute('data-state'), 'open');
      console.log(`     listed in ${took} ms`);
      await shot(page, 'ui-list');
      await page.close();
    } },
    { name: 'ui.session-error', async run() {
      const page = await browser.newPage(url);
      await row(page, 'fake-1').locator('button.watch').click();
      const msg = tile(page, 'fake-1').locator('.message');
      await msg.waitFor({ state: 'visible', timeout: 5000 });
      const text = await msg.innerText();
      assert.ok(text.includes('camera unavailable (simulated)'), `the robot's error is shown: ${JSON.stringify(text)}`);
      await shot(page, 'ui-session-error');
      // Close removes the tile; the robot can be watched again.
      await tile(page, 'fake-1').locator('button.dismiss').click();
      assert.equal(await tile(page, 'fake-1').count(), 0);
      assert.equal(await row(page, 'fake-1').locator('button.watch').innerText(), 'Watch');
      await page.close();
    } },
    { name: 'ui.bad-offer', async run() {
      await fake('fake-bad', 'bad-sdp');
      const page = await browser.newPage(url);
      await row(page, 'fake-bad').locator('button.watch').click();
      const msg = tile(page, 'fake-bad').locator('.message');
      await msg.waitFor({ state: 'visible', timeout: 5000 });
      const text = await msg.innerText();
      assert.match(text, /offer/i, `an unusable offer is reported: ${JSON.stringify(text)}`);
      assert.equal(await page.locator('#cloud-status').getAttribute('data-state'), 'open', 'the cloud connection survives');
      await page.close();
    } },
    { name: 'ui.robot-offline', async run() {
      const f = await fake('fake-gone', 'silent');
      const page = await browser.newPage(url);
      await row(page, 'fake-gone').waitFor({ timeout: 2000 });
      await row(page, 'fake-gone').locator('button.watch').click();
      await tile(page, 'fake-gone').waitFor({ timeout: 2000 });
      await f.stop();
      await waitFor(async () => (await row(page, 'fake-gone').getAttribute('data-online')) === 'false', 3000,
        'the robot row marked offline');
      assert.match(await row(page, 'fake-gone').innerText(), /offline/);
      assert.equal(await row(page, 'fake-gone').locator('button.watch').isDisabled(), true, 'Watch is disabled');
      const msg = tile(page, 'fake-gone').locator('.message');
      await msg.waitFor({ state: 'visible', timeout: 3000 });
      assert.match(await msg.innerText(), /offline/i);
      await shot(page, 'ui-robot-offline');
      await page.close();
    } },
    { name: 'ui.no-webrtc', async run() {
      const page = await browser.context.newPage();
      await page.addInitScript(() => { delete window.RTCPeerConnection; delete window.webkitRTCPeerConnection; });
      await page.goto(url);
      const banner = page.locator('#banner');
      await banner.waitFor({ state: 'visible', timeout: 2000 });
      assert.match(await banner.innerText(), /does not support WebRTC/);
      await row(page, 'fake-1').waitFor({ timeout: 2000 });
      assert.equal(await row(page, 'fake-1').locator('button.watch').isDisabled(), true);
      await shot(page, 'ui-no-webrtc');
      await page.close();
    } },
    { name: 'ui.hosted-elsewhere', async run() {
      const sport = await freePort();
      const srv = await startStatic(sport);
      try {
        const page = await browser.newPage(`http://127.0.0.1:${sport}/?cloud=${encodeURIComponent(wsUrl)}`);
        await row(page, 'fake-1').waitFor({ timeout: 2000 });
        assert.equal(await page.locator('#cloud-url').innerText(), wsUrl);
        await page.close();
        const bad = await browser.newPage(`http://127.0.0.1:${sport}/?cloud=ftp://nowhere`);
        await bad.locator('#banner').waitFor({ state: 'visible', timeout: 2000 });
        assert.match(await bad.locator('#banner').innerText(), /cloud/i);
        await bad.close();
      } finally {
        srv.close();
      }
    } },
    { name: 'ui.cloud-restart', async run() {
      const page = await browser.newPage(url);
      await row(page, 'fake-1').waitFor({ timeout: 2000 });
      await cloud.stop('SIGTERM');
      await waitFor(async () => ['unreachable', 'reconnecting'].includes(
        await page.locator('#cloud-status').getAttribute('data-state')), 3000, 'the status shows the cloud is down');
      await page.locator('#banner').waitFor({ state: 'visible', timeout: 3000 });
      assert.match(await page.locator('#banner').innerText(), /cloud/i);
      await shot(page, 'ui-cloud-down');
      await sleep(1500);
      cloud = await startCloud({ bin: CLOUD_BIN, port, webRoot: WEB_ROOT });
      // The fake robots do not reconnect: one fresh robot must show up, the old ones offline.
      await fake('fake-back', 'error');
      await waitFor(async () => (await page.locator('#cloud-status').getAttribute('data-state')) === 'open', 15000,
        'the viewer reconnected to the restarted cloud');
      await row(page, 'fake-back').waitFor({ timeout: 3000 });
      assert.equal(await row(page, 'fake-back').getAttribute('data-online'), 'true');
      assert.equal(await row(page, 'fake-1').getAttribute('data-online'), 'false', 'a robot gone with the old cloud is offline');
      assert.equal(await page.locator('#banner').isVisible(), false, 'the banner is gone');
      await page.close();
    } },
  ];
  try {
    return await runScenarios(scenarios, only.filter((o) => o.startsWith('ui')));
  } finally {
    if (browser.errors.length) console.log(`page errors:\n  ${browser.errors.join('\n  ')}`);
    for (const f of fakes) await f.stop();
    await browser.close();
    await cloud.stop();
  }
}

// --- the video scenarios: real cloud, real robot ------------------------------------

async function videoGroup() {
  if (!ROBOT_BIN) throw new Error('PORTHOLE_ROBOT is not set (path of porthole-robot, or "page")');
  if (ROBOT_BIN !== 'page' && !existsSync(ROBOT_BIN)) throw new Error(`no porthole-robot at ${ROBOT_BIN}`);
  const port = await freePort();
  const url = `http://127.0.0.1:${port}/`;
  let cloud = await startCloud({ bin: CLOUD_BIN, port, webRoot: WEB_ROOT });
  const browser = await launchBrowser();
  const robots = [];
  const robot = async (id) => {
    const r = ROBOT_BIN === 'page'
      ? await startPageRobot(browser, port, id)
      : await startRobot({ bin: ROBOT_BIN, port, robotId: id });
    robots.push(r);
    return r;
  };
  const pages = [];
  const open = async (u = url) => { const p = await browser.newPage(u); pages.push(p); return p; };
  let r1;
  let main;
  const scenarios = [
    { name: 'video.list', async run() {
      r1 = await robot('sim-1');
      const t0 = Date.now();
      main = await open();
      await row(main, 'sim-1').waitFor({ timeout: 2000 });
      const took = Date.now() - t0;
      assert.ok(took <= 2000, `listed in ${took} ms`);
      const text = await row(main, 'sim-1').innerText();
      assert.match(text, /RealSense/);
      assert.match(text, /depth/);
      console.log(`     listed in ${took} ms`);
    } },
    { name: 'video.play', async run() {
      await watch(main, 'sim-1', 'color');
      const st = await expectFlowing(main, 'sim-1', 'colour');
      assert.equal(st.width, 640, 'videoWidth');
      assert.equal(st.height, 480, 'videoHeight');
      await sleep(1500); // a second stats period, so the overlay has rates
      const stats = await tile(main, 'sim-1').locator('.stats').innerText();
      assert.match(stats, /fps/);
      assert.match(stats, /640×480/);
      assert.match(stats, /host/);
      await shot(main, 'video-color');
    } },
    { name: 'video.switch', async run() {
      for (const [stream, check] of [['depth', assertDepthPicture], ['infrared-1', assertGrayPicture]]) {
        await tile(main, 'sim-1').locator('select.tile-stream').selectOption(stream);
        await waitFor(async () => (await videoState(main, 'sim-1'))?.streamTypes?.[0] === stream, 5000,
          `the robot confirmed the switch to ${stream}`);
        await expectFlowing(main, 'sim-1', stream);
        // The first frames after a switch may still be the old picture: retry the check briefly.
        await waitFor(async () => { check(await samplePixels(main, 'sim-1')); return true; }, 3000,
          `${stream} picture`, 250);
        if (stream === 'depth') {
          assert.equal(await tile(main, 'sim-1').locator('.legend').isVisible(), true, 'the depth legend shows');
        }
        await shot(main, `video-${stream}`);
      }
      await tile(main, 'sim-1').locator('select.tile-stream').selectOption('color');
      await waitFor(async () => (await videoState(main, 'sim-1'))?.streamTypes?.[0] === 'color', 5000, 'back to colour');
      await expectFlowing(main, 'sim-1', 'colour again');
    } },
    { name: 'video.second-page', async run() {
      const second = await open();
      await row(second, 'sim-1').waitFor({ timeout: 2000 });
      await watch(second, 'sim-1', 'depth');
      await Promise.all([expectFlowing(main, 'sim-1', 'first page'), expectFlowing(second, 'sim-1', 'second page')]);
      await shot(second, 'video-second-page');
      await tile(second, 'sim-1').locator('button.close').click();
      assert.equal(await tile(second, 'sim-1').count(), 0);
      await expectFlowing(main, 'sim-1', 'first page after the second left');
      await second.close();
    } },
    { name: 'video.grid', async run() {
      await robot('sim-2');
      await row(main, 'sim-2').waitFor({ timeout: 3000 });
      await watch(main, 'sim-2', 'depth');
      await Promise.all([expectFlowing(main, 'sim-1', 'grid sim-1'), expectFlowing(main, 'sim-2', 'grid sim-2')]);
      await sleep(1200);
      await main.setViewportSize({ width: 1280, height: 560 });
      const path = await shot(main, 'viewer');
      await main.setViewportSize({ width: 1280, height: 800 });
      if (process.env.PORTHOLE_DOCS_SCREENSHOT) copyFileSync(path, process.env.PORTHOLE_DOCS_SCREENSHOT);
      await tile(main, 'sim-2').locator('button.close').click();
      await robots.pop().stop();
    } },
    { name: 'video.cloud-restart', async run() {
      // A crash (SIGKILL: the connections just drop) and a clean stop (SIGTERM:
      // the cloud first sends session-closed 'server-shutdown' to both sides).
      for (const signal of ['SIGKILL', 'SIGTERM']) {
        await expectFlowing(main, 'sim-1', `${signal}: before the stop`);
        await cloud.stop(signal);
        await waitFor(async () => ['unreachable', 'reconnecting'].includes(
          await main.locator('#cloud-status').getAttribute('data-state')), 3000, `${signal}: the status shows the cloud is down`);
        const down = await expectFlowing(main, 'sim-1', `${signal}: while the cloud is down`, 30, 5000).catch((e) => {
          if (r1.lines?.some((l) => l.includes('(server-shutdown)'))) {
            e.message += ' -- the robot ended its session on session-closed \'server-shutdown\'; to keep the'
              + ' video alive while the cloud restarts it must keep the peer connection (as it does when the'
              + ' connection just drops)';
          }
          throw e;
        });
        assert.equal(down.state, 'connected', `${signal}: the session is still connected`);
        assert.equal(down.signaling, 'detached');
        await shot(main, `video-cloud-down-${signal}`);
        cloud = await startCloud({ bin: CLOUD_BIN, port, webRoot: WEB_ROOT });
        await waitFor(async () => (await main.locator('#cloud-status').getAttribute('data-state')) === 'open', 15000,
          `${signal}: the viewer reconnected to the restarted cloud`);
        await waitFor(async () => (await row(main, 'sim-1').getAttribute('data-online')) === 'true', 20000,
          `${signal}: the robot is listed online again`);
        await expectFlowing(main, 'sim-1', `${signal}: after the restart`);
        // Reattach: the badge reconnects the session through the new cloud.
        await tile(main, 'sim-1').locator('button.badge.detached').click();
        await waitFor(async () => (await tile(main, 'sim-1').getAttribute('data-state')) === 'connected', 10000,
          `${signal}: a new session through the restarted cloud`);
        await expectFlowing(main, 'sim-1', `${signal}: the new session`);
      }
    } },
    { name: 'video.robot-stop', async run() {
      await expectFlowing(main, 'sim-1', 'before the robot stops');
      await r1.stop();
      await waitFor(async () => (await row(main, 'sim-1').getAttribute('data-online')) === 'false', 5000,
        'the robot row marked offline');
      const msg = tile(main, 'sim-1').locator('.message');
      await msg.waitFor({ state: 'visible', timeout: 10000 });
      const text = await msg.innerText();
      assert.ok(text.trim().length > 0, 'a message says the session ended');
      assert.equal(await tile(main, 'sim-1').getAttribute('data-state'), 'closed');
      console.log(`     message: ${JSON.stringify(text.split('\n')[0])}`);
      await shot(main, 'video-robot-stopped');
    } },
  ];
  try {
    return await runScenarios(scenarios, only.filter((o) => o.startsWith('video')), { chained: true });
  } finally {
    if (browser.errors.length) console.log(`page errors:\n  ${browser.errors.join('\n  ')}`);
    for (const r of robots) {
      if (ROBOT_BIN !== 'page' && r.log && !process.env.PORTHOLE_TEST_VERBOSE) {
        console.log(`--- last lines of ${r.name}:\n${r.lines.slice(-25).join('\n')}`);
      }
      await r.stop();
    }
    await browser.close();
    await cloud.stop();
  }
}

let failed = 0;
const wants = (group) => !only.length || only.some((o) => o === group || o.startsWith(`${group}.`));
try {
  if (wants('ui')) failed += await uiGroup();
  if (wants('video')) failed += await videoGroup();
} catch (e) {
  console.error(`browser: FAIL: ${e.stack || e}`);
  failed++;
}
console.log(`screenshots: ${ARTIFACTS}`);
process.exit(failed ? 1 : 0);
